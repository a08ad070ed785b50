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

// ---------------------------------------------------------------- agents

pub async fn get_agent<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    agent_id: &str,
) -> Result<Option<agent::Model>, StoreError> {
    Ok(agent::Entity::find()
        .filter(agent::Column::TenantId.eq(tenant_id))
        .filter(agent::Column::Id.eq(agent_id))
        .one(db)
        .await?)
}

pub async fn find_agent_by_login<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    login: &str,
) -> Result<Option<agent::Model>, StoreError> {
    Ok(agent::Entity::find()
        .filter(agent::Column::TenantId.eq(tenant_id))
        .filter(agent::Column::Login.eq(login))
        .one(db)
        .await?)
}

/// The tenant's agents, optionally of one merchant only.
pub async fn list_agents<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    merchant: Option<&str>,
) -> Result<Vec<agent::Model>, StoreError> {
    let mut q = agent::Entity::find().filter(agent::Column::TenantId.eq(tenant_id));
    if let Some(m) = merchant {
        q = q.filter(agent::Column::MerchantId.eq(m));
    }
    Ok(q.order_by_asc(agent::Column::Id).all(db).await?)
}

/// Creates or replaces an agent. Status, load and assignment history are kept on replace; an
/// empty `password_hash` keeps the current password.
pub async fn put_agent<C: ConnectionTrait>(db: &C, a: agent::Model) -> Result<(), StoreError> {
    let mut update = vec![
        agent::Column::Login,
        agent::Column::DisplayName,
        agent::Column::Role,
        agent::Column::MerchantId,
        agent::Column::Skills,
        agent::Column::Languages,
        agent::Column::Capacity,
    ];
    if !a.password_hash.is_empty() {
        update.push(agent::Column::PasswordHash);
    }
    let row = agent::ActiveModel {
        tenant_id: Set(a.tenant_id),
        id: Set(a.id),
        login: Set(a.login),
        display_name: Set(a.display_name),
        role: Set(a.role),
        merchant_id: Set(a.merchant_id),
        skills: Set(a.skills),
        languages: Set(a.languages),
        capacity: Set(a.capacity),
        status: Set(a.status),
        status_since: Set(a.status_since),
        password_hash: Set(a.password_hash),
        assign_seq: Set(a.assign_seq),
        last_assigned_at: Set(a.last_assigned_at),
        idle_since: Set(a.idle_since),
    };
    agent::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([agent::Column::TenantId, agent::Column::Id])
                .update_columns(update)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

pub async fn delete_agent<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    agent_id: &str,
) -> Result<bool, StoreError> {
    let res = agent::Entity::delete_many()
        .filter(agent::Column::TenantId.eq(tenant_id))
        .filter(agent::Column::Id.eq(agent_id))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Why an agent was not deleted.
#[derive(Debug, PartialEq, Eq)]
pub enum DeleteRefused {
    NotFound,
    /// It still has offered or active conversations.
    HasWork,
}

/// Deletes an agent who has no open work, in one transaction: the agent is set offline first
/// (locking its row, as an offer does), so no offer can land between the check and the delete.
pub async fn delete_idle_agent(
    db: &sea_orm::DatabaseConnection,
    tenant_id: &str,
    agent_id: &str,
) -> Result<Result<(), DeleteRefused>, StoreError> {
    let txn = db.begin().await?;
    let locked = agent::Entity::update_many()
        .col_expr(agent::Column::Status, Expr::value("offline"))
        .filter(agent::Column::TenantId.eq(tenant_id))
        .filter(agent::Column::Id.eq(agent_id))
        .exec(&txn)
        .await?;
    if locked.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(Err(DeleteRefused::NotFound));
    }
    let open = work_item::Entity::find()
        .filter(work_item::Column::TenantId.eq(tenant_id))
        .filter(work_item::Column::AgentId.eq(agent_id))
        .filter(work_item::Column::State.is_in(OPEN_STATES.iter().copied()))
        .count(&txn)
        .await?;
    if open > 0 {
        txn.rollback().await?;
        return Ok(Err(DeleteRefused::HasWork));
    }
    delete_agent(&txn, tenant_id, agent_id).await?;
    txn.commit().await?;
    Ok(Ok(()))
}

pub async fn set_status<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    agent_id: &str,
    status: &str,
) -> Result<bool, StoreError> {
    let res = agent::Entity::update_many()
        .col_expr(agent::Column::Status, Expr::value(status))
        .col_expr(agent::Column::StatusSince, Expr::value(Utc::now()))
        .filter(agent::Column::TenantId.eq(tenant_id))
        .filter(agent::Column::Id.eq(agent_id))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Open work (offered or active) per agent and channel type.
pub async fn loads<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
) -> Result<HashMap<String, HashMap<String, u32>>, StoreError> {
    let rows: Vec<(String, String, i64)> = work_item::Entity::find()
        .select_only()
        .column(work_item::Column::AgentId)
        .column(work_item::Column::ChannelType)
        .column_as(work_item::Column::ConversationId.count(), "n")
        .filter(work_item::Column::TenantId.eq(tenant_id))
        .filter(work_item::Column::State.is_in(OPEN_STATES.iter().copied()))
        .group_by(work_item::Column::AgentId)
        .group_by(work_item::Column::ChannelType)
        .into_tuple()
        .all(db)
        .await?;
    let mut out: HashMap<String, HashMap<String, u32>> = HashMap::new();
    for (agent, channel, n) in rows {
        out.entry(agent)
            .or_default()
            .insert(channel, u32::try_from(n).unwrap_or(u32::MAX));
    }
    Ok(out)
}

// ---------------------------------------------------------------- canned responses

/// Creates or replaces a canned response of the tenant. An id that belongs to another tenant is
/// a conflict and changes nothing.
pub async fn put_canned<C: ConnectionTrait>(
    db: &C,
    c: canned_response::Model,
) -> Result<(), StoreError> {
    let updated = canned_response::Entity::update_many()
        .col_expr(
            canned_response::Column::MerchantId,
            Expr::value(c.merchant_id.clone()),
        )
        .col_expr(
            canned_response::Column::Shortcut,
            Expr::value(c.shortcut.clone()),
        )
        .col_expr(canned_response::Column::Title, Expr::value(c.title.clone()))
        .col_expr(canned_response::Column::Text, Expr::value(c.text.clone()))
        .col_expr(
            canned_response::Column::UpdatedAt,
            Expr::value(c.updated_at),
        )
        .filter(canned_response::Column::Id.eq(c.id))
        .filter(canned_response::Column::TenantId.eq(c.tenant_id.as_str()))
        .exec(db)
        .await?;
    if updated.rows_affected == 1 {
        return Ok(());
    }
    let id = c.id;
    canned_response::Entity::insert(canned_response::ActiveModel {
        id: Set(c.id),
        tenant_id: Set(c.tenant_id),
        merchant_id: Set(c.merchant_id),
        shortcut: Set(c.shortcut),
        title: Set(c.title),
        text: Set(c.text),
        updated_at: Set(c.updated_at),
    })
    .exec_without_returning(db)
    .await
    .map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            StoreError::Conflict(format!("canned response {id} belongs elsewhere"))
        }
        _ => e.into(),
    })?;
    Ok(())
}

pub async fn get_canned<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    id: Uuid,
) -> Result<Option<canned_response::Model>, StoreError> {
    Ok(canned_response::Entity::find_by_id(id)
        .filter(canned_response::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?)
}

/// The tenant's canned responses visible to a merchant scope (`None`: platform staff, who see
/// all), ordered by shortcut.
pub async fn list_canned<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    merchant: Option<&str>,
) -> Result<Vec<canned_response::Model>, StoreError> {
    let mut q =
        canned_response::Entity::find().filter(canned_response::Column::TenantId.eq(tenant_id));
    if let Some(m) = merchant {
        // A merchant's staff see their merchant's and the platform's shared responses.
        q = q.filter(canned_response::Column::MerchantId.is_in([m, ""]));
    }
    Ok(q.order_by_asc(canned_response::Column::Shortcut)
        .all(db)
        .await?)
}

pub async fn delete_canned<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    id: Uuid,
) -> Result<bool, StoreError> {
    let res = canned_response::Entity::delete_many()
        .filter(canned_response::Column::TenantId.eq(tenant_id))
        .filter(canned_response::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

// ---------------------------------------------------------------- routing documents

/// Stores (or, when `deleted`, removes) a routing document unless a newer version is stored.
pub async fn put_routing_config<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    kind: &str,
    name: &str,
    version: i64,
    spec_json: Option<&str>,
) -> Result<bool, StoreError> {
    let current = routing_config::Entity::find_by_id((
        tenant_id.to_owned(),
        kind.to_owned(),
        name.to_owned(),
    ))
    .one(db)
    .await?;
    if current.as_ref().is_some_and(|c| c.version >= version) {
        return Ok(false);
    }
    let row = routing_config::ActiveModel {
        tenant_id: Set(tenant_id.to_owned()),
        kind: Set(kind.to_owned()),
        name: Set(name.to_owned()),
        // A deletion is kept as an empty document, so an older announcement cannot revive it.
        spec_json: Set(spec_json.unwrap_or("").to_owned()),
        version: Set(version),
    };
    routing_config::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                routing_config::Column::TenantId,
                routing_config::Column::Kind,
                routing_config::Column::Name,
            ])
            .update_columns([
                routing_config::Column::SpecJson,
                routing_config::Column::Version,
            ])
            // Two consumers racing: the older announcement never overwrites the newer.
            .action_and_where(
                Expr::col((routing_config::Entity, routing_config::Column::Version)).lt(version),
            )
            .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .or_else(|e| match e {
            sea_orm::DbErr::RecordNotInserted => Ok(0),
            e => Err(e),
        })?;
    Ok(true)
}

/// The tenant's live routing documents of one kind: (name, spec JSON).
pub async fn routing_configs<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
) -> Result<Vec<routing_config::Model>, StoreError> {
    Ok(routing_config::Entity::find()
        .filter(routing_config::Column::TenantId.eq(tenant_id))
        .filter(routing_config::Column::SpecJson.ne(""))
        .order_by_asc(routing_config::Column::Name)
        .all(db)
        .await?)
}

// ---------------------------------------------------------------- leases and wake-ups

/// Marks the tenant's routing state as changed, so whichever replica decides for it routes
/// again. Called after the change committed; it is a hint (the decider also routes on a timer).
pub async fn touch<C: ConnectionTrait>(db: &C, tenant_id: &str) -> Result<(), StoreError> {
    routing_tenant::Entity::insert(routing_tenant::ActiveModel {
        tenant_id: Set(tenant_id.to_owned()),
        version: Set(1),
        holder: Set(String::new()),
        lease_expires_ms: Set(0),
    })
    .on_conflict(
        OnConflict::column(routing_tenant::Column::TenantId)
            .value(
                routing_tenant::Column::Version,
                Expr::col((routing_tenant::Entity, routing_tenant::Column::Version)).add(1),
            )
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

pub async fn routing_tenants<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<routing_tenant::Model>, StoreError> {
    Ok(routing_tenant::Entity::find().all(db).await?)
}

/// Takes or renews the tenant's routing lease for `holder` until `now_ms + ttl_ms`. Succeeds
/// only when the lease is free, expired, or already `holder`'s.
pub async fn acquire_lease<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    holder: &str,
    now_ms: i64,
    ttl_ms: i64,
) -> Result<bool, StoreError> {
    let res = routing_tenant::Entity::update_many()
        .col_expr(routing_tenant::Column::Holder, Expr::value(holder))
        .col_expr(
            routing_tenant::Column::LeaseExpiresMs,
            Expr::value(now_ms + ttl_ms),
        )
        .filter(routing_tenant::Column::TenantId.eq(tenant_id))
        .filter(
            sea_orm::Condition::any()
                .add(routing_tenant::Column::Holder.eq(holder))
                .add(routing_tenant::Column::LeaseExpiresMs.lt(now_ms)),
        )
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Gives up every lease `holder` has (a replica that stops lets another take over at once).
pub async fn release_leases<C: ConnectionTrait>(db: &C, holder: &str) -> Result<(), StoreError> {
    routing_tenant::Entity::update_many()
        .col_expr(routing_tenant::Column::Holder, Expr::value(""))
        .col_expr(routing_tenant::Column::LeaseExpiresMs, Expr::value(0i64))
        .filter(routing_tenant::Column::Holder.eq(holder))
        .exec(db)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------- work items

pub async fn get_work<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    conversation_id: Uuid,
) -> Result<Option<work_item::Model>, StoreError> {
    Ok(work_item::Entity::find_by_id(conversation_id)
        .filter(work_item::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?)
}

pub async fn work_items<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, work_item::Model>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(work_item::Entity::find()
        .filter(work_item::Column::TenantId.eq(tenant_id))
        .filter(work_item::Column::ConversationId.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|w| (w.conversation_id, w))
        .collect())
}

/// Work items in the given states, optionally of one merchant / one agent, newest first for
/// closed ones and oldest first otherwise.
pub async fn list_work<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    states: &[&str],
    merchant: Option<&str>,
    agent: Option<&str>,
    limit: u64,
) -> Result<Vec<work_item::Model>, StoreError> {
    let mut q = work_item::Entity::find()
        .filter(work_item::Column::TenantId.eq(tenant_id))
        .filter(work_item::Column::State.is_in(states.iter().copied()));
    if let Some(m) = merchant {
        q = q.filter(work_item::Column::MerchantId.eq(m));
    }
    if let Some(a) = agent {
        q = q.filter(work_item::Column::AgentId.eq(a));
    }
    q = if states == [CLOSED] {
        q.order_by_desc(work_item::Column::ClosedAt)
    } else {
        q.order_by_asc(work_item::Column::EnqueuedAt)
    };
    Ok(q.limit(limit).all(db).await?)
}

/// The agent who served the customer last, if any.
pub async fn last_agent<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    customer_id: Uuid,
) -> Result<Option<String>, StoreError> {
    Ok(work_item::Entity::find()
        .filter(work_item::Column::TenantId.eq(tenant_id))
        .filter(work_item::Column::CustomerId.eq(customer_id))
        .filter(work_item::Column::AgentId.ne(""))
        .filter(work_item::Column::State.eq(CLOSED))
        .order_by_desc(work_item::Column::ClosedAt)
        .one(db)
        .await?
        .map(|w| w.agent_id))
}

/// A new waiting work item (the bot handed the conversation off). A conversation already in
/// routing keeps its item; returns whether this one was stored.
pub async fn enqueue<C: ConnectionTrait>(db: &C, w: &work_item::Model) -> Result<bool, StoreError> {
    let w = w.clone();
    let row = work_item::ActiveModel {
        conversation_id: Set(w.conversation_id),
        tenant_id: Set(w.tenant_id),
        customer_id: Set(w.customer_id),
        merchant_id: Set(w.merchant_id),
        queue: Set(w.queue),
        state: Set(w.state),
        agent_id: Set(w.agent_id),
        channel_type: Set(w.channel_type),
        tier: Set(w.tier),
        page_type: Set(w.page_type),
        negative: Set(w.negative),
        language: Set(w.language),
        last_agent: Set(w.last_agent),
        enqueued_at: Set(w.enqueued_at),
        queue_entered_at: Set(w.queue_entered_at),
        offered_at: Set(w.offered_at),
        offer_expires_at: Set(w.offer_expires_at),
        accepted_at: Set(w.accepted_at),
        closed_at: Set(w.closed_at),
        excluded: Set(w.excluded),
        note: Set(w.note),
        summary: Set(w.summary),
        tags: Set(w.tags),
        csat: Set(w.csat),
        csat_comment: Set(w.csat_comment),
        monitors: Set(w.monitors),
        participants: Set(w.participants),
        version: Set(w.version),
        csat_invited: Set(w.csat_invited),
    };
    let inserted = work_item::Entity::insert(row)
        .on_conflict(
            OnConflict::column(work_item::Column::ConversationId)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .or_else(|e| match e {
            sea_orm::DbErr::RecordNotInserted => Ok(0),
            e => Err(e),
        })?;
    Ok(inserted == 1)
}

/// Why an offer was not made.
#[derive(Debug, PartialEq, Eq)]
pub enum OfferRefused {
    /// The agent is not online (or no longer exists).
    AgentUnavailable,
    /// The agent already has `capacity` open conversations of this channel type.
    AtCapacity,
    /// The work item changed since it was read (another replica, an accept, a close).
    Stale,
}

/// Offers a queued (or, for a transfer, active) conversation to an agent: the agent row is
/// locked first, its open work counted against its capacity, then the item moves only if its
/// version is still `expected_version`; the events `events` makes of the offered item go to the
/// outbox in the same transaction. All or nothing.
#[allow(clippy::too_many_arguments)]
pub async fn offer(
    db: &sea_orm::DatabaseConnection,
    tenant_id: &str,
    conversation_id: Uuid,
    agent_id: &str,
    expected_version: i64,
    from_states: &[&str],
    expires_at: DateTime<Utc>,
    note: Option<&str>,
    events: impl FnOnce(&work_item::Model) -> Vec<kefu_bus::Envelope>,
) -> Result<Result<(work_item::Model, Vec<kefu_bus::Envelope>), OfferRefused>, StoreError> {
    let txn = db.begin().await?;
    let now = Utc::now();
    let locked = agent::Entity::update_many()
        .col_expr(
            agent::Column::AssignSeq,
            Expr::col(agent::Column::AssignSeq).add(1),
        )
        .col_expr(agent::Column::LastAssignedAt, Expr::value(Some(now)))
        .filter(agent::Column::TenantId.eq(tenant_id))
        .filter(agent::Column::Id.eq(agent_id))
        .filter(agent::Column::Status.eq("online"))
        .exec(&txn)
        .await?;
    if locked.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(Err(OfferRefused::AgentUnavailable));
    }
    let Some(item) = get_work(&txn, tenant_id, conversation_id).await? else {
        txn.rollback().await?;
        return Ok(Err(OfferRefused::Stale));
    };
    // A merchant's agent serves that merchant's conversations only (platform agents serve all).
    let Some(agent_row) = get_agent(&txn, tenant_id, agent_id)
        .await?
        .filter(|a| a.merchant_id.is_empty() || a.merchant_id == item.merchant_id)
    else {
        txn.rollback().await?;
        return Ok(Err(OfferRefused::AgentUnavailable));
    };
    let capacity = capacity_for(&capacity_of(&agent_row.capacity), &item.channel_type);
    let open = work_item::Entity::find()
        .filter(work_item::Column::TenantId.eq(tenant_id))
        .filter(work_item::Column::AgentId.eq(agent_id))
        .filter(work_item::Column::ChannelType.eq(item.channel_type.as_str()))
        .filter(work_item::Column::State.is_in(OPEN_STATES.iter().copied()))
        .filter(work_item::Column::ConversationId.ne(conversation_id))
        .count(&txn)
        .await?;
    if open >= u64::from(capacity) {
        txn.rollback().await?;
        return Ok(Err(OfferRefused::AtCapacity));
    }
    let mut moved = work_item::Entity::update_many();
    if let Some(note) = note {
        moved = moved.col_expr(work_item::Column::Note, Expr::value(note));
    }
    let moved = moved
        .col_expr(work_item::Column::State, Expr::value(OFFERED))
        .col_expr(work_item::Column::AgentId, Expr::value(agent_id))
        .col_expr(work_item::Column::OfferedAt, Expr::value(Some(now)))
        .col_expr(
            work_item::Column::OfferExpiresAt,
            Expr::value(Some(expires_at)),
        )
        .col_expr(
            work_item::Column::AcceptedAt,
            Expr::value(None::<DateTime<Utc>>),
        )
        .col_expr(
            work_item::Column::Version,
            Expr::col(work_item::Column::Version).add(1),
        )
        .filter(work_item::Column::TenantId.eq(tenant_id))
        .filter(work_item::Column::ConversationId.eq(conversation_id))
        .filter(work_item::Column::Version.eq(expected_version))
        .filter(work_item::Column::State.is_in(from_states.iter().copied()))
        .exec(&txn)
        .await?;
    if moved.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(Err(OfferRefused::Stale));
    }
    let item = get_work(&txn, tenant_id, conversation_id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("work item {conversation_id}")))?;
    let events = events(&item);
    kefu_worker::outbox::enqueue_many(&txn, &events).await?;
    txn.commit().await?;
    Ok(Ok((item, events)))
}

/// Changes of a work item, applied only if it is still at `expected_version` and in one of
/// `from_states`. Returns the item after the change, or `None` when it had moved on.
#[derive(Default)]
pub struct Change {
    pub state: Option<&'static str>,
    pub agent_id: Option<String>,
    pub queue: Option<String>,
    pub queue_entered_at: Option<DateTime<Utc>>,
    pub clear_offer: bool,
    /// Clears only the offer's expiry (the offer time stays, for how long ago it was made).
    pub clear_expiry: bool,
    pub accepted_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub excluded: Option<String>,
    pub note: Option<String>,
    pub summary: Option<String>,
    pub tags: Option<String>,
    pub csat: Option<(i32, String)>,
    pub monitors: Option<String>,
    pub participants: Option<String>,
    pub csat_invited: Option<bool>,
}

pub async fn change<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    conversation_id: Uuid,
    expected_version: i64,
    from_states: &[&str],
    c: Change,
) -> Result<Option<work_item::Model>, StoreError> {
    use work_item::Column as W;
    let mut q = work_item::Entity::update_many()
        .col_expr(W::Version, Expr::col(W::Version).add(1))
        .filter(W::TenantId.eq(tenant_id))
        .filter(W::ConversationId.eq(conversation_id))
        .filter(W::Version.eq(expected_version))
        .filter(W::State.is_in(from_states.iter().copied()));
    if let Some(s) = c.state {
        q = q.col_expr(W::State, Expr::value(s));
    }
    if let Some(a) = c.agent_id {
        q = q.col_expr(W::AgentId, Expr::value(a));
    }
    if let Some(v) = c.queue {
        q = q.col_expr(W::Queue, Expr::value(v));
    }
    if let Some(v) = c.queue_entered_at {
        q = q.col_expr(W::QueueEnteredAt, Expr::value(v));
    }
    if c.clear_offer {
        q = q
            .col_expr(W::OfferedAt, Expr::value(None::<DateTime<Utc>>))
            .col_expr(W::OfferExpiresAt, Expr::value(None::<DateTime<Utc>>));
    }
    if c.clear_expiry {
        q = q.col_expr(W::OfferExpiresAt, Expr::value(None::<DateTime<Utc>>));
    }
    if let Some(v) = c.accepted_at {
        q = q
            .col_expr(W::AcceptedAt, Expr::value(Some(v)))
            .col_expr(W::OfferExpiresAt, Expr::value(None::<DateTime<Utc>>));
    }
    if let Some(v) = c.closed_at {
        q = q.col_expr(W::ClosedAt, Expr::value(Some(v)));
    }
    if let Some(v) = c.excluded {
        q = q.col_expr(W::Excluded, Expr::value(v));
    }
    if let Some(v) = c.note {
        q = q.col_expr(W::Note, Expr::value(v));
    }
    if let Some(v) = c.summary {
        q = q.col_expr(W::Summary, Expr::value(v));
    }
    if let Some(v) = c.tags {
        q = q.col_expr(W::Tags, Expr::value(v));
    }
    if let Some((rating, comment)) = c.csat {
        q = q
            .col_expr(W::Csat, Expr::value(rating))
            .col_expr(W::CsatComment, Expr::value(comment));
    }
    if let Some(v) = c.monitors {
        q = q.col_expr(W::Monitors, Expr::value(v));
    }
    if let Some(v) = c.participants {
        q = q.col_expr(W::Participants, Expr::value(v));
    }
    if let Some(v) = c.csat_invited {
        q = q.col_expr(W::CsatInvited, Expr::value(v));
    }
    if q.exec(db).await?.rows_affected != 1 {
        return Ok(None);
    }
    get_work(db, tenant_id, conversation_id).await
}

/// The customer's latest closed conversation on a channel whose CSAT invitation went out.
pub async fn latest_invited<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    customer_id: Uuid,
) -> Result<Option<work_item::Model>, StoreError> {
    Ok(work_item::Entity::find()
        .filter(work_item::Column::TenantId.eq(tenant_id))
        .filter(work_item::Column::CustomerId.eq(customer_id))
        .filter(work_item::Column::State.eq(CLOSED))
        .filter(work_item::Column::CsatInvited.eq(true))
        .order_by_desc(work_item::Column::ClosedAt)
        .one(db)
        .await?)
}

/// Ends a conversation: the customer's next message opens a new one, with the bot.
pub async fn close_conversation<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    conversation_id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    use crate::store::entities::conversation;
    conversation::Entity::update_many()
        .col_expr(
            conversation::Column::Status,
            Expr::value(super::CONVERSATION_CLOSED),
        )
        .col_expr(conversation::Column::ClosedAt, Expr::value(Some(at)))
        .filter(conversation::Column::TenantId.eq(tenant_id))
        .filter(conversation::Column::Id.eq(conversation_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Whether a merchant has served (been handed) any conversation of the customer.
pub async fn customer_served_by<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    customer_id: Uuid,
    merchant_id: &str,
) -> Result<bool, StoreError> {
    Ok(work_item::Entity::find()
        .filter(work_item::Column::TenantId.eq(tenant_id))
        .filter(work_item::Column::CustomerId.eq(customer_id))
        .filter(work_item::Column::MerchantId.eq(merchant_id))
        .count(db)
        .await?
        > 0)
}

/// Work items of the tenant that entered routing since `since` (for service levels), optionally
/// of one merchant.
pub async fn work_since<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    since: DateTime<Utc>,
    merchant: Option<&str>,
) -> Result<Vec<work_item::Model>, StoreError> {
    let mut q = work_item::Entity::find()
        .filter(work_item::Column::TenantId.eq(tenant_id))
        .filter(work_item::Column::EnqueuedAt.gte(since));
    if let Some(m) = merchant {
        q = q.filter(work_item::Column::MerchantId.eq(m));
    }
    Ok(q.all(db).await?)
}

/// The conversations of a customer that a merchant was handed.
pub async fn conversations_served_by<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    customer_id: Uuid,
    merchant_id: &str,
) -> Result<Vec<Uuid>, StoreError> {
    Ok(work_item::Entity::find()
        .filter(work_item::Column::TenantId.eq(tenant_id))
        .filter(work_item::Column::CustomerId.eq(customer_id))
        .filter(work_item::Column::MerchantId.eq(merchant_id))
        .all(db)
        .await?
        .into_iter()
        .map(|w| w.conversation_id)
        .collect())
}

/// The customer's conversation currently with routing (not closed), the newest if several.
pub async fn open_work_for_customer<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    customer_id: Uuid,
) -> Result<Option<work_item::Model>, StoreError> {
    Ok(work_item::Entity::find()
        .filter(work_item::Column::TenantId.eq(tenant_id))
        .filter(work_item::Column::CustomerId.eq(customer_id))
        .filter(work_item::Column::State.ne(CLOSED))
        .order_by_desc(work_item::Column::EnqueuedAt)
        .one(db)
        .await?)
}

/// The conversations waiting (or left as messages) in one queue.
pub async fn queued_in<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    queue: &str,
) -> Result<Vec<work_item::Model>, StoreError> {
    Ok(work_item::Entity::find()
        .filter(work_item::Column::TenantId.eq(tenant_id))
        .filter(work_item::Column::Queue.eq(queue))
        .filter(work_item::Column::State.is_in(QUEUED_STATES.iter().copied()))
        .all(db)
        .await?)
}
