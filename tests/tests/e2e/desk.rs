//! The agent side, end to end: a customer asks for a person on a channel, routing finds the
//! right agent, and the agent works the conversation through the desk API and socket while the
//! customer sees the replies on the channel. Each scenario has a tenant of its own (queues,
//! policy and staff applied through the admin API), so the scenarios run side by side.

use crate::platform::{ADMIN_TOKEN, Platform};
use kefu_tests::desk::{DeskClient, DeskSocket, ReplyContent};
use kefu_tests::{WebhookReceiver, eventually};
use serde_json::{Value, json};
use std::time::Duration;

pub use crate::events::{a_merge_publishes_each_closure_once, domain_events_once_per_change};

const WAIT: Duration = Duration::from_secs(20);
pub(crate) const PASSWORD: &str = "desk-e2e-password";

/// A tenant of the scenario's own, with one API channel whose replies reach `hook`.
pub struct Desk {
    pub tenant: String,
    pub channel: String,
    pub secret: String,
    pub hook: WebhookReceiver,
    pub admin: DeskClient,
    pub base: String,
}

pub struct Staff {
    pub id: &'static str,
    pub role: &'static str,
    pub merchant: &'static str,
    pub skills: &'static [&'static str],
    pub capacity: u32,
}

const fn agent(id: &'static str, merchant: &'static str, skills: &'static [&'static str]) -> Staff {
    Staff {
        id,
        role: "agent",
        merchant,
        skills,
        capacity: 3,
    }
}

/// Routing knobs of a scenario's tenant.
pub struct Rules {
    pub accept_timeout_s: u32,
    pub overflow: &'static str,
    pub overflow_after_s: u32,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            accept_timeout_s: 60,
            overflow: "never",
            overflow_after_s: 60,
        }
    }
}

impl Desk {
    /// A tenant with two merchants (`m1` and `m2`, each with its own queue) and the platform
    /// queue; `rules` sets acceptance timeout and m1's overflow.
    pub async fn new(p: &Platform, rules: Rules) -> Self {
        let tenant = format!("desk-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let gw = &p.gateway;
        assert_eq!(gw.upsert_tenant(&tenant, "Desk E2E").await.status, 200);
        let secret = format!("desk-secret-{}", uuid::Uuid::new_v4().simple());
        let hook = WebhookReceiver::start(&secret).await;
        let channel = format!("{tenant}-api");
        let c = gw
            .upsert_channel(&channel, &tenant, &secret, &hook.url)
            .await;
        assert_eq!(c.status, 200, "{:?}", c.body);
        let docs = [
            (
                "tenant",
                tenant.clone(),
                json!({
                    "displayName": "Desk E2E",
                    "merchants": [
                        {"id": "m1", "name": "Merchant One", "overflow": rules.overflow,
                         "waitThresholdSeconds": rules.overflow_after_s},
                        {"id": "m2", "name": "Merchant Two"},
                    ],
                    "memberTiers": [{"name": "gold", "priorityWeight": 20}],
                }),
            ),
            (
                "queue",
                "platform".to_owned(),
                json!({"tenant": tenant, "skills": ["general"],
                       "sla": {"targetPercent": 80, "withinSeconds": 20}, "timeoutSeconds": 600}),
            ),
            (
                "queue",
                "m1-queue".to_owned(),
                json!({"tenant": tenant, "merchant": "m1", "skills": ["jewellery"],
                       "sla": {"targetPercent": 90, "withinSeconds": 30}, "timeoutSeconds": 600,
                       "overflow": {"queue": "platform"}}),
            ),
            (
                "queue",
                "m2-queue".to_owned(),
                json!({"tenant": tenant, "merchant": "m2", "skills": [],
                       "sla": {"targetPercent": 80, "withinSeconds": 20}, "timeoutSeconds": 600}),
            ),
            (
                "routingpolicy",
                "default".to_owned(),
                json!({"tenant": tenant, "strategy": "least-load",
                       "weights": {"tier": 1.0, "page": 2.0, "sentiment": 1.5, "aging": 0.1},
                       "acceptTimeoutSeconds": rules.accept_timeout_s,
                       "skillRelaxationSeconds": 3600, "stickyAgent": true}),
            ),
        ];
        for (kind, name, spec) in docs {
            let r = gw
                .put(
                    &format!("/v1/admin/tenants/{tenant}/config/{kind}/{name}"),
                    spec,
                )
                .await;
            assert!(
                r.status == 200 || r.status == 201,
                "{kind}/{name}: {:?}",
                r.body
            );
        }
        let base = gw.base.clone();
        let admin = DeskClient::with_token(&base, &tenant, ADMIN_TOKEN);
        // The session has the documents once the queues show.
        eventually("the session knows the tenant's queues", WAIT, || async {
            let q = admin.queues().await;
            (q.body["queues"].as_array().map(Vec::len) == Some(3)).then_some(())
        })
        .await;
        Self {
            tenant,
            channel,
            secret,
            hook,
            admin,
            base,
        }
    }

    /// Creates the staff member and signs them in (online when `online`).
    pub async fn staff(&self, s: &Staff, online: bool) -> DeskClient {
        let r = self
            .admin
            .put_agent(
                s.id,
                json!({
                    "login": s.id, "display_name": s.id, "role": s.role,
                    "merchant_id": s.merchant, "skills": s.skills,
                    "languages": ["zh-Hans", "en"], "capacity": {"*": s.capacity},
                    "password": PASSWORD,
                }),
            )
            .await;
        assert!(
            r.status == 200 || r.status == 201,
            "put {}: {:?}",
            s.id,
            r.body
        );
        let me = DeskClient::login(&self.base, &self.tenant, s.id, PASSWORD)
            .await
            .unwrap_or_else(|r| panic!("login {}: {:?}", s.id, r.body));
        if online {
            let r = me.set_status("online").await;
            assert_eq!(r.status, 200, "{:?}", r.body);
        }
        me
    }

    /// A customer's message on the channel; `extra` is merged into the body.
    pub async fn say(&self, p: &Platform, user: &str, text: &str, extra: Value) -> String {
        let id = format!("m-{}", uuid::Uuid::new_v4().simple());
        let mut body = json!({"external_message_id": id, "external_user_id": user, "text": text});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        let r = p
            .gateway
            .send(&self.channel, &self.secret, &body, &[])
            .await;
        assert_eq!(r.status, 202, "{:?}", r.body);
        id
    }

    /// The user's conversation once it is handed off and routed: (conversation id, work view).
    pub async fn queued_for(&self, user: &str) -> String {
        eventually(
            &format!("{user}'s conversation is handed off"),
            WAIT,
            || async {
                self.hook.received().iter().find_map(|r| {
                    (r.body["external_user_id"] == user && r.body["bot"]["handoff"] == true)
                        .then(|| r.body["conversation_id"].as_str().unwrap().to_owned())
                })
            },
        )
        .await
    }

    /// What the customer `user` has been sent so far.
    pub fn sent_to(&self, user: &str) -> Vec<Value> {
        self.hook
            .received()
            .into_iter()
            .filter(|r| r.body["external_user_id"] == user)
            .map(|r| r.body)
            .collect()
    }
}

async fn create_canned(admin: &DeskClient, body: Value) -> kefu_tests::client::Reply {
    let r = admin
        .call(reqwest::Method::POST, "/canned-responses", Some(body))
        .await;
    assert!(r.status == 200 || r.status == 201, "{:?}", r.body);
    r
}

/// Waits for an offer of `conversation` on `socket`.
async fn offered(socket: &mut DeskSocket, conversation: &str) -> Value {
    socket
        .next_event_where("assignment.offered", WAIT, |e| {
            e["conversation"]["conversation_id"] == conversation
        })
        .await
        .unwrap_or_else(|| panic!("no offer of {conversation}; saw {:?}", socket.pending()))
}

/// The conversation's state and agent, as the admin sees it.
async fn work(d: &Desk, conversation: &str) -> Value {
    let r = d.admin.get_conversation(conversation).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

/// The customer asks for a person and lands with the agent who has the merchant's skills, who
/// sees the bot transcript and the reason; the agent replies with a canned response and an order
/// card (the customer gets both), a supervisor whispers (the customer never sees it), the agent
/// transfers to a colleague, who closes; the customer rates 5 and the rating is stored.
pub async fn handoff_to_the_skilled_agent_and_through_to_csat(p: &Platform) {
    let d = Desk::new(p, Rules::default()).await;
    let general = d.staff(&agent("gen", "", &["general"]), true).await;
    let jeweller = d.staff(&agent("jew", "m1", &["jewellery"]), true).await;
    let colleague = d.staff(&agent("jew2", "m1", &["jewellery"]), true).await;
    let sup = d
        .staff(
            &Staff {
                id: "sup",
                role: "supervisor",
                merchant: "",
                skills: &[],
                capacity: 3,
            },
            true,
        )
        .await;
    // Busy agents take no new work, so the first offer must go to `jew`.
    assert_eq!(colleague.set_status("busy").await.status, 200);
    let mut jew_socket = jeweller.socket().await.expect("desk socket");
    let mut gen_socket = general.socket().await.expect("desk socket");
    let user = "cust-ring";
    let m1 = json!({"merchant_id": "m1", "page": {"page_type": "product", "product_id": "ring-7"}});
    d.say(p, user, "你好", m1.clone()).await;
    eventually("the bot greets", WAIT, || async {
        (!d.sent_to(user).is_empty()).then_some(())
    })
    .await;
    d.say(p, user, "我要转人工，戒指尺寸不合适", m1.clone())
        .await;
    let conversation = d.queued_for(user).await;
    let offer = offered(&mut jew_socket, &conversation).await;
    assert_eq!(offer["conversation"]["agent_id"], "jew");
    assert_eq!(offer["conversation"]["queue"], "m1-queue");
    assert!(
        gen_socket
            .next_event_where("assignment.offered", Duration::from_millis(500), |_| true)
            .await
            .is_none(),
        "a platform agent without the merchant's skill got an offer"
    );
    // The agent sees the whole bot transcript and the reason.
    let seen = jeweller.get_conversation(&conversation).await;
    assert_eq!(seen.status, 200, "{:?}", seen.body);
    let handoff = &seen.body["conversation"]["handoff"];
    assert_eq!(handoff["reason"], "human_request", "{handoff}");
    let transcript: Vec<&str> = handoff["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["text"].as_str().unwrap())
        .collect();
    assert!(transcript.contains(&"你好"), "{transcript:?}");
    assert!(
        handoff["transcript"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["sender_kind"] == "bot"),
        "the bot's answers are in the transcript: {handoff}"
    );
    assert_eq!(seen.body["state"], "offered");
    let accepted = jeweller.accept(&conversation).await;
    assert_eq!(accepted.status, 200, "{:?}", accepted.body);
    assert_eq!(accepted.body["state"], "active");
    // A canned response and an order card reach the customer.
    let canned = create_canned(
        &d.admin,
        json!({"shortcut": "/hi", "title": "问候", "text": "您好，我是金缘的客服小王。"}),
    )
    .await;
    let canned_id = canned.body["canned_id"].as_str().unwrap().to_owned();
    let r = jeweller
        .reply(&conversation, ReplyContent::Canned(canned_id), Some("r1"))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let card = json!([{
        "kind": "order", "title": "订单 D2026-001", "order_id": "D2026-001",
        "fields": [{"label": "状态", "value": "已发货"}],
        "buttons": [{"label": "查物流", "action": {"action": "logistics_lookup", "order_id": "D2026-001"}}],
    }]);
    let r = jeweller
        .reply(&conversation, ReplyContent::Cards(card), Some("r2"))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    // A re-sent reply is not sent twice.
    let again = jeweller
        .reply(
            &conversation,
            ReplyContent::Text("ignored".into()),
            Some("r2"),
        )
        .await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    eventually(
        "the customer gets the canned text and the card",
        WAIT,
        || async {
            let sent = d.sent_to(user);
            let text = sent
                .iter()
                .any(|m| m["text"] == "您好，我是金缘的客服小王。" && m["sender"] == "agent");
            let card = sent
                .iter()
                .any(|m| m["cards"][0]["order_id"] == "D2026-001");
            (text && card).then_some(())
        },
    )
    .await;
    // The customer's next message reaches the agent's socket.
    d.say(p, user, "好的，谢谢", m1.clone()).await;
    jew_socket
        .next_event_where("message", WAIT, |e| e["message"]["text"] == "好的，谢谢")
        .await
        .expect("the customer's message on the agent's socket");
    // A whisper: the agent sees it, the customer never does.
    let w = sup.whisper(&conversation, "注意安抚情绪").await;
    assert_eq!(w.status, 200, "{:?}", w.body);
    jew_socket
        .next_event_where("message", WAIT, |e| e["message"]["text"] == "注意安抚情绪")
        .await
        .expect("the whisper on the agent's socket");
    let listed = jeweller.messages(&conversation).await;
    assert!(
        listed.body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["text"] == "注意安抚情绪" && m["internal"] == true),
        "{:?}",
        listed.body
    );
    // Agent → agent transfer with a note; the colleague sees the context.
    assert_eq!(colleague.set_status("online").await.status, 200);
    let mut col_socket = colleague.socket().await.expect("desk socket");
    let t = jeweller
        .transfer_to_agent(&conversation, "jew2", "客户想换小一号")
        .await;
    assert_eq!(t.status, 200, "{:?}", t.body);
    offered(&mut col_socket, &conversation).await;
    assert_eq!(colleague.accept(&conversation).await.status, 200);
    let ctx = colleague.messages(&conversation).await;
    let texts: Vec<&str> = ctx.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert!(
        texts.contains(&"客户想换小一号") && texts.contains(&"你好"),
        "{texts:?}"
    );
    assert_eq!(
        jeweller
            .reply(&conversation, ReplyContent::Text("late".into()), None)
            .await
            .status,
        409,
        "the first agent no longer replies"
    );
    // Close: the customer gets the CSAT invitation and rates 5.
    let closed = colleague
        .close(&conversation, "换尺寸，已登记", &["exchange", "ring"])
        .await;
    assert_eq!(closed.status, 200, "{:?}", closed.body);
    assert_eq!(closed.body["state"], "closed");
    let invite = eventually("the CSAT invitation", WAIT, || async {
        d.sent_to(user)
            .into_iter()
            .find(|m| m["cards"][0]["kind"] == "csat")
    })
    .await;
    let buttons = invite["cards"][0]["buttons"].as_array().unwrap();
    assert_eq!(buttons.len(), 5);
    let five = &buttons[4]["action"];
    assert_eq!(five["action"], "csat:5");
    d.say(p, user, "", json!({"type": "action", "action": five}))
        .await;
    eventually("the rating is stored", WAIT, || async {
        (work(&d, &conversation).await["csat"] == 5).then_some(())
    })
    .await;
    let done = work(&d, &conversation).await;
    assert_eq!(done["summary"], "换尺寸，已登记");
    assert_eq!(done["tags"], json!(["exchange", "ring"]));
    assert_eq!(done["agent_id"], "jew2");
    // Nothing the supervisor whispered ever reached the customer.
    assert!(
        d.sent_to(user).iter().all(|m| m["text"] != "注意安抚情绪"),
        "{:?}",
        d.sent_to(user)
    );
}

/// A gold member on the checkout page is served before ordinary customers who asked earlier.
pub async fn gold_on_checkout_is_served_first(p: &Platform) {
    let d = Desk::new(p, Rules::default()).await;
    let one = d
        .staff(
            &Staff {
                capacity: 1,
                ..agent("solo", "", &["general"])
            },
            false,
        )
        .await;
    for i in 0..3 {
        d.say(
            p,
            &format!("plain-{i}"),
            "转人工",
            json!({"page": {"page_type": "product"}}),
        )
        .await;
        d.queued_for(&format!("plain-{i}")).await;
    }
    d.say(
        p,
        "golden",
        "转人工",
        json!({"page": {"page_type": "checkout"}, "profile": {"tier": "gold"}}),
    )
    .await;
    let gold = d.queued_for("golden").await;
    // Waiting in priority order: gold first although it came last.
    let queued = eventually("four waiting", WAIT, || async {
        let q = one.list_conversations("queued").await;
        (q.body["conversations"].as_array().map(Vec::len) == Some(4)).then_some(q.body)
    })
    .await;
    assert_eq!(
        queued["conversations"][0]["conversation"]["conversation_id"], gold,
        "{queued}"
    );
    let mut socket = one.socket().await.expect("socket");
    assert_eq!(one.set_status("online").await.status, 200);
    let first = socket
        .next_event("assignment.offered", WAIT)
        .await
        .expect("an offer");
    assert_eq!(first["conversation"]["conversation_id"], gold, "{first}");
    // The board showed four waiting before, three now.
    let q = d.admin.queues().await;
    let platform = q.body["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == "platform")
        .unwrap()
        .clone();
    assert_eq!(platform["waiting"], 3, "{platform}");
    assert!(platform["longest_wait_seconds"].as_u64().is_some());
}

/// A merchant conversation nobody at the merchant can take overflows to the platform's queue
/// after the merchant's threshold, and a platform agent gets it.
pub async fn merchant_queue_overflows_to_the_platform(p: &Platform) {
    let d = Desk::new(
        p,
        Rules {
            overflow: "busy",
            overflow_after_s: 2,
            ..Rules::default()
        },
    )
    .await;
    // The merchant's only agent is away; a platform agent is online.
    d.staff(&agent("m1-agent", "m1", &["jewellery"]), false)
        .await;
    let platform = d.staff(&agent("plat", "", &["general"]), true).await;
    let mut socket = platform.socket().await.expect("socket");
    d.say(p, "m1-cust", "转人工", json!({"merchant_id": "m1"}))
        .await;
    let conversation = d.queued_for("m1-cust").await;
    let before = work(&d, &conversation).await;
    assert_eq!(before["queue"], "m1-queue");
    assert_eq!(before["state"], "waiting");
    let offer = offered(&mut socket, &conversation).await;
    assert_eq!(offer["conversation"]["queue"], "platform");
    assert_eq!(
        offer["conversation"]["note"], "overflow:m1-queue",
        "{offer}"
    );
    let waited =
        chrono::DateTime::parse_from_rfc3339(offer["conversation"]["offered_at"].as_str().unwrap())
            .unwrap()
            - chrono::DateTime::parse_from_rfc3339(before["enqueued_at"].as_str().unwrap())
                .unwrap();
    assert!(
        waited.num_milliseconds() >= 2_000,
        "overflowed after {waited}"
    );
    // The queue events: entered m1-queue at the handoff, left it for the platform queue
    // (overflow), entered that, then left it for the agent's offer — each once.
    let queue_events = eventually("the offer's queue.left", WAIT, || async {
        let events = queue_events(p, &d, &conversation).await;
        (events.len() == 4).then_some(events)
    })
    .await;
    assert_eq!(
        queue_events,
        [
            ("queue.entered", "handoff", "m1-queue"),
            ("queue.left", "overflow", "m1-queue"),
            ("queue.entered", "overflow", "platform"),
            ("queue.left", "offered", "platform"),
        ]
        .map(|(t, r, q)| (t.to_owned(), r.to_owned(), q.to_owned()))
    );
}

/// The conversation's queue events in the order published: (type, reason, queue).
async fn queue_events(p: &Platform, d: &Desk, conversation: &str) -> Vec<(String, String, String)> {
    p.events
        .events(&d.tenant)
        .await
        .into_iter()
        .filter(|e| {
            e["conversation_id"] == conversation
                && matches!(
                    e["event_type"].as_str(),
                    Some("queue.entered" | "queue.left")
                )
        })
        .map(|e| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            (
                s(&e["event_type"]),
                s(&e["reason"]),
                s(&e["conversation"]["queue_id"]),
            )
        })
        .collect()
}

/// An offer nobody accepts in time is taken back and re-offered to someone else; the first
/// agent can no longer accept it.
pub async fn an_unaccepted_offer_is_reoffered(p: &Platform) {
    let d = Desk::new(
        p,
        Rules {
            accept_timeout_s: 2,
            ..Rules::default()
        },
    )
    .await;
    let a = d.staff(&agent("a", "", &["general"]), true).await;
    let b = d.staff(&agent("b", "", &["general"]), true).await;
    let (mut sa, mut sb) = (a.socket().await.unwrap(), b.socket().await.unwrap());
    d.say(p, "slow", "转人工", json!({})).await;
    let conversation = d.queued_for("slow").await;
    let first = eventually("offered", WAIT, || async {
        let w = work(&d, &conversation).await;
        (w["state"] == "offered").then_some(w)
    })
    .await;
    let first_agent = first["agent_id"].as_str().unwrap().to_owned();
    let (first_client, first_socket, second_socket, second_agent) = if first_agent == "a" {
        (&a, &mut sa, &mut sb, "b")
    } else {
        (&b, &mut sb, &mut sa, "a")
    };
    first_socket
        .next_event_where("assignment.revoked", WAIT, |e| {
            e["conversation"]["conversation_id"] == conversation
        })
        .await
        .expect("the offer is taken back");
    let again = offered(second_socket, &conversation).await;
    assert_eq!(again["conversation"]["agent_id"], second_agent);
    assert_eq!(again["conversation"]["note"], "reoffer");
    let late = first_client.accept(&conversation).await;
    assert_eq!(late.status, 409, "{:?}", late.body);
    let w = work(&d, &conversation).await;
    assert_eq!(w["agent_id"], second_agent);
    assert_eq!(w["state"], "offered");
    // The second agent steps away: the offer comes back at once (not at its expiry), and the
    // first agent — excluded only for a while — gets it again rather than nobody.
    let second_client = if second_agent == "a" { &a } else { &b };
    assert_eq!(second_client.set_status("away").await.status, 200);
    let back = eventually("offered to the first agent again", WAIT, || async {
        let w = work(&d, &conversation).await;
        (w["state"] == "offered" && w["agent_id"] == first_agent.as_str()).then_some(w)
    })
    .await;
    assert_eq!(
        first_client.accept(&conversation).await.status,
        200,
        "{back}"
    );
    // Every offer took it out of the queue and every offer taken back put it in again.
    let events = queue_events(p, &d, &conversation).await;
    let expected = [
        ("queue.entered", "handoff"),
        ("queue.left", "offered"),
        ("queue.entered", "requeued"),
        ("queue.left", "offered"),
        ("queue.entered", "requeued"),
        ("queue.left", "offered"),
    ];
    let got: Vec<(&str, &str)> = events
        .iter()
        .map(|(t, r, _)| (t.as_str(), r.as_str()))
        .collect();
    assert_eq!(got, expected, "{events:?}");
}

/// Merchant staff see their merchant's conversations, agents and queues only; another
/// merchant's ids answer 404 and their accounts cannot be touched.
pub async fn merchant_staff_see_only_their_merchant(p: &Platform) {
    let d = Desk::new(p, Rules::default()).await;
    let m2 = d.staff(&agent("m2-agent", "m2", &[]), true).await;
    let m1_admin = d
        .staff(
            &Staff {
                id: "m1-admin",
                role: "admin",
                merchant: "m1",
                skills: &[],
                capacity: 3,
            },
            false,
        )
        .await;
    let mut s = m2.socket().await.unwrap();
    d.say(p, "m2-cust", "转人工", json!({"merchant_id": "m2"}))
        .await;
    let conversation = d.queued_for("m2-cust").await;
    offered(&mut s, &conversation).await;
    assert_eq!(m1_admin.get_conversation(&conversation).await.status, 404);
    assert_eq!(m1_admin.messages(&conversation).await.status, 404);
    assert_eq!(m1_admin.close(&conversation, "x", &[]).await.status, 404);
    let active = m1_admin.list_conversations("active").await;
    assert_eq!(active.status, 200, "{:?}", active.body);
    assert_eq!(active.body["conversations"], json!([]));
    let agents = m1_admin.agents().await;
    assert!(
        agents.body["agents"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["merchant_id"] == "m1"),
        "{:?}",
        agents.body
    );
    let queues = m1_admin.queues().await;
    let names: Vec<&str> = queues.body["queues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["m1-queue"]);
    // Another merchant's agent cannot be read, changed or created.
    assert_eq!(
        m1_admin
            .call(reqwest::Method::GET, "/agents/m2-agent", None)
            .await
            .status,
        404
    );
    let create = m1_admin
        .put_agent(
            "sneaky",
            json!({"login": "sneaky", "role": "agent", "merchant_id": "m2", "password": PASSWORD}),
        )
        .await;
    assert_eq!(create.status, 403, "{:?}", create.body);
    // Nor can their customers be read, until m1 serves them.
    let customer = work(&d, &conversation).await["conversation"]["customer_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(m1_admin.customer(&customer).await.status, 404);
    assert_eq!(m1_admin.customer_history(&customer).await.status, 404);
    assert_eq!(m2.customer(&customer).await.status, 200);
    // The platform admin sees it all.
    assert_eq!(d.admin.get_conversation(&conversation).await.status, 200);
    // Queues: a merchant's admin manages its merchant's, and only those.
    let spec = json!({"merchant": "m1", "skills": ["after-sales"],
                      "sla": {"targetPercent": 85, "withinSeconds": 40}, "timeoutSeconds": 300});
    let made = m1_admin
        .call(reqwest::Method::PUT, "/queues/m1-after-sales", Some(spec))
        .await;
    assert_eq!(made.status, 201, "{:?}", made.body);
    let foreign = m1_admin
        .call(
            reqwest::Method::PUT,
            "/queues/m2-extra",
            Some(
                json!({"merchant": "m2", "sla": {"targetPercent": 80, "withinSeconds": 20},
                        "timeoutSeconds": 60}),
            ),
        )
        .await;
    assert_eq!(foreign.status, 403, "{:?}", foreign.body);
    let bad = m1_admin
        .call(
            reqwest::Method::PUT,
            "/queues/m1-bad",
            Some(
                json!({"merchant": "m1", "sla": {"targetPercent": 180, "withinSeconds": 20},
                        "timeoutSeconds": 60}),
            ),
        )
        .await;
    bad.assert_invalid("spec.sla.targetPercent");
    assert_eq!(
        m1_admin
            .call(reqwest::Method::DELETE, "/queues/m2-queue", None)
            .await
            .status,
        404
    );
    eventually("the new queue is live", WAIT, || async {
        let q = m1_admin.queues().await;
        let names: Vec<String> = q.body["queues"]
            .as_array()?
            .iter()
            .filter_map(|q| q["name"].as_str().map(str::to_owned))
            .collect();
        (names == ["m1-after-sales", "m1-queue"]).then_some(())
    })
    .await;
    // A removed account's token stops working at once, and its open socket is told and closed.
    let mut admin_socket = m1_admin.socket().await.expect("desk socket");
    let gone = d
        .admin
        .call(reqwest::Method::DELETE, "/agents/m1-admin", None)
        .await;
    assert_eq!(gone.status, 200, "{:?}", gone.body);
    let after = m1_admin.list_conversations("queued").await;
    assert_eq!(after.status, 401, "{:?}", after.body);
    admin_socket
        .next_event("agent.removed", WAIT)
        .await
        .expect("the removed account's socket is told");
    assert!(
        admin_socket
            .next_event("message", Duration::from_secs(1))
            .await
            .is_none(),
        "nothing more reaches a removed account's socket"
    );
}

/// Every desk resource of one tenant answers 404 to another tenant's staff and tokens: a walk
/// over every operation the served OpenAPI document has under `/v1/tenants/{tenant_id}`.
pub async fn another_tenants_ids_answer_404(p: &Platform) {
    let a = Desk::new(p, Rules::default()).await;
    let b = Desk::new(p, Rules::default()).await;
    let agent_a = a.staff(&agent("same-name", "", &["general"]), true).await;
    let b_admin = b
        .staff(
            &Staff {
                id: "boss",
                role: "admin",
                merchant: "",
                skills: &[],
                capacity: 3,
            },
            true,
        )
        .await;
    let mut s = agent_a.socket().await.unwrap();
    a.say(p, "a-cust", "转人工", json!({})).await;
    let conversation = a.queued_for("a-cust").await;
    offered(&mut s, &conversation).await;
    let canned = create_canned(
        &a.admin,
        json!({"shortcut": "/a", "title": "a", "text": "a"}),
    )
    .await;
    let canned_id = canned.body["canned_id"].as_str().unwrap().to_owned();
    let customer = work(&a, &conversation).await["conversation"]["customer_id"]
        .as_str()
        .unwrap()
        .to_owned();
    use reqwest::Method;
    // Every operation of the served OpenAPI document under `/v1/tenants/{tenant_id}`, walked
    // twice: tenant b's admin with a's ids (every operation that names a resource), and a's
    // agent token on b's paths (every operation that takes a token).
    let doc: Value = reqwest::get(format!("{}/openapi.json", a.base))
        .await
        .expect("gateway reachable")
        .json()
        .await
        .expect("the document is JSON");
    let ticket = a
        .admin
        .call(
            Method::POST,
            "/tickets",
            Some(json!({"conversation_id": conversation, "subject": "a's ticket"})),
        )
        .await;
    assert_eq!(ticket.status, 201, "{:?}", ticket.body);
    let ticket_id = ticket.body["ticket_id"].as_str().unwrap().to_owned();
    let ids: std::collections::HashMap<&str, String> = [
        ("ticket", ticket_id.clone()),
        (
            "review_id",
            "0190f0e0-0000-7000-8000-000000000001".to_owned(),
        ),
        ("conversation_id", conversation.clone()),
        ("agent_id", "same-name".to_owned()),
        ("canned_id", canned_id.clone()),
        ("customer_id", customer.clone()),
        ("name", "general".to_owned()),
    ]
    .into_iter()
    .collect();
    // Valid bodies, so that an answer other than 404 cannot be a body check's.
    let body_for = |method: &Method, template: &str| -> Value {
        let last = template.rsplit('/').next().unwrap_or_default();
        match (method.as_str(), last) {
            ("POST", "whisper" | "notes" | "messages") => json!({"text": "x"}),
            ("POST", "transfer") => json!({"to_queue": "platform", "note": "x"}),
            ("POST", "close") => json!({"summary": "x", "tags": []}),
            ("PUT", "{canned_id}") | ("POST", "canned-responses") => {
                json!({"shortcut": "/x", "title": "x", "text": "x"})
            }
            ("PUT", "{agent_id}") | ("POST", "agents") => json!({
                "display_name": "x", "role": "agent", "skills": ["general"],
                "capacity": {"web": 1}, "password": "a-long-enough-password"
            }),
            ("PUT", "status") => json!({"status": "online"}),
            ("POST", "tickets") => json!({"conversation_id": conversation, "subject": "x"}),
            ("PATCH", "{ticket}") => json!({"priority": "urgent"}),
            ("POST", "comments") => json!({"text": "x", "public": false}),
            ("POST", "appeal") => json!({"comment": "x"}),
            ("POST", "settle") => json!({"decision": "dismissed"}),
            ("POST", "{review_id}") => json!({"verdicts": [], "added": [], "comment": "x"}),
            ("PUT", "{name}") => json!({"skills": ["general"]}),
            _ => json!({}),
        }
    };
    let prefix = "/v1/tenants/{tenant_id}";
    let crossed = DeskClient::with_token(&b.base, &b.tenant, &agent_a.token);
    let mut walked = 0;
    for (template, item) in doc["paths"].as_object().expect("paths") {
        let Some(rest) = template.strip_prefix(prefix) else {
            continue;
        };
        for (method, op) in item.as_object().expect("a path item") {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            if !op.is_object() || rest == "/auth/login" {
                continue;
            }
            let params: Vec<&str> = rest
                .split('/')
                .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            let mut path = rest.to_owned();
            for param in &params {
                let value = ids.get(param).unwrap_or_else(|| {
                    panic!("{method} {template}: give the walk an id of tenant a for {{{param}}}")
                });
                path = path.replace(&format!("{{{param}}}"), value);
            }
            let body = (method != Method::GET && method != Method::DELETE)
                .then(|| body_for(&method, rest));
            // Agents and queues are named within a tenant: b's admin writing `agents/same-name`
            // or `queues/general` names b's own (a's stay untouched, checked below).
            let names_own = params.contains(&"name")
                || (params.contains(&"agent_id") && method == Method::PUT)
                || rest.starts_with("/qa/agents/");
            if !params.is_empty() && !names_own {
                let r = b_admin.call(method.clone(), &path, body.clone()).await;
                assert_eq!(
                    r.status, 404,
                    "{method} {template} with tenant a's ids from tenant b's admin: {:?}",
                    r.body
                );
            }
            let r = crossed.call(method.clone(), &path, body).await;
            assert!(
                [401, 404].contains(&r.status),
                "{method} {template} on tenant b with tenant a's token: {} {:?}",
                r.status,
                r.body
            );
            walked += 1;
        }
    }
    assert!(
        walked >= 25,
        "only {walked} tenant operations in the document"
    );
    // The tenant's own admin routes (`/v1/admin/tenants/{tenant_id}/…`) take the tenant
    // administrator's token too (per-tenant admin credentials): b's admin on a's are all 404.
    let admin_ids: std::collections::HashMap<&str, String> = [
        ("customer_id", customer.clone()),
        ("conversation_id", conversation.clone()),
        (
            "merge_id",
            "0190f0e0-0000-7000-8000-000000000000".to_owned(),
        ),
        ("kind", "queue".to_owned()),
        ("name", "general".to_owned()),
    ]
    .into_iter()
    .collect();
    let http = reqwest::Client::new();
    let mut admin_walked = 0;
    for (template, item) in doc["paths"].as_object().expect("paths") {
        let Some(rest) = template.strip_prefix("/v1/admin/tenants/{tenant_id}") else {
            continue;
        };
        for (method, op) in item.as_object().expect("a path item") {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            if !op.is_object() {
                continue;
            }
            let mut path = format!("/v1/admin/tenants/{}{rest}", a.tenant);
            for (param, value) in &admin_ids {
                path = path.replace(&format!("{{{param}}}"), value);
            }
            assert!(
                !path.contains('{'),
                "{method} {template}: give the walk an id"
            );
            let mut req = http
                .request(method.clone(), format!("{}{path}", a.base))
                .bearer_auth(&b_admin.token);
            if method != Method::GET && method != Method::DELETE {
                req = req.json(&json!({}));
            }
            let status = req.send().await.expect("gateway reachable").status();
            // The tenant itself (`PUT /v1/admin/tenants/{tenant_id}`) is the platform's: 401.
            let expected = if rest.is_empty() { 401 } else { 404 };
            assert_eq!(
                status.as_u16(),
                expected,
                "{method} {template} on tenant a with tenant b's admin token"
            );
            admin_walked += 1;
        }
    }
    assert!(
        admin_walked >= 10,
        "only {admin_walked} tenant admin operations"
    );
    // Tenant b's admin's canned put on a's id did not overwrite a's.
    let listed = a.admin.call(Method::GET, "/canned-responses", None).await;
    assert_eq!(listed.body["canned"][0]["text"], "a", "{:?}", listed.body);
    let unchanged = a
        .admin
        .call(Method::GET, &format!("/tickets/{ticket_id}"), None)
        .await;
    assert_eq!(
        unchanged.body["priority"], ticket.body["priority"],
        "{:?}",
        unchanged.body
    );
    // Still a's, untouched.
    assert_eq!(work(&a, &conversation).await["state"], "offered");
}

/// The desk's limits are one set: a reply the gateway lets through the session accepts (4,500
/// characters, under the one 5,000 limit), one over it is refused at the edge naming the field,
/// and a field the session refuses reaches the client with its name (structured details).
pub async fn desk_limits_agree_at_the_edge_and_behind_it(p: &Platform) {
    let d = Desk::new(p, Rules::default()).await;
    let one = d.staff(&agent("lim-a", "", &["general"]), true).await;
    d.say(
        p,
        "lim-user",
        "转人工",
        json!({"page": {"page_type": "product"}}),
    )
    .await;
    let conversation = d.queued_for("lim-user").await;
    eventually("the offer", WAIT, || async {
        (work(&d, &conversation).await["state"] == "offered").then_some(())
    })
    .await;
    assert_eq!(one.accept(&conversation).await.status, 200);
    let long = "长".repeat(4_500);
    let r = one
        .reply(&conversation, ReplyContent::Text(long.clone()), None)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        r.body["text"].as_str().map(|t| t.chars().count()),
        Some(4_500)
    );
    let over = "长".repeat(5_001);
    let r = one
        .reply(&conversation, ReplyContent::Text(over), None)
        .await;
    r.assert_invalid("text");
    // Control characters are refused in agents' text as in customers'.
    let r = one
        .reply(&conversation, ReplyContent::Text("a\u{0}b".into()), None)
        .await;
    r.assert_invalid("text");
    // A value of the wrong type names its field, not the value.
    let r = one
        .call(
            reqwest::Method::PUT,
            "/me/status",
            Some(json!({"status": 0})),
        )
        .await;
    r.assert_invalid("status");
    // Only the session knows this one: the field comes back from it by name.
    let r = one.transfer_to_agent(&conversation, "lim-a", "").await;
    r.assert_invalid("to_agent_id");
    let tags: Vec<String> = (0..33).map(|i| format!("t{i}")).collect();
    let r = one
        .call(
            reqwest::Method::POST,
            &format!("/conversations/{conversation}/close"),
            Some(json!({"summary": "", "tags": tags})),
        )
        .await;
    r.assert_invalid("tags");
}

/// Five wrong passwords lock a login out: the sixth attempt is refused with 429 and
/// `Retry-After`, even with the right password; an unknown login is treated alike (a lockout
/// says nothing about whether a login exists), and other logins are unaffected.
pub async fn repeated_wrong_passwords_lock_the_login_out(p: &Platform) {
    let d = Desk::new(p, Rules::default()).await;
    let staff = |id| Staff {
        id,
        role: "agent",
        merchant: "",
        skills: &["general"],
        capacity: 1,
    };
    d.staff(&staff("lock-me"), false).await;
    d.staff(&staff("lock-other"), false).await;
    for login in ["lock-me", "nobody-here"] {
        for i in 0..5 {
            let r = DeskClient::login(&d.base, &d.tenant, login, "wrong-password-123")
                .await
                .err()
                .expect("a wrong password is refused");
            assert_eq!(
                (r.status, r.body["field"].as_str()),
                (401, Some("password")),
                "{login} attempt {i}: {:?}",
                r.body
            );
        }
        let locked = DeskClient::login(&d.base, &d.tenant, login, PASSWORD)
            .await
            .err()
            .expect("a locked login is refused, right password or not");
        assert_eq!(
            (locked.status, locked.body["error"].as_str()),
            (429, Some("too_many_attempts")),
            "{login}: {:?}",
            locked.body
        );
        let retry: u64 = locked.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=900).contains(&retry), "Retry-After {retry}");
    }
    assert!(
        DeskClient::login(&d.base, &d.tenant, "lock-other", PASSWORD)
            .await
            .is_ok(),
        "another login signs in"
    );
}
