//! Operator-side operations: dead letters, queue depth, test clean-up.

use lapin::options::{
    BasicAckOptions, BasicGetOptions, ExchangeDeleteOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::protocol::{AMQPErrorKind, AMQPSoftError};
use lapin::types::FieldTable;
use lapin::{Channel, ErrorKind};

use super::codec;
use super::connection::Connector;
use crate::{BusError, Envelope};

/// A short-lived channel for one operation (a 404 closes it anyway).
async fn channel(connector: &Connector) -> Result<Channel, BusError> {
    let deadline = tokio::time::Instant::now() + super::RETRY_BUDGET;
    let live = connector.current(Some(deadline)).await?;
    live.connection
        .create_channel()
        .await
        .map_err(BusError::protocol("channel.open"))
}

async fn done(channel: Channel) {
    if channel.status().connected() {
        let _ = channel.close(200, "done".into()).await;
    }
}

/// Maps a 404 on `queue` to [`BusError::UnknownQueue`].
fn queue_error(queue: &str, operation: &'static str) -> impl FnOnce(lapin::Error) -> BusError {
    move |error| {
        let not_found = matches!(
            error.kind(),
            ErrorKind::ProtocolError(amqp)
                if *amqp.kind() == AMQPErrorKind::Soft(AMQPSoftError::NOTFOUND)
        );
        if not_found {
            BusError::UnknownQueue(queue.to_owned())
        } else {
            BusError::Protocol {
                operation,
                source: error,
            }
        }
    }
}

pub(crate) async fn take_dead_letters(
    connector: &Connector,
    queue: &str,
    max: usize,
) -> Result<Vec<Envelope>, BusError> {
    let channel = channel(connector).await?;
    let dlq = connector.topology().dead_letter_queue(queue);
    let mut taken = Vec::new();
    while taken.len() < max {
        let message = channel
            .basic_get(dlq.as_str().into(), BasicGetOptions::default())
            .await
            .map_err(queue_error(queue, "basic.get"))?;
        let Some(message) = message else { break };
        let delivery = message.delivery;
        match codec::envelope(&delivery.properties, &delivery.routing_key, delivery.data) {
            Ok(envelope) => taken.push(envelope),
            Err(error) => tracing::error!(%error, queue, "discarding an undecodable dead letter"),
        }
        delivery
            .acker
            .ack(BasicAckOptions::default())
            .await
            .map_err(BusError::protocol("basic.ack"))?;
    }
    done(channel).await;
    Ok(taken)
}

/// Messages ready in `queue` (its dead-letter queue's with `dead`), by a passive declare.
pub(crate) async fn queue_depth(
    connector: &Connector,
    queue: &str,
    dead: bool,
) -> Result<u64, BusError> {
    let topology = connector.topology();
    let name = if dead {
        topology.dead_letter_queue(queue)
    } else {
        topology.queue(queue)
    };
    let channel = channel(connector).await?;
    let options = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    let declared = channel
        .queue_declare(name.into(), options, FieldTable::default())
        .await
        .map_err(queue_error(queue, "queue.declare"))?;
    done(channel).await;
    Ok(u64::from(declared.message_count()))
}

pub(crate) async fn delete_topology(
    connector: &Connector,
    queues: &[&str],
) -> Result<(), BusError> {
    let channel = channel(connector).await?;
    let topology = connector.topology();
    for queue in queues {
        for name in [topology.queue(queue), topology.dead_letter_queue(queue)] {
            channel
                .queue_delete(name.into(), QueueDeleteOptions::default())
                .await
                .map_err(BusError::protocol("queue.delete"))?;
        }
    }
    for exchange in [topology.exchange(), topology.dead_letter_exchange()] {
        channel
            .exchange_delete(exchange.into(), ExchangeDeleteOptions::default())
            .await
            .map_err(BusError::protocol("exchange.delete"))?;
    }
    done(channel).await;
    Ok(())
}
