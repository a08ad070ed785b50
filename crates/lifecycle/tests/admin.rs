//! Admin router behaviour through `tower::ServiceExt::oneshot`.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use kefu_lifecycle::{Readiness, admin_router};
use serde_json::{Value, json};
use tower::ServiceExt;

async fn get(readiness: &Readiness, path: &str) -> (StatusCode, Option<String>, String) {
    let response = admin_router(readiness.clone())
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

#[tokio::test]
async fn healthz_is_always_ok() {
    let (status, _, body) = get(&Readiness::new(), "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"status": "ok"})
    );
}

#[tokio::test]
async fn readyz_flips_from_503_to_200() {
    let readiness = Readiness::new();
    let (status, _, body) = get(&readiness, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"status": "not_ready", "components": {}})
    );

    let db = readiness.component("db");
    let bus = readiness.component("bus");
    db.set_ready(true);
    let (status, _, body) = get(&readiness, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"status": "not_ready", "components": {"db": true, "bus": false}})
    );

    bus.set_ready(true);
    let (status, _, body) = get(&readiness, "/readyz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"status": "ready", "components": {"db": true, "bus": true}})
    );
}

#[tokio::test]
async fn metrics_uses_prometheus_text_format() {
    kefu_telemetry::metrics::meter()
        .u64_counter("kefu_lifecycle_test_hits")
        .build()
        .add(2, &[]);
    let (status, content_type, body) = get(&Readiness::new(), "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        content_type
            .as_deref()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{content_type:?}"
    );
    assert!(body.contains("kefu_lifecycle_test_hits_total"), "{body}");
}

#[tokio::test]
async fn unknown_path_is_404() {
    let (status, _, _) = get(&Readiness::new(), "/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
