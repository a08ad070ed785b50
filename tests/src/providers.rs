//! A stand-in for a channel provider's servers (WeChat's API, an SMS gateway, Douyin's open
//! platform, …): an HTTP server on a loopback port that records every request Kefu sends and
//! answers each path as the test programs it. A channel's settings point its `apiBase` here.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One request Kefu sent.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: HashMap<String, String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    /// The body as JSON (`Null` when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The body as a form (`application/x-www-form-urlencoded`).
    pub fn form(&self) -> HashMap<String, String> {
        form_pairs(&self.body)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

fn form_pairs(raw: &[u8]) -> HashMap<String, String> {
    url_decode_pairs(raw)
}

/// `a=1&b=x%20y` → pairs (`+` is a space).
pub fn url_decode_pairs(raw: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(raw).into_owned().collect()
}

type Responder = Arc<dyn Fn(&Recorded) -> (u16, Value) + Send + Sync>;

#[derive(Clone, Default)]
struct Shared {
    requests: Arc<Mutex<Vec<Recorded>>>,
    answers: Arc<Mutex<HashMap<String, Responder>>>,
}

pub struct ProviderStandIn {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    shared: Shared,
    _stop: tokio_util::sync::DropGuard,
}

impl ProviderStandIn {
    pub async fn start() -> Self {
        let shared = Shared::default();
        let app = Router::new().fallback(record).with_state(shared.clone());
        let (listener, addr) = kefu_lifecycle::bind("127.0.0.1:0").await.expect("bind");
        let stop = tokio_util::sync::CancellationToken::new();
        tokio::spawn(kefu_lifecycle::serve_http(listener, app, stop.clone()));
        Self {
            url: format!("http://{addr}"),
            shared,
            _stop: stop.drop_guard(),
        }
    }

    /// Answers every request to `path` with `status` and the JSON `body` from now on.
    pub fn answer(&self, path: &str, status: u16, body: Value) {
        self.answer_with(path, move |_| (status, body.clone()));
    }

    /// Answers every request to `path` with what `f` makes of it.
    pub fn answer_with(
        &self,
        path: &str,
        f: impl Fn(&Recorded) -> (u16, Value) + Send + Sync + 'static,
    ) {
        self.shared
            .answers
            .lock()
            .expect("lock")
            .insert(path.to_owned(), Arc::new(f));
    }

    /// The requests to `path` so far, oldest first.
    pub fn requests(&self, path: &str) -> Vec<Recorded> {
        self.shared
            .requests
            .lock()
            .expect("lock")
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// Every request so far.
    pub fn all(&self) -> Vec<Recorded> {
        self.shared.requests.lock().expect("lock").clone()
    }
}

async fn record(
    State(s): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let req = Recorded {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri
            .query()
            .map(|q| url_decode_pairs(q.as_bytes()))
            .unwrap_or_default(),
        headers,
        body,
    };
    let responder = s.answers.lock().expect("lock").get(&req.path).cloned();
    s.requests.lock().expect("lock").push(req.clone());
    let (status, body) = match responder {
        Some(f) => f(&req),
        None => (
            404,
            json!({"errcode": 404, "errmsg": "the stand-in has no answer for this path"}),
        ),
    };
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        axum::Json(body),
    )
}
