//! Kill a replica mid-stream and lose nothing (the short chaos run in `make test`): customers
//! talk to the bot through the API channel in distributed mode — two session replicas, a bot, a
//! gateway, RabbitMQ and PostgreSQL — while the harness kills a session replica with SIGKILL and
//! starts a new one, again and again. The checker compares every accepted message (202) with the
//! replies the channel's webhook got: none lost, none delivered twice to the customer (the
//! webhook's retries of one delivery, same `X-Kefu-Delivery-Id`, count once; they are reported),
//! and each customer's replies in the order of their messages.

use kefu_tests::distributed::{start_bot, start_gateway, start_session};
use kefu_tests::{GatewayClient, Isolation, WebhookReceiver, eventually};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

// The bot knows the demo knowledge base: every question below has an answer (no handoff).
const TENANT: &str = "demo";
const ADMIN: &str = "chaos-admin-token";
const SECRET: &str = "chaos-channel-secret-0001";
const CUSTOMERS: usize = 16;
const MESSAGES_EACH: usize = 25;
const KILLS: usize = 3;
const QUESTIONS: &[&str] = &["怎么开发票", "退款多久到账", "一般几天能到", "优惠券怎么用"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_session_replicas_mid_stream_loses_and_repeats_nothing() {
    let iso = Isolation::new();
    iso.require_servers().await;
    let extra = [("RUST_LOG", "warn".to_owned())];
    let bot = start_bot(&iso, &extra).await;
    let mut replicas = vec![
        start_session(&iso, &bot, &extra).await,
        start_session(&iso, &bot, &extra).await,
    ];
    let mut with_session = extra.to_vec();
    with_session.push((
        "KEFU_SESSION_URL",
        format!("http://{}", replicas[0].addr("grpc")),
    ));
    let gateway = start_gateway(&iso, ADMIN, &with_session).await;
    let gw = Arc::new(GatewayClient::new(
        format!("http://{}", gateway.addr("http")),
        ADMIN,
    ));
    assert_eq!(gw.upsert_tenant(TENANT, "Demo").await.status, 200);
    let hook = Arc::new(WebhookReceiver::start(SECRET).await);
    let r = gw
        .upsert_channel("chaos-api", TENANT, SECRET, &hook.url)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);

    // Customers in a closed loop: each sends its next message once the last one was answered.
    let finished = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut talkers = Vec::new();
    for c in 0..CUSTOMERS {
        let (gw, hook, finished) = (gw.clone(), hook.clone(), finished.clone());
        talkers.push(tokio::spawn(async move {
            let user = format!("chaos-customer-{c}");
            let mut accepted = Vec::new();
            for i in 0..MESSAGES_EACH {
                let id = format!("chaos-{c}-{i}");
                let body = json!({"external_message_id": id, "external_user_id": user,
                                  "text": QUESTIONS[(c + i) % QUESTIONS.len()]});
                let r = gw.send("chaos-api", SECRET, &body, &[]).await;
                assert_eq!(r.status, 202, "{id}: {:?}", r.body);
                accepted.push(id.clone());
                eventually(
                    &format!("the reply to {id}"),
                    Duration::from_secs(60),
                    || async {
                        hook.received()
                            .iter()
                            .any(|r| r.body["reply_to"] == id.as_str())
                            .then_some(())
                    },
                )
                .await;
            }
            finished.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            (user, accepted)
        }));
    }
    // Meanwhile: SIGKILL one session replica after another, each replaced by a fresh one.
    let mut kills = 0;
    while kills < KILLS {
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(
            finished.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "the stream ended before kill {kills}: make it longer"
        );
        let victim = kills % replicas.len();
        replicas[victim].kill().await;
        kills += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
        replicas[victim] = start_session(&iso, &bot, &extra).await;
    }
    let mut accepted: HashMap<String, Vec<String>> = HashMap::new();
    for t in talkers {
        let (user, ids) = t.await.expect("a customer's loop");
        accepted.insert(user, ids);
    }
    // Anything delivered late or twice would show by now.
    tokio::time::sleep(Duration::from_secs(2)).await;

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
    let total: usize = accepted.values().map(Vec::len).sum();
    let lost: Vec<&String> = accepted
        .values()
        .flatten()
        .filter(|id| !deliveries.contains_key(*id))
        .collect();
    let customer_duplicates = deliveries.values().filter(|d| d.len() > 1).count();
    let distinct: usize = deliveries.values().map(HashSet::len).sum();
    let resends = received.len() - distinct;
    eprintln!(
        "chaos_messages={total} lost={} customer_duplicates={customer_duplicates} \
         resends={resends} kills={kills}",
        lost.len()
    );
    assert_eq!(total, CUSTOMERS * MESSAGES_EACH);
    assert!(lost.is_empty(), "lost: {lost:?}");
    assert_eq!(customer_duplicates, 0, "replies delivered twice");
    for (user, ids) in &accepted {
        assert_eq!(order.get(user), Some(ids), "{user}'s replies out of order");
    }

    drop((replicas, gateway, bot));
    iso.cleanup_platform().await;
}
