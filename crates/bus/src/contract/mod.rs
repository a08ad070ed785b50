//! The behaviour every [`Bus`] backend must show, one `pub async fn` per
//! behaviour. Each takes a fresh, isolated bus (its own topology prefix) and
//! panics with a descriptive message when the backend misbehaves.
//! `crates/bus/tests/contract.rs` runs every function against both backends.
//!
//! Waiting is never a fixed sleep: effects are awaited with [`eventually`] or
//! [`next_delivery`] (both time out after [`TIMEOUT`]). Only the assertion that
//! something does NOT happen uses a short quiet period ([`QUIET`]).
//!
//! - `delivery`: round trip, topic routing, fan-out, publish-before-subscribe,
//!   batches, queue depth, close;
//! - `redelivery`: nack/drop redelivery counting, delivery limit, dead letters;
//! - `consumer`: [`run_consumer`](crate::run_consumer) policies, prefetch and
//!   graceful shutdown;
//! - [`journal`]: a durable in-process bus across a crash, for each journal implementation.

mod consumer;
mod delivery;
pub mod journal;
mod redelivery;

use std::future::Future;
use std::time::Duration;

pub use consumer::{
    batch_consumer_settles_each_item, permanent_error_dead_letters_at_once,
    prefetch_bounds_in_flight, shutdown_drains_in_flight_handlers,
    transient_poison_is_dead_lettered_without_blocking,
};
pub use delivery::{
    close_ends_subscriptions, declared_queue_keeps_messages_until_subscribed,
    each_bound_queue_gets_a_copy, message_published_before_subscribe_is_delivered,
    publish_batch_delivers_all, queue_depth_counts_waiting, round_trip_preserves_envelope,
    topic_wildcards_route_by_pattern, transient_queues_each_get_a_copy,
};
pub use redelivery::{
    delivery_limit_of_one_dead_letters_on_first_requeue, dropped_delivery_is_redelivered,
    nack_requeue_redelivers_with_incremented_count, nack_without_requeue_dead_letters,
    requeue_beyond_delivery_limit_dead_letters,
};

use crate::{Bus, Delivery, Envelope, QueueSpec, Subscription};

/// Longest wait for an expected effect.
pub const TIMEOUT: Duration = Duration::from_secs(20);
/// How long "nothing happens" is observed.
pub const QUIET: Duration = Duration::from_millis(300);

/// Every logical queue name the suite uses (for backend clean-up).
pub const QUEUES: &[&str] = &[
    "roundtrip",
    "star",
    "hash",
    "tail",
    "exact",
    "copy-a",
    "copy-b",
    "early",
    "fan-durable",
    "fan-replica-a",
    "fan-replica-b",
    "batch",
    "depth",
    "closing",
    "requeue",
    "dropped",
    "rejected",
    "limited",
    "single",
    "permanent",
    "poison",
    "prefetch",
    "drain",
    "batched",
    "declared",
];

/// Polls `check` (every 20 ms) until it returns true; panics after [`TIMEOUT`].
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {TIMEOUT:?} waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The next delivery; panics if none arrives within [`TIMEOUT`] or the
/// subscription ended.
pub async fn next_delivery(sub: &mut Subscription, what: &str) -> Delivery {
    match tokio::time::timeout(TIMEOUT, sub.next()).await {
        Ok(Some(delivery)) => delivery,
        Ok(None) => panic!(
            "subscription to {:?} ended while waiting for {what}",
            sub.queue()
        ),
        Err(_) => panic!(
            "no delivery on {:?} within {TIMEOUT:?}: {what}",
            sub.queue()
        ),
    }
}

/// Panics if a delivery arrives within [`QUIET`].
pub async fn assert_no_delivery(sub: &mut Subscription, why: &str) {
    if let Ok(Some(delivery)) = tokio::time::timeout(QUIET, sub.next()).await {
        panic!(
            "unexpected delivery on {:?} ({why}): {:?}",
            sub.queue(),
            delivery.envelope
        );
    }
}

/// Takes dead letters of `queue` until `count` were collected; panics after [`TIMEOUT`].
pub async fn collect_dead_letters(bus: &dyn Bus, queue: &str, count: usize) -> Vec<Envelope> {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    let mut dead = Vec::new();
    while dead.len() < count {
        let taken = bus
            .take_dead_letters(queue, count - dead.len())
            .await
            .unwrap_or_else(|error| panic!("take_dead_letters({queue:?}) failed: {error}"));
        dead.extend(taken);
        assert!(
            dead.len() >= count || tokio::time::Instant::now() < deadline,
            "timed out after {TIMEOUT:?} waiting for {count} dead letter(s) in {queue:?}, got {}",
            dead.len()
        );
        if dead.len() < count {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    dead
}

/// Subscribes or panics.
pub async fn subscribe(bus: &dyn Bus, spec: QueueSpec) -> Subscription {
    let name = spec.name.clone();
    bus.subscribe(spec)
        .await
        .unwrap_or_else(|error| panic!("subscribe to {name:?} failed: {error}"))
}

/// Publishes or panics.
pub async fn publish(bus: &dyn Bus, envelope: &Envelope) {
    bus.publish(envelope)
        .await
        .unwrap_or_else(|error| panic!("publish of {} failed: {error}", envelope.event_type));
}

/// A queue spec with the suite's defaults (prefetch 10, delivery limit 5).
pub fn spec(name: &str, bindings: &[&str]) -> QueueSpec {
    QueueSpec::new(name, bindings.iter().copied())
        .with_prefetch(10)
        .with_delivery_limit(5)
}

/// An envelope of `event_type` for tenant `contract` with `payload`.
pub fn envelope(event_type: &str, payload: &str) -> Envelope {
    Envelope::new("contract", event_type, payload.as_bytes().to_vec())
}
