//! Work items: the routing state of each handed-off conversation.

use super::*;
use crate::store::ConversationStatus;
use kefu_store::Scoped;
use sea_orm::Select;

/// The tenant's work items of one customer.
fn of_customer(tenant_id: &str, customer_id: Uuid) -> Select<work_item::Entity> {
    work_item::Entity::of_tenant(tenant_id).filter(work_item::Column::CustomerId.eq(customer_id))
}

/// The customer's work items that a merchant was handed.
fn served_by(tenant_id: &str, customer_id: Uuid, merchant_id: &str) -> Select<work_item::Entity> {
    of_customer(tenant_id, customer_id).filter(work_item::Column::MerchantId.eq(merchant_id))
}

pub async fn work_items<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, work_item::Model>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(work_item::Entity::of_tenant(tenant_id)
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
    states: &[WorkState],
    merchant: Option<&str>,
    agent: Option<&str>,
    limit: u64,
) -> Result<Vec<work_item::Model>, StoreError> {
    let mut q = work_item::Entity::of_tenant(tenant_id)
        .filter(work_item::Column::State.is_in(states.iter().copied()));
    if let Some(m) = merchant {
        q = q.filter(work_item::Column::MerchantId.eq(m));
    }
    if let Some(a) = agent {
        q = q.filter(work_item::Column::AgentId.eq(a));
    }
    q = if states == [WorkState::Closed] {
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
    Ok(of_customer(tenant_id, customer_id)
        .filter(work_item::Column::AgentId.ne(""))
        .filter(work_item::Column::State.eq(WorkState::Closed))
        .order_by_desc(work_item::Column::ClosedAt)
        .one(db)
        .await?
        .map(|w| w.agent_id))
}

/// A new waiting work item (the bot handed the conversation off). A conversation already in
/// routing keeps its item; returns whether this one was stored.
pub async fn enqueue<C: ConnectionTrait>(db: &C, w: &work_item::Model) -> Result<bool, StoreError> {
    let row = work_item::ActiveModel::from(w.clone());
    let inserted = work_item::Entity::insert(row)
        .on_conflict(
            OnConflict::column(work_item::Column::ConversationId)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
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
    from_states: &[WorkState],
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
        .filter(agent::Column::Status.eq(Presence::Online))
        .exec(&txn)
        .await?;
    if locked.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(Err(OfferRefused::AgentUnavailable));
    }
    let Some(item) = work_item::Entity::get(&txn, tenant_id, conversation_id).await? else {
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
    let capacity = agent_row.capacity.of(&item.channel_type);
    let open = work_item::Entity::of_tenant(tenant_id)
        .filter(work_item::Column::AgentId.eq(agent_id))
        .filter(work_item::Column::ChannelType.eq(item.channel_type.as_str()))
        .filter(work_item::Column::State.is_in(WorkState::OPEN.iter().copied()))
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
        .col_expr(work_item::Column::State, Expr::value(WorkState::Offered))
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
    let item = work_item::Entity::get(&txn, tenant_id, conversation_id)
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
    pub state: Option<WorkState>,
    pub agent_id: Option<String>,
    pub queue: Option<String>,
    pub queue_entered_at: Option<DateTime<Utc>>,
    pub clear_offer: bool,
    /// Clears only the offer's expiry (the offer time stays, for how long ago it was made).
    pub clear_expiry: bool,
    pub accepted_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub excluded: Option<Strings>,
    pub note: Option<String>,
    pub summary: Option<String>,
    pub tags: Option<Strings>,
    pub csat: Option<(i32, String)>,
    pub monitors: Option<Strings>,
    pub participants: Option<Strings>,
    pub csat_invited: Option<bool>,
}

pub async fn change<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    conversation_id: Uuid,
    expected_version: i64,
    from_states: &[WorkState],
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
    work_item::Entity::get(db, tenant_id, conversation_id).await
}

/// The customer's latest closed conversation on a channel whose CSAT invitation went out.
pub async fn latest_invited<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    customer_id: Uuid,
) -> Result<Option<work_item::Model>, StoreError> {
    Ok(of_customer(tenant_id, customer_id)
        .filter(work_item::Column::State.eq(WorkState::Closed))
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
            Expr::value(ConversationStatus::Closed),
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
    Ok(served_by(tenant_id, customer_id, merchant_id)
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
    let mut q =
        work_item::Entity::of_tenant(tenant_id).filter(work_item::Column::EnqueuedAt.gte(since));
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
    Ok(served_by(tenant_id, customer_id, merchant_id)
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
    Ok(of_customer(tenant_id, customer_id)
        .filter(work_item::Column::State.ne(WorkState::Closed))
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
    Ok(work_item::Entity::of_tenant(tenant_id)
        .filter(work_item::Column::Queue.eq(queue))
        .filter(work_item::Column::State.is_in(WorkState::QUEUED.iter().copied()))
        .all(db)
        .await?)
}
