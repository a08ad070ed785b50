use super::*;

const T0: u64 = 1_000_000_000;

fn queue(name: &str) -> QueueDef {
    QueueDef {
        name: name.into(),
        merchant: None,
        skills: vec![],
        languages: vec![],
        base_priority: 0.0,
        timeout_ms: 0,
        overflow: None,
    }
}

fn agent(id: &str) -> AgentDef {
    AgentDef {
        id: id.into(),
        capacity: HashMap::from([("*".to_string(), 1)]),
        status: AgentStatus::Online,
        ..AgentDef::default()
    }
}

fn conv(id: &str, queue: &str, enqueued_ms: u64) -> Waiting {
    Waiting {
        conversation: id.into(),
        queue: queue.into(),
        channel_type: "web".into(),
        enqueued_ms,
        queue_entered_ms: enqueued_ms,
        ..Waiting::default()
    }
}

fn gold_policy() -> Policy {
    Policy {
        tier_weights: HashMap::from([("gold".to_string(), 5.0)]),
        ..Policy::default()
    }
}

/// Router with queue "q" and no agents.
fn router(policy: Policy) -> Router {
    let mut r = Router::new(policy);
    r.upsert_queue(queue("q"));
    r
}

fn pairs(v: &[Assignment]) -> Vec<(&str, &str)> {
    v.iter()
        .map(|a| (a.conversation.as_str(), a.agent.as_str()))
        .collect()
}

#[test]
fn page_parse_and_scores() {
    assert_eq!(Page::parse("checkout"), Page::Checkout);
    assert_eq!(Page::parse("Cart"), Page::Cart);
    assert_eq!(Page::parse("product"), Page::Product);
    assert_eq!(Page::parse("home"), Page::Other);
    assert!(Page::Checkout.score() > Page::Cart.score());
    assert!(Page::Cart.score() > Page::Product.score());
    assert!(Page::Product.score() > Page::Other.score());
}

#[test]
fn gold_on_checkout_is_served_before_earlier_ordinary_ones() {
    let mut r = router(gold_policy());
    r.enqueue(conv("old1", "q", T0));
    r.enqueue(conv("old2", "q", T0 + 1_000));
    r.enqueue(Waiting {
        tier: Some("gold".into()),
        page: Page::Checkout,
        ..conv("gold", "q", T0 + 5_000)
    });
    r.upsert_agent(agent("a"));
    let a = r.decide(T0 + 6_000).expect("assignment");
    assert_eq!(a.conversation, "gold");
    // Equal priority otherwise: the earlier one first.
    r.release("a", "web", T0 + 7_000);
    assert_eq!(r.decide(T0 + 7_000).unwrap().conversation, "old1");
}

#[test]
fn aging_lets_an_old_ordinary_conversation_overtake_a_newer_gold() {
    let mut r = router(gold_policy());
    let gold = Waiting {
        tier: Some("gold".into()),
        ..conv("gold", "q", T0 + 10_000)
    };
    let old = conv("old", "q", T0);
    // Gold is worth 5 points = 50 s of aging at 0.1/s; old has waited only 10 s more.
    assert!(r.priority(&gold, T0 + 10_000) > r.priority(&old, T0 + 10_000));
    let later = T0 + 100_000;
    assert!((r.priority(&old, later) - 10.0).abs() < 1e-9);
    r.enqueue(gold);
    r.enqueue(old);
    r.upsert_agent(agent("a"));
    assert_eq!(r.decide(T0 + 10_000).unwrap().conversation, "gold");

    // With a 60 s head start, the ordinary one overtakes (ordering is time-independent).
    let mut r = router(gold_policy());
    r.enqueue(Waiting {
        tier: Some("gold".into()),
        ..conv("gold", "q", T0 + 60_000)
    });
    r.enqueue(conv("old", "q", T0));
    r.upsert_agent(agent("a"));
    assert_eq!(r.decide(T0 + 60_000).unwrap().conversation, "old");
}

#[test]
fn required_skills_are_respected() {
    let mut r = Router::default();
    r.upsert_queue(QueueDef {
        skills: vec!["billing".into(), "vip".into()],
        ..queue("billing")
    });
    r.upsert_agent(AgentDef {
        skills: vec!["billing".into()],
        ..agent("half")
    });
    r.enqueue(conv("c", "billing", T0));
    assert_eq!(
        r.decide(T0),
        None,
        "an agent missing one skill must not be picked"
    );
    r.upsert_agent(AgentDef {
        skills: vec!["vip".into(), "billing".into()],
        ..agent("full")
    });
    let a = r.decide(T0).unwrap();
    assert_eq!((a.agent.as_str(), a.relaxed), ("full", false));
}

#[test]
fn merchant_scope_separates_merchant_and_platform() {
    let mut r = Router::default();
    r.upsert_queue(queue("platform"));
    r.upsert_queue(QueueDef {
        merchant: Some("m1".into()),
        ..queue("shop")
    });
    r.upsert_agent(AgentDef {
        merchant: Some("m1".into()),
        ..agent("merchant-agent")
    });
    r.enqueue(conv("p", "platform", T0));
    // Even after skill relaxation, merchant scope holds.
    assert_eq!(r.decide(T0 + 10_000_000), None);
    r.enqueue(conv("s", "shop", T0 + 1));
    r.upsert_agent(AgentDef {
        capacity: HashMap::from([("*".into(), 5)]),
        ..agent("platform-agent")
    });
    let got = r.decide_all(T0 + 10_000_000);
    let mut got = pairs(&got);
    got.sort();
    assert_eq!(got, vec![("p", "platform-agent"), ("s", "merchant-agent")]);
}

#[test]
fn each_strategy_picks_the_right_agent() {
    let defs = || {
        vec![
            AgentDef {
                capacity: HashMap::from([("web".into(), 4)]),
                load: HashMap::from([("web".into(), 2)]),
                last_assigned_ms: 100,
                idle_since_ms: 50,
                ..agent("half-busy")
            },
            AgentDef {
                capacity: HashMap::from([("web".into(), 10)]),
                load: HashMap::from([("web".into(), 3)]),
                last_assigned_ms: 300,
                idle_since_ms: 10,
                ..agent("light")
            },
            AgentDef {
                capacity: HashMap::from([("web".into(), 2)]),
                load: HashMap::from([("web".into(), 1)]),
                last_assigned_ms: 50,
                idle_since_ms: 80,
                ..agent("rotated")
            },
        ]
    };
    let pick = |strategy| {
        let mut r = router(Policy {
            strategy,
            ..Policy::default()
        });
        for d in defs() {
            r.upsert_agent(d);
        }
        r.enqueue(conv("c", "q", T0));
        r.decide(T0).unwrap().agent
    };
    assert_eq!(pick(Strategy::LeastLoad), "light"); // 0.3 < 0.5
    assert_eq!(pick(Strategy::RoundRobin), "rotated"); // assigned at 50
    assert_eq!(pick(Strategy::LongestIdle), "light"); // idle since 10

    // Least-load ties go to the agent assigned longest ago, then by id.
    let mut r = router(Policy::default());
    r.upsert_agent(AgentDef {
        last_assigned_ms: 20,
        ..agent("b")
    });
    r.upsert_agent(AgentDef {
        last_assigned_ms: 10,
        ..agent("c")
    });
    r.upsert_agent(AgentDef {
        last_assigned_ms: 10,
        ..agent("a")
    });
    for i in 0..3 {
        r.enqueue(conv(&format!("c{i}"), "q", T0 + i));
    }
    assert_eq!(
        pairs(&r.decide_all(T0 + 5)),
        vec![("c0", "a"), ("c1", "c"), ("c2", "b")]
    );

    // Round robin rotates because an assignment stamps last_assigned.
    let mut r = router(Policy {
        strategy: Strategy::RoundRobin,
        ..Policy::default()
    });
    for id in ["x", "y"] {
        r.upsert_agent(AgentDef {
            capacity: HashMap::from([("*".into(), 5)]),
            ..agent(id)
        });
    }
    for i in 0..4 {
        r.enqueue(conv(&format!("c{i}"), "q", T0 + i));
    }
    let got: Vec<String> = (0..4)
        .map(|i| r.decide(T0 + 10 + i).unwrap().agent)
        .collect();
    assert_eq!(got, ["x", "y", "x", "y"]);
}

#[test]
fn sticky_returns_to_the_last_agent_when_eligible() {
    let mut r = router(Policy::default());
    r.upsert_agent(agent("a"));
    r.upsert_agent(AgentDef {
        capacity: HashMap::from([("*".into(), 2)]),
        load: HashMap::from([("web".into(), 1)]),
        ..agent("b")
    });
    r.enqueue(Waiting {
        last_agent: Some("b".into()),
        ..conv("c", "q", T0)
    });
    let a = r.decide(T0).unwrap();
    assert_eq!(
        (a.agent.as_str(), a.sticky),
        ("b", true),
        "b at 1/2 beats a at 0/1"
    );

    // Last agent full: anyone else, not sticky. Sticky off: strategy only.
    r.enqueue(Waiting {
        last_agent: Some("b".into()),
        ..conv("d", "q", T0)
    });
    let a = r.decide(T0).unwrap();
    assert_eq!((a.agent.as_str(), a.sticky), ("a", false));
    let mut r = router(Policy {
        sticky: false,
        ..Policy::default()
    });
    r.upsert_agent(agent("a"));
    r.upsert_agent(AgentDef {
        capacity: HashMap::from([("*".into(), 2)]),
        last_assigned_ms: 1,
        ..agent("b")
    });
    r.upsert_agent(AgentDef {
        last_assigned_ms: 1,
        ..agent("a")
    });
    r.enqueue(Waiting {
        last_agent: Some("a".into()),
        ..conv("c", "q", T0)
    });
    assert_eq!(r.decide(T0).unwrap().agent, "a", "ties on 0 load, then id");
    r.enqueue(Waiting {
        last_agent: Some("a".into()),
        ..conv("d", "q", T0)
    });
    assert_eq!(r.decide(T0).unwrap().agent, "b");
}

#[test]
fn speakers_of_the_customer_language_are_preferred() {
    let mut r = router(Policy::default());
    r.upsert_agent(AgentDef {
        languages: vec!["en".into()],
        ..agent("a-en")
    });
    r.upsert_agent(AgentDef {
        languages: vec!["zh".into()],
        ..agent("z-zh")
    });
    r.enqueue(Waiting {
        language: Some("zh-Hans".into()),
        ..conv("c", "q", T0)
    });
    assert_eq!(r.decide(T0).unwrap().agent, "z-zh", "same primary subtag");
    // The only Chinese speaker is full: anyone eligible.
    r.enqueue(Waiting {
        language: Some("zh-Hant".into()),
        ..conv("d", "q", T0)
    });
    assert_eq!(r.decide(T0).unwrap().agent, "a-en");
}

#[test]
fn skills_are_relaxed_after_the_relaxation_time_but_not_merchant_scope() {
    let mut r = Router::default();
    r.upsert_queue(QueueDef {
        skills: vec!["tech".into()],
        ..queue("tech")
    });
    r.upsert_agent(agent("generalist"));
    r.upsert_agent(AgentDef {
        merchant: Some("m1".into()),
        ..agent("merchant")
    });
    r.enqueue(conv("c", "tech", T0));
    assert_eq!(r.decide(T0 + 119_999), None);
    let a = r.decide(T0 + 120_000).unwrap();
    assert_eq!((a.agent.as_str(), a.relaxed), ("generalist", true));
}

#[test]
fn an_agent_who_let_an_offer_expire_is_not_offered_it_again() {
    let mut r = router(Policy::default());
    r.upsert_agent(agent("a"));
    r.enqueue(Waiting {
        excluded_agents: vec!["a".into()],
        last_agent: Some("a".into()),
        ..conv("c", "q", T0)
    });
    assert_eq!(r.decide(T0), None);
    r.enqueue(conv("d", "q", T0 + 5));
    assert_eq!(
        r.decide(T0 + 10).unwrap().conversation,
        "d",
        "lower priority, but servable"
    );
    r.upsert_agent(agent("b"));
    assert_eq!(pairs(&r.decide_all(T0 + 10)), vec![("c", "b")]);
}

fn overflow_router(mode: OverflowMode) -> Router {
    let mut r = Router::default();
    r.upsert_queue(QueueDef {
        skills: vec!["first".into()],
        overflow: Some(Overflow {
            to_queue: "backup".into(),
            mode,
            after_ms: 10_000,
        }),
        ..queue("first")
    });
    r.upsert_queue(queue("backup"));
    r.enqueue(conv("c", "first", T0));
    r
}

#[test]
fn overflow_always_moves_after_the_delay_keeping_enqueued_time() {
    let mut r = overflow_router(OverflowMode::Always);
    r.upsert_agent(AgentDef {
        skills: vec!["first".into()],
        status: AgentStatus::Away,
        ..agent("a")
    });
    assert!(r.housekeeping(T0 + 9_999).is_empty());
    let moves = r.housekeeping(T0 + 10_000);
    assert_eq!(
        moves,
        vec![Move::Overflow {
            conversation: "c".into(),
            from: "first".into(),
            to: "backup".into()
        }]
    );
    let w = r.get("c").unwrap();
    assert_eq!(
        (w.queue.as_str(), w.enqueued_ms, w.queue_entered_ms),
        ("backup", T0, T0 + 10_000)
    );
    assert!(
        r.housekeeping(T0 + 30_000).is_empty(),
        "backup has no overflow rule"
    );
}

#[test]
fn overflow_busy_moves_only_when_no_online_agent_has_a_free_slot() {
    let mut r = overflow_router(OverflowMode::Busy);
    r.upsert_agent(AgentDef {
        skills: vec!["first".into()],
        load: HashMap::from([("web".into(), 1)]),
        ..agent("full")
    });
    r.upsert_agent(AgentDef {
        skills: vec!["first".into()],
        ..agent("free")
    });
    r.upsert_agent(agent("backup-agent"));
    // "free" could take it: no move (decide would assign it instead).
    assert!(r.housekeeping(T0 + 20_000).is_empty());
    r.set_status("free", AgentStatus::Away);
    assert_eq!(r.housekeeping(T0 + 20_000).len(), 1);
    assert_eq!(r.decide(T0 + 20_000).unwrap().agent, "backup-agent");
}

#[test]
fn overflow_offline_moves_only_when_nobody_of_the_queue_is_online() {
    let mut r = overflow_router(OverflowMode::Offline);
    r.upsert_agent(AgentDef {
        skills: vec!["first".into()],
        load: HashMap::from([("web".into(), 1)]),
        ..agent("full")
    });
    assert!(r.housekeeping(T0 + 20_000).is_empty(), "online though busy");
    r.set_status("full", AgentStatus::Offline);
    assert_eq!(r.housekeeping(T0 + 20_000).len(), 1);
    assert_eq!(r.get("c").unwrap().queue, "backup");
}

#[test]
fn overflow_never_does_not_move() {
    let mut r = overflow_router(OverflowMode::Never);
    assert!(r.housekeeping(T0 + 1_000_000).is_empty());
    assert_eq!(r.get("c").unwrap().queue, "first");
}

#[test]
fn timeout_turns_a_conversation_into_a_left_message_ranked_below_live_ones() {
    let mut r = Router::default();
    r.upsert_queue(QueueDef {
        timeout_ms: 60_000,
        base_priority: 100.0,
        ..queue("q")
    });
    r.enqueue(Waiting {
        tier: Some("gold".into()),
        ..conv("old", "q", T0)
    });
    r.enqueue(conv("new", "q", T0 + 50_000));
    assert!(r.housekeeping(T0 + 59_999).is_empty());
    assert_eq!(
        r.housekeeping(T0 + 60_000),
        vec![Move::LeftMessage {
            conversation: "old".into(),
            queue: "q".into()
        }]
    );
    assert!(r.get("old").unwrap().left_message);
    assert!(
        r.housekeeping(T0 + 70_000).is_empty(),
        "a left message does not time out again"
    );
    r.upsert_agent(agent("a"));
    assert_eq!(
        r.decide(T0 + 70_000).unwrap().conversation,
        "new",
        "live before left"
    );
    assert_eq!(r.decide(T0 + 70_000), None, "the only agent is full");
    r.release("a", "web", T0 + 80_000);
    let a = r.decide(T0 + 80_000).unwrap();
    assert_eq!((a.conversation.as_str(), a.agent.as_str()), ("old", "a"));
    let s = &r.queue_stats(T0 + 80_000)[0];
    assert_eq!((s.waiting, s.left_messages), (0, 0));
}

#[test]
fn a_blocked_queue_does_not_block_other_queues_or_channels() {
    let mut r = Router::default();
    r.upsert_queue(QueueDef {
        base_priority: 50.0,
        skills: vec!["rare".into()],
        ..queue("vip")
    });
    r.upsert_queue(queue("q"));
    r.upsert_agent(AgentDef {
        capacity: HashMap::from([("web".into(), 1)]),
        ..agent("a")
    });
    r.enqueue(conv("vip", "vip", T0));
    r.enqueue(Waiting {
        channel_type: "wechat".into(),
        ..conv("wechat", "q", T0)
    });
    r.enqueue(conv("web", "q", T0 + 1));
    let a = r.decide(T0 + 2).unwrap();
    assert_eq!(
        (a.conversation.as_str(), a.channel_type.as_str()),
        ("web", "web")
    );
    assert_eq!(r.decide(T0 + 2), None);
    assert_eq!(r.waiting_len(), 2);
}

#[test]
fn queue_stats_report_the_board_figures() {
    let mut r = Router::default();
    r.upsert_queue(QueueDef {
        timeout_ms: 60_000,
        ..queue("a-q")
    });
    r.upsert_queue(QueueDef {
        skills: vec!["x".into()],
        ..queue("b-q")
    });
    r.upsert_agent(AgentDef {
        capacity: HashMap::from([("web".into(), 3), ("wechat".into(), 2)]),
        load: HashMap::from([("web".into(), 3)]),
        ..agent("one")
    });
    r.upsert_agent(AgentDef {
        status: AgentStatus::Away,
        ..agent("two")
    });
    r.enqueue(conv("c1", "a-q", T0));
    r.enqueue(conv("c2", "a-q", T0 + 30_000));
    r.enqueue(conv("c3", "b-q", T0 + 40_000));
    r.housekeeping(T0 + 61_000);
    let stats = r.queue_stats(T0 + 61_000);
    assert_eq!(
        stats,
        vec![
            QueueStats {
                queue: "a-q".into(),
                waiting: 1,
                left_messages: 1,
                longest_wait_ms: 61_000,
                agents_online: 1,
                free_slots: 2,
            },
            QueueStats {
                queue: "b-q".into(),
                waiting: 1,
                left_messages: 0,
                longest_wait_ms: 21_000,
                agents_online: 0,
                free_slots: 0,
            },
        ]
    );
}

#[test]
fn mutations_upsert_remove_and_get() {
    let mut r = router(Policy::default());
    r.enqueue(conv("c", "q", T0));
    r.enqueue(Waiting {
        page: Page::Cart,
        ..conv("c", "q", T0)
    });
    assert_eq!(r.waiting_len(), 1);
    assert_eq!(r.get("c").unwrap().page, Page::Cart);
    assert_eq!(r.remove("c").unwrap().conversation, "c");
    assert!(r.remove("c").is_none());
    r.enqueue(conv("d", "q", T0));
    assert!(r.remove_queue("q"));
    r.upsert_agent(agent("a"));
    assert_eq!(r.decide(T0), None, "no queue definition, nobody serves it");
    r.upsert_queue(queue("q"));
    assert_eq!(r.decide(T0).unwrap().agent, "a");
    assert_eq!(r.load("a", "web"), Some(1));
    assert!(r.release("a", "web", T0 + 5));
    assert!(!r.release("a", "web", T0 + 6), "nothing left to release");
    let def = r.agent("a").unwrap();
    assert_eq!((def.last_assigned_ms, def.idle_since_ms), (T0, T0 + 5));
}

/// Small deterministic PRNG for the property test.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn random_operations_never_exceed_capacity_or_assign_twice() {
    for strategy in [
        Strategy::LeastLoad,
        Strategy::RoundRobin,
        Strategy::LongestIdle,
    ] {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut r = Router::new(Policy {
            strategy,
            skill_relaxation_ms: 5_000,
            ..gold_policy()
        });
        let queues = ["q0", "q1", "q2"];
        let channels = ["web", "wechat", "sms"];
        for (i, q) in queues.iter().enumerate() {
            r.upsert_queue(QueueDef {
                skills: if i == 1 { vec!["s1".into()] } else { vec![] },
                merchant: (i == 2).then(|| "m".into()),
                timeout_ms: 20_000,
                overflow: (i == 0).then(|| Overflow {
                    to_queue: "q1".into(),
                    mode: OverflowMode::Busy,
                    after_ms: 3_000,
                }),
                ..queue(q)
            });
        }
        let mut caps: HashMap<String, HashMap<String, u32>> = HashMap::new();
        for i in 0..12 {
            let cap = HashMap::from([("web".to_string(), 1 + i % 3), ("*".to_string(), i % 2)]);
            caps.insert(format!("a{i}"), cap.clone());
            r.upsert_agent(AgentDef {
                merchant: (i % 4 == 0).then(|| "m".into()),
                skills: if i % 3 == 0 {
                    vec!["s1".into()]
                } else {
                    vec![]
                },
                languages: vec![if i % 2 == 0 { "en" } else { "zh-Hans" }.into()],
                capacity: cap,
                ..agent(&format!("a{i}"))
            });
        }
        let mut assigned: HashMap<String, (String, String)> = HashMap::new();
        let mut pending: HashMap<String, Waiting> = HashMap::new();
        let mut now = T0;
        for step in 0..4_000u64 {
            now += rng.below(300);
            match rng.below(10) {
                0..=3 => {
                    let w = Waiting {
                        channel_type: channels[rng.below(3) as usize].into(),
                        tier: (rng.below(3) == 0).then(|| "gold".into()),
                        page: Page::parse(["checkout", "cart", "x"][rng.below(3) as usize]),
                        language: (rng.below(2) == 0).then(|| "en".into()),
                        last_agent: Some(format!("a{}", rng.below(12))),
                        excluded_agents: vec![format!("a{}", rng.below(12))],
                        ..conv(&format!("c{step}"), queues[rng.below(3) as usize], now)
                    };
                    pending.insert(w.conversation.clone(), w.clone());
                    r.enqueue(w);
                }
                4..=6 => {
                    if let Some(a) = r.decide(now) {
                        let w = (a.agent.clone(), a.channel_type.clone());
                        assert!(
                            assigned.insert(a.conversation.clone(), w).is_none(),
                            "twice"
                        );
                        assert!(r.get(&a.conversation).is_none());
                        let w = &pending[&a.conversation];
                        assert!(
                            !w.excluded_agents.contains(&a.agent),
                            "excluded agent offered"
                        );
                        let merchant_agent = a.agent[1..].parse::<u32>().unwrap() % 4 == 0;
                        assert_eq!(merchant_agent, a.queue == "q2", "merchant scope broken");
                    }
                }
                7 => {
                    let id = format!("a{}", rng.below(12));
                    let ch = channels[rng.below(3) as usize];
                    r.release(&id, ch, now);
                }
                8 => {
                    let id = format!("a{}", rng.below(12));
                    let s = [AgentStatus::Online, AgentStatus::Away][rng.below(2) as usize];
                    r.set_status(&id, s);
                }
                _ => {
                    r.housekeeping(now);
                }
            }
            for (id, cap) in &caps {
                for ch in channels {
                    let c = cap.get(ch).or(cap.get("*")).copied().unwrap_or(0);
                    assert!(r.load(id, ch).unwrap() <= c, "{id} over capacity on {ch}");
                }
            }
        }
        assert!(
            assigned.len() > 150,
            "{strategy:?}: only {} assigned",
            assigned.len()
        );
        // Everything eventually drains once agents come back.
        for i in 0..12 {
            r.set_status(&format!("a{i}"), AgentStatus::Online);
        }
        for id in caps.keys() {
            for ch in channels {
                while r.release(id, ch, now) {}
            }
        }
        now += 1_000_000;
        r.housekeeping(now);
        let left: Vec<Assignment> = r.decide_all(now);
        for a in &left {
            assert!(!assigned.contains_key(&a.conversation));
        }
    }
}
