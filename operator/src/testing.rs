//! Test fixtures: resource builders, and a mocked API server (tower-test) that checks each
//! request the reconciler makes, in order, and answers it.

use crate::context::{Clock, Context, FINALIZER};
use crate::settings::Settings;
use chrono::{DateTime, Utc};
use http::{Request, Response};
use kefu_crd::{Tenant, TenantSpec};
use kube::client::Body;
use kube::{Client, Resource};
use serde_json::{Value, json};
use std::sync::Arc;

pub fn settings() -> Settings {
    Settings {
        admin_url: "http://127.0.0.1:9".into(),
        admin_token: "t0ken".into(),
        agent_token_secret: "agent-token-secret-for-the-tests-0123".into(),
        dedicated_admin_url: "http://127.0.0.1:9".into(),
        amqp_url: "amqp://kefu:pw@rabbitmq:5672/%2f".into(),
        database_url: "postgres://kefu@postgresql:5432/kefu".into(),
        rabbitmq_management_url: "http://127.0.0.1:9".into(),
        rabbitmq_user: "kefu".into(),
        rabbitmq_password: "pw".into(),
        image: "kefu:test".into(),
        resources: json!({"requests": {"cpu": "100m"}}),
        platform: None,
    }
}

pub fn tenant_spec(isolation: &str) -> TenantSpec {
    serde_json::from_value(json!({
        "displayName": "Acme",
        "isolation": isolation,
        "knowledgeBase": {"configMapRef": {"name": "acme-kb", "key": "faq.jsonl"}},
        "peakEvents": [{
            "name": "double-11",
            "start": "2027-11-11T00:00:00",
            "end": "2027-11-11T04:00:00",
            "timeZone": "Asia/Shanghai",
            "trafficMultiplier": 10,
            "preScaleLeadMinutes": 60,
        }],
        "scaling": {"minReplicas": 2, "maxReplicas": 30, "queueLengthPerReplica": 100},
    }))
    .unwrap()
}

fn with_meta(mut t: Tenant) -> Tenant {
    t.meta_mut().namespace = Some("shop".into());
    t.meta_mut().uid = Some("uid-acme".into());
    t.meta_mut().generation = Some(3);
    t.meta_mut().resource_version = Some("100".into());
    t
}

pub fn dedicated_tenant() -> Tenant {
    with_meta(Tenant::new("acme", tenant_spec("dedicated")))
}

pub fn shared_tenant() -> Tenant {
    with_meta(Tenant::new("acme", tenant_spec("shared")))
}

/// Builder steps on any resource.
pub trait Fixture: Resource + Sized {
    fn finalized(mut self) -> Self {
        self.meta_mut().finalizers = Some(vec![FINALIZER.into()]);
        self
    }
    fn deleting(mut self) -> Self {
        self.meta_mut().deletion_timestamp =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
            ));
        self
    }
}

impl<K: Resource> Fixture for K {}

/// A clock that reads `start` at tokio's `origin` and follows tokio's (pausable) time, to the
/// second (the resolution of Kubernetes timestamps), so the few milliseconds a reconciliation
/// takes on ordinary time do not blur the instants a test checks.
pub fn paused_clock(start: DateTime<Utc>, origin: tokio::time::Instant) -> Clock {
    Arc::new(move || {
        let elapsed = origin.elapsed().as_secs();
        start + chrono::Duration::seconds(elapsed as i64)
    })
}

/// Moves tokio's clock (and so [`paused_clock`]) to `origin + offset`.
pub async fn advance_to(origin: tokio::time::Instant, offset: std::time::Duration) {
    tokio::time::pause();
    let target = origin + offset;
    let now = tokio::time::Instant::now();
    if target > now {
        tokio::time::advance(target - now).await;
    }
    tokio::time::resume();
}

pub type ApiHandle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

pub fn context(settings: Settings, clock: Clock) -> (Arc<Context>, ApiServerVerifier) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, "default");
    (
        Arc::new(Context::new(client, settings, clock)),
        ApiServerVerifier(handle),
    )
}

/// One request the reconciler must make: its method, a path it must match, and the reply.
pub struct Expect {
    pub method: &'static str,
    pub path: String,
    pub status: u16,
    /// `None`: echo the request body back (what the API server does for an apply).
    pub reply: Option<Value>,
}

pub fn expect(method: &'static str, path: impl Into<String>) -> Expect {
    Expect {
        method,
        path: path.into(),
        status: 200,
        reply: None,
    }
}

impl Expect {
    pub fn reply(mut self, status: u16, body: Value) -> Self {
        self.status = status;
        self.reply = Some(body);
        self
    }
}

pub fn not_found() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404, "message": "not found"})
}

/// What the reconciler sent: method, path and query, JSON body.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub uri: String,
    pub body: Value,
}

pub struct ApiServerVerifier(pub ApiHandle);

impl ApiServerVerifier {
    /// Serves `script` in order, asserting each request; returns what was sent.
    pub fn run(self, script: Vec<Expect>) -> tokio::task::JoinHandle<Vec<Seen>> {
        let mut handle = self.0;
        tokio::spawn(async move {
            let mut seen = Vec::new();
            for step in script {
                let (request, send) = handle.next_request().await.unwrap_or_else(|| {
                    panic!(
                        "expected {} {} but the reconciler made no further request",
                        step.method, step.path
                    )
                });
                let method = request.method().to_string();
                let uri = request.uri().to_string();
                assert_eq!(
                    method, step.method,
                    "for {uri}, expected {} {}",
                    step.method, step.path
                );
                assert!(
                    uri.starts_with(&step.path),
                    "expected {} {}, got {method} {uri}",
                    step.method,
                    step.path
                );
                let bytes = request.into_body().collect_bytes().await.unwrap();
                let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                let reply = step.reply.clone().unwrap_or_else(|| body.clone());
                send.send_response(
                    Response::builder()
                        .status(step.status)
                        .body(Body::from(serde_json::to_vec(&reply).unwrap()))
                        .unwrap(),
                );
                seen.push(Seen { method, uri, body });
            }
            seen
        })
    }
}

/// A real gateway (SQLite, in-process bus) on a loopback port: the admin API the reconciler
/// configures. It stops, and its files go, when this is dropped.
pub struct TestGateway {
    pub url: String,
    stop: tokio_util::sync::CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub async fn gateway() -> TestGateway {
    let dir = tempfile::tempdir().unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let url = kefu_gateway::testing::on_loopback(dir.path(), "t0ken", stop.clone())
        .await
        .url;
    TestGateway {
        url,
        stop,
        _dir: dir,
    }
}
