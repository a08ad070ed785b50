//! Analytics end to end: what the platform publishes reaches the analytics service, and its
//! query API answers with the figures computed by hand here.
//!
//! - [`a_live_conversation_in_the_numbers`] (both modes): a bot-answered customer and a
//!   handed-off one served through the desk and rated; the expected durations are computed from
//!   the instants the domain events carry (the event tap), to the millisecond.
//! - [`scripted_day`] (distributed mode, where the test can publish on the broker): a day of
//!   events at chosen instants, across midnight in the tenant's reporting time zone, with known
//!   answers; published twice, the second time changes nothing.

use crate::desk::{Desk, Rules, Staff};
use crate::platform::Platform;
use chrono::{DateTime, Utc};
use kefu_proto::analytics as pb;
use kefu_proto::analytics::analytics_client::AnalyticsClient;
use kefu_tests::desk::ReplyContent;
use kefu_tests::eventually;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

/// A report's rows: the group's dimension values (in `group_by` order) → metric → value.
pub type Rows = BTreeMap<Vec<String>, BTreeMap<String, f64>>;

/// Whole-range totals of `tenant` over `[from, to)` grouped by `group_by`, through the
/// analytics service's gRPC API: (the reply's time zone, its rows).
pub async fn report(
    url: &str,
    tenant: &str,
    from: &str,
    to: &str,
    group_by: &[&str],
) -> (String, Rows) {
    let mut client = AnalyticsClient::connect(url.to_owned())
        .await
        .expect("the analytics gRPC endpoint");
    let reply = client
        .report(pb::ReportRequest {
            scope: Some(pb::Scope {
                tenant_id: tenant.into(),
                merchant_id: String::new(),
            }),
            from: from.into(),
            to: to.into(),
            granularity: "total".into(),
            group_by: group_by.iter().map(|g| (*g).to_owned()).collect(),
            filters: vec![],
            metrics: vec![],
        })
        .await
        .expect("a report")
        .into_inner();
    let rows = reply
        .rows
        .into_iter()
        .map(|r| {
            let dims = group_by
                .iter()
                .map(|g| r.dimensions.get(*g).cloned().unwrap_or_default())
                .collect();
            (dims, r.values.into_iter().collect())
        })
        .collect();
    (reply.time_zone, rows)
}

/// Waits until the row `group` of the report holds every `(metric, value)` of `want` exactly;
/// panics with the last report otherwise.
pub async fn until_equal(
    url: &str,
    tenant: &str,
    (from, to): (&str, &str),
    group_by: &[&str],
    group: &[&str],
    want: &[(&str, f64)],
) -> Rows {
    let group: Vec<String> = group.iter().map(|g| (*g).to_owned()).collect();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (_, rows) = report(url, tenant, from, to, group_by).await;
        let row = rows.get(&group).cloned().unwrap_or_default();
        let wrong: Vec<String> = want
            .iter()
            .filter(|(m, v)| row.get(*m) != Some(v))
            .map(|(m, v)| format!("{m}: want {v}, got {:?}", row.get(*m)))
            .collect();
        if wrong.is_empty() {
            return rows;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!(
                "{tenant} {from}..{to} by {group_by:?} row {group:?}: {wrong:#?}\nreport: {rows:#?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn instant(e: &Value) -> i64 {
    let at = e["at"]
        .as_str()
        .unwrap_or_else(|| panic!("no instant: {e}"));
    DateTime::parse_from_rfc3339(at)
        .unwrap_or_else(|_| panic!("a bad instant: {e}"))
        .timestamp_millis()
}

fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// One customer the bot answers alone; another asks for a person, whom an agent accepts and
/// answers, is asked again and answers again, closes; the customer gives five stars. Every
/// figure is compared with the value computed from the events' own instants.
pub async fn a_live_conversation_in_the_numbers(p: &Platform) {
    let d = Desk::new(p, Rules::default()).await;
    let agent = d
        .staff(
            &Staff {
                id: "an-a",
                role: "agent",
                merchant: "",
                skills: &["general"],
                capacity: 3,
            },
            true,
        )
        .await;
    let from = (Utc::now() - chrono::Duration::minutes(5)).to_rfc3339();
    d.say(p, "an-bot", "你好", json!({})).await;
    eventually("the bot's answer", WAIT, || async {
        (!d.sent_to("an-bot").is_empty()).then_some(())
    })
    .await;
    d.say(
        p,
        "an-human",
        "转人工",
        json!({"identities": [{"kind": "phone", "value": PHONE}]}),
    )
    .await;
    let conversation = d.queued_for("an-human").await;
    eventually("the offer to an-a", WAIT, || async {
        let r = agent.get_conversation(&conversation).await;
        (r.body["state"] == "offered").then_some(())
    })
    .await;
    assert_eq!(agent.accept(&conversation).await.status, 200);
    let r = agent
        .reply(&conversation, ReplyContent::Text("您好，请讲".into()), None)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    d.say(p, "an-human", "戒指的圈号可以改吗", json!({})).await;
    let customer_messages = |events: &[Value]| {
        events
            .iter()
            .filter(|e| {
                e["event_type"] == "message.created"
                    && e["conversation_id"] == conversation.as_str()
                    && e["sender_kind"] == "customer"
            })
            .count()
    };
    eventually("the customer's second message stored", WAIT, || async {
        (customer_messages(&p.events.events(&d.tenant).await) == 2).then_some(())
    })
    .await;
    let r = agent
        .reply(&conversation, ReplyContent::Text("可以的".into()), None)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let closed = agent.close(&conversation, "已解答", &["sizing"]).await;
    assert_eq!(closed.status, 200, "{:?}", closed.body);
    let invite = eventually("the CSAT invitation", WAIT, || async {
        d.sent_to("an-human")
            .into_iter()
            .find(|m| m["cards"][0]["kind"] == "csat")
    })
    .await;
    let five = invite["cards"][0]["buttons"][4]["action"].clone();
    d.say(p, "an-human", "", json!({"type": "action", "action": five}))
        .await;
    let events = eventually("the rating's event", WAIT, || async {
        let events = p.events.events(&d.tenant).await;
        events
            .iter()
            .any(|e| e["event_type"] == "csat.rated")
            .then_some(events)
    })
    .await;

    // The expected figures, from the events' instants.
    let one = |t: &str| -> &Value {
        let found: Vec<&Value> = events
            .iter()
            .filter(|e| e["event_type"] == t && e["conversation_id"] == conversation.as_str())
            .collect();
        assert_eq!(found.len(), 1, "{t}: {found:#?}");
        found[0]
    };
    let handoff = instant(one("conversation.handoff_requested"));
    let assigned = one("conversation.assigned");
    let waited = assigned["waited_ms"].as_i64().unwrap();
    let accepted = instant(assigned);
    let closed_at = instant(one("conversation.closed"));
    let mut messages: Vec<&Value> = events
        .iter()
        .filter(|e| {
            e["event_type"] == "message.created"
                && e["conversation_id"] == conversation.as_str()
                && e["internal"] == false
        })
        .collect();
    messages.sort_by_key(|e| e["sequence"].as_u64());
    let agents: Vec<i64> = messages
        .iter()
        .filter(|e| e["sender_kind"] == "agent")
        .map(|e| instant(e))
        .collect();
    assert_eq!(agents.len(), 2, "{messages:#?}");
    let asked_again = messages
        .iter()
        .filter(|e| e["sender_kind"] == "customer" && e["message_type"] == "text")
        .map(|e| instant(e))
        .find(|at| *at > agents[0])
        .expect("the customer's second question");
    let in_target = if waited <= 20_000 { 1.0 } else { 0.0 };
    let handled = seconds(closed_at - accepted);
    let frt = seconds(agents[0] - handoff);
    let reply = seconds(agents[1] - asked_again);
    let to = (Utc::now() + chrono::Duration::minutes(5)).to_rfc3339();
    let range = (from.as_str(), to.as_str());
    let url = p.analytics_grpc.as_str();
    until_equal(
        url,
        &d.tenant,
        range,
        &[],
        &[],
        &[
            ("conversations", 2.0),
            ("handoffs", 1.0),
            ("bot_conversations", 1.0),
            ("answered", 1.0),
            ("answered_in_target", in_target),
            ("wait_mean_s", seconds(waited)),
            ("first_responses", 1.0),
            ("frt_mean_s", frt),
            ("replies", 1.0),
            ("reply_mean_s", reply),
            ("agent_messages", 2.0),
            ("handled", 1.0),
            ("handle_mean_s", handled),
            ("closed", 1.0),
            ("resolved", 1.0),
            ("resolution_rate", 1.0),
            ("csat_invited", 1.0),
            ("csat_ratings", 1.0),
            ("csat", 1.0),
            ("csat_average", 5.0),
            ("abandoned", 0.0),
            ("transfers", 0.0),
        ],
    )
    .await;
    // The agent's own row carries the agent's work.
    until_equal(
        url,
        &d.tenant,
        range,
        &["agent"],
        &["an-a"],
        &[
            ("served", 1.0),
            ("frt_mean_s", frt),
            ("handle_mean_s", handled),
            ("csat_average", 5.0),
        ],
    )
    .await;
    orders_reported_through_the_gateway(&d, &agent, url, range, &events).await;
    // Another tenant sees none of it.
    let (_, other) = report(url, "an-other-tenant", range.0, range.1, &[]).await;
    assert!(
        other
            .values()
            .all(|r| r.get("conversations").copied().unwrap_or(0.0) == 0.0),
        "{other:#?}"
    );
    through_the_gateway(p, &d, &agent, range, frt).await;
}

/// The handed-off customer's phone, which the channel vouches for.
const PHONE: &str = "13900000077";

/// The order system reports two orders through the gateway: the served customer's (by phone,
/// won by the agent who served them) and a stranger's (nobody's). Bad reports are refused
/// naming the field; an agent may not report.
async fn orders_reported_through_the_gateway(
    d: &Desk,
    agent: &kefu_tests::DeskClient,
    url: &str,
    range: (&str, &str),
    events: &[Value],
) {
    let customer = events
        .iter()
        .find(|e| e["event_type"] == "conversation.handoff_requested")
        .map(|e| e["conversation_id"].clone())
        .and_then(|c| {
            events
                .iter()
                .find(|e| e["event_type"] == "conversation.opened" && e["conversation_id"] == c)
        })
        .map(|e| e["customer_id"].as_str().unwrap().to_owned())
        .expect("the handed-off customer");
    let post = |body: Value| {
        let admin = d.admin.clone();
        async move {
            admin
                .call(reqwest::Method::POST, "/orders", Some(body))
                .await
        }
    };
    let placed = Utc::now().to_rfc3339();
    let r = post(
        json!({"order_id": "an-o1", "placed_at": placed, "amount_cents": 52_000,
        "paid_cents": 40_000, "customer": {"phone": PHONE}}),
    )
    .await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    assert_eq!(r.body["customer_id"], customer.as_str());
    let r = post(
        json!({"order_id": "an-o2", "placed_at": placed, "amount_cents": 9_900,
        "customer": {"phone": "13900000078"}}),
    )
    .await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    assert_eq!(r.body["customer_id"], Value::Null);
    // Reported again: the first report counts.
    let again = post(
        json!({"order_id": "an-o1", "placed_at": placed, "amount_cents": 1,
        "customer": {"phone": PHONE}}),
    )
    .await;
    assert_eq!(again.status, 202, "{:?}", again.body);
    post(
        json!({"order_id": "an-o3", "placed_at": placed, "amount_cents": -1,
        "customer": {"phone": PHONE}}),
    )
    .await
    .assert_invalid("amount_cents");
    post(
        json!({"order_id": "an-o3", "placed_at": "yesterday", "amount_cents": 1,
        "customer": {"phone": PHONE}}),
    )
    .await
    .assert_invalid("placed_at");
    post(json!({"order_id": "an-o3", "placed_at": placed, "amount_cents": 1, "customer": {}}))
        .await
        .assert_invalid("customer");
    let refused = agent
        .call(
            reqwest::Method::POST,
            "/orders",
            Some(
                json!({"order_id": "an-o4", "placed_at": placed, "amount_cents": 1,
                "customer": {"phone": PHONE}}),
            ),
        )
        .await;
    assert_eq!(refused.status, 403, "{:?}", refused.body);
    until_equal(
        url,
        &d.tenant,
        range,
        &["agent"],
        &["an-a"],
        &[
            ("orders", 1.0),
            ("revenue", 520.0),
            ("paid_amount", 400.0),
            ("served_conversion_rate", 1.0),
        ],
    )
    .await;
    until_equal(
        url,
        &d.tenant,
        range,
        &[],
        &[],
        &[("orders", 1.0), ("bot_orders", 0.0), ("revenue", 520.0)],
    )
    .await;
}

fn query(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The same figures through the gateway's REST API: supervisors see their tenant's numbers as
/// JSON and CSV; an agent is refused (403), another tenant's supervisor gets 404 and a report
/// of its own tenant without these numbers; a bad parameter is 422 naming it.
async fn through_the_gateway(
    p: &Platform,
    d: &Desk,
    agent: &kefu_tests::DeskClient,
    (from, to): (&str, &str),
    frt: f64,
) {
    let sup = d
        .staff(
            &Staff {
                id: "an-sup",
                role: "supervisor",
                merchant: "",
                skills: &["general"],
                capacity: 3,
            },
            false,
        )
        .await;
    let path = format!(
        "/analytics/report?from={}&to={}&group_by=agent&metrics=frt_mean_s,conversations",
        query(from),
        query(to)
    );
    let r = sup.call(reqwest::Method::GET, &path, None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["metrics"], json!(["frt_mean_s", "conversations"]));
    let rows = r.body["rows"].as_array().unwrap();
    let row = rows
        .iter()
        .find(|r| r["dimensions"]["agent"] == "an-a")
        .unwrap_or_else(|| panic!("an-a's row: {rows:#?}"));
    assert_eq!(row["values"]["frt_mean_s"], json!(frt));
    let csv = sup
        .call(reqwest::Method::GET, &format!("{path}&format=csv"), None)
        .await;
    assert_eq!(csv.status, 200, "{:?}", csv.body);
    assert!(
        csv.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.body.as_str().expect("CSV text");
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(lines[0], "bucket,agent,frt_mean_s,conversations", "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!(",an-a,{frt},"))),
        "{text}"
    );
    let refused = agent.call(reqwest::Method::GET, &path, None).await;
    assert_eq!(refused.status, 403, "{:?}", refused.body);
    let bad = sup
        .call(
            reqwest::Method::GET,
            "/analytics/report?group_by=agent,colour",
            None,
        )
        .await;
    bad.assert_invalid("group_by[1]");
    let bad = sup
        .call(reqwest::Method::GET, "/analytics/report?format=xls", None)
        .await;
    bad.assert_invalid("format");
    // Another tenant's supervisor: this tenant is 404, their own has none of these numbers.
    let other = Desk::new(p, Rules::default()).await;
    let stranger = other
        .staff(
            &Staff {
                id: "an-sup",
                role: "supervisor",
                merchant: "",
                skills: &["general"],
                capacity: 3,
            },
            false,
        )
        .await;
    let mut crossing = stranger.clone();
    crossing.tenant = d.tenant.clone();
    let r = crossing.call(reqwest::Method::GET, &path, None).await;
    assert_eq!(r.status, 404, "{:?}", r.body);
    let own = stranger.call(reqwest::Method::GET, &path, None).await;
    assert_eq!(own.status, 200, "{:?}", own.body);
    assert!(
        own.body["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["values"]["conversations"].as_f64().unwrap_or(0.0) == 0.0),
        "{:?}",
        own.body
    );
    let live = sup
        .call(reqwest::Method::GET, "/analytics/realtime", None)
        .await;
    assert_eq!(live.status, 200, "{:?}", live.body);
    assert_eq!(live.body["waiting"], 0, "{:?}", live.body);
    let hot = sup
        .call(reqwest::Method::GET, "/analytics/hot-topics", None)
        .await;
    assert_eq!(hot.status, 200, "{:?}", hot.body);
}

const S: i64 = 1000;
const MIN: i64 = 60 * S;
/// 2025-03-10T15:50:00Z: 23:50 on 2025-03-10 in Asia/Shanghai (UTC+8), ten minutes before
/// the reporting day changes.
const T: i64 = 1_741_621_800_000;
/// Local midnight between 2025-03-10 and 2025-03-11 in Asia/Shanghai.
const MIDNIGHT: i64 = T + 10 * MIN;

/// The scripted day of `tenant`, in the order it happened:
/// - agent `a` online 23:00–01:00 local (an hour on each day);
/// - A (web, gold): bot, handoff at +60 s, offered at +80 s, accepted by `a` at +90 s (waited
///   30 s), first response +105 s (45 s), the customer at +120 s, `a` at +150 s (reply 30 s),
///   closed by `a` at 00:05 (handled 810 s, on the second day), rated 5 at 00:05:10;
/// - B (api): the bot answers at 23:55 and the customer never comes back (contained);
/// - C (web): handed off at 00:10:30, closed while waiting at 00:11:15 (waited 45 s: a long
///   abandon);
/// - D (api): handed off at 00:20:30, `a` accepts at 00:20:40 (waited 10 s), first response
///   at 00:21 (30 s), transfers to `b` at 00:25 (260 s), `b` accepts at 00:25:05 and closes at
///   00:30 (295 s);
/// - E then F (web, the same customer): bot-only at 00:40 and 01:00 — E is not contained (the
///   customer came back within 24 h), F is;
/// - orders on the second day: A's customer (`a` wins it), B's (the bot), D's (`b`); A's customer
///   again two days later, nobody's.
pub fn scripted_day(tenant: &str) -> Vec<kefu_bus::Envelope> {
    let mut s = kefu_analytics::testing::Script::new(tenant);
    s.status(T - 50 * MIN, "a", "", "offline", "online");
    let mut a = s.conversation("conv-a", "ua", "web", "", "gold");
    s.opened(&a, T);
    s.customer(&mut a, T);
    s.bot(&mut a, T + S, "refund", "refund.how", false, "怎么退货");
    s.customer(&mut a, T + 50 * S);
    s.handoff(&mut a, T + 60 * S, "human_request", "q1");
    s.offered(&mut a, T + 80 * S, "a", 20_000);
    s.assigned(&mut a, T + 90 * S, "a", 30_000);
    s.agent(&mut a, T + 105 * S, "a");
    s.customer(&mut a, T + 120 * S);
    s.agent(&mut a, T + 150 * S, "a");
    let mut b = s.conversation("conv-b", "ub", "api", "", "");
    s.opened(&b, T + 5 * MIN);
    s.customer(&mut b, T + 5 * MIN);
    s.bot(
        &mut b,
        T + 5 * MIN + S,
        "invoice",
        "invoice.issue",
        false,
        "怎么开发票",
    );
    s.closed(&mut a, MIDNIGHT + 5 * MIN, "agent_closed", "a", &["refund"]);
    s.rated(&mut a, MIDNIGHT + 5 * MIN + 10 * S, "a", 5);
    let mut c = s.conversation("conv-c", "uc", "web", "", "");
    s.opened(&c, MIDNIGHT + 10 * MIN);
    s.customer(&mut c, MIDNIGHT + 10 * MIN);
    s.bot(
        &mut c,
        MIDNIGHT + 10 * MIN + S,
        "complaint",
        "",
        false,
        "我要投诉",
    );
    s.handoff(&mut c, MIDNIGHT + 10 * MIN + 30 * S, "complaint", "q1");
    s.abandoned(&mut c, MIDNIGHT + 11 * MIN + 15 * S, 45_000);
    let mut d = s.conversation("conv-d", "ud", "api", "", "");
    s.opened(&d, MIDNIGHT + 20 * MIN);
    s.customer(&mut d, MIDNIGHT + 20 * MIN);
    s.bot(
        &mut d,
        MIDNIGHT + 20 * MIN + S,
        "sizing",
        "",
        true,
        "戒指可以改圈号吗",
    );
    s.handoff(&mut d, MIDNIGHT + 20 * MIN + 30 * S, "bot_miss", "q1");
    s.offered(&mut d, MIDNIGHT + 20 * MIN + 35 * S, "a", 5_000);
    s.assigned(&mut d, MIDNIGHT + 20 * MIN + 40 * S, "a", 10_000);
    s.agent(&mut d, MIDNIGHT + 21 * MIN, "a");
    s.transferred(&mut d, MIDNIGHT + 25 * MIN, "a", "b");
    s.assigned(&mut d, MIDNIGHT + 25 * MIN + 5 * S, "b", 5_000);
    s.agent(&mut d, MIDNIGHT + 26 * MIN, "b");
    s.closed(&mut d, MIDNIGHT + 30 * MIN, "agent_closed", "b", &[]);
    let mut e = s.conversation("conv-e", "ue", "web", "", "");
    s.opened(&e, MIDNIGHT + 40 * MIN);
    s.customer(&mut e, MIDNIGHT + 40 * MIN);
    s.bot(
        &mut e,
        MIDNIGHT + 40 * MIN + S,
        "shipping",
        "shipping.days",
        false,
        "几天到",
    );
    let mut f = s.conversation("conv-f", "ue", "web", "", "");
    s.opened(&f, MIDNIGHT + 60 * MIN);
    s.customer(&mut f, MIDNIGHT + 60 * MIN);
    s.bot(
        &mut f,
        MIDNIGHT + 60 * MIN + S,
        "shipping",
        "shipping.days",
        false,
        "到了吗",
    );
    s.status(MIDNIGHT + 60 * MIN, "a", "", "online", "offline");
    // Orders: A's customer at 02:00 (agent `a` wrote last, within 24 h), B's at 03:00 (the bot
    // only), D's at 04:00 (`b` wrote last), A's again two days later (outside the window).
    s.order(MIDNIGHT + 120 * MIN, "o-a", "ua", 52_000, 52_000);
    s.order(MIDNIGHT + 180 * MIN, "o-b", "ub", 8_800, 0);
    s.order(MIDNIGHT + 240 * MIN, "o-d", "ud", 12_000, 12_000);
    s.order(T + 2 * 86_400_000, "o-late", "ua", 1_000, 1_000);
    s.events
}

/// The first local day of [`scripted_day`], by hand.
pub const DAY_ONE: &[(&str, f64)] = &[
    ("conversations", 2.0),
    ("handoffs", 1.0),
    ("bot_conversations", 2.0),
    ("bot_contained", 1.0),
    ("bot_containment_rate", 0.5),
    ("answered", 1.0),
    ("answered_in_target", 1.0),
    ("wait_mean_s", 30.0),
    ("first_responses", 1.0),
    ("frt_mean_s", 45.0),
    ("replies", 1.0),
    ("reply_mean_s", 30.0),
    ("bot_messages", 2.0),
    ("handled", 0.0),
    ("closed", 0.0),
    ("abandoned", 0.0),
    ("online_s", 3600.0),
    ("orders", 0.0),
];

/// The second local day of [`scripted_day`], by hand.
pub const DAY_TWO: &[(&str, f64)] = &[
    ("conversations", 4.0),
    ("handoffs", 2.0),
    ("bot_conversations", 4.0),
    ("bot_contained", 1.0),
    ("bot_containment_rate", 0.25),
    ("answered", 1.0),
    ("answered_in_target", 1.0),
    ("wait_mean_s", 10.0),
    ("abandoned", 1.0),
    ("abandoned_long", 1.0),
    ("service_level", 0.5),
    ("first_responses", 1.0),
    ("frt_mean_s", 30.0),
    ("replies", 0.0),
    ("handled", 3.0),
    ("handle_mean_s", (810.0 + 260.0 + 295.0) / 3.0),
    ("transfers", 1.0),
    ("closed", 3.0),
    ("resolved", 2.0),
    ("fcr", 2.0),
    ("fcr_rate", 1.0),
    ("csat_invited", 2.0),
    ("csat_ratings", 1.0),
    ("csat_average", 5.0),
    ("csat_response_rate", 0.5),
    ("online_s", 3600.0),
    ("orders", 3.0),
    ("bot_orders", 1.0),
    ("revenue", 728.0),
    ("paid_amount", 640.0),
];

/// The second day by agent: `a` handled A (810 s) and D until the transfer (260 s), `b` the
/// rest of D (295 s).
pub const DAY_TWO_A: &[(&str, f64)] = &[
    ("handled", 2.0),
    ("handle_mean_s", 535.0),
    ("transfers", 1.0),
    ("frt_mean_s", 30.0),
    ("csat_average", 5.0),
    ("online_s", 3600.0),
    ("orders", 1.0),
    ("revenue", 520.0),
];
pub const DAY_TWO_B: &[(&str, f64)] = &[
    ("handled", 1.0),
    ("handle_mean_s", 295.0),
    ("orders", 1.0),
    ("revenue", 120.0),
];

/// The analytics process alone on the broker: the tenant's documents (reporting time zone
/// Asia/Shanghai, queue `q1` answered within 40 s) through `analytics.config`, then the scripted
/// day through `analytics.events` — twice, the second time changing nothing.
pub async fn scripted_day_replayed(iso: &kefu_tests::Isolation) {
    use kefu_bus::{Bus, Envelope, RabbitBus, Topology};
    use prost::Message as _;
    iso.require_servers().await;
    // One batch at a time, so an event published last is folded last.
    let analytics = kefu_tests::distributed::start_analytics(
        iso,
        &[
            ("RUST_LOG", "info".into()),
            ("KEFU_CONCURRENCY", "1".into()),
        ],
    )
    .await;
    let url = format!("http://{}", analytics.addr("grpc"));
    // Ready once its queues are declared and consumed: what is published from then on arrives.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let readyz = format!("http://{}/readyz", analytics.addr("http"));
    eventually("the analytics process is ready", WAIT, || async {
        let r = reqwest::get(&readyz).await.ok()?;
        r.status().is_success().then_some(())
    })
    .await;
    let bus = RabbitBus::connect(
        &kefu_tests::env::amqp_url(),
        Topology::new(iso.bus_prefix()),
    )
    .await
    .expect("broker");
    let tenant = "scripted";
    let document = |kind: &str, name: &str, spec: Value| {
        let event = kefu_proto::events::TenantConfigChanged {
            kind: kind.into(),
            name: name.into(),
            version: 1,
            deleted: false,
            spec_json: spec.to_string(),
        };
        Envelope::new(
            tenant,
            kefu_proto::event_types::TENANT_CONFIG_CHANGED,
            event.encode_to_vec(),
        )
    };
    let queue = document(
        "queue",
        "q1",
        json!({"tenant": tenant, "skills": [], "sla": {"targetPercent": 80, "withinSeconds": 40},
               "timeoutSeconds": 600}),
    );
    let tenant_doc = document(
        "tenant",
        tenant,
        json!({"displayName": "Scripted", "analytics": {"timeZone": "Asia/Shanghai"}}),
    );
    bus.publish(&queue).await.expect("publish");
    bus.publish(&tenant_doc).await.expect("publish");
    // The documents are folded one at a time in order: the zone shows once both are stored.
    eventually("the tenant's reporting time zone", WAIT, || async {
        let (zone, _) = report(&url, tenant, "2025-03-10", "2025-03-10", &[]).await;
        (zone == "Asia/Shanghai").then_some(())
    })
    .await;

    let day = scripted_day(tenant);
    let day_one = ("2025-03-10", "2025-03-10");
    let day_two = ("2025-03-11", "2025-03-11");
    let check = || async {
        let first = until_equal(&url, tenant, day_one, &[], &[], DAY_ONE).await;
        let second = until_equal(&url, tenant, day_two, &[], &[], DAY_TWO).await;
        let a = until_equal(&url, tenant, day_two, &["agent"], &["a"], DAY_TWO_A).await;
        until_equal(&url, tenant, day_two, &["agent"], &["b"], DAY_TWO_B).await;
        let (_, channels) = report(&url, tenant, day_one.0, day_one.1, &["channel"]).await;
        assert_eq!(channels[&vec!["web".to_owned()]]["conversations"], 1.0);
        assert_eq!(channels[&vec!["api".to_owned()]]["conversations"], 1.0);
        (first, second, a, channels)
    };
    // A conversation opened on a later local day of its own (`days` after the script's start):
    // once it is counted, everything published before it was folded (the figures not waited
    // for one by one included).
    let marker = |name: &'static str, days: i64, local_day: &'static str| {
        let (bus, url) = (&bus, &url);
        async move {
            let mut s = kefu_analytics::testing::Script::new(tenant);
            let c = s.conversation(name, &format!("u-{name}"), "web", "", "");
            s.opened(&c, T + days * 86_400_000);
            bus.publish(&s.events[0]).await.expect("publish");
            until_equal(
                url,
                tenant,
                (local_day, local_day),
                &[],
                &[],
                &[("conversations", 1.0)],
            )
            .await;
        }
    };
    for e in &day {
        bus.publish(e).await.expect("publish");
    }
    marker("first-marker", 4, "2025-03-14").await;
    let before = check().await;

    // The same events again (the same ids), then a marker on another day.
    for e in &day {
        bus.publish(e).await.expect("publish");
    }
    marker("marker", 5, "2025-03-15").await;
    let after = check().await;
    assert_eq!(after, before, "the replay changed the numbers");
    // Whole days in another zone would cut the same events differently: the days are the
    // tenant's.
    let (_, utc_cut) = report(
        &url,
        tenant,
        "2025-03-10T00:00:00Z",
        "2025-03-11T00:00:00Z",
        &[],
    )
    .await;
    assert_eq!(utc_cut[&Vec::<String>::new()]["conversations"], 6.0);
    bus.close().await;
    drop(analytics);
}
