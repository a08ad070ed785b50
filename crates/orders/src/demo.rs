//! The demo order system: the connector's HTTP contract over a few customers and their orders
//! (`demo/orders.json`), kept in memory. `kefu dev` serves it so the bot's look-ups and card
//! buttons work on a fresh machine; tests serve it as the order system at Kefu's edge.

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
        }
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
            .route("/orders", get(list))
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
