//! Admin HTTP endpoints (liveness, readiness, Prometheus metrics) and serving routers with
//! graceful shutdown.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::Readiness;

/// Content type of the `/metrics` response (Prometheus text format 0.0.4).
pub const METRICS_CONTENT_TYPE: &str = kefu_telemetry::metrics::CONTENT_TYPE;

/// Router with:
/// * `GET /healthz` → 200 `{"status":"ok"}`
/// * `GET /readyz` → 200 `{"status":"ready","components":{..}}` or
///   503 `{"status":"not_ready","components":{"db":true,"bus":false}}`
/// * `GET /metrics` → 200 Prometheus text exposition of [`kefu_telemetry::metrics::render`].
pub fn admin_router(readiness: Readiness) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(readiness)
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn readyz(State(readiness): State<Readiness>) -> (StatusCode, Json<Value>) {
    let report = readiness.report();
    let ready = !report.is_empty() && report.iter().all(|(_, ready)| *ready);
    let components: Map<String, Value> = report
        .into_iter()
        .map(|(name, ready)| (name, Value::Bool(ready)))
        .collect();
    let (status, label) = if ready {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not_ready")
    };
    (
        status,
        Json(json!({ "status": label, "components": components })),
    )
}

async fn metrics() -> impl IntoResponse {
    // Rendering walks every collector; keep it off the async workers.
    let body = tokio::task::spawn_blocking(kefu_telemetry::metrics::render)
        .await
        .unwrap_or_default();
    ([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], body)
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then stops accepting new
/// connections and waits for in-flight requests to complete.
pub async fn serve_http(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let addr = listener.local_addr().ok();
    tracing::info!(?addr, "http server listening");
    // Small JSON answers must not wait for Nagle's algorithm.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY not set");
        }
    });
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await?;
    tracing::info!(?addr, "http server stopped");
    Ok(())
}

/// Binds `"host:port"` (port 0 picks a free port) and returns the listener with its actual address.
pub async fn bind(addr: &str) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}
