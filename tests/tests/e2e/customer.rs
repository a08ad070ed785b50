//! The customer's side, written once and run against every mode: FAQ answers in each script,
//! order cards whose buttons work, multi-turn order choice, every handoff trigger with its
//! context, one customer across the web widget and the API channel, merge and unmerge, and the
//! web chat socket's own contract.

use crate::platform::{Platform, TENANT, TestChannel};
use kefu_tests::webchat::button;
use kefu_tests::{ChatSocket, eventually, identity_token};
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// 李雷 in `demo/orders.json`: three orders (paid, shipped, completed).
pub(crate) const LILEI_PHONE: &str = "13800000001";
/// 韩梅梅: one delivered jewellery order.
pub(crate) const HANMEIMEI_PHONE: &str = "13800000002";

async fn ask(ch: &TestChannel, p: &Platform, ext: &str, user: &str, body: Value) -> Value {
    let mut body = body;
    body["external_message_id"] = json!(ext);
    body["external_user_id"] = json!(user);
    let r = p.gateway.send(&ch.id, &ch.secret, &body, &[]).await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    eventually(&format!("the reply to {ext}"), WAIT, || async {
        ch.webhook
            .received()
            .into_iter()
            .find(|r| r.body["reply_to"] == ext)
            .map(|r| r.body)
    })
    .await
}

async fn say(ch: &TestChannel, p: &Platform, ext: &str, user: &str, text: &str) -> Value {
    ask(ch, p, ext, user, json!({ "text": text })).await
}

fn http(p: &Platform) -> &str {
    &p.gateway.base
}

/// An FAQ is answered whether the customer writes Simplified, Traditional or English; the
/// answer comes in the customer's script.
pub async fn faq_in_each_script(p: &Platform) {
    let ch = p.channel("faq-api").await;
    let hans = say(&ch, p, "s-1", "u-hans", "你们一般几天能送到啊").await;
    assert_eq!(hans["bot"]["faq_id"], "shipping.time", "{hans}");
    let hant = say(&ch, p, "t-1", "u-hant", "請問怎麼開發票").await;
    assert_eq!(hant["bot"]["faq_id"], "invoice.issue", "{hant}");
    assert!(
        hant["text"].as_str().unwrap().contains("發票"),
        "a Traditional-script customer reads Traditional: {hant}"
    );
    let en = say(&ch, p, "e-1", "u-en", "how long does delivery take").await;
    assert_eq!(en["bot"]["faq_id"], "shipping.time", "{en}");
    // The profile learns each customer's language.
    assert_eq!(lookup(p, &ch.id, "u-en").await["language"], "en");
    assert_eq!(lookup(p, &ch.id, "u-hant").await["language"], "zh-Hant");
    // Small talk is not a miss and needs no FAQ.
    let hi = say(&ch, p, "g-1", "u-hans", "您好").await;
    assert_eq!(hi["bot"]["intent"], "greeting", "{hi}");
    assert_eq!(hi["bot"]["faq_id"], "", "{hi}");
}

/// A signed-in customer on the web widget asks where their parcel is: the bot offers their
/// recent orders as cards, the customer picks one by its place ("第2个") and gets a logistics
/// card; the bot remembers the order for the next question. A button on an earlier card picks
/// another order, and that order card's "urge shipment" button really asks the order system.
pub async fn order_card_buttons(p: &Platform) {
    let web = p.web_channel("cards-web").await;
    let token = identity_token(
        &web.secret,
        json!({"sub": "lilei", "phone": LILEI_PHONE, "name": "李雷"}),
    );
    let mut s = ChatSocket::connect(http(p), &web.id, &format!("token={token}"))
        .await
        .expect("signed-in socket");
    let page = json!({"page_type": "order", "url": "https://mall.example/orders"});
    s.say("w-1", "我的快递到哪了", page.clone()).await;
    let which = s.reply_to("w-1").await;
    assert_eq!(which["bot"]["faq_id"], "logistics.where", "{which}");
    let choices = which["cards"].as_array().expect("order choices").clone();
    assert_eq!(choices.len(), 3, "the three recent orders: {which}");
    assert_eq!(choices[0]["order_id"], "D20261118001", "newest first");
    s.say("w-2", "第2个", page.clone()).await;
    let tracked = s.reply_to("w-2").await;
    assert_eq!(tracked["cards"][0]["kind"], "logistics", "{tracked}");
    assert_eq!(tracked["cards"][0]["order_id"], "D20261112002");
    assert!(
        tracked["text"].as_str().unwrap().contains("上海浦东"),
        "{tracked}"
    );
    // Remembered: the status question needs no second choice.
    s.say("w-3", "帮我查一下订单状态", page.clone()).await;
    let status = s.reply_to("w-3").await;
    assert_eq!(status["bot"]["faq_id"], "order.status", "{status}");
    assert_eq!(status["cards"].as_array().unwrap().len(), 1, "{status}");
    assert_eq!(status["cards"][0]["order_id"], "D20261112002", "{status}");
    // The earlier choice card's button picks the newest order instead.
    s.press("w-4", button(&choices[0], "select_order")).await;
    let picked = s.reply_to("w-4").await;
    let card = &picked["cards"][0];
    assert_eq!(card["kind"], "order", "{picked}");
    assert_eq!(card["order_id"], "D20261118001");
    // Paid and not shipped: the card offers to urge it; pressing does it.
    s.press("w-5", button(card, "urge_shipment")).await;
    let urged = s.reply_to("w-5").await;
    assert!(
        urged["text"].as_str().unwrap().contains("催促"),
        "the order system's own answer: {urged}"
    );
    assert!(
        urged["cards"][0]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["value"] == "已催发货"),
        "the refreshed card shows the order was urged: {urged}"
    );
    // The invoice question goes to the order now remembered.
    s.say("w-6", "这个订单能开发票吗", page).await;
    let invoice = s.reply_to("w-6").await;
    assert_eq!(invoice["cards"][0]["order_id"], "D20261118001", "{invoice}");
    assert!(
        invoice["text"].as_str().unwrap().contains("开票"),
        "{invoice}"
    );
    assert_eq!(
        button(&invoice["cards"][0], "handoff")["order_id"],
        "D20261118001"
    );
    s.close().await;
    // Each answer that acted on one order published `order.action_taken` once; the first
    // answer, which offered three orders to choose from, acted on none.
    let actions = eventually("the urge's order.action_taken", WAIT, || async {
        let actions: Vec<(String, String, String)> = p
            .events
            .events(TENANT)
            .await
            .iter()
            .filter(|e| e["event_type"] == "order.action_taken")
            .map(|e| {
                let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
                (s("action"), s("order_id"), s("message_id"))
            })
            .collect();
        actions
            .iter()
            .any(|(a, _, _)| a == "urge_shipment")
            .then_some(actions)
    })
    .await;
    let once = |action: &str, order: &str| {
        actions
            .iter()
            .filter(|(a, o, _)| a == action && o == order)
            .count()
    };
    assert_eq!(once("urge_shipment", "D20261118001"), 1, "{actions:?}");
    assert_eq!(once("logistics_lookup", "D20261112002"), 1, "{actions:?}");
    let first = which["message_id"].as_str().unwrap_or_default();
    assert!(
        !first.is_empty() && actions.iter().all(|(_, o, m)| !o.is_empty() && m != first),
        "{actions:?}"
    );
}

async fn conversation(p: &Platform, id: &str) -> Value {
    let r = p
        .gateway
        .get(&format!("/v1/admin/tenants/{TENANT}/conversations/{id}"))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

/// Checks a handoff reply and the conversation's stored handoff context.
async fn handed_off(p: &Platform, reply: &Value, reason: &str, said: &str) -> Value {
    assert_eq!(reply["bot"]["handoff"], true, "{reply}");
    assert_eq!(reply["bot"]["reason"], reason, "{reply}");
    let conv = conversation(p, reply["conversation_id"].as_str().unwrap()).await;
    assert_eq!(conv["mode"], "queued", "{conv}");
    let h = &conv["handoff"];
    assert_eq!(h["reason"], reason, "{conv}");
    assert!(
        h["transcript"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["sender"] == "customer" && l["text"] == said),
        "the transcript carries what the customer said: {h}"
    );
    assert!(
        h["profile"]["customer_id"]
            .as_str()
            .is_some_and(|c| !c.is_empty())
    );
    conv
}

/// Every handoff trigger hands the conversation to a person with its context; afterwards the
/// bot stays quiet in that conversation.
pub async fn handoffs(p: &Platform) {
    let ch = p.channel("handoff-api").await;
    // Explicit request.
    let r = say(&ch, p, "h-1", "u-human", "给我找个真人").await;
    handed_off(p, &r, "human_request", "给我找个真人").await;
    // Complaint.
    let r = say(
        &ch,
        p,
        "h-2",
        "u-complaint",
        "你们客服态度太恶劣了，我要投诉到底",
    )
    .await;
    handed_off(p, &r, "complaint", "你们客服态度太恶劣了，我要投诉到底").await;
    // Strongly negative sentiment.
    let r = say(&ch, p, "h-3", "u-angry", "垃圾东西，气死我了，太差劲了").await;
    handed_off(p, &r, "negative_sentiment", "垃圾东西，气死我了，太差劲了").await;
    // A card button, with the customer's identity and recent orders in the context.
    let known = json!({
        "text": "帮我查一下订单状态",
        "identities": [{"kind": "phone", "value": format!("+86 {HANMEIMEI_PHONE}")}],
        "profile": {"display_name": "韩梅梅", "tier": "gold"},
    });
    let r = ask(&ch, p, "h-4", "u-button", known).await;
    let card = &r["cards"][0];
    assert_eq!(
        card["order_id"], "J20261101001",
        "her only order is shown at once: {r}"
    );
    let pressed = ask(
        &ch,
        p,
        "h-5",
        "u-button",
        json!({"type": "action", "action": button(card, "handoff")}),
    )
    .await;
    let conv = handed_off(p, &pressed, "button", "帮我查一下订单状态").await;
    let profile = &conv["handoff"]["profile"];
    assert_eq!(profile["tier"], "gold", "{profile}");
    assert_eq!(
        profile["recent_orders"][0]["order_id"], "J20261101001",
        "{profile}"
    );
    assert!(
        conv["handoff"]["intents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i == "order"),
        "{conv}"
    );
    // Queued: the next message is stored but the bot does not answer it.
    let r = p
        .gateway
        .send(
            &ch.id,
            &ch.secret,
            &json!({"external_message_id": "h-6", "external_user_id": "u-button", "text": "还在吗"}),
            &[],
        )
        .await;
    assert_eq!(r.status, 202);
    let customer = profile["customer_id"].as_str().unwrap().to_owned();
    let history = eventually("the queued message in history", WAIT, || async {
        let h = p
            .gateway
            .get(&format!(
                "/v1/admin/tenants/{TENANT}/customers/{customer}/messages"
            ))
            .await;
        let msgs = h.body["messages"].as_array()?.clone();
        msgs.iter().any(|m| m["text"] == "还在吗").then_some(msgs)
    })
    .await;
    assert_eq!(
        history.last().unwrap()["text"],
        "还在吗",
        "no automatic answer after the handoff: {history:?}"
    );
    // N consecutive misses, with the tenant's own N.
    let s = p
        .gateway
        .put(
            &format!("/v1/admin/tenants/{TENANT}/settings"),
            json!({"merge_identity_kinds": ["phone", "member_id"], "handoff_after_misses": 2}),
        )
        .await;
    assert_eq!(s.status, 200, "{:?}", s.body);
    let first = say(&ch, p, "m-1", "u-lost", "明天会下雨吗").await;
    assert_eq!(first["bot"]["handoff"], false, "{first}");
    assert_eq!(first["bot"]["intent"], "fallback", "{first}");
    let hi = say(&ch, p, "m-2", "u-lost", "你好").await;
    assert_eq!(
        hi["bot"]["handoff"], false,
        "small talk is not a miss: {hi}"
    );
    let second = say(&ch, p, "m-3", "u-lost", "火星上有外卖吗").await;
    handed_off(p, &second, "repeated_misses", "明天会下雨吗").await;
    // Bad settings are refused with the field named.
    let bad = p
        .gateway
        .put(
            &format!("/v1/admin/tenants/{TENANT}/settings"),
            json!({"merge_identity_kinds": ["ssn"], "handoff_after_misses": 2}),
        )
        .await;
    bad.assert_invalid("merge_identity_kinds");
}

pub(crate) async fn lookup(p: &Platform, channel: &str, user: &str) -> Value {
    let r = p
        .gateway
        .get(&format!(
            "/v1/admin/tenants/{TENANT}/customers?channel_id={channel}&external_user_id={user}"
        ))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

pub(crate) async fn texts(p: &Platform, customer: &str) -> Vec<String> {
    let r = p
        .gateway
        .get(&format!(
            "/v1/admin/tenants/{TENANT}/customers/{customer}/messages"
        ))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["sender"] == "customer")
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect()
}

/// The same person on the web widget and on the API channel, identified by phone, is one
/// customer with one history — and the widget shows the API conversation on reconnect.
pub async fn one_customer_across_channels(p: &Platform) {
    let web = p.web_channel("same-web").await;
    let api = p.channel("same-api").await;
    let token = identity_token(&web.secret, json!({"sub": "hmm", "phone": HANMEIMEI_PHONE}));
    let mut s = ChatSocket::connect(http(p), &web.id, &format!("token={token}"))
        .await
        .expect("socket");
    s.say("x-1", "你好", json!({"page_type": "home"})).await;
    s.reply_to("x-1").await;
    let body = json!({
        "text": "戒指想改小一圈",
        "merchant_id": "jinyuan",
        "identities": [{"kind": "phone", "value": format!("+86-{HANMEIMEI_PHONE}")}],
    });
    let reply = ask(&api, p, "x-2", "crm-7", body).await;
    assert_eq!(reply["bot"]["faq_id"], "jewelry.size", "{reply}");
    let on_web = lookup(p, &web.id, "user:hmm").await;
    let on_api = lookup(p, &api.id, "crm-7").await;
    assert_eq!(on_web["customer_id"], on_api["customer_id"], "one customer");
    assert!(
        on_api["identities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["kind"] == "phone" && i["value"] == HANMEIMEI_PHONE)
    );
    assert_eq!(
        on_api["recent_orders"][0]["order_id"], "J20261101001",
        "the profile carries her orders: {on_api}"
    );
    let customer = on_web["customer_id"].as_str().unwrap();
    assert_eq!(texts(p, customer).await, ["你好", "戒指想改小一圈"]);
    s.close().await;
    let again = ChatSocket::connect(http(p), &web.id, &format!("token={token}"))
        .await
        .expect("reconnect");
    let history: Vec<&str> = again.history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert!(
        history.contains(&"戒指想改小一圈"),
        "the widget's history includes the API channel: {history:?}"
    );
    again.close().await;
}

/// Two customers merged by API share one history; unmerged, each has their own again. Another
/// tenant sees neither.
pub async fn merge_then_unmerge(p: &Platform) {
    let ch = p.channel("merge-api").await;
    let other = p.channel("merge-app").await;
    say(&ch, p, "a-1", "alice-old", "怎么开发票").await;
    say(&other, p, "b-1", "alice-new", "退款多久到账").await;
    let a = lookup(p, &ch.id, "alice-old").await["customer_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = lookup(p, &other.id, "alice-new").await["customer_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(a, b);
    let merged = p
        .gateway
        .post(
            &format!("/v1/admin/tenants/{TENANT}/customer-merges"),
            json!({"survivor_id": a, "absorbed_id": b}),
        )
        .await;
    assert_eq!(merged.status, 201, "{:?}", merged.body);
    assert_eq!(merged.body["conversations_moved"], 1);
    assert_eq!(texts(p, &a).await, ["怎么开发票", "退款多久到账"]);
    assert_eq!(lookup(p, &other.id, "alice-new").await["customer_id"], a);
    // New messages of the absorbed channel user join the merged history.
    say(&other, p, "b-2", "alice-new", "谢谢").await;
    assert_eq!(texts(p, &a).await.len(), 3);
    let merge_id = merged.body["merge_id"].as_str().unwrap();
    let undone = p
        .gateway
        .post(
            &format!("/v1/admin/tenants/{TENANT}/customer-merges/{merge_id}/undo"),
            json!({}),
        )
        .await;
    assert_eq!(undone.status, 200, "{:?}", undone.body);
    assert!(undone.body["unmerged_at"].is_string());
    assert_eq!(texts(p, &a).await, ["怎么开发票"]);
    assert_eq!(texts(p, &b).await, ["退款多久到账", "谢谢"]);
    assert_eq!(lookup(p, &other.id, "alice-new").await["customer_id"], b);
    let again = p
        .gateway
        .post(
            &format!("/v1/admin/tenants/{TENANT}/customer-merges/{merge_id}/undo"),
            json!({}),
        )
        .await;
    assert_eq!(again.status, 409, "{:?}", again.body);
    // Another tenant's path finds nothing.
    let elsewhere = p
        .gateway
        .get(&format!(
            "/v1/admin/tenants/other-tenant/customers/{a}/messages"
        ))
        .await;
    assert_eq!(elsewhere.status, 404, "{:?}", elsewhere.body);
    let bad = p
        .gateway
        .post(
            &format!("/v1/admin/tenants/{TENANT}/customer-merges"),
            json!({"survivor_id": a, "absorbed_id": "not-a-uuid"}),
        )
        .await;
    bad.assert_invalid("absorbed_id");
}

/// The socket's own contract: an anonymous visitor gets a credential and their history back
/// on reconnect; a re-send is acknowledged as a duplicate; bad frames get errors naming the
/// field and the socket stays open; bad credentials are refused before the upgrade.
pub async fn web_chat_socket(p: &Platform) {
    let web = p.web_channel("anon-web").await;
    let mut s = ChatSocket::connect(http(p), &web.id, "")
        .await
        .expect("socket");
    let visitor = s.welcome["visitor"]
        .as_str()
        .expect("a visitor credential")
        .to_owned();
    assert!(s.history["messages"].as_array().unwrap().is_empty());
    let page = json!({"page_type": "product", "product_id": "P-NUT-01", "url": "https://mall.example/p/nut"});
    let ack = s.say("v-1", "优惠券怎么用", page.clone()).await;
    assert_eq!(ack["duplicate"], false);
    s.next_of("typing", |_| true).await;
    let reply = s.reply_to("v-1").await;
    assert_eq!(reply["bot"]["faq_id"], "coupon.use", "{reply}");
    let conv = conversation(p, reply["conversation_id"].as_str().unwrap()).await;
    assert_eq!(
        conv["page"]["product_id"], "P-NUT-01",
        "page context kept: {conv}"
    );
    // The same client id again (a widget retrying after a blip) is not a second message.
    let dup = s.say("v-1", "优惠券怎么用", page.clone()).await;
    assert_eq!(dup["duplicate"], true);
    assert_eq!(dup["message_id"], ack["message_id"]);
    // Bad frames: errors name the field, the socket carries on.
    s.send(json!({"type": "message", "text": "no id"})).await;
    let e = s.next_of("error", |_| true).await;
    assert_eq!(e["field"], "id", "{e}");
    s.send(json!({"type": "message", "id": "v-2", "text": "x", "page": {"page_type": "moon"}}))
        .await;
    let e = s.next_of("error", |f| f["id"] == "v-2").await;
    assert_eq!(e["field"], "page.page_type", "{e}");
    s.send(json!({"type": "dance", "id": "v-3"})).await;
    let e = s.next_of("error", |f| f["id"] == "v-3").await;
    assert_eq!(e["field"], "type");
    // A frame over the 64 KiB limit: an error naming its id (the widget stops re-sending it),
    // and the socket carries on.
    let over = json!({"type": "message", "id": "v-big", "text": "长".repeat(30_000)}).to_string();
    assert!(over.len() > 64 * 1024 && over.len() < 4 * 64 * 1024);
    s.send_raw(over).await;
    let e = s.next_of("error", |f| f["id"] == "v-big").await;
    assert_eq!(e["error"], "payload_too_large", "{e}");
    // Duplicate keys and control characters are refused as on the API channel.
    s.send_raw(r#"{"type":"message","id":"v-4","text":"a","text":"b"}"#.into())
        .await;
    let e = s.next_of("error", |f| f["field"] == "text").await;
    assert_eq!(e["error"], "invalid_field", "{e}");
    s.send(json!({"type": "message", "id": "v-5", "text": "a\u{1b}[31mb"}))
        .await;
    let e = s.next_of("error", |f| f["id"] == "v-5").await;
    assert_eq!(e["field"], "text", "{e}");
    s.send(json!({"type": "typing"})).await;
    s.send(json!({"type": "ping"})).await;
    s.next_of("pong", |_| true).await;
    s.close().await;
    // Past four times the limit a frame is not read at all: closed with 1009, not reset.
    let mut huge = ChatSocket::connect(http(p), &web.id, &format!("visitor={visitor}"))
        .await
        .expect("reconnect");
    huge.send_raw("x".repeat(300 * 1024)).await;
    assert_eq!(huge.close_code().await, Some(1009));
    // Back with the credential: the history is there.
    let back = ChatSocket::connect(http(p), &web.id, &format!("visitor={visitor}"))
        .await
        .expect("reconnect");
    let texts: Vec<&str> = back.history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert!(texts.contains(&"优惠券怎么用"), "{texts:?}");
    back.close().await;
    // Refused before the upgrade, with the field named.
    // The credential with its last hex digit changed.
    let (head, last) = visitor.split_at(visitor.len() - 1);
    let tampered = format!("{head}{}", if last == "0" { "1" } else { "0" });
    let forged = ChatSocket::connect(http(p), &web.id, &format!("visitor={tampered}"))
        .await
        .err()
        .expect("a forged visitor credential is refused");
    assert_eq!(
        (forged.status, forged.body["field"].as_str()),
        (401, Some("visitor"))
    );
    let wrong_key = identity_token("not-the-channel-secret", json!({"sub": "x"}));
    let bad = ChatSocket::connect(http(p), &web.id, &format!("token={wrong_key}"))
        .await
        .err()
        .expect("a token signed with another key is refused");
    assert_eq!(
        (bad.status, bad.body["field"].as_str()),
        (401, Some("token"))
    );
    let api = p.channel("not-web").await;
    let not_web = ChatSocket::connect(http(p), &api.id, "")
        .await
        .err()
        .expect("an API channel has no socket");
    assert_eq!(not_web.status, 422);
    let unknown = ChatSocket::connect(http(p), "no-such-channel", "")
        .await
        .err()
        .expect("unknown");
    assert_eq!(unknown.status, 404);
}

/// The Tenant document (what `kefu apply` and the operator send) carries the tenant's rules:
/// the session picks them up from the bus without a restart.
pub async fn tenant_rules_from_config(p: &Platform) {
    let ch = p.channel("rules-api").await;
    let spec = json!({
        "displayName": "E2E 商城",
        "customers": {"mergeIdentityKinds": ["phone", "email"]},
        "bot": {"handoffAfterMisses": 1},
    });
    let put = p
        .gateway
        .put(
            &format!("/v1/admin/tenants/{TENANT}/config/tenant/{TENANT}"),
            spec,
        )
        .await;
    assert!(put.status == 200 || put.status == 201, "{:?}", put.body);
    eventually("the session applies the tenant's rules", WAIT, || async {
        let s = p
            .gateway
            .get(&format!("/v1/admin/tenants/{TENANT}/settings"))
            .await;
        (s.body["handoff_after_misses"] == 1
            && s.body["merge_identity_kinds"] == json!(["phone", "email"]))
        .then_some(())
    })
    .await;
    let miss = say(&ch, p, "r-1", "u-rules", "明天会下雨吗").await;
    handed_off(p, &miss, "repeated_misses", "明天会下雨吗").await;
    // A bad rule is refused with its field path, and nothing changes.
    let bad = p
        .gateway
        .put(
            &format!("/v1/admin/tenants/{TENANT}/config/tenant/{TENANT}"),
            json!({"displayName": "x", "bot": {"handoffAfterMisses": 0}}),
        )
        .await;
    bad.assert_invalid("spec.bot.handoffAfterMisses");
}
