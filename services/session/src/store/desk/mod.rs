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

pub use crate::store::entities::values::{AgentRole, Capacity, Presence, Strings, WorkState};

mod agents;
mod canned;
mod routing;
mod work;

pub use agents::*;
pub use canned::*;
pub use routing::*;
pub use work::*;
