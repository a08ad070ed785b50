//! One RabbitMQ subscription: a channel with prefetch, a consumer, and a pump
//! task that forwards deliveries and transparently re-subscribes after the
//! connection or channel broke.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use lapin::options::{BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Consumer};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::acks::AckCoalescer;
use super::codec;
use super::connection::Connector;
use super::declare;
use crate::subscription::{Acknowledger, DeliverySource};
use crate::{BusError, Delivery, QueueSpec, Subscription};

/// Pause between failed re-subscribe attempts (the connector backs off on its own).
const RESUBSCRIBE_PAUSE: Duration = Duration::from_millis(500);

/// Declares the queue, starts consuming and spawns the pump.
pub(crate) async fn subscribe(
    connector: Arc<Connector>,
    spec: QueueSpec,
) -> Result<Subscription, BusError> {
    let deadline = tokio::time::Instant::now() + super::RETRY_BUDGET;
    let live = connector.current(Some(deadline)).await?;
    let (channel, consumer) = open(&live.connection, &connector, &spec).await?;
    let (tx, rx) = mpsc::channel(usize::from(spec.effective_prefetch()));
    let source = Source {
        rx,
        closed: connector.closed.clone(),
    };
    let subscription = Subscription::new(
        spec.name.clone(),
        spec.effective_delivery_limit(),
        "rabbitmq",
        Box::new(source),
    );
    tokio::spawn(pump(connector, spec, channel, consumer, tx));
    Ok(subscription)
}

async fn open(
    connection: &lapin::Connection,
    connector: &Connector,
    spec: &QueueSpec,
) -> Result<(Channel, Consumer), BusError> {
    let topology = connector.topology();
    let channel = connection
        .create_channel()
        .await
        .map_err(BusError::protocol("channel.open"))?;
    channel
        .basic_qos(spec.effective_prefetch(), BasicQosOptions::default())
        .await
        .map_err(BusError::protocol("basic.qos"))?;
    declare::queue(&channel, topology, spec).await?;
    let queue = topology.queue(&spec.name);
    let tag = format!("{queue}/{}", uuid::Uuid::new_v4().simple());
    let consumer = channel
        .basic_consume(
            queue.into(),
            tag.into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(BusError::protocol("basic.consume"))?;
    Ok((channel, consumer))
}

/// Forwards deliveries until the bus closes or the subscription is dropped,
/// re-subscribing whenever the consumer ends unexpectedly.
async fn pump(
    connector: Arc<Connector>,
    spec: QueueSpec,
    channel: Channel,
    mut consumer: Consumer,
    tx: mpsc::Sender<Delivery>,
) {
    // One coalescer per channel: delivery tags are channel-scoped.
    let mut acks = AckCoalescer::new(channel);
    loop {
        let item = tokio::select! {
            biased;
            () = connector.closed.cancelled() => break,
            () = tx.closed() => break,
            item = consumer.next() => item,
        };
        match item {
            Some(Ok(message)) => {
                if !forward(message, &acks, &tx).await {
                    break;
                }
                continue;
            }
            Some(Err(error)) => {
                tracing::warn!(queue = %spec.name, %error, "consumer failed, re-subscribing");
            }
            None => tracing::warn!(queue = %spec.name, "consumer cancelled, re-subscribing"),
        }
        match resubscribe(&connector, &spec, &tx).await {
            Some((fresh_channel, fresh_consumer)) => {
                acks = AckCoalescer::new(fresh_channel);
                consumer = fresh_consumer;
            }
            None => break,
        }
    }
    // Dropping the consumer cancels it; the channel closes once the last
    // outstanding delivery (which holds a clone of it) is settled or dropped.
    drop(consumer);
    drop(acks);
}

async fn resubscribe(
    connector: &Connector,
    spec: &QueueSpec,
    tx: &mpsc::Sender<Delivery>,
) -> Option<(Channel, Consumer)> {
    loop {
        if tx.is_closed() {
            return None;
        }
        let live = connector.current(None).await.ok()?;
        match open(&live.connection, connector, spec).await {
            Ok(opened) => {
                tracing::info!(queue = %spec.name, "re-subscribed");
                return Some(opened);
            }
            Err(error) => tracing::warn!(queue = %spec.name, %error, "re-subscribe failed"),
        }
        tokio::select! {
            () = connector.closed.cancelled() => return None,
            () = tokio::time::sleep(RESUBSCRIBE_PAUSE) => {}
        }
    }
}

/// Hands one message to the subscriber; `false` once nobody listens any more.
async fn forward(
    message: lapin::message::Delivery,
    acks: &Arc<AckCoalescer>,
    tx: &mpsc::Sender<Delivery>,
) -> bool {
    let lapin::message::Delivery {
        delivery_tag,
        routing_key,
        redelivered,
        properties,
        data,
        ..
    } = message;
    let delivery_count = codec::delivery_count(&properties);
    acks.delivered(delivery_tag);
    let acker = RabbitAcker {
        tag: delivery_tag,
        acks: Arc::clone(acks),
    };
    match codec::envelope(&properties, &routing_key, data) {
        Ok(envelope) => {
            let delivery = Delivery::new(
                envelope,
                delivery_count,
                redelivered || delivery_count > 1,
                Box::new(acker),
            );
            tx.send(delivery).await.is_ok()
        }
        Err(error) => {
            tracing::error!(%error, "undecodable message, dead-lettering it");
            if let Err(error) = Box::new(acker).nack(false).await {
                tracing::warn!(%error, "dead-lettering an undecodable message failed");
            }
            true
        }
    }
}

/// The subscriber's end: deliveries forwarded by the pump.
struct Source {
    rx: mpsc::Receiver<Delivery>,
    closed: CancellationToken,
}

#[async_trait::async_trait]
impl DeliverySource for Source {
    async fn next(&mut self) -> Option<Delivery> {
        tokio::select! {
            biased;
            () = self.closed.cancelled() => None,
            delivery = self.rx.recv() => delivery,
        }
    }
}

/// Settles one delivery through its channel's coalescer (which keeps the channel open).
struct RabbitAcker {
    tag: u64,
    acks: Arc<AckCoalescer>,
}

impl RabbitAcker {
    /// A settlement on a dead channel is moot: the broker requeued the
    /// message when the channel died and will redeliver it.
    fn outcome(
        &self,
        operation: &'static str,
        result: lapin::Result<bool>,
    ) -> Result<(), BusError> {
        match result {
            Ok(_) => Ok(()),
            Err(_) if !self.acks.channel().status().connected() => {
                tracing::debug!(
                    operation,
                    "delivery's channel died; the broker redelivers it"
                );
                Ok(())
            }
            Err(error) => Err(BusError::Protocol {
                operation,
                source: error,
            }),
        }
    }
}

#[async_trait::async_trait]
impl Acknowledger for RabbitAcker {
    async fn ack(self: Box<Self>) -> Result<(), BusError> {
        self.acks.ack(self.tag);
        Ok(())
    }

    async fn nack(self: Box<Self>, requeue: bool) -> Result<(), BusError> {
        let result = self.acks.nack(self.tag, requeue).await;
        self.outcome("basic.nack", result)
    }

    fn release(self: Box<Self>) {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(error) = self.nack(true).await {
                    tracing::warn!(%error, "requeueing a dropped delivery failed");
                }
            });
        }
    }
}
