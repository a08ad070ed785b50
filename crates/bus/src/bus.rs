//! The backend-neutral [`Bus`] trait.

use crate::{BusError, Envelope, QueueSpec, Subscription};

/// Publish/subscribe of [`Envelope`]s, implemented by
/// [`RabbitBus`](crate::RabbitBus) and [`InProcessBus`](crate::InProcessBus)
/// with the same observable semantics (see [`contract`](crate::contract)).
#[async_trait::async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Durable (persistent) publish to the events exchange; returns only after
    /// the broker confirmed it. An event nobody is bound to is dropped, not an error.
    async fn publish(&self, envelope: &Envelope) -> Result<(), BusError>;

    /// Same as [`publish`](Self::publish) for many envelopes, confirms awaited
    /// together (pipelined).
    async fn publish_batch(&self, envelopes: &[Envelope]) -> Result<(), BusError>;

    /// Declares (idempotently) the queue, its bindings and its dead-letter
    /// queue, and starts consuming with manual acks and the spec's prefetch.
    /// Declares (idempotently) the queue, its bindings and its DLQ without consuming: what a
    /// service does at start for every queue of the system, so that no event is published
    /// before the queue that must receive it exists.
    async fn declare(&self, spec: &QueueSpec) -> Result<(), BusError>;

    async fn subscribe(&self, spec: QueueSpec) -> Result<Subscription, BusError>;

    /// Takes up to `max` messages off the queue's dead-letter queue,
    /// acknowledging them.
    async fn take_dead_letters(&self, queue: &str, max: usize) -> Result<Vec<Envelope>, BusError>;

    /// Number of messages waiting (ready, not in flight) in a queue.
    async fn queue_depth(&self, queue: &str) -> Result<u64, BusError>;

    /// Number of messages in a queue's dead-letter queue (what an operator must look at).
    async fn dead_letter_depth(&self, queue: &str) -> Result<u64, BusError>;

    /// Stops subscriptions (their `next()` returns `None`) and closes connections.
    async fn close(&self);
}
