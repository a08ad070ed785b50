//! Session: a handed-off conversation's place in routing (queue, offer, agent) and its outcome.
use super::values::{Strings, WorkState};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, Default, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "work_items")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub conversation_id: Uuid,
    pub tenant_id: String,
    pub customer_id: Uuid,
    pub merchant_id: String,
    pub queue: String,
    pub state: WorkState,
    /// The agent it is offered to or served by; empty while waiting.
    pub agent_id: String,
    pub channel_type: String,
    pub tier: String,
    pub page_type: String,
    pub negative: bool,
    pub language: String,
    /// Who served this customer last (sticky routing).
    pub last_agent: String,
    pub enqueued_at: ChronoDateTimeUtc,
    pub queue_entered_at: ChronoDateTimeUtc,
    pub offered_at: Option<ChronoDateTimeUtc>,
    pub offer_expires_at: Option<ChronoDateTimeUtc>,
    pub accepted_at: Option<ChronoDateTimeUtc>,
    pub closed_at: Option<ChronoDateTimeUtc>,
    /// Agents who let an offer expire: never offered this conversation again.
    pub excluded: Strings,
    /// overflow:<from> | transfer:<agent> | timeout | reoffer | ...
    pub note: String,
    pub summary: String,
    pub tags: Strings,
    /// 1–5 once rated, 0 before.
    pub csat: i32,
    pub csat_comment: String,
    /// Supervisors monitoring, and supervisors who joined.
    pub monitors: Strings,
    pub participants: Strings,
    /// Bumped by every change: writers update `WHERE version = <read>` so no two replicas both
    /// act on the same state.
    pub version: i64,
    /// Whether the CSAT invitation went out (at close).
    pub csat_invited: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
