//! The session's tables (sea-orm entities), plus the `outbox` and `processed_events` every
//! service has (from `kefu-store`).

pub mod agent;
pub mod canned_response;
pub mod conversation;
pub mod customer;
pub mod customer_identity;
pub mod customer_merge;
pub mod message;
pub mod routing_config;
pub mod routing_tenant;
pub mod tenant_settings;
pub mod values;
pub mod work_item;

pub use kefu_store::entities::{outbox, processed_event};

kefu_store::tenant_scoped!(
    agent,
    canned_response,
    conversation,
    customer,
    customer_identity,
    customer_merge,
    message,
    routing_config,
    routing_tenant,
    tenant_settings,
    work_item,
);
