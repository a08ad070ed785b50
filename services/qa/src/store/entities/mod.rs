//! QA's tables (sea-orm entities), plus the `outbox` and `processed_events` every service has.
//! Times are Unix milliseconds (UTC); days are `YYYY-MM-DD` in UTC.

pub mod agent_day;
pub mod alert;
pub mod conversation;
pub mod finding;
pub mod item;
pub mod policy;
pub mod review;
pub mod values;

pub use kefu_store::entities::{outbox, processed_event};

kefu_store::tenant_scoped!(
    agent_day,
    alert,
    conversation,
    finding,
    item,
    policy,
    review
);
