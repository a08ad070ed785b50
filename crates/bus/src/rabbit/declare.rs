//! Idempotent declaration of the RabbitMQ topology.

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, ExchangeKind};

use crate::{BusError, QueueSpec, Topology};

/// Declares the durable events (topic) and dead-letter (direct) exchanges.
pub(crate) async fn exchanges(channel: &Channel, topology: &Topology) -> Result<(), BusError> {
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    channel
        .exchange_declare(
            topology.exchange().into(),
            ExchangeKind::Topic,
            durable,
            FieldTable::default(),
        )
        .await
        .map_err(BusError::protocol("exchange.declare"))?;
    channel
        .exchange_declare(
            topology.dead_letter_exchange().into(),
            ExchangeKind::Direct,
            durable,
            FieldTable::default(),
        )
        .await
        .map_err(BusError::protocol("exchange.declare"))
}

/// Arguments of a quorum queue dead-lettering into `{prefix}.dlx`.
///
/// RabbitMQ dead-letters a quorum message once its `x-delivery-count` (returns
/// so far) EXCEEDS `x-delivery-limit`, i.e. after limit + 1 deliveries; the
/// broker limit is therefore `delivery_limit - 1`, so that at most
/// `delivery_limit` deliveries happen, whether the consumer nacks or crashes.
pub(crate) fn queue_arguments(topology: &Topology, spec: &QueueSpec) -> FieldTable {
    let full_name = topology.queue(&spec.name);
    let broker_limit = spec.effective_delivery_limit() - 1;
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    arguments.insert(
        "x-delivery-limit".into(),
        AMQPValue::LongLongInt(i64::from(broker_limit)),
    );
    arguments.insert(
        "x-dead-letter-exchange".into(),
        AMQPValue::LongString(topology.dead_letter_exchange().into()),
    );
    arguments.insert(
        "x-dead-letter-routing-key".into(),
        AMQPValue::LongString(full_name.into()),
    );
    arguments.insert(
        "x-dead-letter-strategy".into(),
        AMQPValue::LongString("at-least-once".into()),
    );
    arguments.insert(
        "x-overflow".into(),
        AMQPValue::LongString("reject-publish".into()),
    );
    arguments
}

/// Declares the queue, its bindings, its dead-letter queue and that queue's binding; a
/// transient queue is exclusive to this connection, deleted with it, and has no dead letters.
pub(crate) async fn queue(
    channel: &Channel,
    topology: &Topology,
    spec: &QueueSpec,
) -> Result<(), BusError> {
    if spec.transient {
        let name = topology.queue(&spec.name);
        let options = QueueDeclareOptions {
            exclusive: true,
            auto_delete: true,
            ..QueueDeclareOptions::default()
        };
        channel
            .queue_declare(name.as_str().into(), options, FieldTable::default())
            .await
            .map_err(BusError::protocol("queue.declare"))?;
        return bind(channel, topology, &name, spec).await;
    }
    let durable = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    let full_name = topology.queue(&spec.name);
    let dlq = topology.dead_letter_queue(&spec.name);
    channel
        .queue_declare(dlq.as_str().into(), durable, FieldTable::default())
        .await
        .map_err(BusError::protocol("queue.declare"))?;
    channel
        .queue_bind(
            dlq.into(),
            topology.dead_letter_exchange().into(),
            full_name.as_str().into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(BusError::protocol("queue.bind"))?;
    channel
        .queue_declare(
            full_name.as_str().into(),
            durable,
            queue_arguments(topology, spec),
        )
        .await
        .map_err(BusError::protocol("queue.declare"))?;
    bind(channel, topology, &full_name, spec).await
}

/// Binds the queue to each of the spec's patterns on the events exchange.
async fn bind(
    channel: &Channel,
    topology: &Topology,
    full_name: &str,
    spec: &QueueSpec,
) -> Result<(), BusError> {
    for pattern in &spec.bindings {
        channel
            .queue_bind(
                full_name.into(),
                topology.exchange().into(),
                pattern.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(BusError::protocol("queue.bind"))?;
    }
    Ok(())
}
