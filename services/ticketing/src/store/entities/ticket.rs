//! Ticketing: a ticket. Its SLA clocks are kept as JSON (`clocks`); `next_due_at` is the
//! earliest deadline of a running clock, for the "breaching soon" views.
use crate::sla::Clock;
use sea_orm::entity::prelude::*;

kefu_store::text_enum! {
    /// A ticket's status category; the tenant's sub-statuses sit under these.
    pub enum Status {
        New = "new",
        Open = "open",
        Pending = "pending",
        OnHold = "on_hold",
        Solved = "solved",
        Closed = "closed",
    }
}

kefu_store::text_enum! {
    pub enum Priority {
        Urgent = "urgent",
        High = "high",
        Normal = "normal",
        Low = "low",
    }
}

kefu_store::json_text! {
    /// Tags, attachments.
    pub struct Strings(pub Vec<String>);
}

kefu_store::json_text! {
    /// The ticket's SLA clocks, one per target of its priority's policy.
    pub struct Clocks(pub Vec<Clock>);
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tickets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: String,
    /// T-2026-000123, unique per tenant.
    pub number: String,
    pub subject: String,
    pub ticket_type: String,
    pub priority: Priority,
    pub status: Status,
    pub sub_status: String,
    /// Whether the sub-status pauses the SLA clocks.
    pub sla_paused: bool,
    pub group_id: String,
    pub assignee_id: String,
    pub tags: Strings,
    /// The unified customer.
    pub requester_id: String,
    /// The merchant whose ticket it is (empty: the platform's).
    pub merchant_id: String,
    pub conversation_id: String,
    pub channel_id: String,
    pub follow_up_of: String,
    /// The creator's retry key (empty: none); unique per tenant when set.
    pub idempotency_key: String,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
    pub clocks: Clocks,
    /// The earliest deadline of a running clock (ms), if any.
    pub next_due_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
