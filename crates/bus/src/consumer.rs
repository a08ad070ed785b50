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
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram};

/// Per-consumer instruments: outcomes and handling time, labelled by queue.
#[derive(Clone)]
struct Metrics {
    outcomes: Counter<u64>,
    handle_ms: Histogram<f64>,
    queue: KeyValue,
}

impl Metrics {
    fn new(queue: &str) -> Self {
        let meter = opentelemetry::global::meter("kefu");
        Self {
            outcomes: meter
                .u64_counter("kefu_bus_messages")
                .with_description("Consumed messages by outcome (acked, requeued, dead_lettered)")
                .build(),
            handle_ms: meter
                .f64_histogram("kefu_bus_handle_ms")
                .with_description("Time a consumer's handler took for one message")
                .build(),
            queue: KeyValue::new("queue", queue.to_owned()),
        }
    }

    fn outcome(&self, outcome: &'static str) {
        self.outcomes
            .add(1, &[self.queue.clone(), KeyValue::new("outcome", outcome)]);
    }
}

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
    let metrics = Metrics::new(sub.queue());
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
        let metrics = metrics.clone();
        in_flight.spawn(async move {
            process(
                delivery,
                &queue,
                system,
                limit,
                &shutdown,
                &metrics,
                handler.as_ref(),
            )
            .await;
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
    metrics: &Metrics,
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
    let started = std::time::Instant::now();
    let outcome = handler(envelope.clone()).instrument(span.clone()).await;
    metrics.handle_ms.record(
        started.elapsed().as_secs_f64() * 1000.0,
        std::slice::from_ref(&metrics.queue),
    );
    let count = delivery.delivery_count;
    let settled = async {
        match outcome {
            Ok(()) => {
                metrics.outcome("acked");
                delivery.ack().await
            }
            Err(HandlerError::Permanent(error)) => {
                metrics.outcome("dead_lettered");
                tracing::warn!(%error, "permanent failure, dead-lettering");
                delivery.nack(false).await
            }
            Err(HandlerError::Transient(error)) if count >= limit => {
                metrics.outcome("dead_lettered");
                tracing::warn!(%error, count, limit, "delivery limit reached, dead-lettering");
                delivery.nack(false).await
            }
            Err(HandlerError::Transient(error)) => {
                metrics.outcome("requeued");
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
