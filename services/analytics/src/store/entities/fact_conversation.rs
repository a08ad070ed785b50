//! Analytics: one row per conversation lifecycle event (opened, handoff, queue entered and left,
//! assigned, transferred, abandoned, closed, rated).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "facts_conversation")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_id: Uuid,
    pub tenant_id: String,
    pub conversation_id: String,
    pub customer_id: String,
    /// `crate::facts::Kind`
    pub kind: String,
    pub at: i64,
    pub merchant_id: String,
    pub channel: String,
    pub queue_id: String,
    pub tier: String,
    pub agent_id: String,
    pub other_agent_id: String,
    pub reason: String,
    pub value: i64,
    /// Tags (closed) or intents (handoff), JSON.
    pub labels: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
