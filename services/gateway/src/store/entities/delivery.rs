//! Gateway: an outbound message's delivery to its channel's webhook. Created on the first failed
//! attempt (successful first attempts only leave a processed-event row), retried with back-off,
//! and marked `dead` after the last attempt.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deliveries")]
pub struct Model {
    /// The outbound message id (also the bus event's idempotency scope).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: String,
    pub channel_id: String,
    #[sea_orm(indexed)]
    pub status: DeliveryStatus,
    pub attempts: i32,
    #[sea_orm(indexed)]
    pub next_attempt_at: ChronoDateTimeUtc,
    pub last_error: Option<String>,
    /// The encoded `MessageToSend` event payload.
    pub payload: Vec<u8>,
    /// JSON object of W3C trace context, so retries stay in the message's trace.
    pub trace_context: String,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

kefu_store::text_enum! {
    /// Where a delivery stands.
    pub enum DeliveryStatus {
        /// Waiting for its next attempt.
        Pending = "pending",
        Delivered = "delivered",
        /// Out of attempts (or refused by the channel): an operator looks at it.
        Dead = "dead",
    }
}
