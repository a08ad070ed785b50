//! The `analytics.events` consumer: a batch of domain events becomes, in one transaction, the
//! processed-event records, the facts, the folded conversation states and the rollup
//! differences they cause. A redelivered event finds its record and changes nothing.

use crate::attendance;
use crate::conversation::{self, Applied, ConvState, RETURN_WINDOW_MS};
use crate::counters::Counter;
use crate::facts::{self, Fact, Kind, MessageFact, Sender};
use crate::rollup::{Ctx, Delta, Dims, LabelKind, day_start};
use crate::settings::Settings;
use crate::store::{self, StateRow};
use crate::{AnalyticsState, Metrics};
use kefu_bus::{BatchItem, BatchOutcomes, Envelope, HandlerError};
use kefu_store::idempotency;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, TransactionTrait};
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub const CONSUMER: &str = kefu_proto::queues::ANALYTICS_EVENTS.name;

/// Most events in one batch (and one transaction).
pub const MAX_BATCH: usize = 500;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Handles one batch; one result per item, in order.
pub async fn handle_batch(
    state: AnalyticsState,
    items: Vec<BatchItem>,
) -> Vec<Result<(), HandlerError>> {
    let mut results = BatchOutcomes::new(items.len());
    let mut work: Vec<(usize, Envelope, Fact)> = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        match facts::from_envelope(&item.envelope) {
            Ok(Some(fact)) => work.push((i, item.envelope, fact)),
            Ok(None) => results.set(i, Ok(())),
            Err(e) => results.set(i, Err(HandlerError::permanent(e.to_string()))),
        }
    }
    if work.is_empty() {
        return results.finish();
    }
    let started = std::time::Instant::now();
    let outcome = apply(&state, &work, now_ms()).await;
    match outcome {
        Ok(tenants) => {
            state.metrics.events.add(work.len() as u64, &[]);
            state
                .metrics
                .batch_ms
                .record(started.elapsed().as_secs_f64() * 1000.0, &[]);
            for (i, _, _) in &work {
                results.set(*i, Ok(()));
            }
            state.realtime.touch(tenants);
        }
        Err(e) => {
            tracing::warn!(error = %e, events = work.len(), "analytics batch failed; redelivering");
            for (i, _, _) in &work {
                results.set(*i, Err(HandlerError::transient(e.to_string())));
            }
        }
    }
    results.finish()
}

/// Applies the facts of a batch in one transaction; returns the tenants it changed.
async fn apply(
    state: &AnalyticsState,
    work: &[(usize, Envelope, Fact)],
    now: i64,
) -> Result<BTreeSet<String>, DbErr> {
    let db: &DatabaseConnection = &state.db;
    let txn = db.begin().await?;
    let ids: Vec<uuid::Uuid> = work.iter().map(|(_, e, _)| e.event_id).collect();
    let fresh = idempotency::claim_many(&txn, CONSUMER, &ids).await?;
    let mut seen = std::collections::HashSet::new();
    let fresh: Vec<&(usize, Envelope, Fact)> = work
        .iter()
        .filter(|(_, e, _)| fresh.contains(&e.event_id) && seen.insert(e.event_id))
        .collect();
    if fresh.is_empty() {
        txn.commit().await?;
        return Ok(BTreeSet::new());
    }
    // One writer per tenant from here to the commit: the states, segments and days this batch
    // reads are the ones it writes back, so a concurrent batch of the same tenant (another
    // replica, or this one's next) waits instead of deriving from what this one is changing —
    // a row lock cannot cover a conversation whose state does not exist yet.
    let mut tenants: Vec<&str> = fresh.iter().map(|(_, e, _)| e.tenant_id.as_str()).collect();
    tenants.sort_unstable();
    tenants.dedup();
    store::rollups::lock_tenants(&txn, &tenants).await?;
    let rows: Vec<(uuid::Uuid, &str, &Fact)> = fresh
        .iter()
        .map(|(_, e, f)| (e.event_id, e.tenant_id.as_str(), f))
        .collect();
    store::facts::insert(&txn, &rows).await?;
    let mut by_tenant: BTreeMap<&str, Vec<&Fact>> = BTreeMap::new();
    for (_, e, f) in &fresh {
        by_tenant.entry(e.tenant_id.as_str()).or_default().push(f);
    }
    let mut delta = Delta::default();
    for (tenant, facts) in &by_tenant {
        let settings = state.settings.get(&txn, tenant).await?;
        tenant_facts(
            &txn,
            tenant,
            &settings,
            facts,
            now,
            &mut delta,
            &state.metrics,
        )
        .await?;
    }
    delta.compact();
    store::rollups::apply(&txn, &delta).await?;
    txn.commit().await?;
    Ok(tenants.into_iter().map(str::to_owned).collect())
}

/// The counters of one message that depend on nothing else (messages by sender, the bot's misses,
/// its intents and FAQ hits).
pub fn message_counts(tenant: &str, s: &Settings, m: &MessageFact, now: i64, delta: &mut Delta) {
    if m.internal {
        return;
    }
    let at = m.at.timestamp_millis();
    let dims = Dims {
        merchant: m.conv.merchant_id.clone(),
        channel: m.conv.channel.clone(),
        queue: m.conv.queue_id.clone(),
        agent: if m.sender == Sender::Agent {
            m.agent_id.clone()
        } else {
            String::new()
        },
        tier: m.conv.tier.clone(),
    };
    let counter = match m.sender {
        Sender::Customer => Counter::CustomerMessages,
        Sender::Bot => Counter::BotMessages,
        Sender::Agent => Counter::AgentMessages,
        Sender::System => return,
    };
    let ctx = Ctx {
        tenant,
        zone: s.zone,
        now,
    };
    delta.add(&ctx, at, &dims, counter, 1);
    if m.sender == Sender::Bot {
        let merchant = &m.conv.merchant_id;
        if m.miss {
            delta.add(&ctx, at, &dims, Counter::BotMisses, 1);
        } else {
            delta.label(&ctx, at, LabelKind::Faq, &m.faq_id, merchant, 1);
        }
        delta.label(&ctx, at, LabelKind::Intent, &m.intent, merchant, 1);
    }
}

/// One tenant's share of a batch.
async fn tenant_facts<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    settings: &Settings,
    facts: &[&Fact],
    now: i64,
    delta: &mut Delta,
    metrics: &Metrics,
) -> Result<(), DbErr> {
    let zone = settings.zone;
    let ctx = Ctx { tenant, zone, now };
    let mut by_conversation: BTreeMap<String, Vec<&Fact>> = BTreeMap::new();
    let mut statuses: HashMap<String, (String, String, i64)> = HashMap::new();
    let mut agent_days: BTreeSet<(String, i64)> = BTreeSet::new();
    let mut contacts: Vec<(String, i64)> = Vec::new();
    // Orders to attribute: the batch's, and those a message of their customer may change.
    let mut orders: BTreeSet<String> = BTreeSet::new();
    let mut touches: Vec<(String, i64)> = Vec::new();
    for f in facts {
        match f {
            Fact::Order(o) => {
                orders.insert(o.order_id.clone());
            }
            Fact::Message(m) => {
                message_counts(tenant, settings, m, now, delta);
                if crate::orders::Touch::of(m).is_some() && !m.conv.customer_id.is_empty() {
                    touches.push((m.conv.customer_id.clone(), m.at.timestamp_millis()));
                }
                if m.is_customer_contact() && !m.conv.customer_id.is_empty() {
                    contacts.push((m.conv.customer_id.clone(), m.at.timestamp_millis()));
                }
            }
            Fact::Lifecycle(l) => {
                let at = l.at.timestamp_millis();
                let merchant = &l.conv.merchant_id;
                match l.kind {
                    Kind::Handoff => {
                        delta.label(&ctx, at, LabelKind::HandoffReason, &l.reason, merchant, 1);
                    }
                    Kind::Closed => {
                        for tag in &l.labels {
                            delta.label(&ctx, at, LabelKind::Tag, tag, merchant, 1);
                        }
                    }
                    _ => {}
                }
            }
            Fact::Status(s) => {
                let at = s.at.timestamp_millis();
                let later = statuses.get(&s.agent_id).is_none_or(|(_, _, t)| *t <= at);
                if later {
                    statuses.insert(
                        s.agent_id.clone(),
                        (s.merchant_id.clone(), s.to.clone(), at),
                    );
                }
                let day = day_start(at, zone);
                agent_days.insert((s.agent_id.clone(), day));
                let next = attendance::next_day(day, zone);
                if next <= now {
                    agent_days.insert((s.agent_id.clone(), next));
                }
            }
        }
        if let Some(c) = f.conversation_id() {
            by_conversation.entry(c.to_owned()).or_default().push(f);
        }
    }
    // A customer's message may be the return that decides another conversation's FCR or
    // containment.
    let mut ids: BTreeSet<String> = by_conversation.keys().cloned().collect();
    if !contacts.is_empty() {
        let customers: Vec<String> = contacts
            .iter()
            .map(|(c, _)| c.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let lo = contacts.iter().map(|(_, t)| *t).min().unwrap_or(0);
        let hi = contacts.iter().map(|(_, t)| *t).max().unwrap_or(0);
        ids.extend(
            store::conversations_near(db, tenant, &customers, lo - RETURN_WINDOW_MS, hi).await?,
        );
    }
    let ids: Vec<String> = ids.into_iter().collect();
    let rebuilt = recompute(
        db,
        tenant,
        settings,
        &ids,
        &by_conversation,
        now,
        delta,
        &mut agent_days,
    )
    .await?;
    if rebuilt > 0 {
        metrics.rebuilt.add(rebuilt, &[]);
    }
    if !statuses.is_empty() {
        let latest: Vec<(String, String, String, i64)> = statuses
            .into_iter()
            .map(|(a, (m, s, t))| (a, m, s, t))
            .collect();
        store::put_statuses(db, tenant, &latest).await?;
    }
    crate::orders::rederive(db, tenant, settings, &orders, &touches, now, delta).await?;
    attendance::recompute(db, tenant, zone, &agent_days, now, delta).await
}

/// Folds the new facts of these conversations (none: only re-derive, e.g. when time settles
/// them), derives their contributions and adds the differences to `delta`; the agent-days their
/// changed segments touch are added to `agent_days`. Returns how many were rebuilt from the fact
/// tables because a message arrived behind one already folded.
#[allow(clippy::too_many_arguments)]
pub async fn recompute<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    settings: &Settings,
    ids: &[String],
    new_facts: &BTreeMap<String, Vec<&Fact>>,
    now: i64,
    delta: &mut Delta,
    agent_days: &mut BTreeSet<(String, i64)>,
) -> Result<u64, DbErr> {
    let mut states = store::load_states(db, tenant, ids).await?;
    let mut rebuilt = 0;
    let mut life_changed = BTreeSet::new();
    for id in ids {
        let st = states.entry(id.clone()).or_default();
        if let Some(facts) = new_facts.get(id) {
            if fold(st, facts) {
                rebuild(db, tenant, id, st).await?;
                rebuilt += 1;
            }
            if facts.iter().any(|f| matches!(f, Fact::Lifecycle(_))) {
                life_changed.insert(id.clone());
            }
        }
        conversation::pin_thresholds(st, settings);
    }
    // The customers' returns the derivations need.
    let mut customers = BTreeSet::new();
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for st in states.values() {
        for end in st.ends() {
            if end + RETURN_WINDOW_MS <= now && !st.customer.is_empty() {
                customers.insert(st.customer.clone());
                lo = lo.min(end);
                hi = hi.max(end + RETURN_WINDOW_MS);
            }
        }
    }
    let contacts = if customers.is_empty() {
        HashMap::new()
    } else {
        let list: Vec<String> = customers.into_iter().collect();
        store::facts::customer_contacts(db, tenant, &list, lo, hi).await?
    };
    let mut rows = Vec::with_capacity(states.len());
    let mut segments = HashMap::new();
    for id in ids {
        let Some(st) = states.get_mut(id) else {
            continue;
        };
        let returns: Vec<i64> = contacts
            .get(&st.customer)
            .map(|v| v.iter().filter(|(_, c)| c != id).map(|(t, _)| *t).collect())
            .unwrap_or_default();
        let applied = Applied {
            merchant: st.merchant.v.clone(),
            channel: st.channel.v.clone(),
            tier: st.tier.v.clone(),
            zone: settings.zone.name().to_owned(),
            items: conversation::derive(st, now, &returns),
        };
        if applied != st.applied {
            delta.applied(tenant, &st.applied, -1, now);
            delta.applied(tenant, &applied, 1, now);
            st.applied = applied;
        }
        if life_changed.contains(id) {
            segments.insert(id.clone(), st.segments());
        }
    }
    for id in ids {
        if let Some(st) = states.get(id) {
            rows.push(StateRow {
                conversation_id: id,
                state: st,
                settle_at: conversation::settles_at(st, now),
            });
        }
    }
    store::save_states(db, tenant, &rows).await?;
    if !segments.is_empty() {
        let old = store::replace_segments(db, tenant, &segments).await?;
        let spans = old
            .iter()
            .map(|s| (s.agent_id.clone(), s.start_at, s.end_at))
            .chain(
                segments
                    .values()
                    .flatten()
                    .map(|s| (s.agent.clone(), s.start, s.end)),
            );
        for (agent, start, end) in spans {
            for day in attendance::days_between(start, end.unwrap_or(now).min(now), settings.zone) {
                agent_days.insert((agent.clone(), day));
            }
        }
    }
    Ok(rebuilt)
}

/// Folds a conversation's new facts; `true` when a message came behind one already folded (the
/// caller rebuilds from the fact tables, which already hold this batch's facts).
fn fold(st: &mut ConvState, facts: &[&Fact]) -> bool {
    let mut messages: Vec<&MessageFact> = Vec::new();
    for f in facts {
        match f {
            Fact::Lifecycle(l) => st.apply_life(l),
            Fact::Message(m) => messages.push(m),
            Fact::Status(_) | Fact::Order(_) => {}
        }
    }
    messages.sort_by_key(|m| m.seq);
    messages.iter().any(|m| !st.apply_message(m))
}

/// Rebuilds a conversation's message folds from its facts, in sequence order.
async fn rebuild<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    id: &str,
    st: &mut ConvState,
) -> Result<(), DbErr> {
    let (messages, lifecycle) = store::facts::of_conversation(db, tenant, id).await?;
    st.reset_messages();
    for m in &messages {
        st.apply_message(m);
    }
    for l in &lifecycle {
        st.apply_life(l);
    }
    Ok(())
}
