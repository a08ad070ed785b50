//! Session: a conversation between a customer and the tenant on one channel.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "conversations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: String,
    pub customer_id: Uuid,
    pub channel_id: String,
    /// open | closed
    pub status: String,
    pub page_type: String,
    pub page_url: String,
    pub product_id: String,
    pub order_id: String,
    pub opened_at: ChronoDateTimeUtc,
    pub last_message_at: ChronoDateTimeUtc,
    pub closed_at: Option<ChronoDateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
