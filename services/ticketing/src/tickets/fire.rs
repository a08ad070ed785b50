//! Firing due SLA timers, each once.

use super::*;

/// Fires the timers due by `now` (up to `limit`), each once: the timer row is deleted in the
/// transaction that records the warning or breach on the ticket and writes its event. Tickets
/// another transaction holds are left for the next round. Returns the events and each fired
/// timer's lag (ms past its instant).
pub async fn fire_due(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<(Vec<Envelope>, Vec<i64>, usize), DbErr> {
    let txn = db.begin().await?;
    let due = store::due_timers(&txn, now.timestamp_millis(), limit).await?;
    let found = due.len();
    let mut events = Vec::new();
    let mut lags = Vec::new();
    let mut by_tenant: std::collections::BTreeMap<
        &str,
        Vec<&crate::store::entities::ticket_timer::Model>,
    > = Default::default();
    for t in &due {
        by_tenant.entry(t.tenant_id.as_str()).or_default().push(t);
    }
    for (tenant, timers) in by_tenant {
        let mut ids: Vec<Uuid> = timers.iter().map(|t| t.ticket_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut tickets: std::collections::HashMap<Uuid, ticket::Model> =
            store::lock_tickets(&txn, tenant, &ids)
                .await?
                .into_iter()
                .map(|t| (t.id, t))
                .collect();
        let mut audit = Vec::new();
        let mut changed = std::collections::BTreeSet::new();
        for timer in timers {
            let Some(x) = tickets.get_mut(&timer.ticket_id) else {
                continue;
            };
            if !store::take_timer(&txn, timer.id).await? {
                continue;
            }
            let Some(fire) = Fire::parse(&timer.kind) else {
                continue;
            };
            if !sla::fired(&mut x.clocks.0, &timer.metric, fire, timer.due_at) {
                continue;
            }
            changed.insert(x.id);
            audit.push(audit_row(
                x,
                &Actor::system(),
                now,
                fire.as_str(),
                "",
                &timer.metric,
            ));
            events.push(crate::events::sla(
                x,
                fire,
                &timer.metric,
                timer.due_at,
                timer.id,
                now,
            ));
            lags.push(now.timestamp_millis() - timer.due_at);
        }
        // Only tickets whose clocks recorded a warning or breach (a stale timer changes none).
        for x in tickets.values_mut().filter(|x| changed.contains(&x.id)) {
            x.next_due_at = sla::next_due(&x.clocks);
            store::save_ticket(&txn, x).await?;
        }
        store::insert_audit(&txn, &audit).await?;
    }
    kefu_worker::outbox::enqueue_many(&txn, &events).await?;
    txn.commit().await?;
    Ok((events, lags, found))
}
