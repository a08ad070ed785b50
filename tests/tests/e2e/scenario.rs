//! The scenarios, written once and run against every mode.

use crate::platform::{Platform, TENANT, TestChannel};
use kefu_proto::session::session_client::SessionClient;
use kefu_proto::session::{GetConversationRequest, ListMessagesRequest};
use kefu_tests::eventually;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn traceparent() -> (String, String) {
    let trace_id = uuid::Uuid::new_v4().simple().to_string();
    let span_id = &uuid::Uuid::new_v4().simple().to_string()[..16];
    (format!("00-{trace_id}-{span_id}-01"), trace_id)
}

fn message(ext_id: &str, user: &str, text: &str) -> Value {
    json!({
        "external_message_id": ext_id,
        "external_user_id": user,
        "text": text,
        "page": { "page_type": "product", "product_id": "sku-42", "url": "https://mall.example/p/42" }
    })
}

async fn replies_to(ch: &TestChannel, ext_id: &str, n: usize) -> Vec<Value> {
    eventually(
        &format!("{n} webhook replies to {ext_id}"),
        WAIT,
        || async {
            let got: Vec<Value> = ch
                .webhook
                .received()
                .into_iter()
                .filter(|r| r.body["reply_to"] == ext_id)
                .map(|r| r.body)
                .collect();
            (got.len() >= n).then_some(got)
        },
    )
    .await
}

/// A signed message gets the bot's signed answer on the channel's webhook, in the same trace;
/// re-sending it is answered identically and creates nothing; a second message joins the same
/// conversation.
pub async fn first_message(p: &Platform) {
    let ch = p.channel("e2e-api").await;
    let (tp, trace_id) = traceparent();
    let body = message("ext-1", "customer-1", "我的快递到哪了");
    let first = p
        .gateway
        .send(&ch.id, &ch.secret, &body, &[("traceparent", tp.clone())])
        .await;
    assert_eq!(first.status, 202, "{:?}", first.body);
    assert_eq!(first.body["status"], "accepted");
    let message_id = first.body["message_id"]
        .as_str()
        .expect("message_id")
        .to_owned();

    let reply = replies_to(&ch, "ext-1", 1).await.remove(0);
    let received = ch.webhook.received();
    let hook = received
        .iter()
        .find(|r| r.body["reply_to"] == "ext-1")
        .expect("reply");
    assert!(
        hook.signature_ok,
        "the reply's X-Kefu-Signature must verify with the channel secret"
    );
    assert_eq!(reply["sender"], "bot");
    assert_eq!(reply["bot"]["faq_id"], "logistics.where", "{reply}");
    assert!(reply["text"].as_str().unwrap().contains("物流"), "{reply}");
    assert_eq!(reply["external_user_id"], "customer-1");
    assert_eq!(hook.delivery_id.as_deref(), reply["message_id"].as_str());
    let hook_trace = hook
        .traceparent
        .as_deref()
        .expect("reply carries traceparent");
    assert!(
        hook_trace.contains(&trace_id),
        "reply trace {hook_trace} is not {trace_id}"
    );

    // Same message again: same 202, marked duplicate, and no second reply.
    let again = p.gateway.send(&ch.id, &ch.secret, &body, &[]).await;
    assert_eq!(again.status, 202);
    assert_eq!(again.body, first.body, "a re-send must get the same answer");
    assert_eq!(
        again
            .headers
            .get("kefu-duplicate")
            .map(|v| v.to_str().unwrap()),
        Some("true")
    );
    // A reused id with different content is refused, not silently dropped.
    let reused = p
        .gateway
        .send(
            &ch.id,
            &ch.secret,
            &message("ext-1", "customer-1", "别的内容"),
            &[],
        )
        .await;
    assert_eq!(reused.status, 409, "{:?}", reused.body);
    assert_eq!(reused.body["field"], "external_message_id");

    // A second message (Traditional Chinese) lands in the same conversation. Once its reply is
    // in, the first message still has exactly one reply.
    let second = p
        .gateway
        .send(
            &ch.id,
            &ch.secret,
            &message("ext-2", "customer-1", "怎麼還不發貨"),
            &[],
        )
        .await;
    assert_eq!(second.status, 202);
    let reply2 = replies_to(&ch, "ext-2", 1).await.remove(0);
    assert_eq!(reply2["bot"]["faq_id"], "shipping.urge", "{reply2}");
    assert_eq!(reply2["conversation_id"], reply["conversation_id"]);
    assert_eq!(
        replies_to(&ch, "ext-1", 1).await.len(),
        1,
        "duplicate reply delivered"
    );
    assert_eq!(ch.webhook.received().len(), 2);
    assert_ne!(message_id, second.body["message_id"].as_str().unwrap());

    // The session holds the whole conversation, bot turns included, for this tenant only.
    let mut session = SessionClient::connect(p.session_grpc.clone())
        .await
        .expect("session gRPC");
    let conversation_id = reply["conversation_id"].as_str().unwrap().to_owned();
    let history = session
        .list_messages(ListMessagesRequest {
            tenant_id: TENANT.into(),
            conversation_id: conversation_id.clone(),
            limit: 0,
        })
        .await
        .expect("history")
        .into_inner()
        .messages;
    let turns: Vec<(&str, &str)> = history
        .iter()
        .map(|m| (m.sender_kind.as_str(), m.text.as_str()))
        .collect();
    assert_eq!(turns.len(), 4, "{turns:?}");
    assert_eq!(turns[0], ("customer", "我的快递到哪了"));
    assert_eq!(turns[1].0, "bot");
    assert_eq!(turns[2], ("customer", "怎麼還不發貨"));
    assert_eq!(turns[3].0, "bot");
    let conv = session
        .get_conversation(GetConversationRequest {
            tenant_id: TENANT.into(),
            conversation_id: conversation_id.clone(),
        })
        .await
        .expect("conversation")
        .into_inner();
    assert_eq!(
        (conv.channel_id.as_str(), conv.status.as_str()),
        (ch.id.as_str(), "open")
    );
    let foreign = session
        .get_conversation(GetConversationRequest {
            tenant_id: "another-tenant".into(),
            conversation_id,
        })
        .await
        .expect_err("another tenant must not see it");
    assert_eq!(foreign.code(), tonic::Code::NotFound);

    // Operators see it: the gateway is ready and counts what it accepted and delivered.
    let ready = p.gateway.get("/readyz").await;
    assert_eq!(ready.status, 200, "{:?}", ready.body);
    let metrics = p.gateway.get("/metrics").await;
    let text = metrics.body.as_str().unwrap_or_default();
    for needle in [
        "kefu_gateway_inbound_messages",
        "outcome=\"accepted\"",
        "kefu_gateway_deliveries",
        "kefu_bus_messages",
    ] {
        assert!(text.contains(needle), "/metrics lacks {needle}:\n{text}");
    }

    // One trace across the hops.
    eventually("spans of every hop", WAIT, || async {
        let spans = p.otlp.spans(&trace_id);
        p.expected_spans
            .iter()
            .all(|(service, name)| {
                spans
                    .iter()
                    .any(|s| s.service == *service && s.name.contains(name))
            })
            .then_some(())
    })
    .await;
}

/// Every kind of bad request gets a 4xx JSON error naming the problem, and nothing is stored or
/// published: the valid message sent afterwards is the only one the webhook ever sees.
pub async fn bad_input(p: &Platform) {
    let ch = p.channel("e2e-bad").await;
    let good = serde_json::to_vec(&message("bad-1", "customer-bad", "怎么开发票")).unwrap();
    let sig = kefu_tests::sign(&ch.secret, &good);

    let r = p.gateway.post_raw(&ch.id, good.clone(), None, &[]).await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (401, Some("bad_signature")),
        "{:?}",
        r.body
    );
    let wrong = kefu_tests::sign("not-the-secret-at-all", &good);
    let r = p
        .gateway
        .post_raw(&ch.id, good.clone(), Some(wrong), &[])
        .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (401, Some("bad_signature"))
    );
    let r = p
        .gateway
        .post_raw("no-such-channel", good.clone(), Some(sig.clone()), &[])
        .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (404, Some("unknown_channel"))
    );
    assert_eq!(r.body["field"], "channel_id");

    let malformed = b"{\"external_message_id\": ".to_vec();
    let r = p
        .gateway
        .post_raw(
            &ch.id,
            malformed.clone(),
            Some(kefu_tests::sign(&ch.secret, &malformed)),
            &[],
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (400, Some("malformed_json")),
        "{:?}",
        r.body
    );

    let missing = serde_json::to_vec(
        &json!({"external_message_id": "bad-2", "external_user_id": "customer-bad"}),
    )
    .unwrap();
    let r = p
        .gateway
        .post_raw(
            &ch.id,
            missing.clone(),
            Some(kefu_tests::sign(&ch.secret, &missing)),
            &[],
        )
        .await;
    r.assert_invalid("text");

    // A key given twice (which would be last-wins), control characters in the text (NUL cannot
    // be stored in PostgreSQL; escapes would reach logs) and an empty merchant id are refused
    // on both backends alike, naming the field, before anything is stored.
    for (body, field) in [
        (
            r#"{"external_message_id":"bad-4","external_user_id":"customer-bad","text":"a","text":"b"}"#,
            "text",
        ),
        (
            r#"{"external_message_id":"bad-5","external_user_id":"customer-bad","text":"a\u0000b"}"#,
            "text",
        ),
        (
            r#"{"external_message_id":"bad-6","external_user_id":"customer-bad","text":"\u001b[2Jhi"}"#,
            "text",
        ),
        (
            r#"{"external_message_id":"bad-7","external_user_id":"customer-bad","text":"hi","merchant_id":""}"#,
            "merchant_id",
        ),
    ] {
        let raw = body.as_bytes().to_vec();
        let r = p
            .gateway
            .post_raw(
                &ch.id,
                raw.clone(),
                Some(kefu_tests::sign(&ch.secret, &raw)),
                &[],
            )
            .await;
        assert_eq!(
            (r.status, r.body["field"].as_str()),
            (422, Some(field)),
            "{body}: {:?}",
            r.body
        );
    }

    let big = serde_json::to_vec(&message("bad-3", "customer-bad", &"长".repeat(30_000))).unwrap();
    assert!(big.len() > 64 * 1024);
    let r = p
        .gateway
        .post_raw(
            &ch.id,
            big.clone(),
            Some(kefu_tests::sign(&ch.secret, &big)),
            &[],
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (413, Some("payload_too_large")),
        "{:?}",
        r.body
    );

    // Now the good one: it is the only reply that ever arrives.
    let r = p.gateway.post_raw(&ch.id, good, Some(sig), &[]).await;
    assert_eq!(r.status, 202);
    let replies = replies_to(&ch, "bad-1", 1).await;
    assert_eq!(replies[0]["bot"]["faq_id"], "invoice.issue");
    let all = ch.webhook.received();
    assert_eq!(
        all.len(),
        1,
        "only the valid message may produce a reply: {all:?}"
    );
}

/// A webhook that fails is retried with back-off until it takes the reply; the delivery's
/// record shows the attempts.
pub async fn webhook_retry(p: &Platform) {
    let ch = p.channel("e2e-retry").await;
    ch.webhook.set_status(503);
    let r = p
        .gateway
        .send(
            &ch.id,
            &ch.secret,
            &message("retry-1", "customer-r", "退款多久到账"),
            &[],
        )
        .await;
    assert_eq!(r.status, 202);
    // Let the first attempt fail, then let the receiver recover.
    eventually("a refused first attempt", WAIT, || async {
        (ch.webhook.refused() >= 1).then_some(())
    })
    .await;
    ch.webhook.set_status(204);
    let received = eventually("the retried reply", WAIT, || async {
        ch.webhook
            .received()
            .into_iter()
            .find(|r| r.body["reply_to"] == "retry-1")
    })
    .await;
    assert!(received.signature_ok);
    let id = received.delivery_id.expect("delivery id");
    // The receiver has the reply a moment before the gateway records the success.
    let d = eventually("the delivery recorded as delivered", WAIT, || async {
        let d = p.gateway.get(&format!("/v1/admin/deliveries/{id}")).await;
        assert_eq!(
            d.status, 200,
            "a retried delivery has a record: {:?}",
            d.body
        );
        (d.body["status"] == "delivered").then_some(d)
    })
    .await;
    assert!(d.body["attempts"].as_i64().unwrap() >= 2, "{:?}", d.body);
}
