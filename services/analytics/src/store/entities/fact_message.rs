//! Analytics: one row per `message.created` (no message text; a missed question's text only).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "facts_message")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_id: Uuid,
    pub tenant_id: String,
    pub conversation_id: String,
    pub customer_id: String,
    pub seq: i64,
    /// Milliseconds since the epoch (every time in analytics' tables).
    pub at: i64,
    /// customer | bot | agent | system
    pub sender: String,
    pub agent_id: String,
    pub internal: bool,
    pub message_type: String,
    pub merchant_id: String,
    pub channel: String,
    pub queue_id: String,
    pub tier: String,
    pub intent: String,
    pub faq_id: String,
    pub miss: bool,
    /// The customer's question, for the bot's misses only.
    pub question: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
