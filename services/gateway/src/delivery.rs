//! Outbound delivery: the `gateway.outbound` consumer sends each `message.to_send` to the
//! channel's webhook; a failed first attempt becomes a `deliveries` row that the retry worker
//! ([`run_retries`]) retries with back-off until it succeeds or is marked dead.
//!
//! Idempotency: the consumer records the event id (in the same transaction as the retry row when
//! there is one), so a redelivered event is not sent again. A crash between a successful POST and
//! that record can still repeat a POST; receivers dedupe on `X-Kefu-Delivery-Id`.

use crate::AppState;
use crate::channels::{self, Outcome};
use crate::store::{self as repo, DeliveryStatus, RetryDelivery};
use chrono::Utc;
use kefu_bus::{BatchItem, BatchOutcomes, Envelope, HandlerError};
use kefu_proto::events::MessageToSend;
use kefu_store::idempotency;
use kefu_store::sea_orm::TransactionTrait;
use opentelemetry::KeyValue;
use prost::Message as _;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

pub const CONSUMER: &str = kefu_proto::queues::GATEWAY_OUTBOUND.name;

fn transient(e: impl std::error::Error + Send + Sync + 'static) -> HandlerError {
    HandlerError::Transient(Box::new(e))
}

fn permanent(msg: String) -> HandlerError {
    HandlerError::Permanent(msg.into())
}

/// Most outbound messages handled together.
pub const MAX_BATCH: usize = 64;

/// A message of the batch that must be sent.
struct Outgoing {
    index: usize,
    envelope: Envelope,
    message: MessageToSend,
    channel: std::sync::Arc<crate::store::entities::channel::Model>,
    span: tracing::Span,
}

/// Handles a batch of `message.to_send`: one query finds what was already delivered, the rest
/// are POSTed concurrently, and one insert records the successes. A failed POST is recorded
/// with its retry schedule in a transaction of its own.
pub async fn handle_batch(state: AppState, items: Vec<BatchItem>) -> Vec<Result<(), HandlerError>> {
    let mut results = BatchOutcomes::new(items.len());
    let ids: Vec<Uuid> = items.iter().map(|i| i.envelope.event_id).collect();
    let done = match idempotency::seen_many(&state.db, CONSUMER, &ids).await {
        Ok(done) => done,
        Err(e) => {
            let msg = e.to_string();
            return items
                .iter()
                .map(|_| Err(HandlerError::transient(msg.clone())))
                .collect();
        }
    };
    let mut sends = Vec::new();
    let mut in_batch = std::collections::HashSet::new();
    for (index, item) in items.into_iter().enumerate() {
        if done.contains(&item.envelope.event_id) || !in_batch.insert(item.envelope.event_id) {
            results.set(index, Ok(()));
            continue;
        }
        match prepare(&state, &item.envelope).await {
            Ok((message, channel)) => sends.push(Outgoing {
                index,
                envelope: item.envelope,
                message,
                channel,
                span: item.span,
            }),
            Err(e) => results.set(index, Err(e)),
        }
    }
    let outcomes = futures::future::join_all(
        sends
            .iter()
            .map(|s| deliver(&state, &s.channel, &s.message, 1).instrument(s.span.clone())),
    )
    .await;
    let mut delivered = Vec::new();
    for (send, outcome) in sends.into_iter().zip(outcomes) {
        if let Outcome::Delivered = outcome {
            observe_latency(&state, &send.message);
            delivered.push(send);
        } else {
            let result = record_failure(&state, &send.envelope, &send.message, &outcome)
                .instrument(send.span.clone())
                .await;
            results.set(send.index, result);
        }
    }
    let delivered_ids: Vec<Uuid> = delivered.iter().map(|s| s.envelope.event_id).collect();
    // One insert; an id another replica recorded meanwhile is skipped, not an error.
    let recorded: Result<(), String> = idempotency::claim_many(&state.db, CONSUMER, &delivered_ids)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string());
    for send in delivered {
        results.set(
            send.index,
            recorded.clone().map_err(HandlerError::transient),
        );
    }
    state.metrics.deliveries.add(
        delivered_ids.len() as u64,
        &[KeyValue::new("outcome", "delivered")],
    );
    results.finish()
}

/// Sends one message through its channel's adapter.
async fn deliver(
    state: &AppState,
    channel: &crate::store::entities::channel::Model,
    message: &MessageToSend,
    attempt: u32,
) -> Outcome {
    match channels::adapter(&channel.channel_type) {
        Some(adapter) => adapter.send(state, channel, message, attempt).await,
        None => Outcome::Reject(format!(
            "no adapter for channel type {:?}",
            channel.channel_type
        )),
    }
}

/// Decodes the message and finds its channel, which must belong to the event's tenant.
async fn prepare(
    state: &AppState,
    env: &Envelope,
) -> Result<
    (
        MessageToSend,
        std::sync::Arc<crate::store::entities::channel::Model>,
    ),
    HandlerError,
> {
    let msg = MessageToSend::decode(env.payload.clone())
        .map_err(|e| permanent(format!("undecodable message.to_send: {e}")))?;
    let channel = state
        .channels
        .get(&msg.channel_id)
        .await
        .map_err(transient)?
        .ok_or_else(|| permanent(format!("unknown channel {}", msg.channel_id)))?;
    if channel.tenant_id != env.tenant_id {
        return Err(permanent(format!(
            "channel {} does not belong to tenant {}",
            msg.channel_id, env.tenant_id
        )));
    }
    Ok((msg, channel))
}

/// Records a failed first attempt — its retry schedule, or the delivery's death — together
/// with the processed-event record.
async fn record_failure(
    state: &AppState,
    env: &Envelope,
    msg: &MessageToSend,
    outcome: &Outcome,
) -> Result<(), HandlerError> {
    let txn = state.db.begin().await.map_err(transient)?;
    if !idempotency::record(&txn, CONSUMER, env.event_id)
        .await
        .map_err(transient)?
    {
        return Ok(());
    }
    let cfg = &state.config.webhook;
    let (label, error, dead) = match outcome {
        Outcome::Delivered => return Ok(()),
        Outcome::Retry(error) if cfg.max_attempts > 1 => ("retry_scheduled", error.clone(), false),
        Outcome::Retry(error) | Outcome::Reject(error) => ("dead", error.clone(), true),
        Outcome::Undeliverable { reason, detail } => {
            ("undeliverable", format!("{reason}: {detail}"), true)
        }
    };
    let undeliverable = undeliverable_event(state, &env.tenant_id, msg, outcome).await;
    if let Some(event) = &undeliverable {
        kefu_worker::outbox::enqueue(&txn, event)
            .await
            .map_err(transient)?;
    }
    let delay = channels::backoff(
        1,
        Duration::from_millis(cfg.backoff_initial_ms),
        Duration::from_millis(cfg.backoff_max_ms),
    );
    let retry = RetryDelivery {
        id: Uuid::parse_str(&msg.message_id).unwrap_or(env.event_id),
        tenant_id: env.tenant_id.clone(),
        channel_id: msg.channel_id.clone(),
        payload: env.payload.to_vec(),
        trace_context: env.trace_context.clone(),
        next_attempt_at: if dead { Utc::now() } else { Utc::now() + delay },
        error: error.clone(),
    };
    if dead {
        repo::record_dead_delivery(&txn, &retry)
            .await
            .map_err(transient)?;
        tracing::error!(message_id = %msg.message_id, %error, "the channel refused the message; delivery is dead");
    } else {
        repo::schedule_delivery_retry(&txn, &retry)
            .await
            .map_err(transient)?;
        tracing::warn!(message_id = %msg.message_id, %error, "delivery failed; will retry");
    }
    txn.commit().await.map_err(transient)?;
    state.outbox.dispatch(undeliverable);
    state
        .metrics
        .deliveries
        .add(1, &[KeyValue::new("outcome", label)]);
    Ok(())
}

/// `message.undeliverable` for a message the channel's rules kept from the customer.
async fn undeliverable_event(
    state: &AppState,
    tenant: &str,
    msg: &MessageToSend,
    outcome: &Outcome,
) -> Option<Envelope> {
    let Outcome::Undeliverable { reason, detail } = outcome else {
        return None;
    };
    let channel_type = match state.channels.get(&msg.channel_id).await {
        Ok(Some(c)) => c.channel_type.clone(),
        _ => String::new(),
    };
    tracing::warn!(message_id = %msg.message_id, reason, "the channel's rules keep the message from the customer");
    let event = kefu_proto::events::MessageUndeliverable {
        message_id: msg.message_id.clone(),
        conversation_id: msg.conversation_id.clone(),
        channel_id: msg.channel_id.clone(),
        channel_type,
        external_user_id: msg.external_user_id.clone(),
        reason: (*reason).to_owned(),
        detail: detail.clone(),
        sender_kind: msg.sender_kind.clone(),
        text: msg.text.clone(),
        at: Some(kefu_proto::time::to_timestamp(Utc::now())),
    };
    Some(Envelope::new(
        tenant.to_owned(),
        kefu_proto::event_types::MESSAGE_UNDELIVERABLE,
        event.encode_to_vec(),
    ))
}

fn observe_latency(state: &AppState, msg: &MessageToSend) {
    if let Some(at) = msg
        .inbound_received_at
        .as_ref()
        .and_then(kefu_proto::time::from_timestamp)
    {
        let ms = (Utc::now() - at).num_microseconds().unwrap_or(0) as f64 / 1000.0;
        state.metrics.e2e_latency_ms.record(ms.max(0.0), &[]);
    }
}

/// Retries due deliveries until `shutdown`. Rows are leased (their next attempt pushed past the
/// webhook timeout) in a short transaction before the POST, so no transaction is held open
/// across the network and two replicas never send the same row at once.
pub async fn run_retries(state: AppState, shutdown: CancellationToken) {
    let cfg = state.config.webhook.clone();
    let lease = chrono::Duration::milliseconds(cfg.timeout_ms as i64 * 2 + 1_000);
    loop {
        let claimed = claim(&state, lease).await;
        let worked = match claimed {
            Ok(rows) => {
                let n = rows.len();
                // Concurrently: every attempt ends within the webhook timeout, inside the lease.
                futures::future::join_all(rows.into_iter().map(|row| retry_one(&state, row))).await;
                n
            }
            Err(e) => {
                tracing::warn!(error = %e, "claiming deliveries failed");
                0
            }
        };
        if worked == 0 {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
        } else if shutdown.is_cancelled() {
            return;
        }
    }
}

async fn claim(
    state: &AppState,
    lease: chrono::Duration,
) -> Result<Vec<crate::store::entities::delivery::Model>, kefu_store::StoreError> {
    use crate::store::entities::delivery;
    use kefu_store::sea_orm::{ActiveModelTrait, ActiveValue::Set};
    let txn = state.db.begin().await?;
    let now = Utc::now();
    let rows = repo::claim_due_deliveries(&txn, now, 32).await?;
    let mut leased = Vec::with_capacity(rows.len());
    for mut row in rows {
        let mut active: delivery::ActiveModel = row.clone().into();
        active.next_attempt_at = Set(now + lease);
        active.update(&txn).await?;
        // The claimed copy carries its lease: the outcome is stored only while it holds.
        row.next_attempt_at = now + lease;
        leased.push(row);
    }
    txn.commit().await?;
    Ok(leased)
}

async fn retry_one(state: &AppState, row: crate::store::entities::delivery::Model) {
    let attempt = row.attempts as u32 + 1;
    let trace = repo::decode_trace_context(&row.trace_context);
    let span =
        tracing::info_span!("webhook retry", delivery.attempt = attempt, message_id = %row.id);
    kefu_telemetry::set_parent(&span, &trace);
    tracing::Instrument::instrument(retry_attempt(state, row, attempt), span).await
}

async fn retry_attempt(
    state: &AppState,
    row: crate::store::entities::delivery::Model,
    attempt: u32,
) {
    let cfg = &state.config.webhook;
    let msg = match MessageToSend::decode(row.payload.as_slice()) {
        Ok(m) => m,
        Err(e) => {
            let _ = repo::update_delivery(
                &state.db,
                row,
                DeliveryStatus::Dead,
                Utc::now(),
                Some(format!("undecodable: {e}")),
            )
            .await;
            return;
        }
    };
    let channel = match state.channels.get(&row.channel_id).await {
        Ok(Some(c)) if c.tenant_id == row.tenant_id => c,
        Ok(_) => {
            let _ = repo::update_delivery(
                &state.db,
                row,
                DeliveryStatus::Dead,
                Utc::now(),
                Some("channel no longer exists".into()),
            )
            .await;
            return;
        }
        Err(e) => {
            tracing::warn!(error = %e, "channel lookup failed; the lease will expire and the row be retried");
            return;
        }
    };
    let outcome = deliver(state, &channel, &msg, attempt).await;
    let undeliverable = undeliverable_event(state, &row.tenant_id, &msg, &outcome).await;
    let (status, next, error, label) = match outcome {
        Outcome::Delivered => {
            observe_latency(state, &msg);
            (DeliveryStatus::Delivered, Utc::now(), None, "delivered")
        }
        Outcome::Retry(e) if attempt < cfg.max_attempts => {
            let delay = channels::backoff(
                attempt,
                Duration::from_millis(cfg.backoff_initial_ms),
                Duration::from_millis(cfg.backoff_max_ms),
            );
            (
                DeliveryStatus::Pending,
                Utc::now() + delay,
                Some(e),
                "retry_scheduled",
            )
        }
        Outcome::Retry(e) | Outcome::Reject(e) => {
            tracing::error!(message_id = %row.id, attempts = attempt, error = %e, "delivery is dead");
            (DeliveryStatus::Dead, Utc::now(), Some(e), "dead")
        }
        Outcome::Undeliverable { reason, detail } => (
            DeliveryStatus::Dead,
            Utc::now(),
            Some(format!("{reason}: {detail}")),
            "undeliverable",
        ),
    };
    let stored = async {
        let txn = state.db.begin().await?;
        let updated = repo::update_delivery(&txn, row, status, next, error).await?;
        if updated && let Some(event) = &undeliverable {
            kefu_worker::outbox::enqueue(&txn, event).await?;
        }
        txn.commit().await?;
        Ok::<bool, kefu_store::StoreError>(updated)
    }
    .await;
    if matches!(stored, Ok(true)) {
        state.outbox.dispatch(undeliverable);
    }
    match stored {
        Ok(true) => {}
        Ok(false) => tracing::warn!("delivery lease expired before its outcome was stored"),
        Err(e) => tracing::warn!(error = %e, "recording a delivery attempt failed"),
    }
    state
        .metrics
        .deliveries
        .add(1, &[KeyValue::new("outcome", label)]);
}
