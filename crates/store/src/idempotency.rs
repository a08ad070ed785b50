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
        processed_event::Entity::find_by_id((event_id, consumer.to_owned()))
            .one(db)
            .await?
            .is_some(),
    )
}

/// Of `event_ids`, the ones `consumer` already applied (one query for a whole batch).
pub async fn seen_many<C: ConnectionTrait>(
    db: &C,
    consumer: &str,
    event_ids: &[Uuid],
) -> Result<std::collections::HashSet<Uuid>, sea_orm::DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};
    if event_ids.is_empty() {
        return Ok(Default::default());
    }
    let found: Vec<Uuid> = processed_event::Entity::find()
        .select_only()
        .column(processed_event::Column::EventId)
        .filter(processed_event::Column::Consumer.eq(consumer))
        .filter(processed_event::Column::EventId.is_in(event_ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(found.into_iter().collect())
}

/// Records as many of `event_ids` as are new for `consumer` and returns those: one
/// `INSERT … ON CONFLICT DO NOTHING RETURNING` in the caller's transaction, so the events to
/// apply and their records are one statement. An event another transaction is recording at the
/// same moment waits for it, and is not returned when that one commits.
pub async fn claim_many<C: ConnectionTrait>(
    db: &C,
    consumer: &str,
    event_ids: &[Uuid],
) -> Result<std::collections::HashSet<Uuid>, sea_orm::DbErr> {
    let now = Utc::now();
    let mut unique = std::collections::HashSet::new();
    let rows: Vec<processed_event::ActiveModel> = event_ids
        .iter()
        .filter(|id| unique.insert(**id))
        .map(|id| processed_event::ActiveModel {
            consumer: Set(consumer.to_owned()),
            event_id: Set(*id),
            processed_at: Set(now),
        })
        .collect();
    if rows.is_empty() {
        return Ok(Default::default());
    }
    use sea_orm::QueryTrait;
    use sea_orm::sea_query::OnConflict;
    // Built as a statement: sea-orm's own RETURNING path is off for SQLite in this build
    // (`sqlite-use-returning-for-3_35`), and both backends run `RETURNING` as written.
    let mut insert = processed_event::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([
                processed_event::Column::EventId,
                processed_event::Column::Consumer,
            ])
            .do_nothing()
            .to_owned(),
        )
        .into_query();
    insert.returning_col(processed_event::Column::EventId);
    let statement = db.get_database_backend().build(&insert);
    let mut claimed = std::collections::HashSet::new();
    for row in db.query_all_raw(statement).await? {
        claimed.insert(row.try_get::<Uuid>("", "event_id")?);
    }
    Ok(claimed)
}

/// How long processed-event records are kept: far longer than any redelivery or outbox
/// retry can take, so a forgotten id can no longer come back.
pub const RETENTION: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// Deletes records older than `retention`; returns how many.
pub async fn prune<C: ConnectionTrait>(
    db: &C,
    retention: std::time::Duration,
) -> Result<u64, sea_orm::DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let cutoff = Utc::now() - chrono::Duration::from_std(retention).unwrap_or_default();
    let deleted = processed_event::Entity::delete_many()
        .filter(processed_event::Column::ProcessedAt.lt(cutoff))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
}
