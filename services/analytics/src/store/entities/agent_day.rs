//! Analytics: an agent's attendance on one local day (online, away, online with a conversation)
//! as last applied to the rollups, so a recomputation is applied as a difference.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "agent_days")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub agent_id: String,
    /// The local day's start (ms) in `zone`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: i64,
    pub zone: String,
    pub merchant_id: String,
    pub online_ms: i64,
    pub away_ms: i64,
    pub busy_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
