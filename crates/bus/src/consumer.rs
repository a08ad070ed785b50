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

/// Buckets of `kefu_bus_consume_lag_ms`: milliseconds when all is well, up to an hour when a
/// consumer is down or far behind.
const LAG_BOUNDARIES_MS: [f64; 16] = [
    1.0,
    5.0,
    10.0,
    25.0,
    50.0,
    100.0,
    250.0,
    500.0,
    1_000.0,
    2_500.0,
    5_000.0,
    10_000.0,
    30_000.0,
    60_000.0,
    300_000.0,
    3_600_000.0,
];

/// Per-consumer instruments: outcomes, handling time and lag, labelled by queue.
#[derive(Clone)]
struct Metrics {
    outcomes: Counter<u64>,
    handle_ms: Histogram<f64>,
    /// How old an event is when its consumer starts on it (from `occurred_at`): the consumer
    /// lag, in time, that the queue depth shows in messages.
    lag_ms: Histogram<f64>,
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
            lag_ms: meter
                .f64_histogram("kefu_bus_consume_lag_ms")
                .with_description("Age of an event when its consumer starts handling it")
                .with_boundaries(LAG_BOUNDARIES_MS.to_vec())
                .build(),
            queue: KeyValue::new("queue", queue.to_owned()),
        }
    }

    fn lag(&self, envelope: &Envelope) {
        let age = chrono::Utc::now() - envelope.occurred_at;
        let ms = age
            .num_microseconds()
            .map_or(f64::MAX, |us| us as f64 / 1000.0);
        self.lag_ms
            .record(ms.max(0.0), std::slice::from_ref(&self.queue));
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

/// The outcome of each item of a batch, filled in as the handler decides them; an item the
/// handler never decided is reported as a transient failure (redelivered), never as done.
pub struct BatchOutcomes(Vec<Option<Result<(), HandlerError>>>);

impl BatchOutcomes {
    pub fn new(items: usize) -> Self {
        Self((0..items).map(|_| None).collect())
    }

    pub fn set(&mut self, index: usize, outcome: Result<(), HandlerError>) {
        self.0[index] = Some(outcome);
    }

    /// The results in item order, as [`run_batch_consumer`]'s handler returns them.
    pub fn finish(self) -> Vec<Result<(), HandlerError>> {
        self.0
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(HandlerError::transient("not handled"))))
            .collect()
    }
}

/// How long a transiently failed delivery waits before it is requeued: 50 ms doubling with
/// each delivery, capped at 1 s, jittered ([`crate::backoff`]).
pub const REQUEUE_BACKOFF: crate::backoff::Policy =
    crate::backoff::Policy::new(Duration::from_millis(50), Duration::from_secs(1));

/// Back-off before requeueing a transiently failed delivery ([`REQUEUE_BACKOFF`]).
pub fn retry_backoff(delivery_count: u32) -> Duration {
    REQUEUE_BACKOFF.delay(delivery_count)
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
    sub: Subscription,
    concurrency: usize,
    shutdown: CancellationToken,
    handler: H,
) where
    H: Fn(Envelope) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), crate::HandlerError>> + Send + 'static,
{
    let handler = Arc::new(handler);
    run_batch_consumer(sub, 1, concurrency, shutdown, move |mut items| {
        let handler = Arc::clone(&handler);
        async move {
            let item = items.pop().expect("batches are never empty");
            vec![handler(item.envelope).instrument(item.span).await]
        }
    })
    .await;
}

/// One message of a batch, with the span its processing belongs to (a child of the
/// message's own trace, so each message keeps its trace even when handled together).
pub struct BatchItem {
    pub envelope: Envelope,
    pub span: tracing::Span,
}

/// Like [`run_consumer`], but hands the handler every delivery that is already waiting, up to
/// `max_batch` at once, so it can do per-batch work (one database transaction) for many
/// messages; up to `batches_in_flight` batches run concurrently. A batch never waits for more
/// messages to arrive: under light load batches are single messages. The handler returns one
/// result per item, in order; each delivery is settled by its own result.
pub async fn run_batch_consumer<H, Fut>(
    mut sub: Subscription,
    max_batch: usize,
    batches_in_flight: usize,
    shutdown: CancellationToken,
    handler: H,
) where
    H: Fn(Vec<BatchItem>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Vec<Result<(), HandlerError>>> + Send + 'static,
{
    let handler = Arc::new(handler);
    let slots = Arc::new(Semaphore::new(batches_in_flight.max(1)));
    let ctx = Arc::new(SettleContext {
        queue: Arc::from(sub.queue()),
        system: sub.messaging_system(),
        limit: sub.delivery_limit(),
        metrics: Metrics::new(sub.queue()),
        shutdown: shutdown.clone(),
    });
    let max_batch = max_batch.max(1);
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
        let first = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            delivery = sub.next() => match delivery {
                Some(delivery) => delivery,
                None => break,
            },
        };
        let mut batch = vec![first];
        while batch.len() < max_batch {
            // `next` is cancel-safe: polling it once and dropping it loses nothing.
            match futures::FutureExt::now_or_never(sub.next()) {
                Some(Some(delivery)) => batch.push(delivery),
                _ => break,
            }
        }
        while in_flight.try_join_next().is_some() {}
        let handler = Arc::clone(&handler);
        let ctx = Arc::clone(&ctx);
        in_flight.spawn(async move {
            process_batch(batch, &ctx, handler.as_ref()).await;
            drop(permit);
        });
    }
    while in_flight.join_next().await.is_some() {}
    drop(sub);
}

struct SettleContext {
    queue: Arc<str>,
    system: &'static str,
    limit: u32,
    metrics: Metrics,
    shutdown: CancellationToken,
}

fn process_span(delivery: &Delivery, ctx: &SettleContext) -> tracing::Span {
    let envelope = &delivery.envelope;
    let queue = &*ctx.queue;
    let span = tracing::info_span!(
        "process",
        otel.name = %format!("{queue} process"),
        otel.kind = "consumer",
        messaging.system = ctx.system,
        messaging.operation.type = "process",
        messaging.destination.name = queue,
        messaging.message.id = %envelope.event_id,
        kefu.tenant = %envelope.tenant_id,
        kefu.event_type = %envelope.event_type,
        kefu.delivery_count = delivery.delivery_count,
    );
    // Without an OpenTelemetry layer there is nothing to attach the parent to.
    let _ = span.set_parent(envelope.parent_context());
    span
}

async fn process_batch<H, Fut>(batch: Vec<Delivery>, ctx: &SettleContext, handler: &H)
where
    H: Fn(Vec<BatchItem>) -> Fut,
    Fut: Future<Output = Vec<Result<(), HandlerError>>>,
{
    for delivery in &batch {
        ctx.metrics.lag(&delivery.envelope);
    }
    let spans: Vec<tracing::Span> = batch.iter().map(|d| process_span(d, ctx)).collect();
    let items = batch
        .iter()
        .zip(&spans)
        .map(|(d, span)| BatchItem {
            envelope: d.envelope.clone(),
            span: span.clone(),
        })
        .collect();
    let started = std::time::Instant::now();
    let mut outcomes = handler(items).await;
    let per_item_ms = started.elapsed().as_secs_f64() * 1000.0 / batch.len() as f64;
    if outcomes.len() != batch.len() {
        tracing::error!(
            expected = batch.len(),
            got = outcomes.len(),
            "batch handler returned the wrong number of results; retrying the batch"
        );
        outcomes = (0..batch.len())
            .map(|_| {
                Err(HandlerError::transient(
                    "batch handler result count mismatch",
                ))
            })
            .collect();
    }
    let settling = batch
        .into_iter()
        .zip(outcomes)
        .zip(spans)
        .map(|((delivery, outcome), span)| {
            ctx.metrics
                .handle_ms
                .record(per_item_ms, std::slice::from_ref(&ctx.metrics.queue));
            settle(delivery, outcome, ctx).instrument(span)
        });
    // Concurrently: one item's requeue back-off must not delay the others' acks.
    futures::future::join_all(settling).await;
}

async fn settle(delivery: Delivery, outcome: Result<(), HandlerError>, ctx: &SettleContext) {
    let count = delivery.delivery_count;
    let (limit, metrics) = (ctx.limit, &ctx.metrics);
    let settled = match outcome {
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
                () = ctx.shutdown.cancelled() => {}
            }
            delivery.nack(true).await
        }
    };
    if let Err(error) = settled {
        tracing::warn!(%error, queue = &*ctx.queue, "settling a delivery failed; the broker will redeliver it");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(REQUEUE_BACKOFF.base(1), Duration::from_millis(50));
        assert_eq!(REQUEUE_BACKOFF.base(2), Duration::from_millis(100));
        assert_eq!(REQUEUE_BACKOFF.base(5), Duration::from_millis(800));
        assert_eq!(REQUEUE_BACKOFF.base(6), Duration::from_secs(1));
        assert_eq!(REQUEUE_BACKOFF.base(u32::MAX), Duration::from_secs(1));
        for count in [1, 2, 5, 6, u32::MAX] {
            let (d, base) = (retry_backoff(count), REQUEUE_BACKOFF.base(count));
            assert!(d >= base / 2 && d <= base, "{count}: {d:?}");
        }
    }

    #[test]
    fn handler_error_display_and_kind() {
        let error = HandlerError::transient("db down");
        assert!(error.is_transient());
        assert_eq!(error.to_string(), "transient handler error: db down");
        assert!(!HandlerError::permanent("bad payload").is_transient());
    }
}
