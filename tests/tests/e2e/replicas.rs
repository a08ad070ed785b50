//! Sockets across gateway replicas: a customer's chat socket and a supervisor's desk socket get
//! what reaches the platform whichever gateway replica consumed it. Two gateways share the
//! outbound queue (each takes about half of the replies); the customer is connected to gateway
//! B only, and every reply reaches them; a supervisor signed in on both gateways hears the same
//! queue change on each (`services/gateway/src/fanout.rs`).

use kefu_tests::distributed::{start_bot, start_gateway, start_session};
use kefu_tests::{ChatSocket, DeskClient, DeskSocket, GatewayClient, Isolation, eventually};
use serde_json::json;
use std::time::Duration;

const TENANT: &str = "demo";
const ADMIN: &str = "replicas-admin-token";
const WEB_SECRET: &str = "replicas-web-secret-0001";
const API_SECRET: &str = "replicas-api-secret-0001";
const PASSWORD: &str = "replicas-password-2026";

/// Messages a gateway delivered, from its `/metrics`.
async fn delivered(base: &str) -> f64 {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .filter(|l| l.starts_with("kefu_gateway_deliveries") && l.contains("outcome=\"delivered\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_hear_what_another_gateway_replica_consumed() {
    let iso = Isolation::new();
    iso.require_servers().await;
    let extra = [("RUST_LOG", "info".to_owned())];
    let bot = start_bot(&iso, &extra).await;
    let session = start_session(&iso, &bot, &extra).await;
    let mut with_session = extra.to_vec();
    with_session.push((
        "KEFU_SESSION_URL",
        format!("http://{}", session.addr("grpc")),
    ));
    let a = start_gateway(&iso, ADMIN, &with_session).await;
    let b = start_gateway(&iso, ADMIN, &with_session).await;
    let (base_a, base_b) = (
        format!("http://{}", a.addr("http")),
        format!("http://{}", b.addr("http")),
    );
    let admin = GatewayClient::new(&base_a, ADMIN);
    assert_eq!(admin.upsert_tenant(TENANT, "Demo").await.status, 200);
    let r = admin
        .upsert_web_channel("replicas-web", TENANT, WEB_SECRET)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);

    // A customer on gateway B: every reply arrives, about half of them consumed by gateway A.
    let mut chat = ChatSocket::connect(&base_b, "replicas-web", "")
        .await
        .expect("chat socket on B");
    for i in 0..8 {
        let id = format!("r-{i}");
        chat.say(
            &id,
            ["怎么开发票", "退款多久到账"][i % 2],
            json!({"page_type": "home"}),
        )
        .await;
        let reply = chat.reply_to(&id).await;
        assert_eq!(reply["sender"], "bot", "{reply}");
    }
    let by_a = delivered(&base_a).await;
    assert!(
        by_a > 0.0,
        "gateway A delivered none of the 8 replies: the test would prove nothing"
    );
    eprintln!("gateway A delivered {by_a} of the 8 replies the customer on B received");

    // A supervisor signed in on both replicas hears a handoff's queue change on each.
    let desk_admin = DeskClient::with_token(&base_a, TENANT, ADMIN);
    let put = desk_admin
        .put_agent(
            "sup",
            json!({"login": "sup", "display_name": "Sup", "role": "supervisor",
                   "languages": ["zh-Hans"], "capacity": {"*": 3}, "password": PASSWORD}),
        )
        .await;
    assert!(put.status == 200 || put.status == 201, "{:?}", put.body);
    let mut sockets = Vec::new();
    for base in [&base_a, &base_b] {
        let desk = DeskClient::login(base, TENANT, "sup", PASSWORD)
            .await
            .expect("sign in");
        sockets.push(
            DeskSocket::connect(base, TENANT, &desk.token)
                .await
                .expect("desk socket"),
        );
    }
    let hook = kefu_tests::WebhookReceiver::start(API_SECRET).await;
    let r = admin
        .upsert_channel("replicas-api", TENANT, API_SECRET, &hook.url)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let sent = admin
        .send(
            "replicas-api",
            API_SECRET,
            &json!({"external_message_id": "h-1", "external_user_id": "u-handoff", "text": "转人工"}),
            &[],
        )
        .await;
    assert_eq!(sent.status, 202, "{:?}", sent.body);
    for (i, socket) in sockets.iter_mut().enumerate() {
        let event = socket
            .next_event("queue.changed", Duration::from_secs(20))
            .await;
        assert!(
            event.is_some(),
            "the supervisor's socket on gateway {} heard no queue change; pending: {:?}",
            ["A", "B"][i],
            socket.pending()
        );
    }
    eventually("the handoff reply", Duration::from_secs(20), || async {
        (!hook.received().is_empty()).then_some(())
    })
    .await;
    drop((chat, sockets, a, b, session, bot));
    iso.cleanup_platform().await;
}
