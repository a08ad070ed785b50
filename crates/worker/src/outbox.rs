//! The transactional outbox: a service writes its events into its own `outbox` table in the
//! transaction that changes its state, and the relay publishes them to the bus (with publisher
//! confirms) and deletes them. Neither the state change nor the event can happen without the
//! other, and a crash between commit and publish only delays the event.
//!
//! Two paths lead out of the table:
//! - **Fast path.** After committing, the code hands the same envelopes to [`Outbox::dispatch`].
//!   The relay publishes whatever has accumulated as one confirmed batch and deletes those rows
//!   with one statement — no polling, no row locks, and batches that grow with load.
//! - **Sweep.** Every [`POLL_INTERVAL`] (and at once after [`Outbox::wake`]) the relay claims rows
//!   older than [`STALE_AFTER`] — left by a crash, a failed publish, or another replica that
//!   died — with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so several replicas can sweep one table.
//!
//! A row can go out twice (the fast path's delete lost in a crash, say); consumers are
//! idempotent on the event id, as at-least-once delivery requires anyway.

use crate::RelayError;
use chrono::Utc;
use kefu_bus::{Bus, Envelope, TraceContext};
use kefu_store::entities::outbox;
use opentelemetry::metrics::Counter;
use sea_orm::sea_query::{LockBehavior, LockType};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, Notify, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Rows published per relay round trip.
pub const BATCH: u64 = 256;
/// How often the relay sweeps for rows the fast path did not take.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// How long the fast path waits after a failed publish, growing while the broker stays down.
const RETRY: kefu_bus::backoff::Policy =
    kefu_bus::backoff::Policy::new(Duration::from_millis(50), Duration::from_secs(5));
/// Rows younger than this are left to the fast path by the periodic sweep.
pub const STALE_AFTER: Duration = Duration::from_secs(2);

/// Writes `envelope` to the outbox inside the caller's transaction.
pub async fn enqueue<C: ConnectionTrait>(
    db: &C,
    envelope: &Envelope,
) -> Result<(), sea_orm::DbErr> {
    enqueue_many(db, std::slice::from_ref(envelope)).await
}

/// Writes many envelopes to the outbox with one insert, inside the caller's transaction.
pub async fn enqueue_many<C: ConnectionTrait>(
    db: &C,
    envelopes: &[Envelope],
) -> Result<(), sea_orm::DbErr> {
    if envelopes.is_empty() {
        return Ok(());
    }
    outbox::Entity::insert_many(envelopes.iter().map(|envelope| outbox::ActiveModel {
        id: Set(envelope.event_id),
        tenant_id: Set(envelope.tenant_id.clone()),
        event_type: Set(envelope.event_type.clone()),
        payload: Set(envelope.payload.to_vec()),
        trace_context: Set(encode_trace_context(&envelope.trace_context)),
        occurred_at: Set(envelope.occurred_at),
    }))
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

/// Publishes a batch in a producer span that continues the first event's trace.
async fn publish(bus: &dyn Bus, batch: &[Envelope]) -> Result<(), kefu_bus::BusError> {
    let span = tracing::info_span!(
        "outbox publish",
        otel.kind = "producer",
        messaging.operation.type = "publish",
        messaging.batch.message_count = batch.len()
    );
    if let Some(first) = batch.first() {
        kefu_telemetry::set_parent(&span, &first.trace_context);
    }
    bus.publish_batch(batch).instrument(span).await
}

/// A service's outbox: the handle committing code dispatches to, and the relay loop.
#[derive(Clone)]
pub struct Outbox {
    pub(crate) db: DatabaseConnection,
    wake: Arc<Notify>,
    fast_tx: mpsc::UnboundedSender<Envelope>,
    fast_rx: Arc<Mutex<mpsc::UnboundedReceiver<Envelope>>>,
    published: Counter<u64>,
}

impl Outbox {
    pub fn new(db: DatabaseConnection) -> Self {
        let published = kefu_telemetry::metrics::meter()
            .u64_counter("kefu_outbox_published")
            .with_description("Events published from the outbox, by event_type")
            .build();
        let (fast_tx, fast_rx) = mpsc::unbounded_channel();
        Self {
            db,
            wake: Arc::new(Notify::new()),
            fast_tx,
            fast_rx: Arc::new(Mutex::new(fast_rx)),
            published,
        }
    }

    /// Hands envelopes whose rows were just committed to the relay's fast path.
    pub fn dispatch(&self, envelopes: impl IntoIterator<Item = Envelope>) {
        for envelope in envelopes {
            // The receiver lives as long as this handle; a send can only fail while the
            // process is tearing down, and then the sweep of the next start publishes the row.
            let _ = self.fast_tx.send(envelope);
        }
    }

    /// Asks the relay to sweep the whole table now (rows committed without [`Self::dispatch`]).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Rows waiting to be published.
    pub async fn pending(&self) -> Result<u64, RelayError> {
        Ok(outbox::Entity::find().count(&self.db).await?)
    }

    /// Sweeps one batch of rows of any age: publishes and deletes them; returns how many.
    pub async fn relay_once(&self, bus: &dyn Bus) -> Result<usize, RelayError> {
        self.sweep(bus, Duration::ZERO).await
    }

    /// Claims up to [`BATCH`] rows older than `min_age`, publishes and deletes them.
    async fn sweep(&self, bus: &dyn Bus, min_age: Duration) -> Result<usize, RelayError> {
        let txn = self.db.begin().await?;
        let cutoff = Utc::now() - chrono::Duration::from_std(min_age).unwrap_or_default();
        let mut query = outbox::Entity::find()
            .filter(outbox::Column::OccurredAt.lte(cutoff))
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
        if let Err(err) = publish(bus, &envelopes).await {
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
        self.count_published(&envelopes);
        Ok(envelopes.len())
    }

    /// Publishes one fast-path batch; its rows are deleted by the deleter, off the path of
    /// the next batch.
    async fn publish_fast(
        &self,
        bus: &dyn Bus,
        batch: &[Envelope],
        deleter: &mpsc::UnboundedSender<Vec<uuid::Uuid>>,
    ) -> Result<(), RelayError> {
        publish(bus, batch).await?;
        let _ = deleter.send(batch.iter().map(|e| e.event_id).collect());
        self.count_published(batch);
        Ok(())
    }

    /// `kefu_outbox_published` by `event_type`: the dashboards' domain figures (conversations
    /// opened, handed off, …) without a counter per event.
    fn count_published(&self, envelopes: &[Envelope]) {
        let mut counts: Vec<(&str, u64)> = Vec::new();
        for e in envelopes {
            match counts.iter_mut().find(|(t, _)| *t == e.event_type) {
                Some((_, n)) => *n += 1,
                None => counts.push((&e.event_type, 1)),
            }
        }
        for (event_type, n) in counts {
            self.published.add(
                n,
                &[opentelemetry::KeyValue::new(
                    "event_type",
                    event_type.to_owned(),
                )],
            );
        }
    }

    /// Deletes published rows in batches until the relay closes its end.
    async fn run_deleter(
        db: DatabaseConnection,
        mut ids: mpsc::UnboundedReceiver<Vec<uuid::Uuid>>,
    ) {
        let mut pending: Vec<Vec<uuid::Uuid>> = Vec::new();
        while ids.recv_many(&mut pending, 64).await > 0 {
            let batch: Vec<uuid::Uuid> = pending.drain(..).flatten().collect();
            for chunk in batch.chunks(1024) {
                let deleted = outbox::Entity::delete_many()
                    .filter(outbox::Column::Id.is_in(chunk.iter().copied()))
                    .exec(&db)
                    .await;
                if let Err(err) = deleted {
                    // The rows stay and the sweep publishes them again later: a duplicate,
                    // which consumers discard by event id.
                    tracing::warn!(error = %err, count = chunk.len(), "deleting published outbox rows failed");
                }
            }
        }
    }

    /// Relays until `shutdown`, then drains what is left (bounded by the broker being up).
    pub async fn run_relay(&self, bus: Arc<dyn Bus>, shutdown: CancellationToken) {
        let mut fast = self.fast_rx.lock().await;
        let (deleter, deletions) = mpsc::unbounded_channel();
        let deleting = tokio::spawn(Self::run_deleter(self.db.clone(), deletions));
        let mut backoff = RETRY.start();
        let mut next_sweep = tokio::time::Instant::now() + POLL_INTERVAL;
        let mut batch = Vec::with_capacity(BATCH as usize);
        loop {
            let full_sweep = tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                got = fast.recv_many(&mut batch, BATCH as usize) => {
                    if got == 0 {
                        break;
                    }
                    if let Err(err) = self.publish_fast(bus.as_ref(), &batch, &deleter).await {
                        // The rows stay; the sweep publishes them once they are stale.
                        tracing::warn!(error = %err, count = batch.len(), "outbox fast path failed");
                        tokio::select! {
                            _ = shutdown.cancelled() => {}
                            _ = tokio::time::sleep(backoff.next_delay()) => {}
                        }
                    } else {
                        backoff.reset();
                    }
                    batch.clear();
                    // Under constant load the fast path is always ready: do not let it starve
                    // the sweep that publishes what a failed publish left behind.
                    if tokio::time::Instant::now() < next_sweep {
                        continue;
                    }
                    false
                }
                _ = self.wake.notified() => true,
                _ = tokio::time::sleep_until(next_sweep) => false,
            };
            let min_age = if full_sweep {
                Duration::ZERO
            } else {
                STALE_AFTER
            };
            loop {
                match self.sweep(bus.as_ref(), min_age).await {
                    Ok(n) if n as u64 == BATCH => continue,
                    Ok(_) => break,
                    Err(err) => {
                        tracing::warn!(error = %err, "outbox sweep failed; retrying later");
                        break;
                    }
                }
            }
            next_sweep = tokio::time::Instant::now() + POLL_INTERVAL;
        }
        // Final drain so a graceful stop leaves nothing behind when the broker is reachable.
        while let Ok(envelope) = fast.try_recv() {
            batch.push(envelope);
        }
        if !batch.is_empty()
            && self
                .publish_fast(bus.as_ref(), &batch, &deleter)
                .await
                .is_err()
        {
            tracing::warn!("outbox fast path not drained at shutdown; rows stay for the sweep");
        }
        // Deletions must land before the final sweep, or it would publish those rows again.
        drop(deleter);
        let _ = deleting.await;
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
