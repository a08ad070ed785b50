//! Channels through the gateway's real router (SQLite, in-process bus, no session): the admin
//! API's checks of a channel's type, settings and credentials, and what each adapter answers a
//! provider before anything reaches the session.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use kefu_bus::{Bus, InProcessBus, Topology};
use kefu_gateway::{GatewayApp, GatewayConfig};
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt;

const ADMIN: &str = "admin-t0ken";

async fn app(dir: &std::path::Path) -> GatewayApp {
    let url = format!("sqlite://{}?mode=rwc", dir.join("gateway.db").display());
    let db = kefu_store::connect(&kefu_store::DbConfig::new(url, None))
        .await
        .unwrap();
    let config = GatewayConfig {
        admin_token: kefu_config::Secret::new(ADMIN),
        session_url: "http://127.0.0.1:9".into(),
        ..GatewayConfig::default()
    };
    let bus: Arc<dyn Bus> = Arc::new(InProcessBus::new(Topology::new("kefu")));
    GatewayApp::build(config, db, bus).await.unwrap()
}

async fn admin(
    router: &axum::Router,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {ADMIN}"))
        .header("content-type", "application/json");
    let body = body.map_or(Body::empty(), |b| Body::from(b.to_string()));
    let resp = router
        .clone()
        .oneshot(req.body(body).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn settings_and_credentials_must_fit_the_channel_type() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    let r = app.router();
    let (s, _) = admin(
        &r,
        "PUT",
        "/v1/admin/tenants/shop",
        Some(json!({"display_name": "Shop"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let base = json!({
        "tenant_id": "shop", "channel_type": "api", "secret": "api-secret-0123456",
        "webhook_url": "https://shop.example/hook"
    });
    for (patch, field) in [
        (json!({"channel_type": "fax"}), "channel_type"),
        (
            json!({"settings": {"sms": {"provider": "twilio", "from": "+15550100", "account": "AC1"}}}),
            "settings.sms",
        ),
        (json!({"settings": {"colour": 1}}), "settings"),
        (
            json!({"credentials": {"colour": "x"}}),
            "credentials.colour",
        ),
        (json!({"webhook_url": ""}), "webhook_url"),
    ] {
        let mut body = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, err) = admin(&r, "PUT", "/v1/admin/channels/shop-api", Some(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{patch}: {err}");
        assert!(
            err["field"].as_str().unwrap_or_default().starts_with(field),
            "{patch}: {err}"
        );
    }
    let (status, view) = admin(&r, "PUT", "/v1/admin/channels/shop-api", Some(base)).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["settings"], json!({}));
    assert_eq!(view["credentials"], json!([]));
}
#[tokio::test]
async fn a_channel_s_settings_and_credentials_are_checked_and_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    let r = app.router();
    let (s, _) = admin(
        &r,
        "PUT",
        "/v1/admin/tenants/shop",
        Some(json!({"display_name": "Shop"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let put = |body: Value| {
        let r = r.clone();
        async move { admin(&r, "PUT", "/v1/admin/channels/shop-wx", Some(body)).await }
    };
    let base = json!({
        "tenant_id": "shop", "channel_type": "wechat", "secret": "wechat-token-0123",
        "settings": {"wechat": {"appId": "wx0123456789abcdef", "mode": "safe"}},
        "credentials": {"app_secret": "0123456789abcdef0123456789abcdef",
                        "aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"}
    });
    // Each mistake is named by its path.
    for (patch, field) in [
        (json!({"channel_type": "fax"}), "channel_type"),
        (
            json!({"settings": {"wechat": {"appId": "wx0123456789abcdef", "colour": 1}}}),
            "settings.wechat",
        ),
        (
            json!({"settings": {"wechat": {"appId": "nope"}}}),
            "settings.wechat.appId",
        ),
        (json!({"settings": {}}), "settings.wechat"),
        (
            json!({"credentials": {"app_secret": "0123456789abcdef0123456789abcdef", "aes_key": "abc"}}),
            "credentials.aes_key",
        ),
        (
            json!({"credentials": {"colour": "x"}}),
            "credentials.colour",
        ),
        (
            json!({"credentials": {"app_secret": "0123456789abcdef0123456789abcdef"}}),
            "credentials.aes_key",
        ),
    ] {
        let mut body = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, err) = put(body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{patch}: {err}");
        assert!(
            err["field"].as_str().unwrap_or_default().starts_with(field),
            "{patch}: {err}"
        );
    }
    let (status, view) = put(base.clone()).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["settings"]["wechat"]["appId"], "wx0123456789abcdef");
    assert_eq!(view["credentials"], json!(["aes_key", "app_secret"]));
    let text = view.to_string();
    assert!(
        !text.contains("ABCDEFG") && !text.contains("0123456789abcdef0123"),
        "{text}"
    );
    // An update that names no credentials keeps the stored ones.
    let mut again = base.clone();
    again.as_object_mut().unwrap().remove("credentials");
    again.as_object_mut().unwrap().remove("secret");
    let (status, view) = put(again).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["credentials"], json!(["aes_key", "app_secret"]));
    let (_, got) = admin(&r, "GET", "/v1/admin/channels/shop-wx", None).await;
    assert_eq!(got, view);
}

/// A WeChat API stand-in on a loopback port: tokens, and the bodies of the sends by path.
async fn wechat_api() -> (String, Arc<std::sync::Mutex<Vec<(String, Value)>>>) {
    use axum::extract::{Path, State};
    type Seen = Arc<std::sync::Mutex<Vec<(String, Value)>>>;
    let seen: Seen = Arc::default();
    async fn send(
        State(seen): State<Seen>,
        Path(path): Path<String>,
        body: axum::body::Bytes,
    ) -> axum::Json<Value> {
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        seen.lock().unwrap().push((path, body));
        axum::Json(json!({"errcode": 0, "errmsg": "ok"}))
    }
    let app = axum::Router::new()
        .route(
            "/cgi-bin/token",
            axum::routing::get(|| async {
                axum::Json(json!({"access_token": "t", "expires_in": 7200}))
            }),
        )
        .route("/cgi-bin/message/{*path}", axum::routing::post(send))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

/// Outside the customer's window a WeChat account sends its template message when it has one,
/// and otherwise reports the reply as undeliverable; inside, the customer-service API, within
/// the quota.
#[tokio::test]
async fn wechat_replies_respect_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    let r = app.router();
    let (api, seen) = wechat_api().await;
    admin(
        &r,
        "PUT",
        "/v1/admin/tenants/shop",
        Some(json!({"display_name": "Shop"})),
    )
    .await;
    let put = |id: &str, wechat: Value| {
        let r = r.clone();
        let id = id.to_owned();
        async move {
            let (s, v) = admin(&r, "PUT", &format!("/v1/admin/channels/{id}"), Some(json!({
                "tenant_id": "shop", "channel_type": "wechat", "secret": "wechat-token-0123",
                "settings": {"wechat": wechat},
                "credentials": {"app_secret": "s3cret-s3cret", "aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"}
            }))).await;
            assert_eq!(s, StatusCode::OK, "{v}");
        }
    };
    put(
        "wx-tpl",
        json!({"appId": "wx0123456789abcdef", "apiBase": api, "quota": 1,
        "template": {"templateId": "TPL-1", "field": "remark"}}),
    )
    .await;
    put(
        "wx-plain",
        json!({"appId": "wx0123456789abcdef", "apiBase": api, "quota": 1}),
    )
    .await;
    let wechat = kefu_gateway::channels::adapter("wechat").unwrap();
    let msg = |channel: &str| kefu_proto::events::MessageToSend {
        message_id: uuid::Uuid::now_v7().to_string(),
        channel_id: channel.into(),
        external_user_id: "o1".into(),
        text: "您的发票已开具".into(),
        sender_kind: "agent".into(),
        ..Default::default()
    };
    let channel = |id: &'static str| {
        let state = app.state.clone();
        async move { state.channels.get(id).await.unwrap().unwrap() }
    };
    use kefu_gateway::channels::{Outcome, window};
    // No message from o1 yet: the template carries the reply.
    let tpl = channel("wx-tpl").await;
    let out = wechat.send(&app.state, &tpl, &msg("wx-tpl"), 1).await;
    assert!(matches!(out, Outcome::Delivered), "{out:?}");
    let (path, body) = seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(path, "template/send");
    assert_eq!(body["template_id"], "TPL-1");
    assert_eq!(body["data"]["remark"]["value"], "您的发票已开具");
    // Without a template: undeliverable, nothing sent.
    let plain = channel("wx-plain").await;
    let before = seen.lock().unwrap().len();
    let out = wechat.send(&app.state, &plain, &msg("wx-plain"), 1).await;
    assert!(
        matches!(
            out,
            Outcome::Undeliverable {
                reason: "window_closed",
                ..
            }
        ),
        "{out:?}"
    );
    assert_eq!(seen.lock().unwrap().len(), before);
    // The customer writes: one message fits the quota of 1, the next does not.
    window::open(&app.state.db, "shop", "wx-plain", "o1")
        .await
        .unwrap();
    let out = wechat.send(&app.state, &plain, &msg("wx-plain"), 1).await;
    assert!(matches!(out, Outcome::Delivered), "{out:?}");
    assert_eq!(seen.lock().unwrap().last().unwrap().0, "custom/send");
    let out = wechat.send(&app.state, &plain, &msg("wx-plain"), 1).await;
    assert!(
        matches!(
            out,
            Outcome::Undeliverable {
                reason: "quota_exhausted",
                ..
            }
        ),
        "{out:?}"
    );
}
