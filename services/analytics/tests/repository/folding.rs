//! Events in, numbers out: a small scripted day folded on both backends, against values computed
//! by hand; replays and arrival order; the correctness check; settings; scopes.

use crate::support::{app, feed, report};
use kefu_analytics::testing::Script;
use kefu_bus::Envelope;
use sea_orm::{ConnectionTrait, DatabaseConnection};

const S: i64 = 1000;
/// 2025-03-10T08:00:00Z.
const T: i64 = 1_741_593_600_000;
const H: i64 = 3600 * S;
const DAY: &str = "2025-03-10";

/// Three conversations and an agent's shift on 2025-03-10 (UTC):
/// - A (web, gold): the bot answers, the customer asks for a person at +60 s; offered to `a` at
///   +80 s, accepted at +90 s (waited 30 s); first response +105 s; the customer writes at
///   +120 s, `a` replies at +150 s (30 s); a note; closed by `a` at +300 s (tag refund); rated 5.
/// - B (api): one question the bot misses; the customer never comes back (contained).
/// - C (web): handed off at +30 s (complaint), closed while waiting at +75 s (waited 45 s).
/// - Agent `a`: online 07:00–10:00.
fn day(tenant: &str) -> Vec<Envelope> {
    let mut s = Script::new(tenant);
    s.status(T - H, "a", "", "offline", "online");
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
    s.note(&mut a, T + 160 * S, "a");
    s.closed(&mut a, T + 300 * S, "agent_closed", "a", &["refund"]);
    s.rated(&mut a, T + 310 * S, "a", 5);
    let mut b = s.conversation("conv-b", "ub", "api", "", "");
    s.opened(&b, T + 10 * S);
    s.customer(&mut b, T + 10 * S);
    s.bot(&mut b, T + 11 * S, "fallback", "", true, "戒指可以改圈号吗");
    let mut c = s.conversation("conv-c", "uc", "web", "", "");
    s.opened(&c, T + 20 * S);
    s.customer(&mut c, T + 20 * S);
    s.bot(&mut c, T + 21 * S, "complaint", "", false, "我要投诉");
    s.handoff(&mut c, T + 30 * S, "complaint", "q1");
    s.abandoned(&mut c, T + 75 * S, 45_000);
    s.status(T + 2 * H, "a", "", "online", "offline");
    s.events
}

async fn with_target(state: &kefu_analytics::AnalyticsState, tenant: &str) {
    kefu_analytics::store::put_target(&state.db, tenant, "q1", Some(40), 1)
        .await
        .unwrap();
}

pub async fn migrations_create_only_analytics_tables(db: &DatabaseConnection) {
    kefu_store::testing::assert_creates_only::<kefu_analytics::store::migration::AnalyticsMigrator>(
        db,
        kefu_analytics::store::migration::TABLES,
    )
    .await;
    // Twice is harmless.
    kefu_store::testing::migrate::<kefu_analytics::store::migration::AnalyticsMigrator>(db).await;
}

pub async fn a_script_folds_into_the_numbers_computed_by_hand(db: &DatabaseConnection) {
    let state = app(db).await;
    with_target(&state, "t").await;
    feed(&state, &day("t"), 7).await;
    let r = report(&state, "t", "", DAY, DAY, &[]).await;
    let v = &r[&Vec::<String>::new()];
    let expect = [
        ("conversations", 3.0),
        ("customer_messages", 5.0),
        ("bot_messages", 3.0),
        ("agent_messages", 2.0),
        ("bot_misses", 1.0),
        ("handoffs", 2.0),
        ("bot_conversations", 3.0),
        ("bot_contained", 1.0),
        ("answered", 1.0),
        ("answered_in_target", 1.0),
        ("wait_mean_s", 30.0),
        ("wait_median_s", 30.0),
        ("abandoned", 1.0),
        ("abandoned_long", 1.0),
        ("service_level", 0.5),
        ("abandonment_rate", 0.5),
        ("first_responses", 1.0),
        ("frt_mean_s", 45.0),
        ("frt_median_s", 45.0),
        ("frt_p90_s", 45.0),
        ("replies", 1.0),
        ("reply_mean_s", 30.0),
        ("handled", 1.0),
        ("handle_mean_s", 210.0),
        ("closed", 2.0),
        ("resolved", 1.0),
        ("resolution_rate", 0.5),
        ("fcr_rate", 1.0),
        ("csat", 1.0),
        ("csat_average", 5.0),
        ("csat_response_rate", 1.0),
        ("online_s", 3.0 * 3600.0),
        ("busy_s", 210.0),
        ("transfers", 0.0),
    ];
    for (name, want) in expect {
        assert_eq!(v.get(name).copied(), Some(want), "{name}: {v:#?}");
    }
    assert!((v["occupancy"] - 210.0 / 10_800.0).abs() < 1e-12);
    // By agent: the agent's own work; the rest is nobody's.
    let by_agent = report(&state, "t", "", DAY, DAY, &["agent"]).await;
    let a = &by_agent[&vec!["a".to_owned()]];
    assert_eq!(a["frt_mean_s"], 45.0);
    assert_eq!(a["agent_messages"], 2.0);
    assert_eq!(a["online_s"], 10_800.0);
    assert_eq!(a["csat_average"], 5.0);
    let nobody = &by_agent[&vec![String::new()]];
    assert_eq!(nobody["conversations"], 3.0);
    assert!(!nobody.contains_key("frt_mean_s"));
    // By tier: the gold customer's conversation.
    let by_tier = report(&state, "t", "", DAY, DAY, &["tier"]).await;
    assert_eq!(by_tier[&vec!["gold".to_owned()]]["conversations"], 1.0);
    // Hot topics of the day.
    let zone = chrono_tz::Tz::UTC;
    let from = kefu_analytics::rollup::day_start(T, zone);
    let hot = kefu_analytics::topics::hot_topics(db, "t", "", from, from + 86_400_000, zone, 10)
        .await
        .unwrap();
    let labels = |k: &str| -> Vec<(String, u64)> {
        hot.lists[k]
            .iter()
            .map(|t| (t.label.clone(), t.count))
            .collect()
    };
    assert_eq!(labels("faq"), [("refund.how".to_owned(), 1)]);
    assert_eq!(labels("tag"), [("refund".to_owned(), 1)]);
    assert_eq!(
        labels("handoff_reason"),
        [("complaint".to_owned(), 1), ("human_request".to_owned(), 1)]
    );
    assert_eq!(hot.unanswered.len(), 1);
    assert_eq!(hot.unanswered[0].representative, "戒指可以改圈号吗");
}

pub async fn replays_and_arrival_order_change_nothing(db: &DatabaseConnection) {
    let state = app(db).await;
    for t in ["in-order", "reversed", "shuffled"] {
        with_target(&state, t).await;
    }
    feed(&state, &day("in-order"), 500).await;
    let mut reversed = day("reversed");
    reversed.reverse();
    feed(&state, &reversed, 1).await;
    // A deterministic shuffle, fed in small batches, then everything again.
    let mut shuffled = day("shuffled");
    let n = shuffled.len();
    for i in 0..n {
        shuffled.swap(i, (i * 7 + 3) % n);
    }
    feed(&state, &shuffled, 4).await;
    feed(&state, &shuffled, 3).await;
    for group in [&[][..], &["agent"], &["queue", "channel"], &["tier"]] {
        let expected = report(&state, "in-order", "", DAY, DAY, group).await;
        assert!(!expected.is_empty());
        for t in ["reversed", "shuffled"] {
            assert_eq!(
                report(&state, t, "", DAY, DAY, group).await,
                expected,
                "{t} by {group:?}"
            );
        }
    }
}

pub async fn the_check_agrees_and_finds_a_tampered_cell(db: &DatabaseConnection) {
    let state = app(db).await;
    with_target(&state, "t").await;
    let mut events = day("t");
    events.reverse();
    feed(&state, &events, 5).await;
    let settings = state.settings.get(db, "t").await.unwrap();
    let day0 = kefu_analytics::rollup::day_start(T, settings.zone);
    let now = chrono::Utc::now().timestamp_millis();
    let ok = kefu_analytics::check::check_day(db, "t", &settings, day0, now)
        .await
        .unwrap();
    assert!(ok.cells > 0);
    assert_eq!(ok.differences, vec![], "the rollups agree with the facts");
    db.execute_unprepared(
        "UPDATE rollups SET conversations = conversations + 1 WHERE tenant_id = 't' AND grain = 'd' AND channel = 'api'",
    )
    .await
    .unwrap();
    let bad = kefu_analytics::check::check_day(db, "t", &settings, day0, now)
        .await
        .unwrap();
    assert_eq!(bad.differences.len(), 1, "{:#?}", bad.differences);
    assert_eq!(bad.differences[0].metric, "conversations");
    assert_eq!(
        (bad.differences[0].rollup, bad.differences[0].recomputed),
        (2.0, 1.0)
    );
}

pub async fn settings_follow_the_config_documents_by_version(db: &DatabaseConnection) {
    use kefu_analytics::settings::Settings;
    let state = app(db).await;
    let spec: kefu_crd::TenantSpec = serde_json::from_value(serde_json::json!({
        "displayName": "Shop",
        "analytics": {"timeZone": "Asia/Shanghai", "attributionWindowHours": 48, "attributionRule": "split", "shortAbandonSeconds": 5}
    }))
    .unwrap();
    let s = Settings::default().with_tenant(&spec);
    assert!(
        kefu_analytics::store::put_settings(db, "t", &s, 2)
            .await
            .unwrap()
    );
    // An older document changes nothing.
    assert!(
        !kefu_analytics::store::put_settings(db, "t", &Settings::default(), 1)
            .await
            .unwrap()
    );
    let got = kefu_analytics::store::settings(db, "t").await.unwrap();
    assert_eq!(got.zone.name(), "Asia/Shanghai");
    assert_eq!(got.attribution_window_s, 48 * 3600);
    assert_eq!(got.rule, kefu_analytics::settings::Rule::Split);
    assert_eq!(got.short_abandon_s, 5);
    assert!(
        kefu_analytics::store::put_target(db, "t", "q1", Some(30), 3)
            .await
            .unwrap()
    );
    assert!(
        kefu_analytics::store::put_target(db, "t", "q1", None, 4)
            .await
            .unwrap()
    );
    assert_eq!(
        kefu_analytics::store::settings(db, "t")
            .await
            .unwrap()
            .target_s("q1"),
        20
    );
    // Another tenant keeps the defaults.
    assert_eq!(
        kefu_analytics::store::settings(db, "u").await.unwrap(),
        Settings::default()
    );
    let _ = state;
}

pub async fn reports_are_tenant_and_merchant_scoped(db: &DatabaseConnection) {
    let state = app(db).await;
    let mut s = Script::new("t");
    let mut mine = s.conversation("c-m", "u1", "web", "jinyuan", "");
    s.opened(&mine, T);
    s.customer(&mut mine, T);
    let mut platform = s.conversation("c-p", "u2", "web", "", "");
    s.opened(&platform, T);
    s.customer(&mut platform, T);
    let mut other = Script::new("other");
    let mut theirs = other.conversation("c-o", "u3", "web", "jinyuan", "");
    other.opened(&theirs, T);
    other.customer(&mut theirs, T);
    feed(&state, &s.events, 10).await;
    feed(&state, &other.events, 10).await;
    let all = report(&state, "t", "", DAY, DAY, &[]).await;
    assert_eq!(all[&Vec::<String>::new()]["conversations"], 2.0);
    let merchant = report(&state, "t", "jinyuan", DAY, DAY, &["merchant"]).await;
    assert_eq!(merchant.len(), 1);
    assert_eq!(merchant[&vec!["jinyuan".to_owned()]]["conversations"], 1.0);
    // A tenant without facts: a total of zeros, and no rates.
    let nobody = report(&state, "nobody", "", DAY, DAY, &[]).await;
    let totals = &nobody[&Vec::<String>::new()];
    assert_eq!(totals["conversations"], 0.0);
    assert!(!totals.contains_key("csat"));
    assert!(
        report(&state, "nobody", "", DAY, DAY, &["agent"])
            .await
            .is_empty()
    );
}

/// The scripted day's customers order: `ua` (served by agent `a`) an hour later, `ub` (the bot
/// only) two hours later, `uz` (no conversation) and `uc` (an hour before talking) — the last
/// two are nobody's; `ua` again 30 hours later, outside the 24 h window. `ua`'s order is reported
/// twice.
fn orders(tenant: &str) -> Vec<Envelope> {
    let mut s = Script::new(tenant);
    s.order(T + H, "o1", "ua", 10_000, 10_000);
    s.order(T + 2 * H, "o2", "ub", 5_000, 0);
    s.order(T + 3 * H, "o3", "uz", 7_000, 7_000);
    s.order(T - H, "o4", "uc", 3_000, 3_000);
    s.order(T + 30 * H, "o5", "ua", 2_000, 2_000);
    // A second report of o1 (another event) with another amount: the first counts.
    s.order(T + H, "o1", "ua", 99_900, 0);
    s.events
}

pub async fn orders_go_to_the_last_agent_the_bot_or_nobody(db: &DatabaseConnection) {
    let state = app(db).await;
    for t in ["in-order", "orders-first"] {
        with_target(&state, t).await;
    }
    let mut events = day("in-order");
    events.extend(orders("in-order"));
    feed(&state, &events, 6).await;
    // Orders before the conversations they are attributed to: re-attributed as messages arrive.
    let mut late = orders("orders-first");
    late.extend(day("orders-first"));
    feed(&state, &late, 5).await;
    // And everything again.
    feed(&state, &late, 7).await;
    for t in ["in-order", "orders-first"] {
        let r = report(&state, t, "", DAY, DAY, &[]).await;
        let v = &r[&Vec::<String>::new()];
        assert_eq!(v["orders"], 2.0, "{t}: {v:#?}");
        assert_eq!(v["bot_orders"], 1.0, "{t}");
        assert_eq!(v["revenue"], 150.0, "{t}");
        assert_eq!(v["paid_amount"], 100.0, "{t}");
        assert_eq!(v["conversion_rate"], 2.0 / 3.0, "{t}");
        let by_agent = report(&state, t, "", DAY, DAY, &["agent"]).await;
        let a = &by_agent[&vec!["a".to_owned()]];
        assert_eq!(
            (a["orders"], a["revenue"], a["bot_orders"]),
            (1.0, 100.0, 0.0),
            "{t}"
        );
        assert_eq!(a["served_conversion_rate"], 1.0, "{t}");
        let bot = &by_agent[&vec![String::new()]];
        assert_eq!(
            (bot["orders"], bot["revenue"], bot["bot_orders"]),
            (1.0, 50.0, 1.0),
            "{t}"
        );
        // The order outside the window is nobody's.
        let next = report(&state, t, "", "2025-03-11", "2025-03-11", &[]).await;
        assert_eq!(next[&Vec::<String>::new()]["orders"], 0.0, "{t}");
        // The check recomputes the same day from the facts.
        let settings = state.settings.get(db, t).await.unwrap();
        let day0 = kefu_analytics::rollup::day_start(T, settings.zone);
        let now = chrono::Utc::now().timestamp_millis();
        let check = kefu_analytics::check::check_day(db, t, &settings, day0, now)
            .await
            .unwrap();
        assert_eq!(check.differences, vec![], "{t}");
    }
    assert_eq!(
        report(&state, "in-order", "", DAY, DAY, &["agent", "channel"]).await,
        report(&state, "orders-first", "", DAY, DAY, &["agent", "channel"]).await
    );
}
