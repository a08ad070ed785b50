//! The routing engine's invariants on generated tenants: whatever the agents, queues and
//! waiting conversations, a decision never gives a conversation twice, never fills an agent
//! past its capacity for the channel type, never offers to an agent who is not online, outside
//! the queue's merchant scope, excluded from the conversation, or (unless relaxed after the
//! relaxation time) without the queue's skills; and it leaves nothing waiting that an agent
//! with room could take.

use kefu_routing::{
    AgentDef, AgentStatus, Assignment, Page, Policy, QueueDef, Router, Strategy as Choice, Waiting,
};
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};

const NOW: u64 = 10_000_000;
const CHANNELS: &[&str] = &["web", "api"];
const SKILLS: &[&str] = &["general", "jewellery", "after-sales"];

#[derive(Debug, Clone)]
struct Tenant {
    policy: Policy,
    queues: Vec<QueueDef>,
    agents: Vec<AgentDef>,
    waiting: Vec<Waiting>,
}

fn subset(items: &'static [&'static str]) -> impl Strategy<Value = Vec<String>> {
    prop::sample::subsequence(items, 0..=items.len())
        .prop_map(|v| v.into_iter().map(str::to_owned).collect())
}

fn merchant() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("m1".to_owned())),
        Just(Some("m2".to_owned()))
    ]
}

fn agent(i: usize) -> impl Strategy<Value = AgentDef> {
    (
        merchant(),
        subset(SKILLS),
        subset(&["zh-Hans", "en"]),
        prop::collection::hash_map(
            prop::sample::select(vec!["*", "web", "api"]).prop_map(str::to_owned),
            0u32..4,
            0..3,
        ),
        prop::sample::select(vec![
            AgentStatus::Online,
            AgentStatus::Online,
            AgentStatus::Busy,
            AgentStatus::Away,
            AgentStatus::Offline,
        ]),
        0u32..3,
        0..NOW,
    )
        .prop_map(
            move |(merchant, skills, languages, capacity, status, load, idle)| AgentDef {
                id: format!("a{i}"),
                merchant,
                skills,
                languages,
                capacity,
                status,
                load: HashMap::from([("web".to_owned(), load)]),
                last_assigned_ms: idle,
                idle_since_ms: idle,
            },
        )
}

fn queues() -> Vec<QueueDef> {
    let q = |name: &str, merchant: Option<&str>, skills: &[&str]| QueueDef {
        name: name.into(),
        merchant: merchant.map(str::to_owned),
        skills: skills.iter().map(|s| (*s).to_owned()).collect(),
        languages: vec![],
        base_priority: 0.0,
        timeout_ms: 0,
        overflow: None,
    };
    vec![
        q("platform", None, &["general"]),
        q("m1-queue", Some("m1"), &["jewellery"]),
        q("m2-queue", Some("m2"), &[]),
    ]
}

fn waiting(i: usize, agents: usize) -> impl Strategy<Value = Waiting> {
    (
        prop::sample::select(vec!["platform", "m1-queue", "m2-queue"]),
        prop::sample::select(CHANNELS.to_vec()),
        prop::option::of(prop::sample::select(vec!["gold", "silver"])),
        prop::sample::select(vec![Page::Checkout, Page::Cart, Page::Product, Page::Other]),
        any::<bool>(),
        prop::option::of(prop::sample::select(vec!["zh-Hans", "en"])),
        prop::option::of(0..agents.max(1)),
        prop::collection::vec(0..agents.max(1), 0..3),
        0..NOW,
        any::<bool>(),
    )
        .prop_map(
            move |(queue, channel, tier, page, negative, language, last, excluded, at, left)| {
                Waiting {
                    conversation: format!("c{i}"),
                    queue: queue.into(),
                    channel_type: channel.into(),
                    tier: tier.map(str::to_owned),
                    page,
                    negative,
                    language: language.map(str::to_owned),
                    last_agent: last.map(|a| format!("a{a}")),
                    enqueued_ms: at,
                    queue_entered_ms: at,
                    excluded_agents: excluded.into_iter().map(|a| format!("a{a}")).collect(),
                    left_message: left,
                }
            },
        )
}

fn tenant() -> impl Strategy<Value = Tenant> {
    (1usize..8, 0usize..24).prop_flat_map(|(n_agents, n_waiting)| {
        let agents: Vec<_> = (0..n_agents).map(agent).collect();
        let waiting: Vec<_> = (0..n_waiting).map(|i| waiting(i, n_agents)).collect();
        (
            agents,
            waiting,
            prop::sample::select(vec![
                Choice::LeastLoad,
                Choice::RoundRobin,
                Choice::LongestIdle,
            ]),
            0u64..NOW,
            any::<bool>(),
        )
            .prop_map(|(agents, waiting, strategy, relax, sticky)| Tenant {
                policy: Policy {
                    strategy,
                    skill_relaxation_ms: relax,
                    sticky,
                    ..Policy::default()
                },
                queues: queues(),
                agents,
                waiting,
            })
    })
}

fn capacity(a: &AgentDef, channel: &str) -> u32 {
    a.capacity
        .get(channel)
        .or_else(|| a.capacity.get("*"))
        .copied()
        .unwrap_or(0)
}

/// May `a` take `w` now, strictly (skills held) or relaxed (skills waived after waiting)?
fn eligible(t: &Tenant, a: &AgentDef, w: &Waiting, load: u32, relaxed: bool) -> bool {
    let q = t
        .queues
        .iter()
        .find(|q| q.name == w.queue)
        .expect("known queue");
    let skills_ok = q.skills.iter().all(|s| a.skills.contains(s))
        || (relaxed && NOW.saturating_sub(w.enqueued_ms) >= t.policy.skill_relaxation_ms);
    a.status == AgentStatus::Online
        && a.merchant == q.merchant
        && !w.excluded_agents.contains(&a.id)
        && load < capacity(a, &w.channel_type)
        && skills_ok
}

fn build(t: &Tenant) -> Router {
    let mut r = Router::new(t.policy.clone());
    for q in &t.queues {
        r.upsert_queue(q.clone());
    }
    for a in &t.agents {
        r.upsert_agent(a.clone());
    }
    for w in &t.waiting {
        r.enqueue(w.clone());
    }
    r
}

fn check(t: &Tenant, decided: &[Assignment]) -> Result<(), TestCaseError> {
    let mut load: HashMap<(String, String), u32> = HashMap::new();
    for a in &t.agents {
        for (ch, n) in &a.load {
            load.insert((a.id.clone(), ch.clone()), *n);
        }
    }
    let mut given = HashSet::new();
    for d in decided {
        prop_assert!(
            given.insert(d.conversation.clone()),
            "{} given twice",
            d.conversation
        );
        let w = t
            .waiting
            .iter()
            .find(|w| w.conversation == d.conversation)
            .expect("only waiting conversations are given");
        let a = t
            .agents
            .iter()
            .find(|a| a.id == d.agent)
            .expect("a known agent");
        prop_assert_eq!(&d.queue, &w.queue);
        prop_assert_eq!(&d.channel_type, &w.channel_type);
        let l = load
            .entry((a.id.clone(), w.channel_type.clone()))
            .or_default();
        prop_assert!(
            eligible(t, a, w, *l, d.relaxed),
            "{} to {} is not allowed: {:?} {:?} load {}",
            d.conversation,
            d.agent,
            a,
            w,
            l
        );
        if !d.relaxed {
            let q = t.queues.iter().find(|q| q.name == w.queue).unwrap();
            prop_assert!(q.skills.iter().all(|s| a.skills.contains(s)));
        }
        *l += 1;
    }
    // Work-conserving: nothing left waiting that some agent with room could take.
    for w in t
        .waiting
        .iter()
        .filter(|w| !given.contains(&w.conversation))
    {
        for a in &t.agents {
            let l = load
                .get(&(a.id.clone(), w.channel_type.clone()))
                .copied()
                .unwrap_or(0);
            prop_assert!(
                !eligible(t, a, w, l, true),
                "{} left waiting although {} could take it",
                w.conversation,
                a.id
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn decisions_respect_every_rule_and_leave_nothing_servable(t in tenant()) {
        let mut r = build(&t);
        let decided = r.decide_all(NOW);
        check(&t, &decided)?;
        prop_assert_eq!(r.waiting_len(), t.waiting.len() - decided.len());
        prop_assert!(r.decide(NOW).is_none(), "decide_all stopped early");
    }

    #[test]
    fn one_at_a_time_decides_the_same_as_all_at_once(t in tenant()) {
        let all = build(&t).decide_all(NOW);
        let mut r = build(&t);
        let mut one_by_one = Vec::new();
        while let Some(a) = r.decide(NOW) {
            one_by_one.push(a);
        }
        prop_assert_eq!(all, one_by_one);
    }
}
