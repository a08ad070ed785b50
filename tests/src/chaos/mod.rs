//! The chaos harness: customers stream messages through the API channel of a distributed Kefu —
//! two replicas each of bot, session and gateway behind load balancers, a RabbitMQ node of the
//! harness's own, the shared PostgreSQL — while faults strike on a schedule and at random:
//! SIGKILL of a replica (replaced by a fresh one), SIGKILL of the broker (restarted on its data),
//! and PostgreSQL backends terminated. A checker then compares every accepted message (202)
//! with the replies the channel's webhook received: lost (accepted, never answered), customer
//! duplicates (one message answered by two deliveries; a retried delivery with the same
//! `X-Kefu-Delivery-Id` counts once, and is reported as a re-send), and each customer's replies in
//! the order of their messages.
//!
//! The short run is an e2e test in `make test`; the full run (10,000 messages) is `make chaos`
//! (`kefu-chaos`).

pub mod balancer;
pub mod broker;

use crate::distributed::{demo_kb, env};
use crate::env::database_url;
use crate::{GatewayClient, Isolation, Service, WebhookReceiver, sign};
use balancer::Balancer;
use broker::OwnBroker;
use kefu_store::DbConfig;
use kefu_store::sea_orm::ConnectionTrait;
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One kind of fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// SIGKILL a session replica, start a fresh one.
    Session,
    /// SIGKILL a bot replica, start a fresh one.
    Bot,
    /// SIGKILL a gateway replica, start a fresh one.
    Gateway,
    /// SIGKILL the RabbitMQ node, restart it on its data directory.
    Broker,
    /// Terminate every PostgreSQL backend of the platform's services.
    Postgres,
}

impl Fault {
    pub const ALL: [Fault; 5] = [
        Fault::Session,
        Fault::Bot,
        Fault::Gateway,
        Fault::Broker,
        Fault::Postgres,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::Session => "session",
            Fault::Bot => "bot",
            Fault::Gateway => "gateway",
            Fault::Broker => "broker",
            Fault::Postgres => "postgres",
        }
    }

    pub fn parse(s: &str) -> Option<Fault> {
        Fault::ALL.into_iter().find(|f| f.name() == s)
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct Plan {
    pub customers: usize,
    /// The stream has at least this many messages; it goes on until every fault kind struck
    /// `min_each` times, so that every fault lands mid-stream.
    pub messages: usize,
    pub faults: Vec<Fault>,
    pub min_each: usize,
    /// Mean pause between two faults (each pause is drawn from half to one and a half of it).
    pub every: Duration,
    pub seed: u64,
    /// How long a customer waits for the answer to one message before counting it lost.
    pub reply_timeout: Duration,
}

/// What the checker found.
#[derive(Debug, Default)]
pub struct Outcome {
    pub messages: usize,
    pub lost: Vec<String>,
    pub customer_duplicates: usize,
    pub resends: usize,
    pub out_of_order: Vec<String>,
    /// Answers that were not 202 and were sent again (a gateway down, a 503 while PostgreSQL
    /// reconnects): the channel's own retries.
    pub send_retries: usize,
    pub kills: BTreeMap<&'static str, usize>,
    pub elapsed: Duration,
}

impl Outcome {
    pub fn kills_total(&self) -> usize {
        self.kills.values().sum()
    }

    /// The line `make chaos` ends with.
    pub fn line(&self) -> String {
        format!(
            "chaos_messages={} lost={} customer_duplicates={} kills={}",
            self.messages,
            self.lost.len(),
            self.customer_duplicates,
            self.kills_total()
        )
    }

    /// Everything, for the log.
    pub fn details(&self) -> String {
        let kills: Vec<String> = self.kills.iter().map(|(k, n)| format!("{k}={n}")).collect();
        format!(
            "{} resends={} send_retries={} out_of_order={} kills_by_kind=[{}] elapsed_s={:.1}",
            self.line(),
            self.resends,
            self.send_retries,
            self.out_of_order.len(),
            kills.join(","),
            self.elapsed.as_secs_f64()
        )
    }

    /// Panics unless nothing was lost, duplicated or reordered.
    pub fn assert_clean(&self) {
        assert!(
            self.lost.is_empty(),
            "lost {}: {:?}",
            self.lost.len(),
            &self.lost[..self.lost.len().min(20)]
        );
        assert_eq!(self.customer_duplicates, 0, "replies delivered twice");
        assert!(
            self.out_of_order.is_empty(),
            "replies out of order for {:?}",
            self.out_of_order
        );
    }
}

const TENANT: &str = "demo";
const CHANNEL: &str = "chaos-api";
const ADMIN: &str = "chaos-admin-token";
const SECRET: &str = "chaos-channel-secret-0001";
/// Questions the demo knowledge base answers (one reply each, never a handoff).
const QUESTIONS: &[&str] = &["怎么开发票", "退款多久到账", "一般几天能到", "优惠券怎么用"];

/// The platform under test.
struct Cluster {
    iso: Isolation,
    broker: OwnBroker,
    /// Every service's PostgreSQL connections carry this `application_name`, so the harness
    /// terminates exactly the platform's backends on the shared server.
    app_name: String,
    extra: Vec<(&'static str, String)>,
    bots: Vec<Service>,
    bot_lb: Balancer,
    sessions: Vec<Service>,
    session_lb: Balancer,
    gateways: Vec<Service>,
    gateway_lb: Balancer,
}

fn grpc(s: &Service) -> String {
    s.addr("grpc").to_owned()
}

fn http(s: &Service) -> String {
    s.addr("http").to_owned()
}

impl Cluster {
    async fn start(iso: Isolation, replicas: usize) -> Cluster {
        let broker = OwnBroker::start(&iso.id).await;
        let app_name = format!("kefu-chaos-{}", iso.id);
        let url = database_url();
        let sep = if url.contains('?') { '&' } else { '?' };
        let extra = vec![
            ("RUST_LOG", "warn".to_owned()),
            ("AMQP_URL", broker.amqp_url()),
            (
                "DATABASE_URL",
                format!("{url}{sep}application_name={app_name}"),
            ),
        ];
        let mut c = Cluster {
            bot_lb: Balancer::start(vec![]).await,
            session_lb: Balancer::start(vec![]).await,
            gateway_lb: Balancer::start(vec![]).await,
            iso,
            broker,
            app_name,
            extra,
            bots: vec![],
            sessions: vec![],
            gateways: vec![],
        };
        for _ in 0..replicas {
            let s = c.start_one(Fault::Bot).await;
            c.bots.push(s);
        }
        c.bot_lb.set_backends(c.bots.iter().map(grpc).collect());
        for _ in 0..replicas {
            let s = c.start_one(Fault::Session).await;
            c.sessions.push(s);
        }
        c.session_lb
            .set_backends(c.sessions.iter().map(grpc).collect());
        for _ in 0..replicas {
            let s = c.start_one(Fault::Gateway).await;
            c.gateways.push(s);
        }
        c.gateway_lb
            .set_backends(c.gateways.iter().map(http).collect());
        c
    }

    async fn start_one(&self, kind: Fault) -> Service {
        let (bin, service, own) = match kind {
            Fault::Bot => ("kefu-bot", "bot", vec![("KEFU_KB__DEMO", demo_kb())]),
            Fault::Session => (
                "kefu-session",
                "session",
                vec![("KEFU_BOT_URL", self.bot_lb.url())],
            ),
            Fault::Gateway => (
                "kefu-gateway",
                "gateway",
                vec![
                    ("KEFU_SESSION_URL", self.session_lb.url()),
                    ("KEFU_ADMIN_TOKEN", ADMIN.to_owned()),
                    (
                        "KEFU_AGENT_TOKEN_SECRET",
                        "chaos-agent-token-secret-0123456789abcdef".to_owned(),
                    ),
                ],
            ),
            Fault::Broker | Fault::Postgres => unreachable!("not a replica"),
        };
        Service::start(bin, &[], &env(&self.iso, service, &self.extra, &own)).await
    }

    /// Kills one replica of `kind` with SIGKILL and starts a fresh one in its place.
    async fn replace(&mut self, kind: Fault, which: usize, pause: Duration) {
        let list = match kind {
            Fault::Bot => &mut self.bots,
            Fault::Session => &mut self.sessions,
            Fault::Gateway => &mut self.gateways,
            _ => unreachable!("not a replica"),
        };
        let i = which % list.len();
        list[i].kill().await;
        tokio::time::sleep(pause).await;
        let fresh = self.start_one(kind).await;
        match kind {
            Fault::Bot => {
                self.bots[i] = fresh;
                self.bot_lb
                    .set_backends(self.bots.iter().map(grpc).collect());
            }
            Fault::Session => {
                self.sessions[i] = fresh;
                self.session_lb
                    .set_backends(self.sessions.iter().map(grpc).collect());
            }
            _ => {
                self.gateways[i] = fresh;
                self.gateway_lb
                    .set_backends(self.gateways.iter().map(http).collect());
            }
        }
    }

    /// Terminates the platform's PostgreSQL backends; returns how many.
    async fn terminate_backends(&self) -> u64 {
        let db = kefu_store::connect(&DbConfig::new(database_url(), None))
            .await
            .expect("PostgreSQL for the harness");
        let sql = format!(
            "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
             WHERE application_name = '{}'",
            self.app_name
        );
        let row = db
            .query_one_raw(kefu_store::sea_orm::Statement::from_string(
                db.get_database_backend(),
                sql,
            ))
            .await
            .expect("pg_terminate_backend");
        row.and_then(|r| r.try_get::<i64>("", "n").ok())
            .unwrap_or(0) as u64
    }

    async fn strike(&mut self, fault: Fault, rng: &mut fastrand::Rng) {
        let pause = Duration::from_millis(rng.u64(100..800));
        match fault {
            Fault::Session | Fault::Bot | Fault::Gateway => {
                self.replace(fault, rng.usize(..), pause).await
            }
            Fault::Broker => {
                self.broker.kill().await;
                tokio::time::sleep(pause).await;
                self.broker.restart().await;
            }
            Fault::Postgres => {
                let n = self.terminate_backends().await;
                tracing_line(&format!("terminated {n} PostgreSQL backends"));
            }
        }
    }
}

fn tracing_line(s: &str) {
    eprintln!("chaos: {s}");
}

/// Answers the webhook received, by the id of the message they answer.
#[derive(Default)]
struct Answered(Mutex<HashSet<String>>);

impl Answered {
    fn has(&self, id: &str) -> bool {
        self.0.lock().expect("lock").contains(id)
    }
}

/// Posts one signed message until the gateway accepts it (202); a 4xx is a bug of the harness or
/// of Kefu and fails the run.
async fn send_until_accepted(
    http: &reqwest::Client,
    base: &str,
    body: &serde_json::Value,
    retries: &AtomicUsize,
) {
    let raw = serde_json::to_vec(body).expect("json");
    let sig = sign(SECRET, &raw);
    let mut delay = Duration::from_millis(50);
    loop {
        let sent = http
            .post(format!("{base}/v1/channels/{CHANNEL}/messages"))
            .header("content-type", "application/json")
            .header("x-kefu-signature", &sig)
            .body(raw.clone())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().as_u16() == 202 => return,
            Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 => {
                let status = r.status();
                let text = r.text().await.unwrap_or_default();
                panic!("the gateway refused a valid message: {status} {text}");
            }
            _ => {
                retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
        }
    }
}

/// Runs `plan` against a fresh cluster and checks the outcome.
pub async fn run(plan: &Plan) -> Outcome {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let iso = Isolation::new();
    iso.require_servers().await;
    let mut cluster = Cluster::start(iso, 2).await;
    let admin = GatewayClient::new(cluster.gateway_lb.url(), ADMIN);
    assert_eq!(admin.upsert_tenant(TENANT, "Demo").await.status, 200);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let hook = WebhookReceiver::start_with(SECRET, Some(tx)).await;
    let r = admin
        .upsert_channel(CHANNEL, TENANT, SECRET, &hook.url)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);

    let answered = Arc::new(Answered::default());
    {
        let answered = answered.clone();
        tokio::spawn(async move {
            while let Some(r) = rx.recv().await {
                if let Some(id) = r.body["reply_to"].as_str() {
                    answered.0.lock().expect("lock").insert(id.to_owned());
                }
            }
        });
    }

    let started = Instant::now();
    let faults_done = Arc::new(AtomicBool::new(plan.faults.is_empty()));
    let sent = Arc::new(AtomicUsize::new(0));
    let retries = Arc::new(AtomicUsize::new(0));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(64)
        .build()
        .expect("client");
    let base = cluster.gateway_lb.url();
    let per_customer = plan.messages.div_ceil(plan.customers.max(1));
    let mut talkers = Vec::new();
    for c in 0..plan.customers {
        let (http, base, answered) = (http.clone(), base.clone(), answered.clone());
        let (faults_done, sent, retries) = (faults_done.clone(), sent.clone(), retries.clone());
        let timeout = plan.reply_timeout;
        talkers.push(tokio::spawn(async move {
            let user = format!("chaos-customer-{c}");
            let mut accepted = Vec::new();
            let mut unanswered = Vec::new();
            let mut i = 0;
            while i < per_customer || !faults_done.load(Ordering::SeqCst) {
                let id = format!("chaos-{c}-{i}");
                let body = json!({"external_message_id": id, "external_user_id": user,
                                  "text": QUESTIONS[(c + i) % QUESTIONS.len()]});
                send_until_accepted(&http, &base, &body, &retries).await;
                sent.fetch_add(1, Ordering::Relaxed);
                accepted.push(id.clone());
                let deadline = Instant::now() + timeout;
                while !answered.has(&id) && Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                if !answered.has(&id) {
                    unanswered.push(id);
                }
                i += 1;
            }
            (user, accepted, unanswered)
        }));
    }

    // The fault schedule: each kind in turn until every kind struck `min_each` times, at
    // random pauses; then the stream runs out.
    let mut rng = fastrand::Rng::with_seed(plan.seed);
    let mut kills: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut round = 0;
    while !plan.faults.is_empty() && round < plan.faults.len() * plan.min_each {
        let pause = plan.every.mul_f64(0.5 + rng.f64());
        tokio::time::sleep(pause).await;
        let fault = plan.faults[round % plan.faults.len()];
        let at = sent.load(Ordering::Relaxed);
        cluster.strike(fault, &mut rng).await;
        tracing_line(&format!("{} struck after {at} messages", fault.name()));
        *kills.entry(fault.name()).or_default() += 1;
        round += 1;
    }
    faults_done.store(true, Ordering::SeqCst);

    let mut accepted: HashMap<String, Vec<String>> = HashMap::new();
    for t in talkers {
        let (user, ids, _) = t.await.expect("a customer's loop");
        accepted.insert(user, ids);
    }
    // Anything delivered late or twice shows by now.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let elapsed = started.elapsed();

    let received = hook.received();
    let mut deliveries: HashMap<String, HashSet<String>> = HashMap::new();
    let mut order: HashMap<String, Vec<String>> = HashMap::new();
    for r in &received {
        assert!(r.signature_ok, "an unsigned reply");
        let reply_to = r.body["reply_to"].as_str().unwrap_or_default().to_owned();
        let delivery = r.delivery_id.clone().unwrap_or_default();
        if deliveries
            .entry(reply_to.clone())
            .or_default()
            .insert(delivery)
        {
            let user = r.body["external_user_id"].as_str().unwrap_or_default();
            order.entry(user.to_owned()).or_default().push(reply_to);
        }
    }
    let messages: usize = accepted.values().map(Vec::len).sum();
    let lost: Vec<String> = accepted
        .values()
        .flatten()
        .filter(|id| !deliveries.contains_key(*id))
        .cloned()
        .collect();
    let distinct: usize = deliveries.values().map(HashSet::len).sum();
    let mut out_of_order: Vec<String> = accepted
        .iter()
        .filter(|(user, ids)| {
            let got: Vec<&String> = order
                .get(*user)
                .map(|o| o.iter().collect())
                .unwrap_or_default();
            let want: Vec<&String> = ids
                .iter()
                .filter(|id| deliveries.contains_key(*id))
                .collect();
            got != want
        })
        .map(|(user, _)| user.clone())
        .collect();
    out_of_order.sort();
    let outcome = Outcome {
        messages,
        lost,
        customer_duplicates: deliveries.values().filter(|d| d.len() > 1).count(),
        resends: received.len() - distinct,
        out_of_order,
        send_retries: retries.load(Ordering::Relaxed),
        kills,
        elapsed,
    };
    // The queues live on the harness's own broker, which goes with it; only the schemas stay.
    cluster.iso.cleanup(&["gateway", "session"], &[]).await;
    drop(cluster);
    outcome
}
