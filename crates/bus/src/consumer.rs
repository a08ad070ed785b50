//! [`run_consumer`]: the standard consumer loop (bounded concurrency, tracing,
//! ack/nack policy, back-off, graceful drain) and its [`HandlerError`].

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::{Delivery, Envelope, Subscription};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a handler failed, which decides what happens to the message.
#[derive(Debug)]
pub enum HandlerError {
    /// Worth retrying (dependency down, timeout): redelivered with back-off
    /// until the queue's delivery limit, then dead-lettered.
    Transient(BoxError),
    /// Retrying cannot help (malformed payload, invariant violated):
    /// dead-lettered at once.
    Permanent(BoxError),
}

impl HandlerError {
    /// A [`HandlerError::Transient`] from any error or message.
    pub fn transient(error: impl Into<BoxError>) -> Self {
        Self::Transient(error.into())
    }

    /// A [`HandlerError::Permanent`] from any error or message.
    pub fn permanent(error: impl Into<BoxError>) -> Self {
        Self::Permanent(error.into())
    }

    /// Whether a retry may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient(_))
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transient(error) => write!(f, "transient handler error: {error}"),
            Self::Permanent(error) => write!(f, "permanent handler error: {error}"),
        }
    }
}

impl std::error::Error for HandlerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Transient(error) | Self::Permanent(error) => Some(error.as_ref()),
        }
    }
}

/// Back-off before requeueing a transiently failed delivery: 50 ms doubling
/// with each delivery, capped at 1 s.
pub fn retry_backoff(delivery_count: u32) -> Duration {
    let exponent = delivery_count.saturating_sub(1).min(5);
    Duration::from_millis(50u64 << exponent).min(Duration::from_secs(1))
}

/// Runs a consumer loop until `shutdown` is cancelled or the subscription ends.
///
/// Up to `concurrency` handlers run at once, each inside a span named
/// `"{queue} process"` whose parent is the envelope's trace context.
/// `Ok` acks; [`HandlerError::Permanent`] dead-letters; [`HandlerError::Transient`]
/// requeues after [`retry_backoff`], or dead-letters once the delivery count
/// reached the queue's delivery limit. On shutdown no new delivery is taken,
/// in-flight handlers finish and are settled, then the function returns.
pub async fn run_consumer<H, Fut>(
    mut sub: Subscription,
    concurrency: usize,
    shutdown: CancellationToken,
    handler: H,
) where
    H: Fn(Envelope) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), crate::HandlerError>> + Send + 'static,
{
    let handler = Arc::new(handler);
    let slots = Arc::new(Semaphore::new(concurrency.max(1)));
    let queue: Arc<str> = Arc::from(sub.queue());
    let system = sub.messaging_system();
    let limit = sub.delivery_limit();
    let mut in_flight = JoinSet::new();
    loop {
        let permit = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let delivery = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            delivery = sub.next() => match delivery {
                Some(delivery) => delivery,
                None => break,
            },
        };
        while in_flight.try_join_next().is_some() {}
        let handler = Arc::clone(&handler);
        let queue = Arc::clone(&queue);
        let shutdown = shutdown.clone();
        in_flight.spawn(async move {
            process(delivery, &queue, system, limit, &shutdown, handler.as_ref()).await;
            drop(permit);
        });
    }
    while in_flight.join_next().await.is_some() {}
    drop(sub);
}

async fn process<H, Fut>(
    delivery: Delivery,
    queue: &str,
    system: &'static str,
    limit: u32,
    shutdown: &CancellationToken,
    handler: &H,
) where
    H: Fn(Envelope) -> Fut,
    Fut: Future<Output = Result<(), HandlerError>>,
{
    let envelope = &delivery.envelope;
    let span = tracing::info_span!(
        "process",
        otel.name = %format!("{queue} process"),
        otel.kind = "consumer",
        messaging.system = system,
        messaging.operation.type = "process",
        messaging.destination.name = queue,
        messaging.message.id = %envelope.event_id,
        kefu.tenant = %envelope.tenant_id,
        kefu.event_type = %envelope.event_type,
        kefu.delivery_count = delivery.delivery_count,
    );
    // Without an OpenTelemetry layer there is nothing to attach the parent to.
    let _ = span.set_parent(envelope.parent_context());
    let outcome = handler(envelope.clone()).instrument(span.clone()).await;
    let count = delivery.delivery_count;
    let settled = async {
        match outcome {
            Ok(()) => delivery.ack().await,
            Err(HandlerError::Permanent(error)) => {
                tracing::warn!(%error, "permanent failure, dead-lettering");
                delivery.nack(false).await
            }
            Err(HandlerError::Transient(error)) if count >= limit => {
                tracing::warn!(%error, count, limit, "delivery limit reached, dead-lettering");
                delivery.nack(false).await
            }
            Err(HandlerError::Transient(error)) => {
                tracing::info!(%error, count, "transient failure, requeueing");
                tokio::select! {
                    () = tokio::time::sleep(retry_backoff(count)) => {}
                    () = shutdown.cancelled() => {}
                }
                delivery.nack(true).await
            }
        }
    }
    .instrument(span)
    .await;
    if let Err(error) = settled {
        tracing::warn!(%error, queue, "settling a delivery failed; the broker will redeliver it");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(retry_backoff(1), Duration::from_millis(50));
        assert_eq!(retry_backoff(2), Duration::from_millis(100));
        assert_eq!(retry_backoff(5), Duration::from_millis(800));
        assert_eq!(retry_backoff(6), Duration::from_secs(1));
        assert_eq!(retry_backoff(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn handler_error_display_and_kind() {
        let error = HandlerError::transient("db down");
        assert!(error.is_transient());
        assert_eq!(error.to_string(), "transient handler error: db down");
        assert!(!HandlerError::permanent("bad payload").is_transient());
    }
}
