//! Ticketing's tables (sea-orm entities), plus the `outbox` and `processed_events` every
//! service has.

pub mod ticket;
pub mod ticket_audit;
pub mod ticket_comment;
pub mod ticket_counter;
pub mod ticket_settings;
pub mod ticket_timer;

pub use kefu_store::entities::{outbox, processed_event};

kefu_store::tenant_scoped!(
    ticket,
    ticket_audit,
    ticket_comment,
    ticket_counter,
    ticket_settings,
    ticket_timer,
);
