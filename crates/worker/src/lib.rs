//! The one shape of a Kefu service's background work, shared by every service:
//!
//! - [`outbox`]: events written in the transaction of the state change ([`outbox::enqueue`])
//!   and relayed to the bus with publisher confirms ([`Outbox`]).
//! - [`service`]: the consumer loop ([`ServiceLoop`]): declare queues, subscribe, readiness,
//!   the relay, the queue-depth gauge, idempotency-record pruning, batches until shutdown.
//! - [`queues`]: the bus's view of the system's queues ([`kefu_proto::queues`]).
//! - [`journal`]: the in-process bus's journal in SQLite (what `kefu dev` survives a crash with).
//! - [`standalone`]: the distributed-mode process (listeners, PostgreSQL, RabbitMQ, readiness).
//!
//! `kefu-store` holds the tables these use and knows nothing of the bus; this crate joins the
//! two. See `ARCHITECTURE.md` for how a new service uses it.

pub mod journal;
pub mod outbox;
pub mod queues;
pub mod service;
pub mod standalone;

pub use outbox::Outbox;
pub use service::{Consumption, ServiceLoop};

/// Why relaying the outbox failed; the rows stay and are published later.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Db(#[from] kefu_store::sea_orm::DbErr),
    #[error(transparent)]
    Bus(#[from] kefu_bus::BusError),
}
