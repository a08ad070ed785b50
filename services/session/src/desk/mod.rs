//! The agent desk and routing, in the session service.
//!
//! - [`setup`]: a tenant's queues and routing policy from its config documents.
//! - [`router`]: the routing loop (per-tenant lease, engine, conditional writes).
//! - [`grpc`]: `kefu.session.v1.Desk` — agents, work, supervision, CSAT.
//! - [`events`]: desk events for agents' sockets; [`ops`]: shared writes.

pub mod events;
pub mod grpc;
pub mod ops;
pub mod router;
pub mod setup;
