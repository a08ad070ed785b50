//! The demo order system: the connector's HTTP contract over a few customers and their orders
//! (`demo/orders.json`), kept in memory. `kefu dev` serves it so the bot's look-ups and card
//! buttons work on a fresh machine; tests serve it as the order system at Kefu's edge.
//! `POST /orders` places an order; with [`DemoOrderSystem::reporting_to`] each new order is
//! reported to Kefu (`POST /v1/tenants/{tenant}/orders`), as a real order system's connector
//! would, so analytics can attribute it.

use crate::{Operation, OperationRequest, OperationResult, Order, OrderList, Product};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use std::sync::{Arc, Mutex};

/// The demo data shipped with Kefu.
pub const DEMO_DATA: &str = include_str!("../../../demo/orders.json");

#[derive(Clone, Debug, Deserialize)]
pub struct DemoData {
    pub customers: Vec<DemoCustomer>,
    pub products: Vec<Product>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct DemoCustomer {
    pub name: String,
    pub phone: String,
    pub member_id: String,
    pub orders: Vec<Order>,
}

#[derive(Clone)]
pub struct DemoOrderSystem {
    data: Arc<Mutex<DemoData>>,
    token: Arc<str>,
    reporter: Option<Arc<Reporter>>,
}

/// Where new orders are reported: Kefu's order endpoint and the bearer token it takes.
struct Reporter {
    url: String,
    token: String,
    http: reqwest::Client,
}

/// `POST /orders`: a known customer buys `quantity` of a product.
#[derive(Deserialize)]
struct PlaceOrder {
    phone: Option<String>,
    member_id: Option<String>,
    product_id: String,
    #[serde(default = "one_unit")]
    quantity: u32,
    /// Paid at once (default) or left unpaid.
    #[serde(default = "yes")]
    paid: bool,
}

fn one_unit() -> u32 {
    1
}

fn yes() -> bool {
    true
}

/// The placed order, and whether Kefu took the report (202).
#[derive(serde::Serialize)]
struct Placed {
    order: Order,
    reported: bool,
}

#[derive(Deserialize)]
struct Who {
    phone: Option<String>,
    member_id: Option<String>,
    limit: Option<usize>,
}

fn error(status: StatusCode, msg: &str) -> Response {
    (status, Json(serde_json::json!({ "error": msg }))).into_response()
}

impl DemoOrderSystem {
    pub fn new(data: DemoData, token: &str) -> Self {
        Self {
            data: Arc::new(Mutex::new(data)),
            token: token.into(),
            reporter: None,
        }
    }

    /// Reports each order placed from now on to `url` (Kefu's `/v1/tenants/{tenant}/orders`)
    /// with `token` (the tenant's admin token).
    pub fn reporting_to(mut self, url: &str, token: &str) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .build()
            .expect("http client");
        self.reporter = Some(Arc::new(Reporter {
            url: url.to_owned(),
            token: token.to_owned(),
            http,
        }));
        self
    }

    /// The shipped demo data; `token` is the bearer token callers must send (empty: none).
    pub fn demo(token: &str) -> Self {
        Self::new(
            serde_json::from_str(DEMO_DATA).expect("demo/orders.json is valid"),
            token,
        )
    }

    pub fn customers(&self) -> Vec<DemoCustomer> {
        self.data.lock().expect("demo data").customers.clone()
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/orders", get(list).post(place))
            .route("/orders/{order_id}", get(one))
            .route("/orders/{order_id}/operations", post(operate))
            .route("/products/{product_id}", get(product))
            .with_state(self.clone())
    }

    fn authorised(&self, headers: &HeaderMap) -> bool {
        self.token.is_empty()
            || headers
                .get(axum::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                == Some(&*self.token)
    }
}

fn owner<'a>(
    data: &'a mut DemoData,
    phone: Option<&str>,
    member: Option<&str>,
) -> Option<&'a mut DemoCustomer> {
    data.customers
        .iter_mut()
        .find(|c| phone.is_some_and(|p| p == c.phone) || member.is_some_and(|m| m == c.member_id))
}

async fn list(
    State(sys): State<DemoOrderSystem>,
    headers: HeaderMap,
    Query(who): Query<Who>,
) -> Response {
    if !sys.authorised(&headers) {
        return error(StatusCode::UNAUTHORIZED, "bad token");
    }
    let mut data = sys.data.lock().expect("demo data");
    let mut orders = owner(&mut data, who.phone.as_deref(), who.member_id.as_deref())
        .map(|c| c.orders.clone())
        .unwrap_or_default();
    orders.sort_by_key(|o| std::cmp::Reverse(o.created_at));
    orders.truncate(who.limit.unwrap_or(5).min(20));
    Json(OrderList { orders }).into_response()
}

async fn place(
    State(sys): State<DemoOrderSystem>,
    headers: HeaderMap,
    Json(req): Json<PlaceOrder>,
) -> Response {
    if !sys.authorised(&headers) {
        return error(StatusCode::UNAUTHORIZED, "bad token");
    }
    if !(1..=99).contains(&req.quantity) {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "quantity must be 1-99");
    }
    let (order, phone, member_id) = {
        let mut data = sys.data.lock().expect("demo data");
        let Some(product) = data
            .products
            .iter()
            .find(|p| p.product_id == req.product_id)
            .cloned()
        else {
            return error(StatusCode::NOT_FOUND, "product not found");
        };
        let Some(customer) = owner(&mut data, req.phone.as_deref(), req.member_id.as_deref())
        else {
            return error(StatusCode::NOT_FOUND, "customer not found");
        };
        let now = chrono::Utc::now();
        let order = Order {
            order_id: format!(
                "W{}{:03}",
                now.format("%Y%m%d%H%M%S"),
                customer.orders.len() + 1
            ),
            status: if req.paid { "paid" } else { "unpaid" }.into(),
            created_at: now,
            amount_cents: product.price_cents * i64::from(req.quantity),
            items: vec![crate::OrderItem {
                product_id: product.product_id.clone(),
                name: product.name.clone(),
                quantity: req.quantity,
                price_cents: product.price_cents,
                image_url: product.image_url.clone(),
            }],
            merchant_id: product.merchant_id.clone(),
            logistics: None,
            invoice: "none".into(),
            urged: false,
        };
        customer.orders.push(order.clone());
        (order, customer.phone.clone(), customer.member_id.clone())
    };
    let reported = match &sys.reporter {
        Some(r) => report(r, &order, &phone, &member_id).await,
        None => false,
    };
    (StatusCode::CREATED, Json(Placed { order, reported })).into_response()
}

/// Reports a new order to Kefu; whether it was taken.
async fn report(r: &Reporter, o: &Order, phone: &str, member_id: &str) -> bool {
    let paid = if o.status == "unpaid" {
        0
    } else {
        o.amount_cents
    };
    let body = serde_json::json!({
        "order_id": o.order_id,
        "placed_at": o.created_at.to_rfc3339(),
        "amount_cents": o.amount_cents,
        "paid_cents": paid,
        "merchant_id": o.merchant_id,
        "customer": {"phone": phone, "member_id": member_id},
    });
    match r
        .http
        .post(&r.url)
        .bearer_auth(&r.token)
        .json(&body)
        .send()
        .await
    {
        Ok(resp) if resp.status().is_success() => true,
        Ok(resp) => {
            tracing::warn!(status = %resp.status(), order_id = %o.order_id, "Kefu refused the order report");
            false
        }
        Err(e) => {
            tracing::warn!(error = %e, order_id = %o.order_id, "reporting the order to Kefu failed");
            false
        }
    }
}

async fn one(
    State(sys): State<DemoOrderSystem>,
    headers: HeaderMap,
    Path(order_id): Path<String>,
    Query(who): Query<Who>,
) -> Response {
    if !sys.authorised(&headers) {
        return error(StatusCode::UNAUTHORIZED, "bad token");
    }
    let mut data = sys.data.lock().expect("demo data");
    match owner(&mut data, who.phone.as_deref(), who.member_id.as_deref())
        .and_then(|c| c.orders.iter().find(|o| o.order_id == order_id))
    {
        Some(o) => Json(o.clone()).into_response(),
        None => error(StatusCode::NOT_FOUND, "order not found"),
    }
}

async fn operate(
    State(sys): State<DemoOrderSystem>,
    headers: HeaderMap,
    Path(order_id): Path<String>,
    Json(req): Json<OperationRequest>,
) -> Response {
    if !sys.authorised(&headers) {
        return error(StatusCode::UNAUTHORIZED, "bad token");
    }
    let mut data = sys.data.lock().expect("demo data");
    let Some(order) = owner(&mut data, req.phone.as_deref(), req.member_id.as_deref())
        .and_then(|c| c.orders.iter_mut().find(|o| o.order_id == order_id))
    else {
        return error(StatusCode::NOT_FOUND, "order not found");
    };
    match apply(order, req.operation) {
        Ok(message) => Json(OperationResult {
            order: order.clone(),
            message,
        })
        .into_response(),
        Err(why) => error(StatusCode::CONFLICT, &why),
    }
}

/// What each operation does to an order, and when the order's state forbids it.
fn apply(order: &mut Order, op: Operation) -> Result<String, String> {
    let status = order.status.as_str();
    match op {
        Operation::UrgeShipment => match status {
            "paid" => {
                order.urged = true;
                Ok("已为您催促仓库优先发货，预计24小时内发出。".into())
            }
            "unpaid" => Err("订单尚未付款，付款后才能发货。".into()),
            "shipped" | "delivered" | "completed" => {
                Err("订单已经发货了，可以查看物流进度。".into())
            }
            _ => Err(format!("订单当前状态（{status}）无法催发货。")),
        },
        Operation::IssueInvoice => match (status, order.invoice.as_str()) {
            ("unpaid" | "cancelled", _) => Err("订单未付款或已取消，暂不能开票。".into()),
            (_, "requested" | "issued") => {
                Err("这笔订单的发票已在开具中，开好后会发送到您的邮箱。".into())
            }
            _ => {
                order.invoice = "requested".into();
                Ok("已提交开票申请，电子发票将在1-3个工作日内发送到您的邮箱。".into())
            }
        },
        Operation::CreateReturn | Operation::CreateExchange => match status {
            "delivered" | "completed" => {
                order.status = "returning".into();
                Ok(if op == Operation::CreateReturn {
                    "退货申请已提交，快递员将在48小时内上门取件，退款在仓库验收后原路退回。".into()
                } else {
                    "换货申请已提交，快递员将在48小时内上门取件，新商品验收后寄出。".into()
                })
            }
            "paid" => Err("订单还未发货，可以直接取消订单获得退款。".into()),
            "returning" => Err("这笔订单已在退换货处理中。".into()),
            _ => Err(format!("订单当前状态（{status}）暂不能退换。")),
        },
        Operation::CancelOrder => match status {
            "unpaid" | "paid" => {
                order.status = "cancelled".into();
                Ok("订单已取消，款项将在1-3个工作日内原路退回。".into())
            }
            _ => Err("订单已发货，不能取消；签收后可以申请退货。".into()),
        },
    }
}

async fn product(
    State(sys): State<DemoOrderSystem>,
    headers: HeaderMap,
    Path(product_id): Path<String>,
) -> Response {
    if !sys.authorised(&headers) {
        return error(StatusCode::UNAUTHORIZED, "bad token");
    }
    let data = sys.data.lock().expect("demo data");
    match data.products.iter().find(|p| p.product_id == product_id) {
        Some(p) => Json(p.clone()).into_response(),
        None => error(StatusCode::NOT_FOUND, "product not found"),
    }
}
