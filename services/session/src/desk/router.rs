//! The routing loop. Every replica runs it; for each tenant, the replica holding the tenant's
//! lease (a row in `routing_tenants`, renewed while it lives, free once it stops or expires)
//! decides. It reads the tenant's agents, loads and queued work from the database, asks the
//! in-memory engine ([`kefu_routing::Router`]) for moves and assignments, and writes each with a
//! conditional update ([`crate::store::desk::offer`]). The database stays the authority:
//! even two replicas deciding at once could not assign a conversation twice or overfill an
//! agent. A killed replica's tenants are taken over when its lease expires ([`LEASE_TTL_MS`]);
//! nothing waiting is lost because nothing waiting lives only in memory.
//!
//! The tenant is routed again when something changed (`routing_tenants.version`, bumped by every
//! change, or this replica's own wake-up), and on a timer while work is queued or offered, for
//! offer expiry, overflow, timeouts and skill relaxation.

use super::events;
use super::ops::{self, Say, TakeBack, Wake};
use super::setup;
use crate::SessionState;
use crate::domain;
use crate::store::ConversationStatus;
use crate::store::desk::{self, Change, Presence, WorkState};
use crate::store::entities::{conversation, work_item};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use kefu_routing::{AgentDef, AgentStatus, Move, Page, Router, Waiting};
use kefu_store::sea_orm::TransactionTrait;
use kefu_store::{Scoped, StoreError};
use kefu_worker::outbox;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How long a lease lasts without renewal: a dead replica's tenants wait at most this long.
pub const LEASE_TTL_MS: i64 = 3_000;
const TICK: Duration = Duration::from_millis(200);
/// How often a tenant with queued or offered work is routed even when nothing changed.
const TIMER_ROUND: Duration = Duration::from_millis(500);
/// How often an idle tenant is re-read anyway (a missed wake-up costs at most this).
const RESYNC: Duration = Duration::from_secs(5);

struct Seen {
    version: i64,
    at: Instant,
    pending: bool,
}

pub async fn run(state: SessionState, shutdown: CancellationToken) {
    let holder = format!("{}-{}", std::process::id(), Uuid::now_v7());
    let mut seen: HashMap<String, Seen> = HashMap::new();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(TICK) => {}
            () = state.desk_wake.notified() => {}
        }
        if let Err(e) = round(&state, &holder, &mut seen).await {
            tracing::warn!(error = %e, "routing round failed");
            seen.clear();
        }
    }
    if let Err(e) = desk::release_leases(&state.db, &holder).await {
        tracing::warn!(error = %e, "routing leases not released; they expire on their own");
    }
}

async fn round(
    state: &SessionState,
    holder: &str,
    seen: &mut HashMap<String, Seen>,
) -> Result<(), StoreError> {
    let now_ms = Utc::now().timestamp_millis();
    for row in desk::routing_tenants(&state.db).await? {
        let live = row.lease_expires_ms > now_ms;
        let mine = live && row.holder == holder;
        if !state.config.routing_lease {
            // Every replica decides (only ever for tests of the database's guarantees).
        } else if live && !mine {
            // Another replica decides for this tenant; forget what we knew.
            seen.remove(&row.tenant_id);
            continue;
        } else if (!mine || row.lease_expires_ms - now_ms < LEASE_TTL_MS / 2)
            && !desk::acquire_lease(&state.db, &row.tenant_id, holder, now_ms, LEASE_TTL_MS).await?
        {
            continue;
        }
        let due = seen.get(&row.tenant_id).is_none_or(|s| {
            s.version != row.version
                || (s.pending && s.at.elapsed() >= TIMER_ROUND)
                || s.at.elapsed() >= RESYNC
        });
        if due {
            // One tenant's failure does not hold up the others.
            let pending = match route_tenant(state, &row.tenant_id).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(tenant = %row.tenant_id, error = %e, "routing the tenant failed");
                    seen.remove(&row.tenant_id);
                    continue;
                }
            };
            seen.insert(
                row.tenant_id.clone(),
                Seen {
                    version: row.version,
                    at: Instant::now(),
                    pending,
                },
            );
        }
    }
    Ok(())
}

/// Skills with levels: an agent's `jewellery:3` satisfies a queue's `jewellery`, `jewellery:1`,
/// `jewellery:2` and `jewellery:3` (the engine matches names, so the levels below are spelled
/// out). A skill without a level is level 1.
pub fn expand_skills(skills: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for s in skills {
        let (name, level) = split_level(s);
        out.push(name.to_owned());
        for l in 1..=level {
            out.push(format!("{name}:{l}"));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// `name:level` (level 1–5), or `name` (level 1).
pub fn split_level(skill: &str) -> (&str, u8) {
    match skill.rsplit_once(':') {
        Some((name, l)) => match l.parse::<u8>() {
            Ok(level @ 1..=5) => (name, level),
            _ => (skill, 1),
        },
        None => (skill, 1),
    }
}

fn ms(t: DateTime<Utc>) -> u64 {
    u64::try_from(t.timestamp_millis()).unwrap_or(0)
}

fn status_of(s: Presence) -> AgentStatus {
    match s {
        Presence::Online => AgentStatus::Online,
        Presence::Busy => AgentStatus::Busy,
        Presence::Away => AgentStatus::Away,
        Presence::Offline => AgentStatus::Offline,
    }
}

/// A queued item as the engine routes it now: in a queue that still exists (the merchant's or the
/// platform's when its own was deleted), and with its exclusions only while they are recent —
/// once a full acceptance round has passed since the last offer, everyone may be offered it
/// again (a merchant with one agent must not lose the conversation to one missed offer).
pub fn routable(setup: &setup::Setup, w: &work_item::Model, now: DateTime<Utc>) -> Waiting {
    let mut waiting = waiting_of(w);
    if setup.queue(&w.queue).is_none() {
        waiting.queue = setup.queue_for(&w.merchant_id).name.clone();
    }
    let lapse = ChronoDuration::milliseconds(
        2 * i64::try_from(setup.policy.accept_timeout_ms).unwrap_or(30_000),
    );
    if w.offered_at.is_none_or(|t| now - t >= lapse) {
        waiting.excluded_agents.clear();
    }
    waiting
}

pub fn waiting_of(w: &work_item::Model) -> Waiting {
    let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    Waiting {
        conversation: w.conversation_id.to_string(),
        queue: w.queue.clone(),
        channel_type: w.channel_type.clone(),
        tier: some(&w.tier),
        page: Page::parse(&w.page_type),
        negative: w.negative,
        language: some(&w.language),
        last_agent: some(&w.last_agent),
        enqueued_ms: ms(w.enqueued_at),
        queue_entered_ms: ms(w.queue_entered_at),
        excluded_agents: w.excluded.to_vec(),
        left_message: w.state == WorkState::LeftMessage,
    }
}

/// The tenant's engine, loaded from the database: set-up, agents with their loads, and the
/// queued work. Also used for the supervisors' queue figures.
pub async fn load_router(
    state: &SessionState,
    tenant: &str,
) -> Result<(setup::Setup, Router, Vec<work_item::Model>), StoreError> {
    let setup = setup::load(&state.db, tenant).await?;
    let agents = desk::list_agents(&state.db, tenant, None).await?;
    let loads = desk::loads(&state.db, tenant).await?;
    let items = desk::list_work(
        &state.db,
        tenant,
        &[
            WorkState::Waiting,
            WorkState::LeftMessage,
            WorkState::Offered,
        ],
        None,
        None,
        1_000_000,
    )
    .await?;
    let mut router = Router::new(setup.policy.clone());
    for q in &setup.queues {
        router.upsert_queue(q.clone());
    }
    for a in agents {
        router.upsert_agent(AgentDef {
            merchant: (!a.merchant_id.is_empty()).then(|| a.merchant_id.clone()),
            skills: expand_skills(&a.skills),
            languages: a.languages.to_vec(),
            capacity: a.capacity.0.into_iter().collect(),
            status: status_of(a.status),
            load: loads.get(&a.id).cloned().unwrap_or_default(),
            last_assigned_ms: a.last_assigned_at.map_or(0, ms),
            idle_since_ms: ms(a.idle_since),
            id: a.id,
        });
    }
    let now = Utc::now();
    for w in items.iter().filter(|w| w.state != WorkState::Offered) {
        router.enqueue(routable(&setup, w, now));
    }
    Ok((setup, router, items))
}

/// One routing pass over a tenant. Returns whether work is still queued or offered (so the
/// timer comes back).
async fn route_tenant(state: &SessionState, tenant: &str) -> Result<bool, StoreError> {
    let now = Utc::now();
    let (setup, mut router, items) = load_router(state, tenant).await?;
    let mut versions: HashMap<String, i64> = HashMap::new();
    // When each item entered its queue (for how long it waited there when it moves on).
    let queue_entered_at: HashMap<String, chrono::DateTime<Utc>> = items
        .iter()
        .map(|w| (w.conversation_id.to_string(), w.queue_entered_at))
        .collect();
    let mut offered_left = 0usize;
    // Offers nobody accepted in time go back, never to the same agent.
    for w in &items {
        versions.insert(w.conversation_id.to_string(), w.version);
        if w.state != WorkState::Offered {
            continue;
        }
        if w.offer_expires_at.is_none_or(|t| t > now) {
            offered_left += 1;
            continue;
        }
        let old_agent = w.agent_id.clone();
        let back = ops::take_back(state, w, TakeBack::Lapsed).await?;
        if let Some(n) = back {
            tracing::info!(conversation = %n.conversation_id, agent = %old_agent, "offer expired; re-offering");
            versions.insert(n.conversation_id.to_string(), n.version);
            router.enqueue(routable(&setup, &n, now));
        }
    }
    let now_ms = ms(now);
    for mv in router.housekeeping(now_ms) {
        match mv {
            Move::Overflow {
                conversation,
                from,
                to,
            } => {
                let (Ok(id), Some(v)) =
                    (Uuid::parse_str(&conversation), versions.get(&conversation))
                else {
                    continue;
                };
                let change = Change {
                    queue: Some(to.clone()),
                    queue_entered_at: Some(now),
                    note: Some(format!("overflow:{from}")),
                    ..Change::default()
                };
                let changes = |n: &work_item::Model| {
                    let entered = queue_entered_at.get(&conversation).copied();
                    let domain = vec![
                        domain::queue_left(n, &from, "overflow", entered.unwrap_or(now), now),
                        domain::queue_entered(n, domain::Entered::Overflow, "", now),
                    ];
                    events::with_desk(n, domain)
                };
                let at = (id, *v);
                let moved = ops::commit(
                    state,
                    tenant,
                    at,
                    &[WorkState::Waiting],
                    change,
                    changes,
                    Wake::No,
                );
                if let Some(n) = moved.await? {
                    tracing::info!(conversation = %conversation, %from, %to, "overflowed");
                    versions.insert(conversation, n.version);
                } else {
                    router.remove(&conversation);
                }
            }
            Move::LeftMessage {
                conversation,
                queue,
            } => {
                let (Ok(id), Some(v)) =
                    (Uuid::parse_str(&conversation), versions.get(&conversation))
                else {
                    continue;
                };
                match left_message(state, tenant, id, *v, &queue).await? {
                    Some(n) => {
                        versions.insert(conversation, n.version);
                    }
                    None => {
                        router.remove(&conversation);
                    }
                }
            }
        }
    }
    let expires = now
        + ChronoDuration::milliseconds(
            i64::try_from(setup.policy.accept_timeout_ms).unwrap_or(30_000),
        );
    let mut refused = 0usize;
    for a in router.decide_all(now_ms) {
        let (Ok(id), Some(v)) = (
            Uuid::parse_str(&a.conversation),
            versions.get(&a.conversation),
        ) else {
            continue;
        };
        // Why this agent, when it is not the plain choice; otherwise the item keeps its note
        // (overflow, reoffer, transfer).
        let note = if a.sticky {
            Some("sticky")
        } else if a.relaxed {
            Some("relaxed")
        } else {
            None
        };
        let outcome = desk::offer(
            &state.db,
            tenant,
            id,
            &a.agent,
            *v,
            WorkState::QUEUED,
            expires,
            note,
            |n| {
                let left = domain::queue_left(n, &n.queue, "offered", n.queue_entered_at, now);
                events::with_desk(n, vec![left])
            },
        )
        .await?;
        match outcome {
            Ok((n, evs)) => {
                state.outbox.dispatch(evs);
                offered_left += 1;
                tracing::info!(conversation = %n.conversation_id, agent = %a.agent, queue = %a.queue, "offered");
            }
            Err(why) => {
                refused += 1;
                tracing::debug!(conversation = %a.conversation, agent = %a.agent, ?why, "offer refused; next round");
            }
        }
    }
    Ok(router.waiting_len() > 0 || offered_left > 0 || refused > 0)
}

/// A conversation that waited past its queue's timeout: the customer is told their message is
/// kept, and the next free agent with the skills gets it.
async fn left_message(
    state: &SessionState,
    tenant: &str,
    id: Uuid,
    version: i64,
    queue: &str,
) -> Result<Option<work_item::Model>, StoreError> {
    let txn = state.db.begin().await?;
    let change = Change {
        state: Some(WorkState::LeftMessage),
        note: Some("timeout".to_owned()),
        ..Change::default()
    };
    let Some(n) = desk::change(&txn, tenant, id, version, &[WorkState::Waiting], change).await?
    else {
        txn.rollback().await?;
        return Ok(None);
    };
    // It stays in its queue (no queue.left): only the desk's figures change.
    let mut evs = vec![events::queue_changed(tenant, &n.merchant_id, queue)];
    if let Some(c) = conversation::Entity::get(&txn, tenant, id).await?
        && c.status != ConversationStatus::Closed
    {
        let text = ops::localized(
            &n.language,
            "当前咨询人数较多，您的留言已记录，客服上线后会第一时间回复您。",
            "目前諮詢人數較多，您的留言已記錄，客服上線後會第一時間回覆您。",
            "All our agents are busy. Your message is saved and an agent will reply as soon as possible.",
        );
        let (_, sent) = ops::say(
            &txn,
            &c,
            &n,
            Say::system(text, Vec::new(), format!("left-message:{id}")),
        )
        .await?;
        evs.extend(events::with_desk(&n, sent));
    }
    outbox::enqueue_many(&txn, &evs).await?;
    txn.commit().await?;
    state.outbox.dispatch(evs);
    tracing::info!(conversation = %id, queue, "waited past the queue timeout; now a left message");
    Ok(Some(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skill_level_covers_the_levels_below_it() {
        let skills = expand_skills(&["jewellery:3".to_owned(), "general".to_owned()]);
        for wanted in [
            "jewellery",
            "jewellery:1",
            "jewellery:3",
            "general",
            "general:1",
        ] {
            assert!(
                skills.contains(&wanted.to_owned()),
                "{wanted} in {skills:?}"
            );
        }
        assert!(!skills.contains(&"jewellery:4".to_owned()));
        assert!(!skills.contains(&"general:2".to_owned()));
    }

    #[test]
    fn a_queue_asking_for_a_level_gets_an_agent_at_or_above_it() {
        use kefu_routing::{QueueDef, Router};
        let mut r = Router::default();
        r.upsert_queue(QueueDef {
            name: "q".into(),
            merchant: None,
            skills: vec!["jewellery:2".into()],
            languages: vec![],
            base_priority: 0.0,
            timeout_ms: 0,
            overflow: None,
        });
        for (id, skill) in [("junior", "jewellery:1"), ("senior", "jewellery:3")] {
            r.upsert_agent(AgentDef {
                id: id.into(),
                merchant: None,
                skills: expand_skills(&[skill.to_owned()]),
                languages: vec![],
                capacity: [("*".to_owned(), 5)].into(),
                status: AgentStatus::Online,
                load: Default::default(),
                last_assigned_ms: 0,
                idle_since_ms: 0,
            });
        }
        for i in 0..3 {
            r.enqueue(Waiting {
                conversation: format!("c{i}"),
                queue: "q".into(),
                channel_type: "web".into(),
                tier: None,
                page: Page::Other,
                negative: false,
                language: None,
                last_agent: None,
                enqueued_ms: i,
                queue_entered_ms: i,
                excluded_agents: vec![],
                left_message: false,
            });
        }
        let picked: Vec<String> = r.decide_all(10).into_iter().map(|a| a.agent).collect();
        assert_eq!(picked, ["senior", "senior", "senior"]);
    }
}
