//! The desk API through the gateway's real router (SQLite, in-process bus, no session): what
//! the gateway decides itself — credentials, tenants, roles, request checks — and the desk
//! events' way from the bus to a socket's queue.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use kefu_bus::{Bus, Envelope, InProcessBus, Topology};
use kefu_gateway::desk::auth::{Actor, Role, issue};
use kefu_gateway::{GatewayApp, GatewayConfig};
use prost::Message as _;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

const SECRET: &str = "0123456789abcdef0123456789abcdef";

async fn app(dir: &std::path::Path) -> (GatewayApp, Arc<dyn Bus>) {
    let url = format!("sqlite://{}?mode=rwc", dir.join("gateway.db").display());
    let db = kefu_store::connect(&kefu_store::DbConfig::new(url, None))
        .await
        .unwrap();
    let config = GatewayConfig {
        admin_token: kefu_config::Secret::new("admin-t0ken"),
        agent_token_secret: kefu_config::Secret::new(SECRET),
        // Nothing listens there: calls that reach the session answer 503.
        session_url: "http://127.0.0.1:9".into(),
        ..GatewayConfig::default()
    };
    let bus: Arc<dyn Bus> = Arc::new(InProcessBus::new(Topology::new("kefu")));
    (
        GatewayApp::build(config, db, bus.clone()).await.unwrap(),
        bus,
    )
}

fn token(role: &str, merchant: &str) -> String {
    let agent = kefu_proto::session::Agent {
        tenant_id: "acme".into(),
        agent_id: "a-1".into(),
        role: role.into(),
        merchant_id: merchant.into(),
        ..Default::default()
    };
    issue(&agent, SECRET.as_bytes(), chrono::Utc::now().timestamp()).0
}

async fn call(
    router: &axum::Router,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = bearer {
        req = req.header("authorization", format!("Bearer {t}"));
    }
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
async fn the_gateway_turns_away_what_is_plainly_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _) = app(dir.path()).await;
    let r = app.router();
    let agent = token("agent", "m-1");

    let (s, b) = call(&r, "GET", "/v1/tenants/acme/me", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(
        (b["error"].as_str(), b["field"].as_str()),
        (Some("unauthenticated"), Some("authorization"))
    );
    let (s, b) = call(
        &r,
        "GET",
        "/v1/tenants/acme/me",
        Some("forged.token.here"),
        None,
    )
    .await;
    assert_eq!(
        (s, b["field"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("authorization"))
    );

    // Another tenant's route: not found, whatever the token's role.
    let (s, _) = call(&r, "GET", "/v1/tenants/globex/me", Some(&agent), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Roles checked before the session is asked.
    let (s, b) = call(
        &r,
        "POST",
        "/v1/tenants/acme/agents",
        Some(&agent),
        Some(json!({})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(b["message"].as_str().unwrap().contains("admin"), "{b}");
    let (s, b) = call(
        &r,
        "GET",
        "/v1/tenants/acme/conversations?scope=active",
        Some(&agent),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(b["message"].as_str().unwrap().contains("supervisor"), "{b}");
    let (s, _) = call(&r, "GET", "/v1/tenants/acme/me", Some("admin-t0ken"), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the admin token is not an agent");

    // Request checks name the field.
    let both = json!({"to_agent_id": "a-2", "to_queue": "vip"});
    let path = "/v1/tenants/acme/conversations/c-1/transfer";
    let (s, b) = call(&r, "POST", path, Some(&agent), Some(both)).await;
    assert_eq!(
        (s, b["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("to_queue"))
    );
    let (s, b) = call(
        &r,
        "POST",
        path,
        Some(&agent),
        Some(json!({"to_agent_id": "a-2", "x": 1})),
    )
    .await;
    assert_eq!(
        (s, b["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("x"))
    );
    let (s, b) = call(
        &r,
        "PUT",
        "/v1/tenants/acme/me/status",
        Some(&agent),
        Some(json!({"status": "lunch"})),
    )
    .await;
    assert_eq!(
        (s, b["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("status"))
    );
    let (s, b) = call(
        &r,
        "GET",
        "/v1/tenants/acme/conversations?scope=all",
        Some(&agent),
        None,
    )
    .await;
    assert_eq!(
        (s, b["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("scope"))
    );
    let (s, b) = call(
        &r,
        "GET",
        "/v1/tenants/acme/conversations?limit=x",
        Some(&agent),
        None,
    )
    .await;
    assert_eq!(
        (s, b["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("limit"))
    );
    let big = json!({"text": "x".repeat(70 * 1024)});
    let (s, _) = call(
        &r,
        "POST",
        "/v1/tenants/acme/conversations/c-1/notes",
        Some(&agent),
        Some(big),
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);

    // What passes the gateway goes to the session (down here: 503).
    let (s, b) = call(&r, "GET", "/v1/tenants/acme/me", Some(&agent), None).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable"))
    );

    // The socket route wants an upgrade once the credential is good.
    let (s, b) = call(
        &r,
        "GET",
        "/v1/tenants/acme/desk/ws?token=admin-t0ken",
        None,
        None,
    )
    .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (StatusCode::UPGRADE_REQUIRED, Some("websocket_required"))
    );
    let (s, b) = call(&r, "GET", "/v1/tenants/acme/desk/ws?token=nope", None, None).await;
    assert_eq!(
        (s, b["field"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("token"))
    );

    let (s, doc) = call(&r, "GET", "/openapi.json", None, None).await;
    assert_eq!(
        (s, doc["openapi"].as_str()),
        (StatusCode::OK, Some("3.1.0"))
    );
    assert!(
        doc["paths"]["/v1/tenants/{tenant_id}/conversations/{conversation_id}/transfer"]["post"]
            .is_object()
    );
}

#[tokio::test]
async fn desk_events_reach_the_sockets_in_their_audience() {
    let dir = tempfile::tempdir().unwrap();
    let (app, bus) = app(dir.path()).await;
    let sockets = app.state.desk_sockets.clone();
    let viewer = |agent: &str, role, merchant: &str| Actor {
        tenant_id: "acme".into(),
        agent_id: agent.into(),
        role,
        merchant_id: merchant.into(),
        expires_at: None,
    };
    let (_, mut supervisor_m1) = sockets
        .register(viewer("s-1", Role::Supervisor, "m-1"), 10)
        .unwrap();
    let (_, mut supervisor_m2) = sockets
        .register(viewer("s-2", Role::Supervisor, "m-2"), 10)
        .unwrap();
    let (_, mut agent) = sockets
        .register(viewer("a-1", Role::Agent, "m-1"), 10)
        .unwrap();

    // The replica's own fan-out queue, subscribed as `run_workers` does.
    let start = kefu_gateway::fanout::subscribe(&app.state).await.unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let consumer = start(stop.clone());
    let event = kefu_proto::session::DeskEvent {
        tenant_id: "acme".into(),
        kind: "assignment.offered".into(),
        agent_ids: vec!["a-1".into()],
        supervisors: true,
        merchant_id: "m-1".into(),
        conversation_id: "c-1".into(),
        payload_json: r#"{"type":"assignment.offered","conversation_id":"c-1"}"#.into(),
        all_staff: false,
    };
    bus.publish(&Envelope::new(
        "acme",
        kefu_proto::event_types::DESK_EVENT,
        event.encode_to_vec(),
    ))
    .await
    .unwrap();
    let frame = tokio::time::timeout(Duration::from_secs(10), agent.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(frame.as_ref(), event.payload_json);
    let frame = tokio::time::timeout(Duration::from_secs(10), supervisor_m1.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(frame.as_ref(), event.payload_json);
    assert!(
        supervisor_m2.try_recv().is_err(),
        "another merchant's supervisor"
    );
    stop.cancel();
    consumer.await.unwrap();
}

/// A path no route serves and a route asked with the wrong method answer in the error table's
/// JSON like every other error (405 with the `Allow` header naming what the route serves).
#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _) = app(dir.path()).await;
    let r = app.router();
    let (status, body) = call(&r, "GET", "/v1/no-such-route", None, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found")),
        "{body}"
    );
    let resp = r
        .clone()
        .oneshot(
            Request::builder()
                .method("DELETE")
                .uri("/v1/tenants/acme/auth/login")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(resp.headers()["allow"], "POST");
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&bytes).expect("a JSON body");
    assert_eq!(body["error"], "method_not_allowed", "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("DELETE"),
        "{body}"
    );
}

/// What axum would reject as plain text answers in the error table's JSON: a query parameter
/// of the wrong type names the parameter (422), a path segment that is not UTF-8 is a 400, and
/// a WebSocket route asked without the upgrade is a 426 — each with `error` and `message`.
#[tokio::test]
async fn rejections_answer_json_naming_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _) = app(dir.path()).await;
    let r = app.router();
    let (status, body) = call(
        &r,
        "GET",
        "/v1/admin/tenants/acme/customers/c-1/messages?limit=-1",
        Some("admin-t0ken"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "limit", "{body}");
    let (status, body) = call(
        &r,
        "GET",
        "/v1/admin/channels/%FF%FE",
        Some("admin-t0ken"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "bad_request", "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    let (status, body) = call(&r, "GET", "/v1/channels/web-1/ws", None, None).await;
    assert!(status.is_client_error(), "{status} {body}");
    assert!(body["error"].is_string(), "{status} {body}");
}
