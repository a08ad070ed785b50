//! Session: one message of a conversation, either direction, any sender.
use super::values::Sender;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: String,
    /// Indexed together with `created_at` (see the session migration).
    pub conversation_id: Uuid,
    /// in | out
    pub direction: String,
    pub sender_kind: Sender,
    pub text: String,
    pub external_message_id: Option<String>,
    pub created_at: ChronoDateTimeUtc,
    /// text | image | card | system | action
    pub message_type: String,
    /// Cards shown with the message (an encoded `kefu.events.v1.CardList`), if any.
    pub cards: Option<Vec<u8>>,
    /// A note or whisper for agents only: never shown to the customer.
    pub internal: bool,
    /// The agent or supervisor who wrote it; empty otherwise.
    pub agent_id: String,
    /// 1, 2, 3, … within the conversation, in the order the session stored the messages.
    pub seq: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
