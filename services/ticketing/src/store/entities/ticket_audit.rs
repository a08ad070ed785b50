//! Ticketing: one change of a ticket, with who made it.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ticket_audit")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: String,
    pub ticket_id: Uuid,
    pub at: ChronoDateTimeUtc,
    /// agent | customer | system | api
    pub actor_kind: String,
    pub actor_id: String,
    /// created | status | sub_status | priority | group_id | assignee_id | subject | tags |
    /// comment | sla_warning | sla_breached
    pub field: String,
    pub from_value: String,
    pub to_value: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
