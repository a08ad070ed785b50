//! Kefu's event bus: publish/subscribe of [`Envelope`]s behind one [`Bus`]
//! trait, with a RabbitMQ backend and an in-process backend that behave the
//! same, proven by one shared [`contract`] test suite.
//!
//! Modules:
//! - [`envelope`]: the [`Envelope`] (event id, tenant, type, time, W3C trace
//!   context, protobuf payload) and trace-context propagation helpers;
//! - [`topology`]: broker names derived from a prefix ([`Topology`]), queue
//!   specifications ([`QueueSpec`]) and AMQP topic matching;
//! - `bus`: the [`Bus`] trait;
//! - `subscription`: [`Subscription`] and [`Delivery`] (ack / nack / drop = requeue);
//! - [`consumer`]: [`run_consumer`], the standard consumer loop, and [`HandlerError`];
//! - [`rabbit`]: [`RabbitBus`] — topic exchange, quorum queues with delivery
//!   limit and dead-lettering, publisher confirms, reconnects;
//! - [`inproc`]: [`InProcessBus`] — the same semantics in memory, optionally kept in a
//!   [`journal`] so that a crash of the process loses nothing;
//! - [`contract`]: the behaviours both backends must show, one `async fn` each;
//! - [`error`]: the [`BusError`] type.
//!
//! Delivery semantics are at-least-once: consumers deduplicate by
//! [`Envelope::event_id`]. A message is delivered at most
//! [`QueueSpec::delivery_limit`] times before it lands in the queue's
//! dead-letter queue, whether the consumer fails, nacks or crashes.

pub mod backoff;
mod bus;
pub mod consumer;
pub mod contract;
pub mod envelope;
pub mod error;
pub mod inproc;
pub mod journal;
pub mod rabbit;
mod subscription;
pub mod testing;
pub mod topology;

pub use bus::Bus;
pub use consumer::{
    BatchItem, BatchOutcomes, HandlerError, retry_backoff, run_batch_consumer, run_consumer,
};
pub use envelope::{Envelope, TraceContext};
pub use error::BusError;
pub use inproc::InProcessBus;
pub use journal::{Journal, JournalEntry, MemoryJournal, Settlement};
pub use rabbit::{AmqpTls, RabbitBus};
pub use subscription::{Delivery, Subscription};
pub use topology::{QueueSpec, Topology, topic_matches};
