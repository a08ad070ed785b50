//! Tickets end to end: an agent turns a handed-off chat into a ticket through the gateway's
//! REST API (the transcript comes from the session), works it (status, priority, assignee,
//! comments; the customer is told public replies and status changes on their channel), the
//! customer's next message in the chat lands in the ticket and reopens it; bad
//! input is 422 naming the field, another merchant's or tenant's ticket is 404, a closed
//! ticket is 409; each change publishes its event once.

use crate::desk::{Desk, Rules, Staff};
use crate::platform::Platform;
use kefu_tests::eventually;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn staff(id: &'static str, role: &'static str, merchant: &'static str) -> Staff {
    Staff {
        id,
        role,
        merchant,
        skills: &["general"],
        capacity: 3,
    }
}

fn of<'a>(events: &'a [Value], event_type: &str, ticket: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["event_type"] == event_type && e["ticket_id"] == ticket)
        .collect()
}

pub async fn a_chat_becomes_a_ticket_and_the_customer_reopens_it(p: &Platform) {
    let d = Desk::new(p, Rules::default()).await;
    let agent = d.staff(&staff("tk-a", "agent", ""), true).await;
    let merchant_agent = d.staff(&staff("tk-m", "agent", "m1"), false).await;
    let user = "tk-customer";
    d.say(p, user, "你好", json!({})).await;
    d.say(p, user, "转人工 我的戒指收到时断了", json!({})).await;
    let conversation = d.queued_for(user).await;
    eventually("the offer to tk-a", WAIT, || async {
        let r = agent.get_conversation(&conversation).await;
        (r.body["state"] == "offered").then_some(())
    })
    .await;
    assert_eq!(agent.accept(&conversation).await.status, 200);

    // Bad input: 422 naming the field, nothing created.
    for (body, field) in [
        (
            json!({"conversation_id": conversation, "subject": ""}),
            "subject",
        ),
        (
            json!({"conversation_id": conversation, "subject": "x", "priority": "p0"}),
            "priority",
        ),
        (
            json!({"conversation_id": "not-a-uuid", "subject": "x"}),
            "conversation_id",
        ),
        (
            json!({"conversation_id": uuid::Uuid::now_v7().to_string(), "subject": "x"}),
            "conversation_id",
        ),
        (json!({"subject": "x"}), "requester_id"),
        (
            json!({"subject": "x", "requester_id": "c", "colour": "red"}),
            "colour",
        ),
    ] {
        let r = agent
            .call(Method::POST, "/tickets", Some(body.clone()))
            .await;
        assert_eq!(r.status, 422, "{body}: {:?}", r.body);
        r.assert_invalid(field);
    }

    // From the chat: the customer, channel and transcript come from the session.
    let r = agent
        .call(
            Method::POST,
            "/tickets",
            Some(
                json!({"conversation_id": conversation, "subject": "戒指断裂 Broken ring",
                        "priority": "high", "tags": ["damaged"], "type": "claim"}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let t = r.body;
    let id = t["ticket_id"].as_str().unwrap().to_owned();
    let number = t["number"].as_str().unwrap().to_owned();
    assert!(
        number.starts_with("T-20") && number.len() == "T-2026-000001".len(),
        "{number}"
    );
    assert_eq!(t["status"], "new");
    assert_eq!(t["priority"], "high");
    assert_eq!(t["conversation_id"], conversation);
    assert!(!t["requester_id"].as_str().unwrap().is_empty());
    assert_eq!(t["channel_id"], d.channel);
    let transcript = t["comments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "transcript")
        .expect("the transcript is attached");
    assert!(
        transcript["text"]
            .as_str()
            .unwrap()
            .contains("我的戒指收到时断了"),
        "{transcript}"
    );
    assert_eq!(transcript["public"], false);
    assert!(
        t["sla"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["metric"] == "first_reply")
    );

    // Found by number too; listed; another merchant's staff and another tenant see nothing.
    let r = agent
        .call(Method::GET, &format!("/tickets/{number}"), None)
        .await;
    assert_eq!(
        (r.status, r.body["ticket_id"].as_str()),
        (200, Some(id.as_str()))
    );
    let r = agent
        .call(Method::GET, "/tickets?status=new,open&limit=10", None)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["tickets"][0]["ticket_id"], id);
    let r = merchant_agent
        .call(Method::GET, &format!("/tickets/{id}"), None)
        .await;
    assert_eq!(r.status, 404, "{:?}", r.body);
    let r = merchant_agent.call(Method::GET, "/tickets", None).await;
    assert_eq!(r.body["tickets"], json!([]), "{:?}", r.body);
    let other = Desk::new(p, Rules::default()).await;
    let r = other
        .admin
        .call(Method::GET, &format!("/tickets/{id}"), None)
        .await;
    assert_eq!(r.status, 404, "{:?}", r.body);
    let r = other
        .admin
        .call(
            Method::PATCH,
            &format!("/tickets/{id}"),
            Some(json!({"status": "open"})),
        )
        .await;
    assert_eq!(r.status, 404, "{:?}", r.body);
    for q in ["view=soon", "limit=0", "status=later", "cursor=xyz"] {
        let r = agent
            .call(Method::GET, &format!("/tickets?{q}"), None)
            .await;
        assert_eq!(r.status, 422, "{q}: {:?}", r.body);
    }

    // Work it: assign, a public reply (first reply met), an internal note, then pending.
    let r = agent
        .call(
            Method::PATCH,
            &format!("/tickets/{id}"),
            Some(json!({"status": "open", "assignee_id": "tk-a", "group_id": "after-sales"})),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = agent
        .call(
            Method::PATCH,
            &format!("/tickets/{id}"),
            Some(json!({"status": "done"})),
        )
        .await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    r.assert_invalid("status");
    let r = agent
        .call(
            Method::POST,
            &format!("/tickets/{id}/comments"),
            Some(json!({"text": "已登记，请提供照片", "public": true})),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let first = r.body["sla"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["metric"] == "first_reply")
        .cloned()
        .unwrap();
    assert!(first["met_at"].is_string(), "{first}");
    let r = agent
        .call(
            Method::POST,
            &format!("/tickets/{id}/comments"),
            Some(json!({"text": "内部：质检报告待补"})),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let r = agent
        .call(
            Method::PATCH,
            &format!("/tickets/{id}"),
            Some(json!({"status": "pending"})),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["sla_paused"], true);
    let r = agent.call(Method::GET, "/tickets?view=mine", None).await;
    assert_eq!(r.body["tickets"][0]["ticket_id"], id, "{:?}", r.body);

    // The customer got the public reply and the status changes on their channel, not the note.
    let texts = |d: &Desk| -> Vec<String> {
        d.sent_to(user)
            .iter()
            .filter_map(|m| m["text"].as_str().map(str::to_owned))
            .collect()
    };
    eventually(
        "the public reply and the pending notice reach the customer",
        WAIT,
        || async {
            let t = texts(&d);
            (t.iter().any(|x| x == "已登记，请提供照片")
                && t.iter()
                    .any(|x| x.contains(&number) && x.contains("等待您的回复")))
            .then_some(())
        },
    )
    .await;
    assert!(
        !texts(&d).iter().any(|x| x.contains("质检报告")),
        "an internal note reached the customer"
    );

    // The customer writes in the chat: the words land in the ticket and reopen it.
    d.say(p, user, "照片已经发了", json!({})).await;
    let reopened = eventually("the customer's reply reopens the ticket", WAIT, || async {
        let r = agent
            .call(Method::GET, &format!("/tickets/{id}"), None)
            .await;
        (r.body["status"] == "open").then_some(r.body)
    })
    .await;
    assert_eq!(reopened["sla_paused"], false);
    let from_customer: Vec<&Value> = reopened["comments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["author_kind"] == "customer")
        .collect();
    assert_eq!(from_customer.len(), 1, "{reopened}");
    assert_eq!(from_customer[0]["text"], "照片已经发了");
    let audit = reopened["audit"].as_array().unwrap();
    assert!(audit.iter().any(|a| a["field"] == "status"
        && a["actor_kind"] == "customer"
        && a["from"] == "pending"));
    assert!(
        audit
            .iter()
            .any(|a| a["field"] == "assignee_id" && a["actor_id"] == "tk-a" && a["to"] == "tk-a")
    );

    // Solved, closed: closed is final.
    for s in ["solved", "closed"] {
        let r = agent
            .call(
                Method::PATCH,
                &format!("/tickets/{id}"),
                Some(json!({"status": s})),
            )
            .await;
        assert_eq!(r.status, 200, "{s}: {:?}", r.body);
    }
    let r = agent
        .call(
            Method::PATCH,
            &format!("/tickets/{id}"),
            Some(json!({"status": "open"})),
        )
        .await;
    assert_eq!(r.status, 409, "{:?}", r.body);
    let r = agent
        .call(
            Method::POST,
            &format!("/tickets/{id}/comments"),
            Some(json!({"text": "x"})),
        )
        .await;
    assert_eq!(r.status, 409, "{:?}", r.body);

    // Each change published once: created 1; status new→open, open→pending, pending→open (the
    // customer), open→solved, solved→closed; assigned 1; commented 3 (reply, note, customer).
    let events = eventually("the ticket's events", WAIT, || async {
        let all = p.events.events(&d.tenant).await;
        (of(&all, "ticket.status_changed", &id).len() >= 5).then_some(all)
    })
    .await;
    assert_eq!(of(&events, "ticket.created", &id).len(), 1);
    assert_eq!(of(&events, "ticket.assigned", &id).len(), 1);
    assert_eq!(of(&events, "ticket.status_changed", &id).len(), 5);
    assert_eq!(of(&events, "ticket.commented", &id).len(), 3);
    let by_customer: Vec<&Value> = of(&events, "ticket.status_changed", &id)
        .into_iter()
        .filter(|e| e["actor_kind"] == "customer")
        .collect();
    assert_eq!(by_customer.len(), 1);
    assert_eq!(by_customer[0]["from_status"], "pending");
    assert_eq!(
        of(&events, "ticket.created", &id)[0]["conversation_id"],
        conversation
    );
}
