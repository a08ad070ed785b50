//! The domain events (docs/events.md), end to end: one conversation's life through the desk,
//! and each change published exactly once — counted by event id, so a redelivery is not a
//! second publication — with the fields other services rely on.

use crate::desk::{Desk, Rules, Staff};
use crate::platform::Platform;
use kefu_tests::desk::ReplyContent;
use kefu_tests::eventually;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn staff(id: &'static str, role: &'static str) -> Staff {
    Staff {
        id,
        role,
        merchant: "",
        skills: &["general"],
        capacity: 3,
    }
}

fn of<'a>(events: &'a [Value], event_type: &str, conversation: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["event_type"] == event_type && e["conversation_id"] == conversation)
        .collect()
}

/// A customer hands off, an agent accepts, replies and notes, transfers to a colleague who
/// accepts and closes; the customer rates. A second customer's conversation is closed while it
/// still waits. Agents change status. Every change appears once.
pub async fn domain_events_once_per_change(p: &Platform) {
    let d = Desk::new(p, Rules::default()).await;
    let first = d.staff(&staff("ev-a", "agent"), true).await;
    let second = d.staff(&staff("ev-b", "agent"), false).await;
    let sup = d.staff(&staff("ev-sup", "supervisor"), false).await;
    let user = "ev-customer";
    let platform_page = json!({"page": {"page_type": "product"}});
    d.say(p, user, "你好", platform_page.clone()).await;
    eventually("the bot greets", WAIT, || async {
        (!d.sent_to(user).is_empty()).then_some(())
    })
    .await;
    d.say(p, user, "转人工", platform_page.clone()).await;
    let conversation = d.queued_for(user).await;
    eventually("the offer to ev-a", WAIT, || async {
        let r = first.get_conversation(&conversation).await;
        (r.body["state"] == "offered").then_some(())
    })
    .await;
    assert_eq!(first.accept(&conversation).await.status, 200);
    let r = first
        .reply(
            &conversation,
            ReplyContent::Text("您好，请讲".into()),
            Some("k1"),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    // The same key again writes nothing and publishes nothing.
    let again = first
        .reply(
            &conversation,
            ReplyContent::Text("您好，请讲".into()),
            Some("k1"),
        )
        .await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(first.note(&conversation, "内部备注").await.status, 200);
    assert_eq!(second.set_status("online").await.status, 200);
    // Setting the status an agent already has is not a change.
    assert_eq!(second.set_status("online").await.status, 200);
    let t = first
        .transfer_to_agent(&conversation, "ev-b", "请接手")
        .await;
    assert_eq!(t.status, 200, "{:?}", t.body);
    eventually("the offer to ev-b", WAIT, || async {
        let r = second.get_conversation(&conversation).await;
        (r.body["agent_id"] == "ev-b" && r.body["state"] == "offered").then_some(())
    })
    .await;
    assert_eq!(second.accept(&conversation).await.status, 200);
    let closed = second.close(&conversation, "已解决", &["resolved"]).await;
    assert_eq!(closed.status, 200, "{:?}", closed.body);
    let invite = eventually("the CSAT invitation", WAIT, || async {
        d.sent_to(user)
            .into_iter()
            .find(|m| m["cards"][0]["kind"] == "csat")
    })
    .await;
    let four = invite["cards"][0]["buttons"][3]["action"].clone();
    d.say(p, user, "", json!({"type": "action", "action": four}))
        .await;

    // A second customer waits while nobody is free, and a supervisor closes it in the queue.
    assert_eq!(first.set_status("away").await.status, 200);
    assert_eq!(second.set_status("away").await.status, 200);
    let waiter = "ev-waiter";
    d.say(p, waiter, "转人工", platform_page.clone()).await;
    let waiting = d.queued_for(waiter).await;
    let c = sup.close(&waiting, "", &[]).await;
    assert_eq!(c.status, 200, "{:?}", c.body);

    let events = eventually("the rating's event", WAIT, || async {
        let events = p.events.events(&d.tenant).await;
        let rated = !of(&events, "csat.rated", &conversation).is_empty();
        let abandoned = !of(&events, "queue.abandoned", &waiting).is_empty();
        (rated && abandoned).then_some(events)
    })
    .await;
    // Anything published late would show now.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let events = {
        let later = p.events.events(&d.tenant).await;
        assert_eq!(
            later.len(),
            events.len(),
            "events kept arriving: {later:#?}"
        );
        later
    };
    let count = |t: &str| of(&events, t, &conversation).len();
    assert_eq!(count("conversation.opened"), 1, "{events:#?}");
    assert_eq!(count("conversation.handoff_requested"), 1);
    assert_eq!(count("queue.entered"), 1);
    assert_eq!(count("queue.left"), 1);
    assert_eq!(count("conversation.transferred"), 1);
    assert_eq!(count("conversation.closed"), 1);
    assert_eq!(count("csat.rated"), 1);
    assert_eq!(count("queue.abandoned"), 0);
    let entered = &of(&events, "queue.entered", &conversation)[0];
    assert_eq!(entered["reason"], "handoff");
    assert_eq!(entered["conversation"]["queue_id"], "platform");
    let left = &of(&events, "queue.left", &conversation)[0];
    assert_eq!(
        (&left["reason"], &left["agent_id"]),
        (&json!("offered"), &json!("ev-a"))
    );
    let assigned: Vec<&Value> = of(&events, "conversation.assigned", &conversation)
        .into_iter()
        .map(|e| &e["agent_id"])
        .collect();
    assert_eq!(assigned, [&json!("ev-a"), &json!("ev-b")]);
    let transferred = &of(&events, "conversation.transferred", &conversation)[0];
    assert_eq!(transferred["from_agent_id"], "ev-a");
    assert_eq!(transferred["to_agent_id"], "ev-b");
    let closed = &of(&events, "conversation.closed", &conversation)[0];
    assert_eq!(closed["reason"], "agent_closed");
    assert_eq!(closed["agent_id"], "ev-b");
    assert_eq!(closed["summary"], "已解决");
    assert_eq!(closed["tags"], json!(["resolved"]));
    assert_eq!(of(&events, "csat.rated", &conversation)[0]["rating"], 4);

    // message.created: once per stored message (notes too), numbered 1, 2, 3, … in order.
    let listed = sup.messages(&conversation).await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    let mut stored: Vec<String> = listed.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message_id"].as_str().unwrap().to_owned())
        .collect();
    let created = of(&events, "message.created", &conversation);
    let mut published: Vec<String> = created
        .iter()
        .map(|e| e["message_id"].as_str().unwrap().to_owned())
        .collect();
    let sequences: Vec<u64> = created
        .iter()
        .map(|e| e["sequence"].as_u64().unwrap())
        .collect();
    let mut sorted = sequences.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (1..=created.len() as u64).collect::<Vec<_>>(),
        "{created:#?}"
    );
    published.sort();
    let before_dedupe = published.len();
    published.dedup();
    assert_eq!(published.len(), before_dedupe, "a message published twice");
    stored.sort();
    // The listing may stop before the CSAT thanks arrived; every listed message was published.
    assert!(
        stored.iter().all(|m| published.contains(m)),
        "stored {stored:?}, published {published:?}"
    );
    let kinds: Vec<(&str, bool)> = created
        .iter()
        .map(|e| (e["sender_kind"].as_str().unwrap(), e["internal"] == true))
        .collect();
    // The bot's answers name the question they answer (analytics' hot topics).
    let greeting = created
        .iter()
        .find(|e| e["sender_kind"] == "bot")
        .expect("the bot's greeting");
    assert_eq!(greeting["question"], "你好", "{greeting}");
    assert_eq!(greeting["bot"]["miss"], false, "{greeting}");
    assert!(
        created
            .iter()
            .filter(|e| e["sender_kind"] != "bot")
            .all(|e| e["question"] == ""),
        "only bot answers carry a question"
    );
    for expected in [
        ("customer", false),
        ("bot", false),
        ("agent", false),
        ("agent", true),
    ] {
        assert!(
            kinds.contains(&expected),
            "{expected:?} missing from {kinds:?}"
        );
    }

    // Closed while it waited: abandoned, then closed in the queue.
    let waited = |t: &str| of(&events, t, &waiting).len();
    assert_eq!(waited("queue.entered"), 1);
    assert_eq!(waited("queue.left"), 0);
    assert_eq!(waited("queue.abandoned"), 1);
    assert_eq!(waited("conversation.closed"), 1);
    assert_eq!(
        of(&events, "conversation.closed", &waiting)[0]["reason"],
        "closed_in_queue"
    );

    // Status changes: one event per change, none for a repeat.
    let status: Vec<(String, String)> = events
        .iter()
        .filter(|e| e["event_type"] == "agent.status_changed" && e["agent_id"] == "ev-b")
        .map(|e| {
            (
                e["from_status"].as_str().unwrap().to_owned(),
                e["to_status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        status,
        [
            ("offline".to_owned(), "online".to_owned()),
            ("online".to_owned(), "away".to_owned())
        ],
        "{events:#?}"
    );
}

/// A customer merge closes the absorbed customer's open conversation on a channel the survivor
/// is on too: `conversation.closed` (reason `merged`) once, with `queue.abandoned` once since it
/// waited, and nothing closes the survivor's conversation.
pub async fn a_merge_publishes_each_closure_once(p: &Platform) {
    let d = Desk::new(p, Rules::default()).await;
    let (survivor, absorbed) = ("ev-merge-survivor", "ev-merge-absorbed");
    d.say(p, survivor, "你好", json!({})).await;
    let kept = eventually("the survivor's conversation", WAIT, || async {
        d.hook.received().iter().find_map(|r| {
            (r.body["external_user_id"] == survivor)
                .then(|| r.body["conversation_id"].as_str().unwrap().to_owned())
        })
    })
    .await;
    d.say(p, absorbed, "转人工", json!({})).await;
    let waiting = d.queued_for(absorbed).await;
    let customer = |user: &'static str| {
        let path = format!(
            "/v1/admin/tenants/{}/customers?channel_id={}&external_user_id={user}",
            d.tenant, d.channel
        );
        async move {
            let r = p.gateway.get(&path).await;
            assert_eq!(r.status, 200, "{:?}", r.body);
            r.body["customer_id"].as_str().unwrap().to_owned()
        }
    };
    let (survivor_id, absorbed_id) = (customer(survivor).await, customer(absorbed).await);
    let merged = p
        .gateway
        .post(
            &format!("/v1/admin/tenants/{}/customer-merges", d.tenant),
            json!({"survivor_id": survivor_id, "absorbed_id": absorbed_id}),
        )
        .await;
    assert_eq!(merged.status, 201, "{:?}", merged.body);
    let events = eventually("the merge's closure", WAIT, || async {
        let events = p.events.events(&d.tenant).await;
        (!of(&events, "conversation.closed", &waiting).is_empty()).then_some(events)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let later = p.events.events(&d.tenant).await;
    assert_eq!(
        later.len(),
        events.len(),
        "events kept arriving: {later:#?}"
    );
    let closed = of(&events, "conversation.closed", &waiting);
    assert_eq!(closed.len(), 1, "{events:#?}");
    assert_eq!(closed[0]["reason"], "merged");
    assert_eq!(of(&events, "queue.abandoned", &waiting).len(), 1);
    assert!(of(&events, "conversation.closed", &kept).is_empty());
}
