//! Confirmed, persistent publishing with retry across reconnects.

use std::time::Duration;

use lapin::Channel;
use lapin::options::BasicPublishOptions;
use tokio::time::Instant;

use super::codec;
use super::connection::Connector;
use crate::{BusError, Envelope};

/// Longest wait for the confirms of one publish attempt before the connection
/// is considered dead.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Publishes all envelopes and awaits their confirms together; on a broken
/// connection the whole batch is re-published on a new one (consumers
/// deduplicate by event id) until [`RETRY_BUDGET`](super::RETRY_BUDGET) is spent.
pub(crate) async fn publish(connector: &Connector, envelopes: &[Envelope]) -> Result<(), BusError> {
    if envelopes.is_empty() {
        return Ok(());
    }
    let deadline = Instant::now() + super::RETRY_BUDGET;
    let exchange = connector.topology().exchange();
    loop {
        if connector.closed.is_cancelled() {
            return Err(BusError::Closed);
        }
        let live = connector.current(Some(deadline)).await?;
        let attempt = tokio::time::timeout(
            ATTEMPT_TIMEOUT,
            publish_once(&live.publisher, &exchange, envelopes),
        )
        .await;
        let error = match attempt {
            Ok(Ok(Confirmed::All)) => return Ok(()),
            Ok(Ok(Confirmed::Nacked(event_id))) => {
                return Err(BusError::PublishNacked { event_id });
            }
            Ok(Err(error)) => error.to_string(),
            Err(_) => {
                // The broker went silent: assume the connection is dead.
                connector.invalidate(live.generation).await;
                format!("no confirm within {ATTEMPT_TIMEOUT:?}")
            }
        };
        if Instant::now() >= deadline {
            return Err(BusError::Connection {
                url: connector.display_url(),
                reason: format!(
                    "publish not confirmed within {:?}: {error}",
                    super::RETRY_BUDGET
                ),
            });
        }
        tracing::warn!(%error, "publish failed, retrying on a fresh connection");
        if !live.publisher.status().connected() {
            continue;
        }
        // The channel still looks fine, yet the attempt failed: pause before retrying.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

enum Confirmed {
    All,
    Nacked(uuid::Uuid),
}

async fn publish_once(
    channel: &Channel,
    exchange: &str,
    envelopes: &[Envelope],
) -> lapin::Result<Confirmed> {
    let mut pending = Vec::with_capacity(envelopes.len());
    for envelope in envelopes {
        let confirm = channel
            .basic_publish(
                exchange.into(),
                envelope.event_type.as_str().into(),
                BasicPublishOptions::default(),
                &envelope.payload,
                codec::properties(envelope),
            )
            .await?;
        pending.push((envelope.event_id, confirm));
    }
    let mut nacked = None;
    for (event_id, confirm) in pending {
        if confirm.await?.is_nack() && nacked.is_none() {
            nacked = Some(event_id);
        }
    }
    Ok(nacked.map_or(Confirmed::All, Confirmed::Nacked))
}
