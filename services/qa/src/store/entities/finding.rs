//! QA: one violation of a conversation (the engine's or a reviewer's), pointing at its message.
use super::values::{FindingStatus, Origin};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "qa_findings")]
pub struct Model {
    /// Automatic findings: derived from conversation, rule and message, so scoring again keeps
    /// a finding (and its review) that is still found.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub conversation_id: String,
    pub rule: String,
    pub kind: String,
    pub severity: String,
    pub category: String,
    /// The message id it points at; empty for the conversation as a whole.
    pub message_id: String,
    pub origin: Origin,
    pub status: FindingStatus,
    /// Found by the real-time rules (before the close).
    pub realtime: bool,
    pub comment: String,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
