//! Steady-state routing benchmark: 10,000 agents, 100,000 waiting conversations.
//!
//! Prints one line on stdout: `routing_decisions_per_s=<int> routing_p99_us=<x.xx>`.
//! Throughput counts assigning decisions over the time spent inside `decide` (all calls,
//! including those that found nothing), so setup and workload generation do not inflate it.

use std::collections::HashMap;
use std::time::Instant;

use kefu_routing::{AgentDef, AgentStatus, Page, Policy, QueueDef, Router, Waiting};

/// SplitMix64: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

const QUEUES: [&str; 5] = ["general", "billing", "tech", "vip", "shop"];

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} needs a number"))
        })
        .unwrap_or(default)
}

fn waiting(rng: &mut Rng, n: u64, now: u64, agents: usize) -> Waiting {
    let queue = match rng.below(10) {
        0..=3 => "general",
        4 | 5 => "billing",
        6 | 7 => "tech",
        8 => "vip",
        _ => "shop",
    };
    let enqueued = now - rng.below(600_000);
    Waiting {
        conversation: format!("c{n}"),
        queue: queue.to_string(),
        channel_type: if rng.chance(70) { "web" } else { "wechat" }.to_string(),
        tier: match rng.below(10) {
            0 => Some("gold".to_string()),
            1..=3 => Some("silver".to_string()),
            _ => None,
        },
        page: match rng.below(4) {
            0 => Page::Checkout,
            1 => Page::Cart,
            2 => Page::Product,
            _ => Page::Other,
        },
        negative: rng.chance(10),
        language: match rng.below(3) {
            0 => Some("zh-Hans".to_string()),
            1 => Some("en".to_string()),
            _ => None,
        },
        last_agent: rng
            .chance(5)
            .then(|| format!("a{}", rng.below(agents as u64))),
        enqueued_ms: enqueued,
        queue_entered_ms: enqueued,
        excluded_agents: Vec::new(),
        left_message: false,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n_agents = arg(&args, "--agents", 10_000);
    let n_waiting = arg(&args, "--waiting", 100_000);
    let n_decisions = arg(&args, "--decisions", 400_000);
    let mut rng = Rng(0x6b65_6675);
    let mut now: u64 = 1_700_000_000_000;

    let setup = Instant::now();
    let policy = Policy {
        tier_weights: HashMap::from([("gold".to_string(), 3.0), ("silver".to_string(), 1.0)]),
        ..Policy::default()
    };
    let mut router = Router::new(policy);
    for name in QUEUES {
        router.upsert_queue(QueueDef {
            name: name.to_string(),
            merchant: (name == "shop").then(|| "m1".to_string()),
            skills: match name {
                "general" | "shop" => vec![],
                s => vec![s.to_string()],
            },
            languages: vec![],
            base_priority: if name == "vip" { 2.0 } else { 0.0 },
            timeout_ms: 0,
            overflow: None,
        });
    }
    for i in 0..n_agents {
        let merchant = i % 10 == 0;
        let skills = if merchant {
            vec![]
        } else {
            ["billing", "tech", "vip"]
                .into_iter()
                .filter(|_| rng.chance(40))
                .map(str::to_string)
                .collect()
        };
        let languages = match rng.below(3) {
            0 => vec!["zh-Hans".to_string()],
            1 => vec!["en".to_string()],
            _ => vec!["zh-Hans".to_string(), "en".to_string()],
        };
        router.upsert_agent(AgentDef {
            id: format!("a{i}"),
            merchant: merchant.then(|| "m1".to_string()),
            skills,
            languages,
            capacity: HashMap::from([("web".to_string(), 5), ("wechat".to_string(), 3)]),
            status: AgentStatus::Online,
            ..AgentDef::default()
        });
    }
    let mut next_conv = 0u64;
    for _ in 0..n_waiting {
        router.enqueue(waiting(&mut rng, next_conv, now, n_agents));
        next_conv += 1;
    }
    eprintln!(
        "setup: {:.2?} for {n_agents} agents, {} waiting",
        setup.elapsed(),
        router.waiting_len()
    );

    let mut busy: Vec<(String, String)> = Vec::new();
    let mut times_ns: Vec<u64> = Vec::with_capacity(n_decisions * 2);
    let mut assigned = 0usize;
    let mut total_ns = 0u64;
    let mut iter = 0u64;
    while assigned < n_decisions {
        now += 1;
        iter += 1;
        let t = Instant::now();
        let decision = router.decide(now);
        let ns = t.elapsed().as_nanos() as u64;
        times_ns.push(ns);
        total_ns += ns;
        let release = match decision {
            Some(a) => {
                assigned += 1;
                busy.push((a.agent, a.channel_type));
                router.enqueue(waiting(&mut rng, next_conv, now, n_agents));
                next_conv += 1;
                iter.is_multiple_of(4)
            }
            None => true,
        };
        if release && !busy.is_empty() {
            let i = rng.below(busy.len() as u64) as usize;
            let (agent, ch) = busy.swap_remove(i);
            router.release(&agent, &ch, now);
        }
    }
    eprintln!(
        "decide calls: {}, assigned: {assigned}, waiting at end: {}, busy slots: {}",
        times_ns.len(),
        router.waiting_len(),
        busy.len()
    );
    times_ns.sort_unstable();
    let p99 = times_ns[(times_ns.len() * 99 / 100).min(times_ns.len() - 1)];
    let per_s = assigned as f64 / (total_ns as f64 / 1e9);
    println!(
        "routing_decisions_per_s={} routing_p99_us={:.2}",
        per_s as u64,
        p99 as f64 / 1000.0
    );
}
