//! The connector against the demo order system over real HTTP.

use kefu_orders::demo::DemoOrderSystem;
use kefu_orders::{CustomerKeys, Operation, OrderClient, OrderError, OrderSystemConfig};
use tokio_util::sync::CancellationToken;

async fn serve(sys: &DemoOrderSystem) -> (String, CancellationToken) {
    let (listener, addr) = kefu_lifecycle::bind("127.0.0.1:0").await.unwrap();
    let stop = CancellationToken::new();
    tokio::spawn(kefu_lifecycle::serve_http(
        listener,
        sys.router(),
        stop.clone(),
    ));
    (format!("http://{addr}"), stop)
}

fn client(url: &str, token: &str) -> OrderClient {
    OrderClient::new(&OrderSystemConfig {
        url: url.into(),
        token: token.into(),
        timeout_ms: 2_000,
    })
}

fn lilei() -> CustomerKeys {
    CustomerKeys {
        phone: Some("13800000001".into()),
        member_id: None,
    }
}

#[tokio::test]
async fn recent_orders_are_the_customers_own_newest_first() {
    let sys = DemoOrderSystem::demo("t0ken");
    let (url, _stop) = serve(&sys).await;
    let c = client(&url, "t0ken");
    let orders = c.recent_orders(&lilei(), 5).await.unwrap();
    let ids: Vec<_> = orders.iter().map(|o| o.order_id.as_str()).collect();
    assert_eq!(ids, ["D20261118001", "D20261112002", "D20261020003"]);
    let by_member = CustomerKeys {
        phone: None,
        member_id: Some("M1002".into()),
    };
    let hers = c.recent_orders(&by_member, 5).await.unwrap();
    assert_eq!(hers.len(), 1);
    assert_eq!(hers[0].order_id, "J20261101001");
    // Nobody known: no orders, not an error.
    let stranger = CustomerKeys {
        phone: Some("10000000000".into()),
        member_id: None,
    };
    assert!(c.recent_orders(&stranger, 5).await.unwrap().is_empty());
}

#[tokio::test]
async fn another_customers_order_is_not_found() {
    let sys = DemoOrderSystem::demo("");
    let (url, _stop) = serve(&sys).await;
    let c = client(&url, "");
    assert!(matches!(
        c.order(&lilei(), "J20261101001").await,
        Err(OrderError::NotFound)
    ));
    assert!(matches!(
        c.operate(&lilei(), "J20261101001", Operation::CreateReturn)
            .await,
        Err(OrderError::NotFound)
    ));
    // Ids that cannot be in a URL path never leave the process.
    assert!(matches!(
        c.order(&lilei(), "../admin").await,
        Err(OrderError::NotFound)
    ));
}

#[tokio::test]
async fn operations_change_the_order_and_refuse_when_its_state_forbids() {
    let sys = DemoOrderSystem::demo("");
    let (url, _stop) = serve(&sys).await;
    let c = client(&url, "");
    let done = c
        .operate(&lilei(), "D20261118001", Operation::UrgeShipment)
        .await
        .unwrap();
    assert!(done.order.urged);
    assert!(done.message.contains("催"));
    // A shipped order cannot be urged.
    match c
        .operate(&lilei(), "D20261112002", Operation::UrgeShipment)
        .await
    {
        Err(OrderError::Refused(why)) => assert!(why.contains("已经发货"), "{why}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let invoice = c
        .operate(&lilei(), "D20261112002", Operation::IssueInvoice)
        .await
        .unwrap();
    assert_eq!(invoice.order.invoice, "requested");
    assert_eq!(
        c.order(&lilei(), "D20261112002").await.unwrap().invoice,
        "requested"
    );
}

#[tokio::test]
async fn a_wrong_token_or_no_order_system_is_an_error_not_an_answer() {
    let sys = DemoOrderSystem::demo("right");
    let (url, _stop) = serve(&sys).await;
    assert!(matches!(
        client(&url, "wrong").recent_orders(&lilei(), 5).await,
        Err(OrderError::Unavailable(_))
    ));
    assert!(matches!(
        client("", "").recent_orders(&lilei(), 5).await,
        Err(OrderError::NotConfigured)
    ));
    // Nothing listens there.
    assert!(matches!(
        client("http://127.0.0.1:9", "")
            .recent_orders(&lilei(), 5)
            .await,
        Err(OrderError::Unavailable(_))
    ));
}

#[tokio::test]
async fn products_have_stock() {
    let sys = DemoOrderSystem::demo("");
    let (url, _stop) = serve(&sys).await;
    let p = client(&url, "").product("P-RING-18K").await.unwrap();
    assert_eq!(p.stock, 6);
    assert_eq!(p.merchant_id, "jinyuan");
}

/// `POST /orders` places an order for a known customer and reports it, with the customer's
/// identities, to the URL Kefu gave; an unknown customer or product places nothing.
#[tokio::test]
async fn placed_orders_are_reported_to_kefu() {
    use axum::Json;
    use axum::routing::post;
    use std::sync::{Arc, Mutex};
    /// Each report Kefu received: its Authorization header and its body.
    type Reports = Arc<Mutex<Vec<(Option<String>, serde_json::Value)>>>;
    let seen: Reports = Arc::default();
    let sink = seen.clone();
    let kefu = axum::Router::new().route(
        "/v1/tenants/demo/orders",
        post(
            move |headers: axum::http::HeaderMap, Json(v): Json<serde_json::Value>| {
                let sink = sink.clone();
                async move {
                    let auth = headers
                        .get("authorization")
                        .and_then(|h| h.to_str().ok())
                        .map(str::to_owned);
                    sink.lock().unwrap().push((auth, v));
                    axum::http::StatusCode::ACCEPTED
                }
            },
        ),
    );
    let (listener, addr) = kefu_lifecycle::bind("127.0.0.1:0").await.unwrap();
    let stop = CancellationToken::new();
    tokio::spawn(kefu_lifecycle::serve_http(listener, kefu, stop.clone()));
    let sys = DemoOrderSystem::demo("t0ken").reporting_to(
        &format!("http://{addr}/v1/tenants/demo/orders"),
        "admin-t0ken",
    );
    let (url, _stop) = serve(&sys).await;
    let http = reqwest::Client::new();
    let product = demo_product();
    let placed: serde_json::Value = http
        .post(format!("{url}/orders"))
        .bearer_auth("t0ken")
        .json(&serde_json::json!({"phone": "13800000001", "product_id": product.0, "quantity": 2, "paid": false}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(placed["reported"], true, "{placed}");
    let order_id = placed["order"]["order_id"].as_str().unwrap().to_owned();
    let reports = seen.lock().unwrap().clone();
    assert_eq!(reports.len(), 1);
    let (auth, r) = &reports[0];
    assert_eq!(auth.as_deref(), Some("Bearer admin-t0ken"));
    assert_eq!(r["order_id"], order_id.as_str());
    assert_eq!(r["amount_cents"], 2 * product.1);
    assert_eq!(r["paid_cents"], 0);
    assert_eq!(r["customer"]["phone"], "13800000001");
    assert_eq!(r["customer"]["member_id"], "M1001");
    // The order is the customer's now.
    let c = client(&url, "t0ken");
    let orders = c.recent_orders(&lilei(), 5).await.unwrap();
    assert_eq!(orders[0].order_id, order_id);
    // Nobody known, or no such product: 404, nothing reported.
    for body in [
        serde_json::json!({"phone": "10000000000", "product_id": product.0}),
        serde_json::json!({"phone": "13800000001", "product_id": "no-such-product"}),
    ] {
        let r = http
            .post(format!("{url}/orders"))
            .bearer_auth("t0ken")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
    assert_eq!(seen.lock().unwrap().len(), 1);
    stop.cancel();
}

/// The first product of the demo data: (id, price in cents).
fn demo_product() -> (String, i64) {
    let data: serde_json::Value = serde_json::from_str(kefu_orders::demo::DEMO_DATA).unwrap();
    let p = &data["products"][0];
    (
        p["product_id"].as_str().unwrap().to_owned(),
        p["price_cents"].as_i64().unwrap(),
    )
}
