//! Every service: events written in the same transaction as the state change that caused them,
//! published by the outbox relay and then deleted.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    /// The event id (UUIDv7, so primary-key order is creation order).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: String,
    pub event_type: String,
    pub payload: Vec<u8>,
    /// JSON object of W3C trace context.
    pub trace_context: String,
    pub occurred_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
