//! SLA clocks through the service: pause and resume by status and the customer's reply, the
//! exact breach instant in business hours, timers that fire once.

use crate::support::{agent, app, at, customer_message, feed, new_ticket, outbox_types};
use kefu_ticketing::store;
use kefu_ticketing::tickets::{self, Changes, Error};
use sea_orm::DatabaseConnection;

const SETTINGS: &str = r#"{
  "slaPolicies": [
    {"priority": "normal", "firstReplyMinutes": 120, "resolutionMinutes": 480, "warnBeforeMinutes": 60},
    {"priority": "urgent", "firstReplyMinutes": 1, "resolutionMinutes": 5, "businessHours": false}
  ],
  "calendar": {
    "timeZone": "Asia/Shanghai",
    "hours": {"mon": ["09:00-18:00"], "tue": ["09:00-18:00"], "wed": ["09:00-18:00"],
              "thu": ["09:00-18:00"], "fri": ["09:00-18:00"]},
    "holidays": ["2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05",
                 "2026-10-06", "2026-10-07"],
    "workdays": ["2026-10-10"]
  }
}"#;

pub async fn pending_pauses_and_the_reply_resumes_to_the_exact_breach(db: &DatabaseConnection) {
    let s = app(db).await;
    assert!(
        tickets::put_settings(&s.db, "acme", SETTINGS, 1)
            .await
            .unwrap()
    );
    let conv = uuid::Uuid::now_v7().to_string();
    let mut n = new_ticket("acme", "damaged goods");
    n.conversation_id = conv.clone();
    // Tuesday Sep 29, 16:00 in Shanghai.
    let t = tickets::create(&s.db, n, &agent("lin"), at("2026-09-29T08:00:00Z"))
        .await
        .unwrap()
        .ticket;
    let id = t.id.to_string();
    let clock = |x: &kefu_ticketing::store::entities::ticket::Model, m: &str| {
        x.clocks.0.iter().find(|c| c.metric == m).cloned().unwrap()
    };
    // Resolution: 2 h Tuesday + 6 h Wednesday → Wednesday 15:00 (07:00Z).
    assert_eq!(
        clock(&t, "resolution").due_at,
        Some(at("2026-09-30T07:00:00Z").timestamp_millis())
    );
    // The agent's first public reply at 17:00.
    tickets::comment(
        &s.db,
        "acme",
        "",
        &id,
        "我们正在核实",
        true,
        &[],
        &agent("lin"),
        at("2026-09-29T09:00:00Z"),
    )
    .await
    .unwrap();
    // Pending (waiting for the customer) from Wednesday 10:00: 3 h used, no deadline, no timers.
    let pending = Changes {
        status: Some("pending".into()),
        ..Changes::default()
    };
    let x = tickets::update(
        &s.db,
        "acme",
        "",
        &id,
        pending,
        &agent("lin"),
        at("2026-09-30T02:00:00Z"),
    )
    .await
    .unwrap()
    .ticket;
    assert!(x.sla_paused);
    assert_eq!(clock(&x, "resolution").elapsed_ms, 3 * 3_600_000);
    assert_eq!(x.next_due_at, None);
    assert!(
        store::timers_of(&s.db, "acme", t.id)
            .await
            .unwrap()
            .is_empty()
    );
    // Nothing fires while it is paused, however late.
    let (fired, _, _) = tickets::fire_due(&s.db, at("2026-10-20T00:00:00Z"), 100)
        .await
        .unwrap();
    assert!(fired.is_empty());
    // The customer replies on Saturday Oct 3 (the holiday): open again, the clock resumes and
    // 5 h are left, counted from Thursday Oct 8 09:00 → 14:00 (06:00Z); warning at 13:00.
    feed(
        &s,
        &[customer_message(
            "acme",
            &conv,
            "照片发您了",
            at("2026-10-03T03:00:00Z"),
        )],
    )
    .await;
    let x = store::find_ticket(&s.db, "acme", "", &id, false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(x.status.as_str(), "open");
    assert!(!x.sla_paused);
    let due = at("2026-10-08T06:00:00Z").timestamp_millis();
    assert_eq!(clock(&x, "resolution").due_at, Some(due));
    assert_eq!(x.next_due_at, Some(due));
    let timers: Vec<(String, i64)> = store::timers_of(&s.db, "acme", t.id)
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.kind, t.due_at))
        .collect();
    assert_eq!(
        timers,
        [
            (
                "sla_warning".to_owned(),
                at("2026-10-08T05:00:00Z").timestamp_millis()
            ),
            ("sla_breached".to_owned(), due),
        ]
    );
    // One millisecond early: nothing. At the instant: the warning, then the breach, once each.
    let (e, _, _) = tickets::fire_due(&s.db, at("2026-10-08T04:59:59.999Z"), 100)
        .await
        .unwrap();
    assert!(e.is_empty());
    let (e, lags, _) = tickets::fire_due(&s.db, at("2026-10-08T05:00:00Z"), 100)
        .await
        .unwrap();
    assert_eq!(
        e.iter().map(|e| e.event_type.as_str()).collect::<Vec<_>>(),
        ["ticket.sla_warning"]
    );
    assert_eq!(lags, [0]);
    let (e, _, _) = tickets::fire_due(&s.db, at("2026-10-08T06:00:00.250Z"), 100)
        .await
        .unwrap();
    assert_eq!(
        e.iter().map(|e| e.event_type.as_str()).collect::<Vec<_>>(),
        ["ticket.sla_breached"]
    );
    let (e, _, _) = tickets::fire_due(&s.db, at("2026-10-09T00:00:00Z"), 100)
        .await
        .unwrap();
    assert!(e.is_empty());
    let x = store::find_ticket(&s.db, "acme", "", &id, false)
        .await
        .unwrap()
        .unwrap();
    let r = clock(&x, "resolution");
    assert!(r.warned && r.breached);
    let audit = store::audit(&s.db, "acme", t.id).await.unwrap();
    assert_eq!(
        audit.iter().filter(|a| a.field.starts_with("sla_")).count(),
        2
    );
    let types = outbox_types(&s.db).await;
    assert_eq!(
        types.iter().filter(|t| *t == "ticket.sla_warning").count(),
        1
    );
    assert_eq!(
        types.iter().filter(|t| *t == "ticket.sla_breached").count(),
        1
    );
    // Solving stops the clocks: no timers are left.
    let solved = Changes {
        status: Some("solved".into()),
        ..Changes::default()
    };
    tickets::update(
        &s.db,
        "acme",
        "",
        &id,
        solved,
        &agent("lin"),
        at("2026-10-09T01:00:00Z"),
    )
    .await
    .unwrap();
    assert!(
        store::timers_of(&s.db, "acme", t.id)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn timers_fire_once_at_their_instant(db: &DatabaseConnection) {
    let s = app(db).await;
    tickets::put_settings(&s.db, "acme", SETTINGS, 1)
        .await
        .unwrap();
    let now = at("2026-03-07T12:00:00Z"); // a Saturday: calendar hours do not care
    let mut ids = Vec::new();
    for i in 0..20 {
        let mut n = new_ticket("acme", &format!("urgent {i}"));
        n.priority = "urgent".into();
        ids.push(
            tickets::create(&s.db, n, &agent("lin"), now)
                .await
                .unwrap()
                .ticket
                .id,
        );
    }
    let mut timer_ids = std::collections::BTreeSet::new();
    for id in &ids {
        for t in store::timers_of(&s.db, "acme", *id).await.unwrap() {
            timer_ids.insert(t.id);
        }
    }
    // First reply (1 min) and resolution (5 min) breaches, no warnings: 40 timers.
    assert_eq!(timer_ids.len(), 40);
    // Two pollers (two replicas) at the first-reply instant: each timer fires once in all.
    let first = at("2026-03-07T12:01:00Z");
    let (a, b) = tokio::join!(
        tickets::fire_due(&s.db, first, 7),
        tickets::fire_due(&s.db, first, 500)
    );
    let mut events = a.unwrap().0;
    events.extend(b.unwrap().0);
    // A poller that found tickets held by the other leaves them for its next round.
    loop {
        let (more, _, _) = tickets::fire_due(&s.db, first, 500).await.unwrap();
        if more.is_empty() {
            break;
        }
        events.extend(more);
    }
    assert_eq!(events.len(), 20);
    let mut fired = std::collections::BTreeSet::new();
    for e in &events {
        assert_eq!(e.event_type, "ticket.sla_breached");
        assert!(
            timer_ids.contains(&e.event_id),
            "the event id is the timer's"
        );
        assert!(fired.insert(e.event_id), "fired twice");
    }
    let (e, _, _) = tickets::fire_due(&s.db, at("2026-03-07T12:05:00Z"), 500)
        .await
        .unwrap();
    assert_eq!(e.len(), 20);
    let (e, _, _) = tickets::fire_due(&s.db, at("2026-03-08T00:00:00Z"), 500)
        .await
        .unwrap();
    assert!(e.is_empty());
    let types = outbox_types(&s.db).await;
    assert_eq!(
        types.iter().filter(|t| *t == "ticket.sla_breached").count(),
        40
    );
}

pub async fn settings_are_checked_and_versioned(db: &DatabaseConnection) {
    let s = app(db).await;
    for (json, field) in [
        ("not json", "json"),
        (
            r#"{"slaPolicies":[{"priority":"p0"}]}"#,
            "slaPolicies[0].priority",
        ),
        (
            r#"{"calendar":{"timeZone":"Nowhere/City"}}"#,
            "calendar.timeZone",
        ),
        (r#"{"unknown": 1}"#, "json"),
    ] {
        match tickets::put_settings(&s.db, "acme", json, 1).await {
            Err(Error::Invalid(e)) => assert_eq!(e.field, field, "{json}"),
            other => panic!("{json}: {other:?}"),
        }
    }
    assert!(store::settings(&s.db, "acme").await.unwrap().is_none());
    assert!(
        tickets::put_settings(&s.db, "acme", SETTINGS, 2)
            .await
            .unwrap()
    );
    assert!(
        !tickets::put_settings(&s.db, "acme", "{}", 1).await.unwrap(),
        "an older version"
    );
    let got = tickets::settings(&s.db, "acme").await.unwrap();
    assert_eq!(got.zone(), chrono_tz::Asia::Shanghai);
    assert_eq!(got.calendar.workdays.len(), 1);
    // Another tenant keeps the defaults.
    let other = tickets::settings(&s.db, "globex").await.unwrap();
    assert_eq!(other, kefu_ticketing::settings::Settings::default());
}

pub async fn settings_come_from_the_tenant_document(db: &DatabaseConnection) {
    use kefu_proto::events::TenantConfigChanged;
    use prost::Message as _;
    let s = app(db).await;
    let doc = |version: i64, spec: serde_json::Value| {
        kefu_bus::Envelope::new(
            "acme",
            kefu_proto::event_types::TENANT_CONFIG_CHANGED,
            TenantConfigChanged {
                kind: "tenant".into(),
                name: "acme".into(),
                version,
                deleted: false,
                spec_json: spec.to_string(),
            }
            .encode_to_vec(),
        )
    };
    let spec = serde_json::json!({
        "displayName": "Acme",
        "ticketing": {
            "subStatuses": [{"name": "awaiting-parts", "category": "on_hold", "pausesSla": false}],
            "slaPolicies": [{"priority": "urgent", "firstReplyMinutes": 10, "businessHours": false}],
            "calendar": {"timeZone": "Europe/Berlin", "hours": {"sat": ["10:00-14:00"]},
                         "holidays": ["2026-12-26"]}
        }
    });
    kefu_ticketing::config_events::handle(s.clone(), doc(3, spec))
        .await
        .unwrap();
    let got = tickets::settings(&s.db, "acme").await.unwrap();
    assert_eq!(got.zone(), chrono_tz::Europe::Berlin);
    assert!(!got.sub_status("awaiting-parts").unwrap().pauses_sla);
    let urgent = got.policy(kefu_ticketing::store::entities::ticket::Priority::Urgent);
    assert_eq!(
        (urgent.first_reply_ms, urgent.business_hours),
        (Some(600_000), false)
    );
    // An older document changes nothing; an invalid one is refused for good.
    let older = serde_json::json!({"displayName": "Acme"});
    kefu_ticketing::config_events::handle(s.clone(), doc(2, older))
        .await
        .unwrap();
    assert_eq!(tickets::settings(&s.db, "acme").await.unwrap(), got);
    let bad = serde_json::json!({"displayName": "Acme", "ticketing": {"calendar": {"timeZone": "Mars/Base"}}});
    let e = kefu_ticketing::config_events::handle(s.clone(), doc(4, bad))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("calendar.timeZone"), "{e}");
    assert_eq!(tickets::settings(&s.db, "acme").await.unwrap(), got);
}
