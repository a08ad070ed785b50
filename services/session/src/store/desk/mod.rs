//! The agent desk's tables: agents, work items (a handed-off conversation's place in routing),
//! canned responses, the tenant's routing documents, and the per-tenant routing lease.
//!
//! Correctness with several session replicas rests on the database, not on any replica's
//! memory: an offer is one transaction that first locks the agent's row (so concurrent offers
//! to one agent queue up), then counts the agent's open work for the channel type against its
//! capacity, then moves the work item only if it still has the version the router read. Two
//! replicas can therefore never give one conversation to two agents, nor an agent more than its
//! capacity, whatever their caches believe.

use crate::store::entities::{agent, canned_response, routing_config, routing_tenant, work_item};
use chrono::{DateTime, Utc};
use kefu_store::StoreError;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use std::collections::HashMap;
use uuid::Uuid;

pub const WAITING: &str = "waiting";
pub const OFFERED: &str = "offered";
pub const ACTIVE: &str = "active";
pub const LEFT_MESSAGE: &str = "left_message";
pub const CLOSED: &str = "closed";
/// States that count against an agent's capacity.
pub const OPEN_STATES: &[&str] = &[OFFERED, ACTIVE];
/// States the router may hand out.
pub const QUEUED_STATES: &[&str] = &[WAITING, LEFT_MESSAGE];

/// JSON list stored in a text column.
pub fn list_of(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

pub fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}

/// Capacity per channel type, `*` for the rest.
pub fn capacity_of(json: &str) -> HashMap<String, u32> {
    serde_json::from_str(json).unwrap_or_default()
}

/// An agent's capacity for one channel type (`*` when the type is not listed; 0 when neither).
pub fn capacity_for(capacity: &HashMap<String, u32>, channel_type: &str) -> u32 {
    capacity
        .get(channel_type)
        .or_else(|| capacity.get("*"))
        .copied()
        .unwrap_or(0)
}

mod agents;
mod canned;
mod routing;
mod work;

pub use agents::*;
pub use canned::*;
pub use routing::*;
pub use work::*;
