//! The order system's JSON shapes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Order {
    pub order_id: String,
    /// unpaid | paid | shipped | delivered | completed | cancelled | returning
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub amount_cents: i64,
    pub items: Vec<OrderItem>,
    #[serde(default)]
    pub merchant_id: String,
    #[serde(default)]
    pub logistics: Option<Logistics>,
    /// none | requested | issued
    #[serde(default = "none")]
    pub invoice: String,
    #[serde(default)]
    pub urged: bool,
}

fn none() -> String {
    "none".into()
}

impl Order {
    /// A short title: the first item and how many more.
    pub fn title(&self) -> String {
        match self.items.as_slice() {
            [] => self.order_id.clone(),
            [one] => one.name.clone(),
            [first, rest @ ..] => format!("{} 等{}件", first.name, rest.len() + 1),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct OrderItem {
    pub product_id: String,
    pub name: String,
    pub quantity: u32,
    pub price_cents: i64,
    #[serde(default)]
    pub image_url: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Logistics {
    pub carrier: String,
    pub tracking_no: String,
    /// The latest tracking event.
    pub latest: String,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Product {
    pub product_id: String,
    pub name: String,
    pub price_cents: i64,
    #[serde(default)]
    pub image_url: String,
    /// Units available online.
    pub stock: i64,
    #[serde(default)]
    pub merchant_id: String,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    UrgeShipment,
    IssueInvoice,
    CreateReturn,
    CreateExchange,
    CancelOrder,
}

impl Operation {
    /// The bot action (and card button) that asks for this operation.
    pub fn from_action(action: &str) -> Option<Self> {
        Some(match action {
            "urge_shipment" => Self::UrgeShipment,
            "issue_invoice" => Self::IssueInvoice,
            "create_return" => Self::CreateReturn,
            "create_exchange" => Self::CreateExchange,
            "cancel_order" => Self::CancelOrder,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OperationRequest {
    pub operation: Operation,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub member_id: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct OperationResult {
    pub order: Order,
    /// What the order system did, in words for the customer.
    pub message: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrderList {
    pub orders: Vec<Order>,
}
