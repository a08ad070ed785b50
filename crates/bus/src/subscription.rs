//! [`Subscription`] and [`Delivery`]: the consuming side shared by both backends.
//!
//! Backends plug in through two crate-private traits: a [`DeliverySource`]
//! producing deliveries and an [`Acknowledger`] settling one delivery.

use std::fmt;

use crate::{BusError, Envelope};

/// Produces the deliveries of one subscription.
#[async_trait::async_trait]
pub(crate) trait DeliverySource: Send {
    /// The next delivery, or `None` once the subscription is closed.
    /// Must be cancel-safe: dropping the future loses no delivery.
    async fn next(&mut self) -> Option<Delivery>;
}

/// Settles one delivery with the backend.
#[async_trait::async_trait]
pub(crate) trait Acknowledger: Send + Sync {
    /// Positive acknowledgement: the message is done.
    async fn ack(self: Box<Self>) -> Result<(), BusError>;
    /// Negative acknowledgement: back into the queue, or dead-lettered.
    async fn nack(self: Box<Self>, requeue: bool) -> Result<(), BusError>;
    /// The delivery was dropped unsettled: requeue it without awaiting.
    fn release(self: Box<Self>);
}

/// A live consumer on one queue. Dropping it stops consuming.
pub struct Subscription {
    queue: String,
    delivery_limit: u32,
    messaging_system: &'static str,
    source: Box<dyn DeliverySource>,
}

impl Subscription {
    pub(crate) fn new(
        queue: String,
        delivery_limit: u32,
        messaging_system: &'static str,
        source: Box<dyn DeliverySource>,
    ) -> Self {
        Self {
            queue,
            delivery_limit,
            messaging_system,
            source,
        }
    }

    /// The next delivery; `None` once the bus is closed. Cancel-safe.
    pub async fn next(&mut self) -> Option<Delivery> {
        self.source.next().await
    }

    /// Logical queue name.
    pub fn queue(&self) -> &str {
        &self.queue
    }

    /// Deliveries after which a message is dead-lettered.
    pub fn delivery_limit(&self) -> u32 {
        self.delivery_limit
    }

    /// OpenTelemetry `messaging.system`: `"rabbitmq"` or `"in-process"`.
    pub fn messaging_system(&self) -> &'static str {
        self.messaging_system
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("queue", &self.queue)
            .field("delivery_limit", &self.delivery_limit)
            .field("messaging_system", &self.messaging_system)
            .finish_non_exhaustive()
    }
}

/// One delivered message. Settle it with [`ack`](Self::ack) or
/// [`nack`](Self::nack); dropping it unsettled requeues it (as a crash would).
pub struct Delivery {
    /// The event.
    pub envelope: Envelope,
    /// How many times this message has been delivered, 1 on first delivery.
    pub delivery_count: u32,
    /// Whether the message was delivered before.
    pub redelivered: bool,
    acker: Option<Box<dyn Acknowledger>>,
}

impl Delivery {
    pub(crate) fn new(
        envelope: Envelope,
        delivery_count: u32,
        redelivered: bool,
        acker: Box<dyn Acknowledger>,
    ) -> Self {
        Self {
            envelope,
            delivery_count,
            redelivered,
            acker: Some(acker),
        }
    }

    /// Acknowledges the message: it is removed from the queue.
    pub async fn ack(mut self) -> Result<(), BusError> {
        match self.acker.take() {
            Some(acker) => acker.ack().await,
            None => Ok(()),
        }
    }

    /// Rejects the message: `requeue = true` puts it back (until the delivery
    /// limit is reached), `requeue = false` dead-letters it at once.
    pub async fn nack(mut self, requeue: bool) -> Result<(), BusError> {
        match self.acker.take() {
            Some(acker) => acker.nack(requeue).await,
            None => Ok(()),
        }
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        if let Some(acker) = self.acker.take() {
            acker.release();
        }
    }
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("envelope", &self.envelope)
            .field("delivery_count", &self.delivery_count)
            .field("redelivered", &self.redelivered)
            .field("settled", &self.acker.is_none())
            .finish()
    }
}
