//! What the passing of time changes, on every replica (the tables' locks make concurrent sweeps
//! safe): conversations reaching 24 h after their end (FCR and bot containment settle), today's
//! attendance of agents who are online (their day grows), pruning of old minute cells, and the
//! nightly correctness check of the day before.

use crate::AnalyticsState;
use crate::attendance;
use crate::rollup::{Delta, MINUTE_RETENTION_MS, day_start};
use crate::store::{self, entities::agent_status, rollups};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, TransactionTrait};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often conversations due to settle are looked for.
pub const SETTLE_EVERY: Duration = Duration::from_secs(30);
/// How often today's attendance of online agents is brought up to date.
pub const ATTENDANCE_EVERY: Duration = Duration::from_secs(300);
/// Conversations settled per transaction.
const SETTLE_BATCH: u64 = 500;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub async fn run(state: AnalyticsState, shutdown: CancellationToken) {
    let mut last_attendance = std::time::Instant::now() - ATTENDANCE_EVERY;
    let mut last_prune = std::time::Instant::now() - Duration::from_secs(3600);
    loop {
        if let Err(e) = settle(&state, now_ms()).await {
            tracing::warn!(error = %e, "settling conversations failed; retried later");
        }
        if last_attendance.elapsed() >= ATTENDANCE_EVERY {
            last_attendance = std::time::Instant::now();
            if let Err(e) = attendance_today(&state, now_ms()).await {
                tracing::warn!(error = %e, "updating today's attendance failed");
            }
            if let Err(e) = nightly_checks(&state, now_ms()).await {
                tracing::warn!(error = %e, "the nightly check failed");
            }
        }
        if last_prune.elapsed() >= Duration::from_secs(3600) {
            last_prune = std::time::Instant::now();
            match rollups::prune_minutes(&state.db, now_ms() - MINUTE_RETENTION_MS - 3_600_000)
                .await
            {
                Ok(n) if n > 0 => tracing::info!(deleted = n, "pruned minute cells"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "pruning minute cells failed"),
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(SETTLE_EVERY) => {}
        }
    }
}

/// Re-derives the conversations whose contributions time has changed; returns how many.
pub async fn settle(state: &AnalyticsState, now: i64) -> Result<usize, DbErr> {
    let mut total = 0;
    loop {
        let due = store::due_to_settle(&state.db, now, SETTLE_BATCH).await?;
        if due.is_empty() {
            return Ok(total);
        }
        total += due.len();
        let mut by_tenant: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (tenant, id) in due {
            by_tenant.entry(tenant).or_default().push(id);
        }
        let txn = state.db.begin().await?;
        // Before reading the states: the ingest of these tenants waits meanwhile.
        let tenants: Vec<&str> = by_tenant.keys().map(String::as_str).collect();
        rollups::lock_tenants(&txn, &tenants).await?;
        let mut delta = Delta::default();
        for (tenant, ids) in &by_tenant {
            let settings = state.settings.get(&txn, tenant).await?;
            let mut agent_days = BTreeSet::new();
            crate::ingest::recompute(
                &txn,
                tenant,
                &settings,
                ids,
                &BTreeMap::new(),
                now,
                &mut delta,
                &mut agent_days,
            )
            .await?;
            attendance::recompute(&txn, tenant, settings.zone, &agent_days, now, &mut delta)
                .await?;
        }
        delta.compact();
        rollups::apply(&txn, &delta).await?;
        txn.commit().await?;
        if total > 100_000 {
            return Ok(total);
        }
    }
}

/// Brings today's (and, just after midnight, yesterday's) attendance of agents who are not
/// offline up to now.
pub async fn attendance_today(state: &AnalyticsState, now: i64) -> Result<(), DbErr> {
    let present = agent_status::Entity::find()
        .filter(agent_status::Column::Status.ne("offline"))
        .all(&state.db)
        .await?;
    let mut by_tenant: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for a in present {
        by_tenant.entry(a.tenant_id).or_default().push(a.agent_id);
    }
    for (tenant, agents) in by_tenant {
        let txn = state.db.begin().await?;
        rollups::lock_tenants(&txn, &[tenant.as_str()]).await?;
        let settings = state.settings.get(&txn, &tenant).await?;
        let today = day_start(now, settings.zone);
        let yesterday = day_start(today - 1, settings.zone);
        let mut wanted = BTreeSet::new();
        for a in agents {
            wanted.insert((a.clone(), today));
            wanted.insert((a, yesterday));
        }
        let mut delta = Delta::default();
        attendance::recompute(&txn, &tenant, settings.zone, &wanted, now, &mut delta).await?;
        delta.compact();
        rollups::apply(&txn, &delta).await?;
        txn.commit().await?;
    }
    Ok(())
}

/// Checks yesterday for each tenant with recent facts, once, after the configured local hour.
pub async fn nightly_checks(state: &AnalyticsState, now: i64) -> Result<(), DbErr> {
    for tenant in crate::check::active_tenants(&state.db, now - 3 * 86_400_000).await? {
        let settings = state.settings.get(&state.db, &tenant).await?;
        let today = day_start(now, settings.zone);
        let hour = (now - today) / 3_600_000;
        if hour < i64::from(state.config.check_hour) {
            continue;
        }
        let yesterday = day_start(today - 1, settings.zone);
        if crate::check::checked(&state.db, &tenant, yesterday).await? {
            continue;
        }
        let outcome =
            crate::check::check_day(&state.db, &tenant, &settings, yesterday, now).await?;
        state.metrics.checks.add(1, &[]);
        state
            .metrics
            .check_differences
            .add(outcome.differences.len() as u64, &[]);
        tracing::info!(
            tenant,
            day = yesterday,
            cells = outcome.cells,
            differences = outcome.differences.len(),
            "nightly analytics check"
        );
    }
    Ok(())
}
