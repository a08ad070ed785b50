//! The transactional outbox: a service writes its events into its own `outbox` table in the
//! transaction that changes its state, and the relay publishes them to the bus (with publisher
//! confirms) and deletes them. Neither the state change nor the event can happen without the
//! other, and a crash between commit and publish only delays the event.
//!
//! Latency: committing code calls [`Outbox::wake`], so the relay publishes at once instead of on
//! its next poll; the poll (every [`POLL_INTERVAL`]) picks up rows left by a crashed replica.
//! Several replicas can relay the same table: on PostgreSQL each claims rows with
//! `FOR UPDATE SKIP LOCKED`.

use crate::StoreError;
use crate::entities::outbox;
use chrono::Utc;
use kefu_bus::{Bus, Envelope, TraceContext};
use opentelemetry::metrics::Counter;
use sea_orm::sea_query::{LockBehavior, LockType};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Rows published per relay round trip.
pub const BATCH: u64 = 256;
/// How often the relay looks for rows nobody woke it for.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Writes `envelope` to the outbox inside the caller's transaction.
pub async fn enqueue<C: ConnectionTrait>(
    db: &C,
    envelope: &Envelope,
) -> Result<(), sea_orm::DbErr> {
    let row = outbox::ActiveModel {
        id: Set(envelope.event_id),
        tenant_id: Set(envelope.tenant_id.clone()),
        event_type: Set(envelope.event_type.clone()),
        payload: Set(envelope.payload.to_vec()),
        trace_context: Set(encode_trace_context(&envelope.trace_context)),
        occurred_at: Set(envelope.occurred_at),
    };
    outbox::Entity::insert(row)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

pub fn encode_trace_context(ctx: &TraceContext) -> String {
    serde_json::to_string(ctx).unwrap_or_else(|_| "{}".to_owned())
}

pub fn decode_trace_context(s: &str) -> TraceContext {
    serde_json::from_str(s).unwrap_or_default()
}

/// A service's outbox: the handle committing code wakes, and the relay loop.
#[derive(Clone)]
pub struct Outbox {
    db: DatabaseConnection,
    wake: Arc<Notify>,
    published: Counter<u64>,
}

impl Outbox {
    pub fn new(db: DatabaseConnection) -> Self {
        let published = kefu_telemetry::metrics::meter()
            .u64_counter("kefu_outbox_published")
            .with_description("Events published from the outbox")
            .build();
        Self {
            db,
            wake: Arc::new(Notify::new()),
            published,
        }
    }

    /// Tells the relay that rows were just committed.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Rows waiting to be published.
    pub async fn pending(&self) -> Result<u64, StoreError> {
        Ok(outbox::Entity::find().count(&self.db).await?)
    }

    /// Publishes one batch and deletes it; returns how many rows were published.
    pub async fn relay_once(&self, bus: &dyn Bus) -> Result<usize, StoreError> {
        let txn = self.db.begin().await?;
        let mut query = outbox::Entity::find()
            .order_by_asc(outbox::Column::Id)
            .limit(BATCH);
        if txn.get_database_backend() == DbBackend::Postgres {
            query = query.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let rows = query.all(&txn).await?;
        if rows.is_empty() {
            txn.commit().await?;
            return Ok(0);
        }
        let envelopes: Vec<Envelope> = rows
            .into_iter()
            .map(|r| Envelope {
                event_id: r.id,
                tenant_id: r.tenant_id,
                event_type: r.event_type,
                occurred_at: r.occurred_at,
                trace_context: decode_trace_context(&r.trace_context),
                payload: r.payload.into(),
            })
            .collect();
        let span = tracing::info_span!(
            "outbox publish",
            otel.kind = "producer",
            messaging.operation.type = "publish",
            messaging.batch.message_count = envelopes.len()
        );
        if let Some(first) = envelopes.first() {
            kefu_telemetry::set_parent(&span, &first.trace_context);
        }
        if let Err(err) = bus.publish_batch(&envelopes).instrument(span).await {
            // Release the row locks now, not whenever the dropped transaction gets to it, so
            // the next attempt (here or on another replica) sees the rows again.
            txn.rollback().await?;
            return Err(err.into());
        }
        let ids: Vec<_> = envelopes.iter().map(|e| e.event_id).collect();
        outbox::Entity::delete_many()
            .filter(outbox::Column::Id.is_in(ids))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        let lag_ms = envelopes
            .iter()
            .map(|e| (Utc::now() - e.occurred_at).num_milliseconds())
            .max()
            .unwrap_or(0);
        tracing::trace!(count = envelopes.len(), lag_ms, "outbox relayed");
        self.published.add(envelopes.len() as u64, &[]);
        Ok(envelopes.len())
    }

    /// Relays until `shutdown`, then drains what is left (bounded by the broker being up).
    pub async fn run_relay(&self, bus: Arc<dyn Bus>, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(50);
        loop {
            match self.relay_once(bus.as_ref()).await {
                Ok(n) if n as u64 == BATCH => continue,
                Ok(_) => {
                    backoff = Duration::from_millis(50);
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(POLL_INTERVAL) => {}
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "outbox relay failed; retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
        // Final drain so a graceful stop leaves nothing behind when the broker is reachable.
        for _ in 0..64 {
            match self.relay_once(bus.as_ref()).await {
                Ok(0) => break,
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(error = %err, "outbox not drained at shutdown; rows stay for the next start");
                    break;
                }
            }
        }
    }
}

/// A service's event loop: subscribes `spec`, calls `ready`, then relays `outbox` and consumes
/// with `handler` (up to `concurrency` at once) until `shutdown`; returns after both drained.
pub async fn consume_and_relay<H, Fut>(
    bus: Arc<dyn Bus>,
    outbox: Outbox,
    spec: kefu_bus::QueueSpec,
    concurrency: usize,
    shutdown: CancellationToken,
    ready: impl FnOnce(),
    handler: H,
) -> Result<(), kefu_bus::BusError>
where
    H: Fn(Envelope) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), kefu_bus::HandlerError>> + Send + 'static,
{
    let queue = spec.name.clone();
    let sub = bus.subscribe(spec).await?;
    ready();
    let depth = tokio::spawn(report_queue_depth(bus.clone(), queue, shutdown.clone()));
    let relay = {
        let (bus, stop) = (bus.clone(), shutdown.clone());
        tokio::spawn(async move { outbox.run_relay(bus, stop).await })
    };
    kefu_bus::run_consumer(sub, concurrency, shutdown, handler).await;
    let _ = relay.await;
    let _ = depth.await;
    Ok(())
}

/// How often a consumer samples its queue's depth for `kefu_bus_queue_depth`.
pub const DEPTH_INTERVAL: Duration = Duration::from_secs(5);

/// Publishes the queue's depth (messages waiting) as a gauge until `shutdown`: what autoscaling
/// and operators watch.
async fn report_queue_depth(bus: Arc<dyn Bus>, queue: String, shutdown: CancellationToken) {
    let gauge = kefu_telemetry::metrics::meter()
        .u64_gauge("kefu_bus_queue_depth")
        .with_description("Messages waiting in a consumer's queue")
        .build();
    let label = [opentelemetry::KeyValue::new("queue", queue.clone())];
    loop {
        if let Ok(depth) = bus.queue_depth(&queue).await {
            gauge.record(depth, &label);
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(DEPTH_INTERVAL) => {}
        }
    }
}
