//! The provider channels, written once and run against every mode: each channel's real
//! protocol in — signed and encrypted by an independent implementation of the provider's side
//! (`kefu_tests::Peer`: wechatpy, twilio) — answered by the bot through the channel's outbound
//! path (a stand-in for the provider's API records what Kefu sends); re-sends answered once;
//! bad signatures, tampered ciphertexts, malformed and oversized payloads refused with what the
//! provider expects, and nothing stored.

use crate::customer::{lookup, texts};
use crate::platform::{Platform, TENANT};
use kefu_tests::providers::Recorded;
use kefu_tests::{Peer, ProviderStandIn, Reply, eventually};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// WeChat's side of a channel: its secrets, the stand-in for its API, and wechatpy.
pub struct Wechat {
    pub id: String,
    pub token: String,
    pub aes_key: String,
    pub app_id: String,
    pub api: ProviderStandIn,
    pub peer: Peer,
    /// Access tokens the stand-in issued.
    pub tokens: Arc<AtomicUsize>,
}

fn now() -> String {
    chrono::Utc::now().timestamp().to_string()
}

fn nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

/// A random EncodingAESKey (43 base64 characters), as WeChat's console makes them.
fn aes_key() -> String {
    let a = uuid::Uuid::new_v4().simple().to_string();
    let b = uuid::Uuid::new_v4().simple().to_string();
    format!("{a}{b}")[..43].to_owned()
}

impl Wechat {
    /// A `wechat` or `miniprogram` channel of the test's own, in safe mode unless `settings`
    /// say otherwise, its API served by a stand-in.
    pub async fn start(p: &Platform, id: &str, channel_type: &str, settings: Value) -> Wechat {
        let api = ProviderStandIn::start().await;
        let tokens = Arc::new(AtomicUsize::new(0));
        let issued = tokens.clone();
        api.answer_with("/cgi-bin/token", move |r| {
            assert_eq!(r.query["grant_type"], "client_credential");
            let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
            (
                200,
                json!({"access_token": format!("token-{n}"), "expires_in": 7200}),
            )
        });
        api.answer(
            "/cgi-bin/message/custom/send",
            200,
            json!({"errcode": 0, "errmsg": "ok"}),
        );
        api.answer_with("/cgi-bin/user/info", |r| {
            let openid = r.query.get("openid").cloned().unwrap_or_default();
            (
                200,
                json!({"subscribe": 1, "openid": openid, "unionid": format!("union-{openid}")}),
            )
        });
        let wx = Wechat {
            id: id.to_owned(),
            token: format!("wxtoken{}", nonce()),
            aes_key: aes_key(),
            app_id: format!("wx{}", &uuid::Uuid::new_v4().simple().to_string()[..16]),
            api,
            peer: Peer::start().await,
            tokens,
        };
        let mut wechat = json!({"appId": wx.app_id, "apiBase": wx.api.url});
        for (k, v) in settings.as_object().unwrap() {
            wechat[k] = v.clone();
        }
        let t = p.gateway.upsert_tenant(TENANT, "E2E 商城").await;
        assert_eq!(t.status, 200, "{:?}", t.body);
        let c = p
            .gateway
            .put(
                &format!("/v1/admin/channels/{id}"),
                json!({
                    "tenant_id": TENANT, "channel_type": channel_type, "secret": wx.token,
                    "settings": {"wechat": wechat},
                    "credentials": {"app_secret": "wx-app-secret-0123456789", "aes_key": wx.aes_key}
                }),
            )
            .await;
        assert_eq!(c.status, 200, "{:?}", c.body);
        wx
    }

    fn url(&self, p: &Platform, query: &[(&str, &str)]) -> String {
        let q: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query)
            .finish();
        format!("{}/v1/channels/{}/messages?{q}", p.gateway.base, self.id)
    }

    /// POSTs `body` with `query` as WeChat would.
    pub async fn post(&self, p: &Platform, query: &[(&str, &str)], body: Vec<u8>) -> Reply {
        let resp = p
            .gateway
            .http
            .post(self.url(p, query))
            .header("content-type", "text/xml")
            .body(body)
            .send()
            .await
            .expect("gateway reachable");
        Reply::from_response(resp).await
    }

    /// `xml` encrypted and signed by wechatpy, pushed in safe mode.
    pub async fn push(&self, p: &Platform, xml: &str) -> Reply {
        let (ts, nonce) = (now(), nonce());
        let e = self
            .peer
            .call(
                json!({"command": "wechat_encrypt", "token": self.token, "aes_key": self.aes_key,
                "app_id": self.app_id, "xml": xml, "nonce": nonce, "timestamp": ts}),
            )
            .await;
        let signature = self.peer.wechat_signature(&self.token, &ts, &nonce).await;
        self.post(
            p,
            &[
                ("signature", &signature),
                ("timestamp", &ts),
                ("nonce", &nonce),
                ("openid", "o"),
                ("encrypt_type", "aes"),
                ("msg_signature", e["msg_signature"].as_str().unwrap()),
            ],
            e["xml"].as_str().unwrap().as_bytes().to_vec(),
        )
        .await
    }

    /// The customer-service messages Kefu sent so far.
    pub fn sent(&self) -> Vec<Recorded> {
        self.api.requests("/cgi-bin/message/custom/send")
    }

    /// Waits for `n` customer-service messages.
    pub async fn replies(&self, n: usize) -> Vec<Value> {
        eventually(
            &format!("{n} WeChat customer-service messages"),
            WAIT,
            || async {
                let sent = self.sent();
                (sent.len() >= n).then(|| sent.iter().map(Recorded::json).collect())
            },
        )
        .await
    }
}

pub fn text_xml(openid: &str, msg_id: &str, content: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_e2e]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>",
        now()
    )
}

fn event_xml(openid: &str, event: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_e2e]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event></xml>",
        now()
    )
}

/// An Official Account in safe mode, end to end: the URL check; a new follower's encrypted
/// welcome (decrypted and its signature checked by wechatpy); messages encrypted by wechatpy
/// answered by the bot through the customer-service API with one access token; WeChat's retry
/// answered once; every kind of bad push refused with nothing stored; the UnionID learnt.
pub async fn wechat_official_account(p: &Platform) {
    let wx = Wechat::start(
        p,
        "wx-oa",
        "wechat",
        json!({"welcome": "欢迎关注 Kefu 演示商城！"}),
    )
    .await;
    let openid = format!("o{}", nonce());

    // The URL check: echostr back when the signature verifies.
    let (ts, n) = (now(), nonce());
    let sig = wx.peer.wechat_signature(&wx.token, &ts, &n).await;
    let url = wx.url(
        p,
        &[
            ("signature", &sig),
            ("timestamp", &ts),
            ("nonce", &n),
            ("echostr", "echo-123"),
        ],
    );
    let r = Reply::from_response(p.gateway.http.get(url).send().await.unwrap()).await;
    assert_eq!((r.status, r.body.as_str()), (200, Some("echo-123")));
    let url = wx.url(
        p,
        &[
            ("signature", "0000"),
            ("timestamp", &ts),
            ("nonce", &n),
            ("echostr", "x"),
        ],
    );
    let r = Reply::from_response(p.gateway.http.get(url).send().await.unwrap()).await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (401, Some("bad_signature"))
    );

    // A new follower gets the welcome as a passive reply, encrypted like the push.
    let r = wx.push(p, &event_xml(&openid, "subscribe")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let reply = wx
        .peer
        .call(
            json!({"command": "wechat_decrypt", "token": wx.token, "aes_key": wx.aes_key,
            "app_id": wx.app_id, "xml": r.body.as_str().expect("an XML body")}),
        )
        .await;
    assert_eq!(
        reply["fields"]["Content"], "欢迎关注 Kefu 演示商城！",
        "{reply}"
    );
    assert_eq!(reply["fields"]["ToUserName"], openid.as_str());
    assert_eq!(reply["fields"]["MsgType"], "text");

    // A message: `success` at once, the bot's answer through the customer-service API.
    let first = text_xml(&openid, "10001", "我的快递到哪了");
    let r = wx.push(p, &first).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, Some("success")),
        "{:?}",
        r.body
    );
    let sent = wx.replies(1).await;
    assert_eq!(sent[0]["touser"], openid.as_str());
    assert_eq!(sent[0]["msgtype"], "text");
    assert!(
        sent[0]["text"]["content"]
            .as_str()
            .unwrap()
            .contains("物流"),
        "{}",
        sent[0]
    );
    assert_eq!(wx.sent()[0].query["access_token"], "token-1");
    // WeChat retries a push it got no answer to: the same MsgId is answered once.
    let r = wx.push(p, &first).await;
    assert_eq!((r.status, r.body.as_str()), (200, Some("success")));
    let r = wx
        .push(p, &text_xml(&openid, "10002", "怎麼還不發貨"))
        .await;
    assert_eq!(r.status, 200);
    wx.replies(2).await;

    // Bad pushes: each refused, none stored or answered.
    let (ts, n) = (now(), nonce());
    let e = wx
        .peer
        .call(json!({"command": "wechat_encrypt", "token": wx.token, "aes_key": wx.aes_key,
            "app_id": wx.app_id, "xml": text_xml(&openid, "10003", "坏的"), "nonce": n, "timestamp": ts}))
        .await;
    let (xml, msg_sig, encrypt) = (
        e["xml"].as_str().unwrap().to_owned(),
        e["msg_signature"].as_str().unwrap().to_owned(),
        e["encrypt"].as_str().unwrap().to_owned(),
    );
    let query = |msg_sig: &str| {
        vec![
            ("timestamp".to_owned(), ts.clone()),
            ("nonce".to_owned(), n.clone()),
            ("encrypt_type".to_owned(), "aes".to_owned()),
            ("msg_signature".to_owned(), msg_sig.to_owned()),
        ]
    };
    let wx = &wx;
    let post = |q: Vec<(String, String)>, body: Vec<u8>| async move {
        let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        wx.post(p, &q, body).await
    };
    // A wrong msg_signature.
    let r = post(
        query("0123456789abcdef0123456789abcdef01234567"),
        xml.clone().into_bytes(),
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (401, Some("bad_signature")),
        "{:?}",
        r.body
    );
    // A tampered ciphertext, its signature no longer matching.
    let mut flipped: Vec<char> = encrypt.chars().collect();
    flipped[40] = if flipped[40] == 'A' { 'B' } else { 'A' };
    let tampered: String = flipped.into_iter().collect();
    let r = post(
        query(&msg_sig),
        xml.replace(&encrypt, &tampered).into_bytes(),
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (401, Some("bad_signature"))
    );
    // A tampered ciphertext signed anew by someone who has the token but not the key.
    let resigned = kefu_channels_signature(&[&wx.token, &ts, &n, &tampered]);
    let r = post(
        query(&resigned),
        xml.replace(&encrypt, &tampered).into_bytes(),
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (401, Some("bad_signature")),
        "{:?}",
        r.body
    );
    // Encrypted for another AppID.
    let other = wx
        .peer
        .call(json!({"command": "wechat_encrypt", "token": wx.token, "aes_key": wx.aes_key,
            "app_id": "wx00000000000000ff", "xml": text_xml(&openid, "10004", "别的号"), "nonce": n, "timestamp": ts}))
        .await;
    let r = post(
        query(other["msg_signature"].as_str().unwrap()),
        other["xml"].as_str().unwrap().as_bytes().to_vec(),
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (401, Some("bad_signature"))
    );
    // A plain push: safe mode takes encrypted ones only.
    let sig = wx.peer.wechat_signature(&wx.token, &ts, &n).await;
    let r = wx
        .post(
            p,
            &[("signature", &sig), ("timestamp", &ts), ("nonce", &n)],
            text_xml(&openid, "10005", "明文").into_bytes(),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (401, Some("bad_signature"))
    );
    // Malformed XML inside a well-encrypted push; a message without its MsgId.
    for (inner, status) in [
        ("<xml><Content>unclosed", 400),
        (
            "<xml><FromUserName>o</FromUserName><MsgType>text</MsgType><Content>x</Content></xml>",
            422,
        ),
    ] {
        let e = wx
            .peer
            .call(
                json!({"command": "wechat_encrypt", "token": wx.token, "aes_key": wx.aes_key,
                "app_id": wx.app_id, "xml": inner, "nonce": n, "timestamp": ts}),
            )
            .await;
        let r = post(
            query(e["msg_signature"].as_str().unwrap()),
            e["xml"].as_str().unwrap().as_bytes().to_vec(),
        )
        .await;
        assert_eq!(r.status, status, "{inner}: {:?}", r.body);
    }
    // Oversized.
    let big = format!("<xml><Encrypt>{}</Encrypt></xml>", "A".repeat(70 * 1024));
    let r = post(query(&msg_sig), big.into_bytes()).await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (413, Some("payload_too_large"))
    );
    // An old push replayed.
    let stale = (chrono::Utc::now().timestamp() - 3600).to_string();
    let e = wx
        .peer
        .call(json!({"command": "wechat_encrypt", "token": wx.token, "aes_key": wx.aes_key,
            "app_id": wx.app_id, "xml": text_xml(&openid, "10006", "旧的"), "nonce": n, "timestamp": stale}))
        .await;
    let r = wx
        .post(
            p,
            &[
                ("timestamp", &stale),
                ("nonce", &n),
                ("encrypt_type", "aes"),
                ("msg_signature", e["msg_signature"].as_str().unwrap()),
            ],
            e["xml"].as_str().unwrap().as_bytes().to_vec(),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (401, Some("bad_signature"))
    );

    // Nothing of those was stored: the customer's history is the two good messages, and the
    // WeChat customer has their UnionID as an identity.
    let customer = lookup(p, &wx.id, &openid).await;
    let id = customer["customer_id"].as_str().unwrap();
    assert_eq!(texts(p, id).await, ["我的快递到哪了", "怎麼還不發貨"]);
    let identities = customer["identities"].as_array().unwrap();
    assert!(
        identities
            .iter()
            .any(|i| i["kind"] == "wechat_unionid" && i["value"] == format!("union-{openid}")),
        "{customer}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(wx.sent().len(), 2, "only the good messages are answered");
    assert_eq!(
        wx.tokens.load(Ordering::SeqCst),
        1,
        "one access token for every send"
    );
    assert_eq!(
        wx.api.requests("/cgi-bin/user/info").len(),
        1,
        "the UnionID is asked once"
    );
}

/// `msg_signature` as anyone with the token can compute it (wechatpy's, through the peer, is
/// the same; this one is used to re-sign a tampered ciphertext).
fn kefu_channels_signature(parts: &[&str]) -> String {
    use sha1::{Digest, Sha1};
    let mut sorted = parts.to_vec();
    sorted.sort_unstable();
    hex::encode(Sha1::digest(sorted.concat().as_bytes()))
}

/// Sends within WeChat's rules: an expired access token is renewed once and the send
/// retried; a reply WeChat refuses as outside the customer-service window is not retried but
/// reported (`message.undeliverable`) for the agent.
pub async fn wechat_window_and_quota(p: &Platform) {
    let wx = Wechat::start(p, "wx-quota", "wechat", json!({"quota": 5})).await;
    let openid = format!("o{}", nonce());
    // The first send finds its token expired (WeChat's 42001): a new one, and the send again.
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    wx.api
        .answer_with("/cgi-bin/message/custom/send", move |r| {
            match seen.fetch_add(1, Ordering::SeqCst) {
                0 => {
                    assert_eq!(r.query["access_token"], "token-1");
                    (
                        200,
                        json!({"errcode": 42001, "errmsg": "access_token expired"}),
                    )
                }
                // WeChat's own count says the window has closed.
                2 => (
                    200,
                    json!({"errcode": 45015, "errmsg": "response out of time limit"}),
                ),
                _ => (200, json!({"errcode": 0, "errmsg": "ok"})),
            }
        });
    let r = wx.push(p, &text_xml(&openid, "20001", "怎么开发票")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    eventually("the answer after a new token", WAIT, || async {
        (wx.sent().len() >= 2).then_some(())
    })
    .await;
    assert_eq!(wx.tokens.load(Ordering::SeqCst), 2, "renewed once");
    assert_eq!(wx.sent()[1].query["access_token"], "token-2");
    let r = wx
        .push(p, &text_xml(&openid, "20002", "退款多久到账"))
        .await;
    assert_eq!(r.status, 200);
    let events = eventually("message.undeliverable", WAIT, || async {
        let ev: Vec<Value> = p
            .events
            .events(TENANT)
            .await
            .into_iter()
            .filter(|e| e["event_type"] == "message.undeliverable")
            .collect();
        (!ev.is_empty()).then_some(ev)
    })
    .await;
    assert_eq!(events[0]["reason"], "window_closed", "{events:?}");
    assert_eq!(events[0]["channel_type"], "wechat");
    assert_eq!(events[0]["sender_kind"], "bot");
    // Not retried: WeChat saw it once.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(wx.sent().len(), 3);
    assert_eq!(events.len(), 1);
}

/// A mini-program's customer service: JSON pushes (safe mode: the JSON envelope with its
/// `Encrypt`, by wechatpy's cipher), answered through the customer-service API; a re-send
/// answered once; a plain push refused in safe mode; the customer's entering the session is
/// only acknowledged.
pub async fn wechat_mini_program(p: &Platform) {
    let wx = Wechat::start(p, "wx-mini", "miniprogram", json!({})).await;
    let openid = format!("o{}", nonce());
    let push = |body: Value| {
        let wx = &wx;
        async move {
            let (ts, n) = (now(), nonce());
            let e = wx
                .peer
                .call(json!({"command": "wechat_encrypt_text", "token": wx.token, "aes_key": wx.aes_key,
                    "app_id": wx.app_id, "text": body.to_string(), "nonce": n, "timestamp": ts}))
                .await;
            let envelope = json!({"ToUserName": "gh_mini", "Encrypt": e["encrypt"]});
            wx.post(
                p,
                &[
                    ("timestamp", &ts),
                    ("nonce", &n),
                    ("encrypt_type", "aes"),
                    ("msg_signature", e["msg_signature"].as_str().unwrap()),
                ],
                envelope.to_string().into_bytes(),
            )
            .await
        }
    };
    let message = json!({"ToUserName": "gh_mini", "FromUserName": openid, "CreateTime": now().parse::<i64>().unwrap(),
        "MsgType": "text", "Content": "怎么开发票", "MsgId": 7_000_000_000_000_001_i64});
    let r = push(message.clone()).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, Some("success")),
        "{:?}",
        r.body
    );
    let sent = wx.replies(1).await;
    assert_eq!(sent[0]["touser"], openid.as_str());
    assert!(
        sent[0]["text"]["content"]
            .as_str()
            .unwrap()
            .contains("发票"),
        "{}",
        sent[0]
    );
    let r = push(message).await;
    assert_eq!((r.status, r.body.as_str()), (200, Some("success")));
    let r = push(json!({"ToUserName": "gh_mini", "FromUserName": openid, "CreateTime": now().parse::<i64>().unwrap(),
        "MsgType": "event", "Event": "user_enter_tempsession", "SessionFrom": "product-7"}))
    .await;
    assert_eq!((r.status, r.body.as_str()), (200, Some("success")));
    // Safe mode: an unencrypted JSON push is refused.
    let (ts, n) = (now(), nonce());
    let sig = wx.peer.wechat_signature(&wx.token, &ts, &n).await;
    let plain = json!({"ToUserName": "gh_mini", "FromUserName": openid, "CreateTime": 1, "MsgType": "text", "Content": "x", "MsgId": 9});
    let r = wx
        .post(
            p,
            &[("signature", &sig), ("timestamp", &ts), ("nonce", &n)],
            plain.to_string().into_bytes(),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (401, Some("bad_signature"))
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(wx.sent().len(), 1, "answered once");
    let customer = lookup(p, &wx.id, &openid).await;
    assert_eq!(
        texts(p, customer["customer_id"].as_str().unwrap()).await,
        ["怎么开发票"]
    );
}

/// The stand-in's WeChat Customer Service: messages waiting to be pulled (`kf/sync_msg` reads
/// them from a cursor that is their count), sends recorded.
#[derive(Clone, Default)]
struct KfQueue(Arc<std::sync::Mutex<Vec<Value>>>);

impl KfQueue {
    fn add(&self, msgid: &str, user: &str, open_kfid: &str, text: &str) {
        self.0.lock().unwrap().push(json!({
            "msgid": msgid, "open_kfid": open_kfid, "external_userid": user,
            "send_time": chrono::Utc::now().timestamp(), "origin": 3,
            "msgtype": "text", "text": {"content": text}
        }));
    }
}

/// WeChat Customer Service through WeCom: the encrypted URL check; a callback makes Kefu pull
/// with `kf/sync_msg` from its stored cursor and the bot answers with `kf/send_msg`; a repeated
/// callback pulls nothing new and nothing is answered twice; bad callbacks are refused; and the
/// customer, known by the same UnionID on an Official Account, is one customer with one history.
pub async fn wechat_customer_service(p: &Platform) {
    let api = ProviderStandIn::start().await;
    let queue = KfQueue::default();
    api.answer(
        "/cgi-bin/gettoken",
        200,
        json!({"errcode": 0, "access_token": "kf-token", "expires_in": 7200}),
    );
    let q = queue.clone();
    api.answer_with("/cgi-bin/kf/sync_msg", move |r| {
        assert_eq!(r.query["access_token"], "kf-token");
        let body = r.json();
        let all = q.0.lock().unwrap().clone();
        let from: usize = body["cursor"].as_str().unwrap_or("0").parse().unwrap();
        (
            200,
            json!({"errcode": 0, "errmsg": "ok", "next_cursor": all.len().to_string(),
            "has_more": 0, "msg_list": all[from..]}),
        )
    });
    api.answer(
        "/cgi-bin/kf/send_msg",
        200,
        json!({"errcode": 0, "errmsg": "ok", "msgid": "x"}),
    );
    api.answer_with("/cgi-bin/kf/customer/batchget", |r| {
        let user = r.json()["external_userid_list"][0].as_str().unwrap_or_default().to_owned();
        (200, json!({"errcode": 0, "customer_list": [{"external_userid": user, "nickname": "李", "unionid": format!("union-{user}")}]}))
    });
    let (token, aes_key, corp_id, kf_id) = (
        format!("kftoken{}", nonce()),
        aes_key(),
        "ww0123456789abcdef",
        "wkE2Eaccount",
    );
    let t = p.gateway.upsert_tenant(TENANT, "E2E 商城").await;
    assert_eq!(t.status, 200, "{:?}", t.body);
    let c = p
        .gateway
        .put(
            "/v1/admin/channels/kf-1",
            json!({"tenant_id": TENANT, "channel_type": "wecom", "secret": token,
                "settings": {"wecom": {"corpId": corp_id, "openKfId": kf_id, "apiBase": api.url}},
                "credentials": {"app_secret": "kf-secret-0123456789", "aes_key": aes_key}}),
        )
        .await;
    assert_eq!(c.status, 200, "{:?}", c.body);
    let peer = Peer::start().await;
    let url = |query: &[(&str, &str)]| {
        let q: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query)
            .finish();
        format!("{}/v1/channels/kf-1/messages?{q}", p.gateway.base)
    };

    // The URL check: the encrypted echostr, decrypted.
    let (ts, n) = (now(), nonce());
    let echo = peer
        .call(
            json!({"command": "wechat_encrypt_text", "token": token, "aes_key": aes_key,
            "app_id": corp_id, "text": "echo-42", "nonce": n, "timestamp": ts}),
        )
        .await;
    let check = url(&[
        ("msg_signature", echo["msg_signature"].as_str().unwrap()),
        ("timestamp", &ts),
        ("nonce", &n),
        ("echostr", echo["encrypt"].as_str().unwrap()),
    ]);
    let r = Reply::from_response(p.gateway.http.get(check).send().await.unwrap()).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, Some("echo-42")),
        "{:?}",
        r.body
    );

    let callback = |open_kfid: &'static str| {
        let (peer, token, aes_key) = (&peer, token.clone(), aes_key.clone());
        async move {
            let (ts, n) = (now(), nonce());
            let xml = format!(
                "<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><CreateTime>{ts}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event><Token><![CDATA[ENC{n}]]></Token><OpenKfId><![CDATA[{open_kfid}]]></OpenKfId></xml>"
            );
            let e = peer
                .call(
                    json!({"command": "wecom_encrypt", "token": token, "aes_key": aes_key,
                    "corp_id": corp_id, "xml": xml, "nonce": n, "timestamp": ts}),
                )
                .await;
            let resp = p
                .gateway
                .http
                .post(url(&[
                    ("msg_signature", e["msg_signature"].as_str().unwrap()),
                    ("timestamp", &ts),
                    ("nonce", &n),
                ]))
                .body(e["xml"].as_str().unwrap().to_owned())
                .send()
                .await
                .unwrap();
            Reply::from_response(resp).await
        }
    };
    let sent = || api.requests("/cgi-bin/kf/send_msg");
    let user = format!("wm{}", nonce());
    queue.add("kfm-1", &user, kf_id, "我的快递到哪了");
    let r = callback(kf_id).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, Some("success")),
        "{:?}",
        r.body
    );
    let first = eventually("the kf/send_msg answer", WAIT, || async {
        sent().first().map(Recorded::json)
    })
    .await;
    assert_eq!(first["touser"], user.as_str());
    assert_eq!(first["open_kfid"], kf_id);
    assert_eq!(first["msgid"].as_str().unwrap().len(), 32);
    assert!(
        first["text"]["content"].as_str().unwrap().contains("物流"),
        "{first}"
    );
    // WeCom calls again (or a retry): nothing new is pulled, nothing answered twice.
    let r = callback(kf_id).await;
    assert_eq!(r.status, 200);
    queue.add("kfm-2", &user, kf_id, "怎么开发票");
    let r = callback(kf_id).await;
    assert_eq!(r.status, 200);
    eventually("the second answer", WAIT, || async {
        (sent().len() >= 2).then_some(())
    })
    .await;
    let pulls = api.requests("/cgi-bin/kf/sync_msg");
    assert_eq!(
        pulls[0].json().get("cursor"),
        None,
        "the first pull starts at the beginning"
    );
    assert_eq!(
        pulls.last().unwrap().json()["cursor"],
        "1",
        "then from the stored cursor"
    );
    assert_eq!(pulls.last().unwrap().json()["open_kfid"], kf_id);
    // A callback for another account of the corp pulls nothing; bad ones are refused.
    let before = api.requests("/cgi-bin/kf/sync_msg").len();
    let r = callback("wkOther").await;
    assert_eq!((r.status, r.body.as_str()), (200, Some("success")));
    assert_eq!(api.requests("/cgi-bin/kf/sync_msg").len(), before);
    let (ts, n) = (now(), nonce());
    let r = Reply::from_response(
        p.gateway
            .http
            .post(url(&[
                ("msg_signature", "00"),
                ("timestamp", &ts),
                ("nonce", &n),
            ]))
            .body("<xml><Encrypt><![CDATA[AAAA]]></Encrypt></xml>")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (401, Some("bad_signature"))
    );
    let resigned = kefu_channels_signature(&[&token, &ts, &n, "AAAA"]);
    let r = Reply::from_response(
        p.gateway
            .http
            .post(url(&[
                ("msg_signature", &resigned),
                ("timestamp", &ts),
                ("nonce", &n),
            ]))
            .body("<xml><Encrypt><![CDATA[AAAA]]></Encrypt></xml>")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (401, Some("bad_signature"))
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sent().len(), 2, "each message answered once");

    // The same person writes to an Official Account bound to the same open platform: WeChat
    // gives the same UnionID, and they are one customer with one history.
    let wx = Wechat::start(p, "kf-oa", "wechat", json!({})).await;
    let u = user.clone();
    wx.api.answer_with("/cgi-bin/user/info", move |r| {
        let openid = r.query.get("openid").cloned().unwrap_or_default();
        (
            200,
            json!({"subscribe": 1, "openid": openid, "unionid": format!("union-{u}")}),
        )
    });
    let openid = format!("o{}", nonce());
    let r = wx
        .push(p, &text_xml(&openid, "30001", "退款多久到账"))
        .await;
    assert_eq!(r.status, 200);
    wx.replies(1).await;
    let on_kf = lookup(p, "kf-1", &user).await;
    let on_oa = lookup(p, &wx.id, &openid).await;
    assert_eq!(
        on_kf["customer_id"], on_oa["customer_id"],
        "one customer: {on_kf} {on_oa}"
    );
    assert_eq!(
        texts(p, on_kf["customer_id"].as_str().unwrap()).await,
        ["我的快递到哪了", "怎么开发票", "退款多久到账"]
    );
}
