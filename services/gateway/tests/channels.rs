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
