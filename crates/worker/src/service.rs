//! The one service loop every consumer uses: declare the system's queues, subscribe, report
//! ready, relay the outbox, sample the queue's depth, prune idempotency records, and consume in
//! batches until shutdown — then drain in the right order (consumer first, relay last, so the
//! events the last batches committed still take the fast path out).

use crate::Outbox;
use kefu_bus::{BatchItem, Bus, BusError, HandlerError, QueueSpec};
use sea_orm::DatabaseConnection;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How a service consumes its queue: batches of up to `max_batch` waiting messages, up to
/// `batches_in_flight` at once (see [`kefu_bus::run_batch_consumer`]).
#[derive(Clone, Copy, Debug)]
pub struct Consumption {
    pub max_batch: usize,
    pub batches_in_flight: usize,
}

impl Consumption {
    /// The prefetch that keeps every batch in flight full.
    pub fn prefetch(&self) -> u16 {
        (self.max_batch * self.batches_in_flight).min(u16::MAX as usize) as u16
    }
}

/// A service's event loop: what it consumes, where its events go out, and which queues must
/// exist before it publishes anything.
pub struct ServiceLoop {
    pub bus: Arc<dyn Bus>,
    pub outbox: Outbox,
    /// Every queue of the system (so nothing this service publishes can go unrouted, even on a
    /// fresh broker where this service starts first).
    pub all_queues: Vec<QueueSpec>,
    /// The queue this loop consumes.
    pub queue: QueueSpec,
    pub consumption: Consumption,
}

impl ServiceLoop {
    /// The loop over one of the system's queues ([`kefu_proto::queues`]), with the prefetch
    /// that keeps `consumption`'s batches full, declaring every queue of the system first.
    pub fn over(
        bus: Arc<dyn Bus>,
        outbox: Outbox,
        queue: kefu_proto::queues::Queue,
        consumption: Consumption,
    ) -> Self {
        Self {
            bus,
            outbox,
            all_queues: crate::queues::all(),
            queue: crate::queues::spec(queue).with_prefetch(consumption.prefetch()),
            consumption,
        }
    }

    /// Declares every queue, subscribes, calls `ready`, then relays the outbox and consumes with
    /// `handler` until `shutdown`; returns after both drained.
    pub async fn run<H, Fut>(
        self,
        shutdown: CancellationToken,
        ready: impl FnOnce(),
        handler: H,
    ) -> Result<(), BusError>
    where
        H: Fn(Vec<BatchItem>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<Result<(), HandlerError>>> + Send + 'static,
    {
        let Self {
            bus,
            outbox,
            all_queues,
            queue,
            consumption,
        } = self;
        for q in &all_queues {
            bus.declare(q).await?;
        }
        let name = queue.name.clone();
        let sub = bus.subscribe(queue).await?;
        ready();
        let depth = tokio::spawn(report_queue_depth(bus.clone(), name, shutdown.clone()));
        let pruning = tokio::spawn(prune_processed(outbox.db.clone(), shutdown.clone()));
        let relay_stop = CancellationToken::new();
        let relay = {
            let (bus, stop) = (bus.clone(), relay_stop.clone());
            tokio::spawn(async move { outbox.run_relay(bus, stop).await })
        };
        kefu_bus::run_batch_consumer(
            sub,
            consumption.max_batch,
            consumption.batches_in_flight,
            shutdown,
            handler,
        )
        .await;
        relay_stop.cancel();
        let _ = relay.await;
        let _ = depth.await;
        let _ = pruning.await;
        Ok(())
    }
}

/// How often the processed-event table is pruned.
pub const PRUNE_INTERVAL: Duration = Duration::from_secs(3600);

/// Keeps the processed-event table bounded: hourly, records past
/// [`kefu_store::idempotency::RETENTION`] go.
async fn prune_processed(db: DatabaseConnection, shutdown: CancellationToken) {
    use kefu_store::idempotency;
    loop {
        match idempotency::prune(&db, idempotency::RETENTION).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "pruned processed-event records"),
            Err(e) => tracing::warn!(error = %e, "pruning processed-event records failed"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(PRUNE_INTERVAL) => {}
        }
    }
}

/// How often a consumer samples its queue's depth for `kefu_bus_queue_depth` (and its
/// dead-letter queue's for `kefu_bus_dead_letters`).
pub const DEPTH_INTERVAL: Duration = Duration::from_secs(5);

/// Publishes the queue's depth (messages waiting) and its dead-letter queue's as gauges until
/// `shutdown`: what autoscaling and operators watch (docs/operations.md, the chart's alerts).
async fn report_queue_depth(bus: Arc<dyn Bus>, queue: String, shutdown: CancellationToken) {
    let meter = kefu_telemetry::metrics::meter();
    let gauge = meter
        .u64_gauge("kefu_bus_queue_depth")
        .with_description("Messages waiting in a consumer's queue")
        .build();
    let dead = meter
        .u64_gauge("kefu_bus_dead_letters")
        .with_description("Messages in a consumer's dead-letter queue")
        .build();
    let label = [opentelemetry::KeyValue::new("queue", queue.clone())];
    loop {
        if let Ok(depth) = bus.queue_depth(&queue).await {
            gauge.record(depth, &label);
        }
        if let Ok(depth) = bus.dead_letter_depth(&queue).await {
            dead.record(depth, &label);
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(DEPTH_INTERVAL) => {}
        }
    }
}
