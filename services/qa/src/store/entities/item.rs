//! QA: what the engine reads of a conversation: its public messages (customer, bot, agent) and
//! two markers, `handoff` (a person was asked for) and `closed` (its agent closed it).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "qa_items")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub conversation_id: String,
    /// The message id, or `~handoff` / `~closed` for the markers.
    #[sea_orm(primary_key, auto_increment = false)]
    pub item: String,
    /// The message's sequence in its conversation; 0 for markers.
    pub seq: i64,
    /// customer | bot | agent | system (markers)
    pub role: String,
    /// The agent who wrote it.
    pub agent_id: String,
    pub text: String,
    pub at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
