//! Analytics' tables (sea-orm entities), plus the `outbox` and `processed_events` every service
//! has. The rollup tables (`rollups`, `rollup_labels`) have columns from
//! [`crate::counters::Counter`] and are written with statements of their own
//! (`crate::store::rollups`).

pub mod agent_day;
pub mod agent_segment;
pub mod agent_status;
pub mod check_run;
pub mod conversation_state;
pub mod fact_agent_status;
pub mod fact_conversation;
pub mod fact_message;
pub mod fact_order;
pub mod queue_target;
pub mod report_settings;

pub use kefu_store::entities::{outbox, processed_event};

kefu_store::tenant_scoped!(
    agent_day,
    agent_segment,
    agent_status,
    check_run,
    conversation_state,
    fact_agent_status,
    fact_conversation,
    fact_message,
    fact_order,
    queue_target,
    report_settings,
);
