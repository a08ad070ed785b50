//! QA: an alert raised to supervisors (once per rule and message).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "qa_alerts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub conversation_id: String,
    pub merchant_id: String,
    pub agent_id: String,
    pub rule: String,
    pub kind: String,
    pub severity: String,
    pub message_id: String,
    pub message_at: i64,
    pub raised_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
