//! Session: an agent, supervisor or admin of a tenant (optionally of one merchant).
use super::values::{AgentRole, Capacity, Presence, Strings};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "agents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Unique per tenant (see the session migration).
    pub login: String,
    pub display_name: String,
    pub role: AgentRole,
    /// Empty for platform staff.
    pub merchant_id: String,
    pub skills: Strings,
    pub languages: Strings,
    pub capacity: Capacity,
    pub status: Presence,
    pub status_since: ChronoDateTimeUtc,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Bumped by every assignment to this agent: the row lock that serialises concurrent
    /// assignments, so a capacity check inside the transaction sees every earlier one.
    pub assign_seq: i64,
    pub last_assigned_at: Option<ChronoDateTimeUtc>,
    pub idle_since: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
