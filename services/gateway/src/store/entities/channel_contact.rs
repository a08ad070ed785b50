//! Gateway: a customer as one channel's provider knows them — their service window on channels
//! whose provider limits replies (WeChat's 48 hours after the customer's last message, and so
//! many messages within them: when it opened and how many Kefu sent), and what the provider
//! told about them (a WeChat account's UnionID). Shared by every replica; a send claims its
//! place in the window atomically.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "channel_contacts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub channel_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub external_user_id: String,
    pub tenant_id: String,
    /// The customer's last message.
    pub opened_at: ChronoDateTimeUtc,
    /// Messages sent since.
    pub sent: i32,
    /// The provider's cross-app id of the customer (WeChat's UnionID), empty when unknown.
    pub unionid: String,
    /// When the provider was last asked about the customer.
    pub looked_up_at: Option<ChronoDateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
