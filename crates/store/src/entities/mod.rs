//! sea-orm entities. Each table belongs to one service (see the module docs); no service reads
//! another's tables. `outbox` and `processed_events` exist once in every service's schema.

pub mod agent;
pub mod canned_response;
pub mod channel;
pub mod conversation;
pub mod customer;
pub mod customer_identity;
pub mod customer_merge;
pub mod delivery;
pub mod inbound_message;
pub mod message;
pub mod outbox;
pub mod processed_event;
pub mod routing_config;
pub mod routing_tenant;
pub mod tenant;
pub mod tenant_config;
pub mod tenant_settings;
pub mod work_item;
