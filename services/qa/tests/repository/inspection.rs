//! The QA consumer over both backends: real-time findings and alerts, the score at close,
//! agents' days, review sampling, reviews and appeals through the gRPC service, and tenant
//! scope.

use crate::support::{Script, apply_policy, deliver, demo_policy, outbox_types, state};
use kefu_proto::qa as pb;
use kefu_proto::qa::qa_server::Qa;
use kefu_qa::store;
use kefu_qa::store::migration::{QaMigrator, TABLES};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

pub async fn migrations_create_only_qa_tables(db: &DatabaseConnection) {
    kefu_store::testing::assert_creates_only::<QaMigrator>(db, TABLES).await;
}

fn actor(tenant: &str, agent: &str, role: &str) -> Option<pb::Actor> {
    Some(pb::Actor {
        tenant_id: tenant.into(),
        agent_id: agent.into(),
        role: role.into(),
        merchant_id: String::new(),
    })
}

fn body(r: Result<tonic::Response<pb::JsonReply>, tonic::Status>) -> Value {
    let r = r.unwrap_or_else(|s| panic!("qa call failed: {s:?}"));
    serde_json::from_str(&r.into_inner().json).unwrap()
}

async fn result(
    grpc: &kefu_qa::grpc::QaGrpc,
    tenant: &str,
    who: (&str, &str),
    conv: &str,
) -> Value {
    body(
        grpc.get_conversation(tonic::Request::new(pb::ConversationRequest {
            actor: actor(tenant, who.0, who.1),
            conversation_id: conv.into(),
        }))
        .await,
    )
}

/// A rude reply is found and alerted on as it arrives (a `qa.alert_raised` and a supervisors'
/// `desk.event` per alerting rule), once even when redelivered; the close scores the whole
/// conversation with every violation at its message, fills the agent's day and samples it for
/// the next reviewer; another tenant sees none of it.
pub async fn a_rude_reply_alerts_once_and_the_close_scores(db: &DatabaseConnection) {
    let qa = state(db).await;
    let s = Script::new("acme", "c1");
    let policy = demo_policy("acme", json!({"critical": true, "reviewers": ["r1", "r2"]}));
    apply_policy(&qa, "acme", 1, &policy).await;

    let opening = vec![
        s.message(1, "customer", "", "我的订单怎么还没到", 0),
        s.message(2, "bot", "", "正在为您转接人工客服", 1),
        s.handoff(1),
        s.assigned("a1", 3),
        s.message(
            3,
            "agent",
            "a1",
            "您好，我是客服小李，请问有什么可以帮您？",
            5,
        ),
        s.note(4, "a1", "这个客户很烦", 6),
    ];
    deliver(&qa, &opening).await;
    assert!(
        outbox_types(db).await.is_empty(),
        "a polite reply raises nothing"
    );
    let rude = vec![
        s.message(5, "customer", "", "都三天了还没发货", 20),
        s.message(6, "agent", "a1", "爱买不买，不关我的事", 30),
    ];
    deliver(&qa, &rude).await;
    let out = outbox_types(db).await;
    let alerts: Vec<kefu_proto::events::QaAlertRaised> = out
        .iter()
        .filter(|(t, _)| t == "qa.alert_raised")
        .map(|(_, p)| prost::Message::decode(p.as_slice()).unwrap())
        .collect();
    // The reply's alerts (the customer's complaint may raise an anger alert of its own).
    let reply: Vec<&kefu_proto::events::QaAlertRaised> =
        alerts.iter().filter(|a| a.message_id == "c1-m6").collect();
    let mut rules: Vec<&str> = reply.iter().map(|a| a.rule.as_str()).collect();
    rules.sort_unstable();
    assert_eq!(rules, ["forbidden-words", "rude-tone"], "{alerts:?}");
    // The note is not part of what QA reads: the rude reply is the transcript's 6th message
    // (customer, bot, handoff, agent, customer, agent).
    assert!(
        reply
            .iter()
            .all(|a| a.message_index == 5 && a.agent_id == "a1")
    );
    let desk: Vec<kefu_proto::session::DeskEvent> = out
        .iter()
        .filter(|(t, _)| t == "desk.event")
        .map(|(_, p)| prost::Message::decode(p.as_slice()).unwrap())
        .collect();
    assert_eq!(desk.len(), alerts.len());
    for d in &desk {
        assert!(d.supervisors && d.agent_ids.is_empty(), "{d:?}");
        assert_eq!(d.merchant_id, "m1");
        let p: Value = serde_json::from_str(&d.payload_json).unwrap();
        assert_eq!(p["type"], "qa.alert");
        assert_eq!(
            p["links"]["monitor"],
            "/v1/tenants/acme/conversations/c1/monitor"
        );
    }
    // Redelivered: recognised, nothing more.
    deliver(&qa, &rude).await;
    assert_eq!(outbox_types(db).await.len(), out.len());

    deliver(&qa, &[s.closed("a1", 60)]).await;
    let grpc = kefu_qa::grpc::QaGrpc { state: qa.clone() };
    let r = result(&grpc, "acme", ("", "admin"), "c1").await;
    assert_eq!(r["status"], "closed");
    assert_eq!(r["score"], 0, "a critical violation fails it: {r}");
    assert_eq!(r["failed"], true);
    let found: Vec<(String, Value)> = r["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["rule"].as_str().unwrap().to_owned(), v["message"].clone()))
        .collect();
    assert!(
        found.contains(&("forbidden-words".into(), json!(5))),
        "{found:?}"
    );
    assert!(found.contains(&("rude-tone".into(), json!(5))), "{found:?}");
    // The last agent message before the close does not close politely.
    assert!(found.contains(&("closing".into(), json!(5))), "{found:?}");
    assert!(!found.iter().any(|(r, _)| r == "greeting"), "{found:?}");
    assert_eq!(r["messages"][5]["text"], "爱买不买，不关我的事");
    assert_eq!(
        r["messages"].as_array().unwrap().len(),
        7,
        "with the close marker"
    );
    // The agent's day, and the review for the first reviewer.
    let day = r["closed_at"].as_str().unwrap()[..10].to_owned();
    let days = store::agent_days(db, "acme", "a1", &day, &day)
        .await
        .unwrap();
    assert_eq!(days.len(), 1);
    assert_eq!((days[0].conversations, days[0].failed), (1, 1));
    assert_eq!(r["review"]["reviewer_id"], "r1");
    assert_eq!(r["review"]["reason"], "critical");

    // Another tenant's caller, or another agent of this one, finds nothing.
    for (tenant, who) in [("globex", ("", "admin")), ("acme", ("a2", "agent"))] {
        let e = grpc
            .get_conversation(tonic::Request::new(pb::ConversationRequest {
                actor: actor(tenant, who.0, who.1),
                conversation_id: "c1".into(),
            }))
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::NotFound, "{tenant} {who:?}");
    }
    // The agent sees their own.
    assert_eq!(
        result(&grpc, "acme", ("a1", "agent"), "c1").await["score"],
        0
    );
}

/// The reviewer rejects the machine's findings but one and adds one it missed; the agent
/// appeals once; the supervisor upholds the appeal, which withdraws the rest and scores again.
/// Confirm and reject counts per rule follow.
pub async fn review_appeal_and_settlement(db: &DatabaseConnection) {
    let qa = state(db).await;
    let s = Script::new("acme", "c2");
    let policy = demo_policy(
        "acme",
        json!({"critical": true, "reviewers": ["r1"], "appeal_days": 3}),
    );
    apply_policy(&qa, "acme", 1, &policy).await;
    deliver(
        &qa,
        &[
            s.message(1, "customer", "", "在吗", 0),
            s.handoff(1),
            s.assigned("a1", 2),
            s.message(2, "agent", "a1", "您好，请问有什么可以帮您", 4),
            s.message(3, "customer", "", "订单号多少你自己看", 10),
            s.message(
                4,
                "agent",
                "a1",
                "你自己看订单页面吧，感谢您的耐心，祝您生活愉快",
                20,
            ),
            s.closed("a1", 30),
        ],
    )
    .await;
    let grpc = kefu_qa::grpc::QaGrpc { state: qa.clone() };
    let r = result(&grpc, "acme", ("", "admin"), "c2").await;
    assert_eq!(r["failed"], true, "{r}");
    let reviews = body(
        grpc.list_reviews(tonic::Request::new(pb::ListReviewsRequest {
            actor: actor("acme", "r1", "agent"),
            status: String::new(),
        }))
        .await,
    );
    let review_id = reviews["reviews"][0]["review_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(reviews["reviews"][0]["conversation_id"], "c2");
    // Another agent is not this review's reviewer.
    let other = grpc
        .list_reviews(tonic::Request::new(pb::ListReviewsRequest {
            actor: actor("acme", "a1", "agent"),
            status: String::new(),
        }))
        .await;
    assert_eq!(body(other)["reviews"], json!([]));
    // The reviewer may read the result they review.
    assert_eq!(
        result(&grpc, "acme", ("r1", "agent"), "c2").await["conversation_id"],
        "c2"
    );

    let findings: Vec<(String, String)> = r["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["finding_id"].as_str().unwrap().to_owned(),
                v["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let forbidden = findings
        .iter()
        .find(|(_, r)| r == "forbidden-words")
        .expect("found")
        .0
        .clone();
    let verdicts: Vec<pb::Verdict> = findings
        .iter()
        .map(|(id, _)| pb::Verdict {
            finding_id: id.clone(),
            verdict: if *id == forbidden {
                "confirmed"
            } else {
                "rejected"
            }
            .into(),
        })
        .collect();
    let bad = grpc
        .submit_review(tonic::Request::new(pb::SubmitReviewRequest {
            actor: actor("acme", "r1", "agent"),
            review_id: review_id.clone(),
            verdicts: vec![pb::Verdict {
                finding_id: forbidden.clone(),
                verdict: "maybe".into(),
            }],
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(
        kefu_proto::desk::field_error(&bad)
            .map(|e| e.field)
            .as_deref(),
        Some("verdicts[0].verdict")
    );
    let done = body(
        grpc.submit_review(tonic::Request::new(pb::SubmitReviewRequest {
            actor: actor("acme", "r1", "agent"),
            review_id: review_id.clone(),
            verdicts,
            added: vec![pb::ManualFinding {
                rule: "slow-reply".into(),
                message: 4,
                comment: "漏掉的".into(),
            }],
            comment: "ok".into(),
        }))
        .await,
    );
    assert_eq!(done["review"]["status"], "done");
    let after = &done["result"];
    assert_eq!(
        after["failed"], true,
        "the confirmed forbidden phrase still fails it"
    );
    assert!(
        after["violations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["origin"] == "manual" && v["rule"] == "slow-reply" && v["message"] == 4),
        "{after}"
    );

    // The agent appeals, once.
    let appeal = |comment: &str| {
        grpc.appeal(tonic::Request::new(pb::AppealRequest {
            actor: actor("acme", "a1", "agent"),
            conversation_id: "c2".into(),
            comment: comment.into(),
        }))
    };
    let e = appeal("").await.unwrap_err();
    assert_eq!(kefu_proto::desk::field_error(&e).unwrap().field, "comment");
    assert_eq!(body(appeal("客户先骂人").await)["appeal"]["status"], "open");
    assert_eq!(
        appeal("again").await.unwrap_err().code(),
        tonic::Code::FailedPrecondition
    );
    // An agent cannot settle.
    let settle = |who: (&str, &str), decision: &str| {
        grpc.settle_appeal(tonic::Request::new(pb::SettleAppealRequest {
            actor: actor("acme", who.0, who.1),
            conversation_id: "c2".into(),
            decision: decision.into(),
            finding_ids: Vec::new(),
            comment: "属实".into(),
        }))
    };
    assert_eq!(
        settle(("a1", "agent"), "upheld").await.unwrap_err().code(),
        tonic::Code::PermissionDenied
    );
    let settled = body(settle(("sup", "supervisor"), "upheld").await);
    assert_eq!(settled["appeal"]["status"], "upheld");
    assert_eq!(settled["appeal"]["settled_by"], "sup");
    assert_eq!(settled["failed"], false, "{settled}");
    assert_eq!(settled["score"], 100);
    assert_eq!(
        settle(("sup", "supervisor"), "dismissed")
            .await
            .unwrap_err()
            .code(),
        tonic::Code::FailedPrecondition
    );

    let acc = body(
        grpc.rule_accuracy(tonic::Request::new(pb::RuleAccuracyRequest {
            actor: actor("acme", "sup", "supervisor"),
        }))
        .await,
    );
    let forbidden_row = acc["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "forbidden-words")
        .unwrap()
        .clone();
    // Confirmed by the reviewer, then withdrawn by the upheld appeal.
    assert_eq!(forbidden_row["rejected"], 1, "{acc}");
}

/// A new policy version applies to the next message without a restart, an older version
/// changes nothing, and re-scoring on request scores closed conversations with the new one.
pub async fn a_policy_change_applies_and_rescores(db: &DatabaseConnection) {
    let qa = state(db).await;
    let s = Script::new("acme", "c3");
    let v1 = demo_policy("acme", json!({"critical": false, "csat_at_most": 2}));
    apply_policy(&qa, "acme", 1, &v1).await;
    deliver(
        &qa,
        &[
            s.message(1, "customer", "", "在吗", 0),
            s.handoff(1),
            s.message(2, "agent", "a1", "您好，亲，包邮哦", 3),
            s.closed("a1", 10),
        ],
    )
    .await;
    let grpc = kefu_qa::grpc::QaGrpc { state: qa.clone() };
    let before = result(&grpc, "acme", ("", "admin"), "c3").await;
    assert_eq!(before["review"], Value::Null, "{before}");
    // A poor rating after the close samples it for review.
    deliver(&qa, &[s.rated("a1", 1, 20)]).await;
    let rated = result(&grpc, "acme", ("", "admin"), "c3").await;
    assert_eq!(rated["csat"], 1);
    assert_eq!(rated["review"]["reason"], "csat", "{rated}");
    assert!(
        !before["violations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["rule"] == "no-dear"),
        "{before}"
    );
    let mut v2 = v1.clone();
    v2["rules"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "no-dear", "kind": "forbidden_phrase", "severity": "major", "phrases": ["亲"]}));
    apply_policy(&qa, "acme", 2, &v2).await;
    // An older version arriving late changes nothing.
    apply_policy(&qa, "acme", 1, &v1).await;
    assert_eq!(store::policy(db, "acme").await.unwrap().unwrap().version, 2);
    qa.policies.invalidate("acme");
    let day = before["closed_at"].as_str().unwrap()[..10].to_owned();
    let r = body(
        grpc.rescore(tonic::Request::new(pb::RescoreRequest {
            actor: actor("acme", "sup", "supervisor"),
            from: day.clone(),
            to: day.clone(),
        }))
        .await,
    );
    assert_eq!(r["rescored"], 1);
    assert_eq!(r["policy_version"], 2);
    let after = result(&grpc, "acme", ("", "admin"), "c3").await;
    assert!(
        after["violations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["rule"] == "no-dear" && v["message"] == 2),
        "{after}"
    );
    assert!(
        after["score"].as_i64() < before["score"].as_i64(),
        "{before} {after}"
    );
    // Agents may not re-score; a bad date names its field.
    let e = grpc
        .rescore(tonic::Request::new(pb::RescoreRequest {
            actor: actor("acme", "a1", "agent"),
            from: day.clone(),
            to: day.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::PermissionDenied);
    let e = grpc
        .rescore(tonic::Request::new(pb::RescoreRequest {
            actor: actor("acme", "sup", "supervisor"),
            from: "yesterday".into(),
            to: day,
        }))
        .await
        .unwrap_err();
    assert_eq!(kefu_proto::desk::field_error(&e).unwrap().field, "from");
}

/// A customer the agent leaves waiting past the `agent_silence` limit is alerted on by the
/// sweep, with no message to trigger it, once.
pub async fn a_customer_left_waiting_alerts_once(db: &DatabaseConnection) {
    let qa = state(db).await;
    let s = Script::new("acme", "c4");
    let mut policy = demo_policy("acme", json!({"critical": true}));
    policy["rules"].as_array_mut().unwrap().push(
        json!({"id": "silence", "kind": "agent_silence", "severity": "major", "max_seconds": 60}),
    );
    apply_policy(&qa, "acme", 1, &policy).await;
    deliver(
        &qa,
        &[
            s.message(1, "customer", "", "在吗", 0),
            s.handoff(1),
            s.assigned("a1", 2),
            s.message(2, "agent", "a1", "您好，请问有什么可以帮您？", 5),
            s.message(3, "customer", "", "我的退款什么时候到账", 10),
        ],
    )
    .await;
    let silence_alerts = |out: Vec<(String, Vec<u8>)>| -> Vec<kefu_proto::events::QaAlertRaised> {
        out.iter()
            .filter(|(t, _)| t == "qa.alert_raised")
            .map(|(_, p)| prost::Message::decode(p.as_slice()).unwrap())
            .filter(|a: &kefu_proto::events::QaAlertRaised| a.rule == "silence")
            .collect()
    };
    // 30 s after the question: not due yet.
    let early = s.base + chrono::Duration::seconds(40);
    assert_eq!(kefu_qa::silence::sweep_once(&qa, early).await.unwrap(), 0);
    assert!(silence_alerts(outbox_types(db).await).is_empty());
    let late = s.base + chrono::Duration::seconds(200);
    assert_eq!(kefu_qa::silence::sweep_once(&qa, late).await.unwrap(), 1);
    let alerts = silence_alerts(outbox_types(db).await);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].message_id, "c4-m3");
    assert_eq!(alerts[0].agent_id, "a1");
    // Swept again: the same wait raises nothing new.
    kefu_qa::silence::sweep_once(&qa, late).await.unwrap();
    assert_eq!(silence_alerts(outbox_types(db).await).len(), 1);
    // Another tenant without a silence rule is not touched.
    let other = Script::new("globex", "g1");
    deliver(
        &qa,
        &[
            other.assigned("b1", 0),
            other.message(1, "customer", "", "hello?", 1),
        ],
    )
    .await;
    assert_eq!(kefu_qa::silence::sweep_once(&qa, late).await.unwrap(), 1);
}
