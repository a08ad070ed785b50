//! A channel's webhook endpoint: receives Kefu's signed replies on a loopback port and keeps
//! them, with whether the signature verified, for the test to inspect.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Clone, Debug)]
pub struct Received {
    pub body: Value,
    pub signature_ok: bool,
    pub traceparent: Option<String>,
    pub delivery_id: Option<String>,
    pub at: Instant,
}

#[derive(Clone)]
struct Shared {
    secret: String,
    received: Arc<Mutex<Vec<Received>>>,
    /// Status to answer with; 204 normally, set to 5xx to simulate an outage.
    status: Arc<AtomicU16>,
    refused: Arc<AtomicUsize>,
    tx: Option<tokio::sync::mpsc::UnboundedSender<Received>>,
}

pub struct WebhookReceiver {
    pub url: String,
    shared: Shared,
}

impl WebhookReceiver {
    pub async fn start(secret: &str) -> Self {
        Self::start_with(secret, None).await
    }

    /// Also streams every received reply to `tx` (used by the benchmark).
    pub async fn start_with(
        secret: &str,
        tx: Option<tokio::sync::mpsc::UnboundedSender<Received>>,
    ) -> Self {
        let shared = Shared {
            secret: secret.to_owned(),
            received: Arc::default(),
            status: Arc::new(AtomicU16::new(204)),
            refused: Arc::default(),
            tx,
        };
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url: format!("http://{addr}/hook"),
            shared,
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().expect("lock").clone()
    }

    /// Requests answered with a non-success status so far.
    pub fn refused(&self) -> usize {
        self.shared.refused.load(Ordering::SeqCst)
    }

    pub fn set_status(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }
}

async fn receive(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let expected = crate::sign(&s.secret, &body);
    let got = Received {
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        signature_ok: header("x-kefu-signature").as_deref() == Some(expected.as_str()),
        traceparent: header("traceparent"),
        delivery_id: header("x-kefu-delivery-id"),
        at: Instant::now(),
    };
    let status = StatusCode::from_u16(s.status.load(Ordering::SeqCst)).unwrap_or(StatusCode::OK);
    if status.is_success() {
        if let Some(tx) = &s.tx {
            let _ = tx.send(got.clone());
        }
        s.received.lock().expect("lock").push(got);
    } else {
        s.refused.fetch_add(1, Ordering::SeqCst);
    }
    status
}
