//! Processed-event records: the idempotency half of at-least-once delivery. A consumer records
//! the event id in the same transaction as the event's effect; a redelivery finds the record and
//! changes nothing.

use crate::entities::processed_event;
use chrono::Utc;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, TryInsertResult};
use uuid::Uuid;

/// Records that `consumer` applied `event_id`. Returns `false` when it already had: the caller
/// must then roll back (or simply not apply) the effect.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    consumer: &str,
    event_id: Uuid,
) -> Result<bool, sea_orm::DbErr> {
    let row = processed_event::ActiveModel {
        consumer: Set(consumer.to_owned()),
        event_id: Set(event_id),
        processed_at: Set(Utc::now()),
    };
    let res = processed_event::Entity::insert(row)
        .on_conflict_do_nothing()
        .exec_without_returning(db)
        .await?;
    Ok(matches!(res, TryInsertResult::Inserted(n) if n > 0))
}

/// Whether `consumer` already applied `event_id` (a cheap check before expensive work).
pub async fn seen<C: ConnectionTrait>(
    db: &C,
    consumer: &str,
    event_id: Uuid,
) -> Result<bool, sea_orm::DbErr> {
    Ok(
        processed_event::Entity::find_by_id((consumer.to_owned(), event_id))
            .one(db)
            .await?
            .is_some(),
    )
}
