//! The agent desk and routing, in the session service.
//!
//! - [`setup`]: a tenant's queues and routing policy from its config documents.
//! - [`router`]: the routing loop (per-tenant lease, engine, conditional writes).
//! - [`grpc`]: `kefu.session.v1.Desk` and the checks its handlers share; the handlers by
//!   concept: [`accounts`], [`canned`], [`work`], [`supervise`], [`csat`].
//! - [`events`]: desk events for agents' sockets; [`ops`]: shared writes; [`intake`]: a
//!   handed-off conversation's entry into routing.

pub mod accounts;
pub mod canned;
pub mod csat;
pub mod events;
pub mod grpc;
pub mod intake;
pub mod ops;
pub mod router;
pub mod setup;
pub mod supervise;
pub mod work;
