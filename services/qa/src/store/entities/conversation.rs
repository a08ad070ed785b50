//! QA: one conversation's inspection: who served it, whether it closed, and its result.
use super::values::{AppealStatus, Categories, ConversationStatus};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "qa_conversations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub conversation_id: String,
    pub merchant_id: String,
    pub customer_id: String,
    pub channel: String,
    /// The agent serving it (the last one assigned; at close, the one who had it).
    pub agent_id: String,
    pub status: ConversationStatus,
    pub closed_at: Option<i64>,
    /// The UTC day of the close (`YYYY-MM-DD`), empty while open: the agent day it counts in.
    pub day: String,
    pub close_reason: String,
    pub csat: Option<i32>,
    /// 0–100 once scored (at close).
    pub score: Option<i32>,
    pub failed: bool,
    pub categories: Categories,
    /// The policy version it was scored with.
    pub policy_version: i64,
    pub scored_at: Option<i64>,
    pub appeal: AppealStatus,
    pub appeal_comment: String,
    pub appealed_at: Option<i64>,
    pub settled_by: String,
    pub settle_comment: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
