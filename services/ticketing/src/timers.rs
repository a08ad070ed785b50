//! The SLA timer poller: sleeps until the earliest pending timer (found by the `due_at` index)
//! or until a change on this replica schedules one, at most `timer_poll_ms` (timers other
//! replicas schedule), then fires what is due ([`crate::tickets::fire_due`]). Timers are rows,
//! so a restart or a killed replica loses none; a timer's row goes in the transaction that
//! writes its event, so it fires once.

use crate::TicketingState;
use chrono::Utc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The shortest sleep between rounds that found nothing more to fire (ms).
const MIN_WAIT_MS: i64 = 5;

/// Timers fired per transaction.
pub const BATCH: u64 = 500;

pub async fn run(state: TicketingState, shutdown: CancellationToken) {
    let max_sleep = Duration::from_millis(state.config.timer_poll_ms);
    let retry = kefu_bus::backoff::Policy::new(Duration::from_millis(100), Duration::from_secs(5));
    let mut failures = 0u32;
    loop {
        if shutdown.is_cancelled() {
            return;
        }
        let sleep = match round(&state).await {
            Ok(Some(more)) if more => Duration::ZERO,
            Ok(_) => {
                failures = 0;
                match crate::store::next_timer(&state.db).await {
                    Ok(Some(due)) => {
                        // A due timer still there belongs to a ticket another transaction
                        // holds: look again shortly rather than spin.
                        let wait = (due - Utc::now().timestamp_millis()).max(MIN_WAIT_MS);
                        Duration::from_millis(wait as u64).min(max_sleep)
                    }
                    Ok(None) => max_sleep,
                    Err(e) => {
                        tracing::warn!(error = %e, "reading the next SLA timer failed");
                        max_sleep
                    }
                }
            }
            Err(e) => {
                failures += 1;
                tracing::warn!(error = %e, "firing SLA timers failed; retrying");
                retry.delay(failures)
            }
        };
        if sleep.is_zero() {
            continue;
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = state.timers_changed.notified() => {}
            () = tokio::time::sleep(sleep) => {}
        }
    }
}

/// Fires one batch; `Some(true)` when the batch was full (more may be due).
async fn round(state: &TicketingState) -> Result<Option<bool>, sea_orm::DbErr> {
    let now = Utc::now();
    let (events, lags, found) = crate::tickets::fire_due(&state.db, now, BATCH).await?;
    for (e, lag) in events.iter().zip(&lags) {
        state.metrics.timer_lag_ms.record(*lag as f64, &[]);
        state.metrics.sla_events.add(
            1,
            &[opentelemetry::KeyValue::new("kind", e.event_type.clone())],
        );
    }
    if !events.is_empty() {
        state.outbox.dispatch(events);
    }
    Ok(Some(found as u64 == BATCH))
}
