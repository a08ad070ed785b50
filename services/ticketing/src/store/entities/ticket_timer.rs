//! Ticketing: a durable timer — an SLA warning or breach due at an instant. The poller finds
//! due ones by the `due_at` index; firing deletes the row in the transaction that writes the
//! event, so a timer fires once, whichever replica takes it.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ticket_timers")]
pub struct Model {
    /// Also the id of the event it fires.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: String,
    pub ticket_id: Uuid,
    /// sla_warning | sla_breached
    pub kind: String,
    /// first_reply | resolution
    pub metric: String,
    /// When it is due (ms).
    pub due_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
