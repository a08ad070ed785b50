//! The gateway's tables (sea-orm entities), plus the `outbox` and `processed_events` every
//! service has (from `kefu-store`).

pub mod channel;
pub mod channel_contact;
pub mod channel_cursor;
pub mod channel_token;
pub mod delivery;
pub mod inbound_message;
pub mod tenant;
pub mod tenant_config;

pub use kefu_store::entities::{outbox, processed_event};

kefu_store::tenant_scoped!(
    channel,
    channel_contact,
    channel_cursor,
    channel_token,
    delivery,
    inbound_message,
    tenant_config
);
