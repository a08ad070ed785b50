//! Tickets: numbers, changes with their audit and events, the closed rule, the customer's
//! reply, scope, lists, bad input.

use crate::support::{agent, app, at, customer_message, feed, new_ticket, outbox_types};
use kefu_ticketing::store::entities::ticket::Status;
use kefu_ticketing::store::migration::{TABLES, TicketingMigrator};
use kefu_ticketing::store::{self, ListFilter};
use kefu_ticketing::tickets::{self, Actor, Changes, Error};
use sea_orm::DatabaseConnection;

pub async fn migrations_create_only_ticketing_tables(db: &DatabaseConnection) {
    kefu_store::testing::assert_creates_only::<TicketingMigrator>(db, TABLES).await;
}

pub async fn numbers_are_per_tenant_and_year_and_never_repeat(db: &DatabaseConnection) {
    let s = app(db).await;
    let mut numbers = Vec::new();
    for i in 0..3 {
        let d = tickets::create(
            &s.db,
            new_ticket("acme", &format!("t{i}")),
            &agent("lin"),
            at("2026-03-04T02:00:00Z"),
        )
        .await
        .unwrap();
        numbers.push(d.ticket.number);
    }
    assert_eq!(numbers, ["T-2026-000001", "T-2026-000002", "T-2026-000003"]);
    let other = tickets::create(
        &s.db,
        new_ticket("globex", "g"),
        &agent("x"),
        at("2026-03-04T02:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!(other.ticket.number, "T-2026-000001");
    // The year is the tenant's (Asia/Shanghai by default): 2026-12-31T17:00Z is 2027 there.
    let new_year = tickets::create(
        &s.db,
        new_ticket("acme", "ny"),
        &agent("lin"),
        at("2026-12-31T17:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!(new_year.ticket.number, "T-2027-000001");
    // Found by number as by id.
    let found = store::find_ticket(&s.db, "acme", "", "T-2026-000002", false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.subject, "t1");
}

pub async fn every_change_is_audited_with_its_events(db: &DatabaseConnection) {
    let s = app(db).await;
    let now = at("2026-03-04T02:00:00Z");
    let mut new = new_ticket("acme", "退货 Return");
    new.tags = vec!["return".into(), "return".into(), "vip".into()];
    let t = tickets::create(&s.db, new, &agent("lin"), now)
        .await
        .unwrap()
        .ticket;
    assert_eq!((t.status, t.sub_status.as_str()), (Status::New, "new"));
    assert_eq!(t.tags.0, ["return", "vip"]);
    let id = t.id.to_string();
    let later = at("2026-03-04T03:00:00Z");
    let changes = Changes {
        status: Some("open".into()),
        priority: Some("high".into()),
        assignee_id: Some("chen".into()),
        group_id: Some("after-sales".into()),
        ..Changes::default()
    };
    let d = tickets::update(&s.db, "acme", "", &id, changes, &agent("zhao"), later)
        .await
        .unwrap();
    let types: Vec<&str> = d.events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        ["ticket.status_changed", "ticket.assigned", "ticket.updated"]
    );
    // An update that changes nothing writes nothing.
    let same = Changes {
        status: Some("open".into()),
        ..Changes::default()
    };
    assert!(
        tickets::update(&s.db, "acme", "", &id, same, &agent("zhao"), later)
            .await
            .unwrap()
            .events
            .is_empty()
    );
    // A public reply by the agent meets the first-reply target; an internal note does not.
    tickets::comment(
        &s.db,
        "acme",
        "",
        &id,
        "内部备注",
        false,
        &[],
        &agent("chen"),
        later,
    )
    .await
    .unwrap();
    let x = store::find_ticket(&s.db, "acme", "", &id, false)
        .await
        .unwrap()
        .unwrap();
    assert!(x.clocks.0.iter().all(|c| c.met_at.is_none()));
    let d = tickets::comment(
        &s.db,
        "acme",
        "",
        &id,
        "您好，已为您处理",
        true,
        &["https://files.example/a.png".into()],
        &agent("chen"),
        later,
    )
    .await
    .unwrap();
    let first = d
        .ticket
        .clocks
        .0
        .iter()
        .find(|c| c.metric == "first_reply")
        .unwrap();
    assert_eq!(first.met_at, Some(later.timestamp_millis()));
    let audit = store::audit(&s.db, "acme", t.id).await.unwrap();
    let fields: Vec<(&str, &str, &str, &str)> = audit
        .iter()
        .map(|a| {
            (
                a.field.as_str(),
                a.actor_id.as_str(),
                a.from_value.as_str(),
                a.to_value.as_str(),
            )
        })
        .filter(|a| a.0 != "comment")
        .collect();
    assert_eq!(
        fields,
        [
            ("created", "lin", "", "T-2026-000001"),
            ("status", "zhao", "new", "open"),
            ("sub_status", "zhao", "new", "open"),
            ("priority", "zhao", "normal", "high"),
            ("group_id", "zhao", "", "after-sales"),
            ("assignee_id", "zhao", "", "chen"),
            ("first_reply", "chen", "", &later.to_rfc3339()[..]),
        ]
    );
    assert_eq!(audit.iter().filter(|a| a.field == "comment").count(), 2);
    let comments = store::comments(&s.db, "acme", t.id).await.unwrap();
    let kinds: Vec<(&str, bool)> = comments
        .iter()
        .map(|c| (c.kind.as_str(), c.public))
        .collect();
    assert_eq!(
        kinds,
        [("description", false), ("note", false), ("reply", true)]
    );
    assert_eq!(comments[2].attachments.0, ["https://files.example/a.png"]);
    assert_eq!(
        outbox_types(&s.db).await,
        [
            "ticket.created",
            "ticket.status_changed",
            "ticket.assigned",
            "ticket.updated",
            "ticket.commented",
            "ticket.commented",
        ]
    );
}

pub async fn closed_is_final(db: &DatabaseConnection) {
    let s = app(db).await;
    let now = at("2026-03-04T02:00:00Z");
    let t = tickets::create(&s.db, new_ticket("acme", "x"), &agent("lin"), now)
        .await
        .unwrap()
        .ticket;
    let id = t.id.to_string();
    let to = |st: &str| Changes {
        status: Some(st.into()),
        ..Changes::default()
    };
    tickets::update(&s.db, "acme", "", &id, to("solved"), &agent("lin"), now)
        .await
        .unwrap();
    tickets::update(&s.db, "acme", "", &id, to("closed"), &agent("lin"), now)
        .await
        .unwrap();
    for st in ["open", "pending", "solved"] {
        assert!(matches!(
            tickets::update(&s.db, "acme", "", &id, to(st), &agent("lin"), now).await,
            Err(Error::Closed)
        ));
    }
    assert!(matches!(
        tickets::comment(
            &s.db,
            "acme",
            "",
            &id,
            "again",
            true,
            &[],
            &agent("lin"),
            now
        )
        .await,
        Err(Error::Closed)
    ));
    // A follow-up links to it; only a closed ticket gets one.
    let mut f = new_ticket("acme", "follow-up");
    f.follow_up_of = t.number.clone();
    let follow = tickets::create(&s.db, f, &agent("lin"), now)
        .await
        .unwrap()
        .ticket;
    assert_eq!(follow.follow_up_of, t.number);
    let mut g = new_ticket("acme", "follow-up of an open one");
    g.follow_up_of = follow.id.to_string();
    assert!(matches!(
        tickets::create(&s.db, g, &agent("lin"), now).await,
        Err(Error::Invalid(e)) if e.field == "follow_up_of"
    ));
    // Back to new is refused too.
    assert!(matches!(
        tickets::update(&s.db, "acme", "", &follow.id.to_string(), to("open"), &agent("lin"), now).await.and(
            tickets::update(&s.db, "acme", "", &follow.id.to_string(), to("new"), &agent("lin"), now).await),
        Err(Error::Invalid(e)) if e.field == "status"
    ));
}

pub async fn a_customer_reply_reopens_and_lands_once(db: &DatabaseConnection) {
    let s = app(db).await;
    let conv = uuid::Uuid::now_v7().to_string();
    let now = at("2026-03-04T02:00:00Z");
    let mut new = new_ticket("acme", "from chat");
    new.conversation_id = conv.clone();
    let t = tickets::create(&s.db, new, &agent("lin"), now)
        .await
        .unwrap()
        .ticket;
    let id = t.id.to_string();
    // A message older than the ticket is in its transcript, not a reply.
    feed(
        &s,
        &[customer_message(
            "acme",
            &conv,
            "earlier",
            at("2026-03-04T01:00:00Z"),
        )],
    )
    .await;
    assert_eq!(store::comments(&s.db, "acme", t.id).await.unwrap().len(), 1);
    for (status, reopens) in [
        ("pending", true),
        ("on_hold", true),
        ("solved", true),
        ("open", false),
    ] {
        tickets::update(
            &s.db,
            "acme",
            "",
            &id,
            Changes {
                status: Some(status.into()),
                ..Changes::default()
            },
            &agent("lin"),
            now,
        )
        .await
        .unwrap();
        let before = outbox_types(&s.db).await.len();
        let reply = customer_message(
            "acme",
            &conv,
            &format!("还没好 {status}"),
            at("2026-03-04T03:00:00Z"),
        );
        // Delivered twice: lands once.
        feed(&s, &[reply.clone(), reply.clone()]).await;
        feed(&s, &[reply]).await;
        let x = store::find_ticket(&s.db, "acme", "", &id, false)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(x.status, Status::Open, "after {status}");
        let types = outbox_types(&s.db).await;
        let added: Vec<&str> = types[before..].iter().map(String::as_str).collect();
        if reopens {
            assert_eq!(
                added,
                ["ticket.commented", "ticket.status_changed"],
                "{status}"
            );
        } else {
            assert_eq!(added, ["ticket.commented"], "{status}");
        }
    }
    let comments = store::comments(&s.db, "acme", t.id).await.unwrap();
    let replies: Vec<&str> = comments
        .iter()
        .filter(|c| c.author_kind == "customer")
        .map(|c| c.text.as_str())
        .collect();
    assert_eq!(
        replies,
        [
            "还没好 pending",
            "还没好 on_hold",
            "还没好 solved",
            "还没好 open"
        ]
    );
    // The audit names the customer as the one who reopened it.
    let audit = store::audit(&s.db, "acme", t.id).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.field == "status" && a.actor_kind == "customer" && a.from_value == "solved")
    );
    // Closed: a reply changes nothing (closed is final).
    tickets::update(
        &s.db,
        "acme",
        "",
        &id,
        Changes {
            status: Some("closed".into()),
            ..Changes::default()
        },
        &agent("lin"),
        now,
    )
    .await
    .unwrap();
    let before = outbox_types(&s.db).await.len();
    feed(
        &s,
        &[customer_message(
            "acme",
            &conv,
            "hello?",
            at("2026-03-04T05:00:00Z"),
        )],
    )
    .await;
    assert_eq!(outbox_types(&s.db).await.len(), before);
    let x = store::find_ticket(&s.db, "acme", "", &id, false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(x.status, Status::Closed);
    // Another tenant's conversation with the same id reaches nothing of this tenant.
    feed(
        &s,
        &[customer_message(
            "globex",
            &conv,
            "x",
            at("2026-03-04T05:00:00Z"),
        )],
    )
    .await;
    assert_eq!(outbox_types(&s.db).await.len(), before);
}

pub async fn tenant_and_merchant_scope(db: &DatabaseConnection) {
    let s = app(db).await;
    let now = at("2026-03-04T02:00:00Z");
    let mut m = new_ticket("acme", "merchant's");
    m.merchant_id = "jinyuan".into();
    let mt = tickets::create(&s.db, m, &agent("wang"), now)
        .await
        .unwrap()
        .ticket;
    let pt = tickets::create(&s.db, new_ticket("acme", "platform's"), &agent("lin"), now)
        .await
        .unwrap()
        .ticket;
    let ot = tickets::create(
        &s.db,
        new_ticket("globex", "other tenant's"),
        &agent("x"),
        now,
    )
    .await
    .unwrap()
    .ticket;
    let find = |tenant: &'static str, merchant: &'static str, key: String| {
        let db = s.db.clone();
        async move {
            store::find_ticket(&db, tenant, merchant, &key, false)
                .await
                .unwrap()
                .map(|t| t.id)
        }
    };
    // Another tenant's ticket, by id and by number: not found.
    assert_eq!(find("acme", "", ot.id.to_string()).await, None);
    // The same number in another tenant is that tenant's own ticket.
    assert_eq!(mt.number, ot.number);
    assert_eq!(find("globex", "", mt.number.clone()).await, Some(ot.id));
    // A merchant sees its own, not the platform's.
    assert_eq!(
        find("acme", "jinyuan", mt.id.to_string()).await,
        Some(mt.id)
    );
    assert_eq!(find("acme", "jinyuan", pt.id.to_string()).await, None);
    assert_eq!(find("acme", "other", mt.id.to_string()).await, None);
    // Changes and comments out of scope are not found and write nothing.
    let before = outbox_types(&s.db).await.len();
    assert!(matches!(
        tickets::update(
            &s.db,
            "globex",
            "",
            &mt.id.to_string(),
            Changes {
                status: Some("open".into()),
                ..Changes::default()
            },
            &agent("x"),
            now
        )
        .await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        tickets::comment(
            &s.db,
            "acme",
            "other",
            &mt.id.to_string(),
            "x",
            true,
            &[],
            &agent("x"),
            now
        )
        .await,
        Err(Error::NotFound)
    ));
    assert_eq!(outbox_types(&s.db).await.len(), before);
    let list = |tenant: &str, merchant: &str| ListFilter {
        tenant: tenant.into(),
        merchant: merchant.into(),
        limit: 50,
        ..ListFilter::default()
    };
    let (rows, _) = tickets::list(&s.db, list("acme", "jinyuan")).await.unwrap();
    assert_eq!(rows.iter().map(|t| t.id).collect::<Vec<_>>(), [mt.id]);
    let (rows, _) = tickets::list(&s.db, list("acme", "")).await.unwrap();
    assert_eq!(
        rows.iter().map(|t| t.id).collect::<Vec<_>>(),
        [pt.id, mt.id]
    );
}

pub async fn list_filters_and_cursor_paging(db: &DatabaseConnection) {
    let s = app(db).await;
    let now = at("2026-03-04T02:00:00Z");
    let mut ids = Vec::new();
    for i in 0..7 {
        let mut n = new_ticket("acme", &format!("t{i}"));
        n.priority = if i % 2 == 0 {
            "high".into()
        } else {
            "low".into()
        };
        n.assignee_id = if i < 3 { "chen".into() } else { String::new() };
        ids.push(
            tickets::create(&s.db, n, &agent("lin"), now)
                .await
                .unwrap()
                .ticket
                .id,
        );
    }
    tickets::update(
        &s.db,
        "acme",
        "",
        &ids[1].to_string(),
        Changes {
            status: Some("pending".into()),
            ..Changes::default()
        },
        &agent("lin"),
        now,
    )
    .await
    .unwrap();
    // Pages of 3, newest first, until the cursor runs out.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let f = ListFilter {
            tenant: "acme".into(),
            limit: 3,
            after,
            ..ListFilter::default()
        };
        let (rows, next) = tickets::list(&s.db, f).await.unwrap();
        seen.extend(rows.iter().map(|t| t.id));
        match next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    let mut expected = ids.clone();
    expected.reverse();
    assert_eq!(seen, expected);
    let pick = |f: ListFilter| {
        let db = s.db.clone();
        async move {
            let (rows, _) = tickets::list(
                &db,
                ListFilter {
                    tenant: "acme".into(),
                    limit: 50,
                    ..f
                },
            )
            .await
            .unwrap();
            rows.into_iter().map(|t| t.subject).collect::<Vec<_>>()
        }
    };
    use kefu_ticketing::store::entities::ticket::Priority;
    assert_eq!(
        pick(ListFilter {
            status: vec![Status::Pending],
            ..ListFilter::default()
        })
        .await,
        ["t1"]
    );
    assert_eq!(
        pick(ListFilter {
            priority: Some(Priority::High),
            assignee: Some("chen".into()),
            ..ListFilter::default()
        })
        .await,
        ["t2", "t0"]
    );
    assert_eq!(
        pick(ListFilter {
            unassigned: true,
            priority: Some(Priority::Low),
            ..ListFilter::default()
        })
        .await,
        ["t5", "t3"]
    );
    // Breaching soon: high priority's first reply (60 business minutes) is due at 10:00 local
    // (02:00Z + 1 h); low's (8 h) later. Pending (t1) has no running deadline.
    let before = at("2026-03-04T03:30:00Z").timestamp_millis();
    assert_eq!(
        pick(ListFilter {
            due_before: Some(before),
            ..ListFilter::default()
        })
        .await,
        ["t6", "t4", "t2", "t0"]
    );
}

pub async fn bad_input_names_the_field_and_writes_nothing(db: &DatabaseConnection) {
    let s = app(db).await;
    let now = at("2026-03-04T02:00:00Z");
    let bad = |f: fn(&mut tickets::NewTicket)| {
        let mut n = new_ticket("acme", "x");
        f(&mut n);
        n
    };
    let cases: Vec<(tickets::NewTicket, &str)> = vec![
        (bad(|n| n.subject = "  ".into()), "subject"),
        (bad(|n| n.subject = "长".repeat(201)), "subject"),
        (bad(|n| n.subject = "a\u{0}b".into()), "subject"),
        (bad(|n| n.priority = "p1".into()), "priority"),
        (bad(|n| n.requester_id = String::new()), "requester_id"),
        (
            bad(|n| n.merchant_id = "Bad Merchant".into()),
            "merchant_id",
        ),
        (bad(|n| n.tags = vec!["ok".into(), " ".into()]), "tags[1]"),
        (
            bad(|n| n.tags = (0..21).map(|i| i.to_string()).collect()),
            "tags",
        ),
        (
            bad(|n| n.follow_up_of = "T-2026-999999".into()),
            "follow_up_of",
        ),
    ];
    for (n, field) in cases {
        match tickets::create(&s.db, n, &agent("lin"), now).await {
            Err(Error::Invalid(e)) => assert_eq!(e.field, field),
            other => panic!("{field}: {:?}", other.map(|d| d.ticket.number)),
        }
    }
    assert!(matches!(
        tickets::create(&s.db, new_ticket("acme", "x"), &Actor::new("robot", ""), now).await,
        Err(Error::Invalid(e)) if e.field == "actor.kind"
    ));
    assert!(outbox_types(&s.db).await.is_empty());
    let t = tickets::create(&s.db, new_ticket("acme", "ok"), &agent("lin"), now)
        .await
        .unwrap()
        .ticket;
    let id = t.id.to_string();
    let lin = agent("lin");
    let upd = |c: Changes| tickets::update(&s.db, "acme", "", &id, c, &lin, now);
    for (c, field) in [
        (
            Changes {
                status: Some("done".into()),
                ..Changes::default()
            },
            "status",
        ),
        (
            Changes {
                sub_status: Some("nope".into()),
                ..Changes::default()
            },
            "sub_status",
        ),
        (
            Changes {
                status: Some("open".into()),
                sub_status: Some("pending".into()),
                ..Changes::default()
            },
            "sub_status",
        ),
        (
            Changes {
                priority: Some("".into()),
                subject: Some("".into()),
                ..Changes::default()
            },
            "subject",
        ),
    ] {
        match upd(c).await {
            Err(Error::Invalid(e)) => assert_eq!(e.field, field),
            other => panic!("{field}: {:?}", other.map(|d| d.ticket.number)),
        }
    }
    for (text, attachments, field) in [
        ("", vec![], "text"),
        ("x", vec!["ftp://a".to_owned()], "attachments[0]"),
        ("x", vec!["https://a b".to_owned()], "attachments[0]"),
    ] {
        match tickets::comment(
            &s.db,
            "acme",
            "",
            &id,
            text,
            true,
            &attachments,
            &agent("lin"),
            now,
        )
        .await
        {
            Err(Error::Invalid(e)) => assert_eq!(e.field, field),
            other => panic!("{field}: {:?}", other.map(|d| d.ticket.number)),
        }
    }
    assert_eq!(outbox_types(&s.db).await, ["ticket.created"]);
    assert_eq!(store::audit(&s.db, "acme", t.id).await.unwrap().len(), 1);
}

pub async fn a_retried_create_is_one_ticket(db: &DatabaseConnection) {
    let s = app(db).await;
    let now = at("2026-03-04T02:00:00Z");
    let mut n = new_ticket("acme", "once");
    n.idempotency_key = "req-1".into();
    let a = tickets::create(&s.db, n.clone(), &agent("lin"), now)
        .await
        .unwrap();
    let b = tickets::create(&s.db, n.clone(), &agent("lin"), now)
        .await
        .unwrap();
    assert_eq!(a.ticket.id, b.ticket.id);
    assert!(b.events.is_empty());
    // The same key in another tenant is another ticket.
    n.tenant = "globex".into();
    let c = tickets::create(&s.db, n, &agent("lin"), now).await.unwrap();
    assert_ne!(c.ticket.id, a.ticket.id);
    assert_eq!(
        outbox_types(&s.db).await,
        ["ticket.created", "ticket.created"]
    );
}
