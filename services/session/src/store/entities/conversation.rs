//! Session: a conversation between a customer and the tenant on one channel.
use super::values::{ConversationStatus, Mode};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "conversations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: String,
    pub customer_id: Uuid,
    pub channel_id: String,
    pub status: ConversationStatus,
    pub page_type: String,
    pub page_url: String,
    pub product_id: String,
    pub order_id: String,
    pub opened_at: ChronoDateTimeUtc,
    pub last_message_at: ChronoDateTimeUtc,
    pub closed_at: Option<ChronoDateTimeUtc>,
    pub mode: Mode,
    /// The bot's dialogue state (JSON), passed back with the next message.
    pub bot_state: String,
    pub merchant_id: String,
    /// The handoff (an encoded `kefu.events.v1.HandoffRequested`) once the bot handed off.
    pub handoff: Option<Vec<u8>>,
    /// Messages stored so far: the last message's sequence number.
    pub message_count: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
