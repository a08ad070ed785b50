//! Gateway: one row per accepted customer message; `(channel_id, external_message_id)` is unique,
//! which is what makes re-sends idempotent.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "inbound_messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: String,
    pub channel_id: String,
    pub external_message_id: String,
    pub external_user_id: String,
    /// SHA-256 of the accepted body, to tell a true re-send from a reused id.
    pub body_sha256: String,
    pub received_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
