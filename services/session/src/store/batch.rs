//! Batched forms of the session repository, for consumers that apply many messages in one
//! transaction: each step is one statement for the whole batch, whatever its size. All of
//! them take one tenant; callers group a batch by tenant.

use super::{IDENTITY_EXTERNAL, NewMessage, Page};
use crate::store::entities::{conversation, customer, customer_identity, message};
use crate::store::{ConversationStatus, Mode};
use chrono::{DateTime, Utc};
use kefu_store::{Scoped, StoreError};
use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QuerySelect, QueryTrait,
};
use std::collections::{BTreeSet, HashMap};
use uuid::Uuid;

/// `(channel_id, external_user_id)`.
pub type ChannelUser = (String, String);

/// The customer id behind each channel user, and whether it was just created (customers and
/// identities of the new ones take two inserts for all of them).
pub async fn resolve_channel_customers<C: ConnectionTrait>(
    txn: &C,
    tenant_id: &str,
    keys: &[ChannelUser],
) -> Result<HashMap<ChannelUser, (Uuid, bool)>, StoreError> {
    let channels: BTreeSet<&str> = keys.iter().map(|(c, _)| c.as_str()).collect();
    let users: BTreeSet<&str> = keys.iter().map(|(_, u)| u.as_str()).collect();
    // Channels × users is a superset of the pairs asked for; the exact pairs are kept below.
    let found = customer_identity::Entity::of_tenant(tenant_id)
        .filter(customer_identity::Column::Kind.eq(IDENTITY_EXTERNAL))
        .filter(customer_identity::Column::Scope.is_in(channels))
        .filter(customer_identity::Column::Value.is_in(users))
        .all(txn)
        .await?;
    let mut out: HashMap<ChannelUser, (Uuid, bool)> = found
        .into_iter()
        .map(|i| ((i.scope, i.value), (i.customer_id, false)))
        .collect();
    let now = Utc::now();
    let mut customers = Vec::new();
    let mut identities = Vec::new();
    for key in keys {
        if out.contains_key(key) {
            continue;
        }
        let id = Uuid::now_v7();
        out.insert(key.clone(), (id, true));
        customers.push(customer::ActiveModel {
            id: Set(id),
            tenant_id: Set(tenant_id.to_owned()),
            display_name: Set(String::new()),
            created_at: Set(now),
            tier: Set(String::new()),
            tags: Set(Default::default()),
            region: Set(String::new()),
            language: Set(String::new()),
            merged_into: Set(None),
        });
        identities.push(customer_identity::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant_id.to_owned()),
            customer_id: Set(id),
            kind: Set(IDENTITY_EXTERNAL.to_owned()),
            scope: Set(key.0.clone()),
            value: Set(key.1.clone()),
            created_at: Set(now),
        });
    }
    if !customers.is_empty() {
        customer::Entity::insert_many(customers)
            .exec_without_returning(txn)
            .await?;
        customer_identity::Entity::insert_many(identities)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(out)
}

/// A conversation a message needs: the customer's open one on the channel, or a new one.
#[derive(Clone, Debug)]
pub struct WantConversation {
    pub customer_id: Uuid,
    pub channel_id: String,
    pub page: Page,
    pub at: DateTime<Utc>,
    /// The merchant whose shop the customer is in (empty: the platform).
    pub merchant_id: String,
}

/// The open conversation for each `(customer, channel)`, and whether it was just created.
pub async fn open_conversations<C: ConnectionTrait>(
    txn: &C,
    tenant_id: &str,
    wants: &[WantConversation],
) -> Result<HashMap<(Uuid, String), (conversation::Model, bool)>, StoreError> {
    let customers: BTreeSet<Uuid> = wants.iter().map(|w| w.customer_id).collect();
    let open = conversation::Entity::of_tenant(tenant_id)
        .filter(conversation::Column::Status.eq(ConversationStatus::Open))
        .filter(conversation::Column::CustomerId.is_in(customers))
        .all(txn)
        .await?;
    let mut out: HashMap<(Uuid, String), (conversation::Model, bool)> = open
        .into_iter()
        .map(|c| ((c.customer_id, c.channel_id.clone()), (c, false)))
        .collect();
    let mut created = Vec::new();
    for w in wants {
        let key = (w.customer_id, w.channel_id.clone());
        if out.contains_key(&key) {
            continue;
        }
        let model = conversation::Model {
            id: Uuid::now_v7(),
            tenant_id: tenant_id.to_owned(),
            customer_id: w.customer_id,
            channel_id: w.channel_id.clone(),
            status: ConversationStatus::Open,
            page_type: w.page.page_type.clone(),
            page_url: w.page.url.clone(),
            product_id: w.page.product_id.clone(),
            order_id: w.page.order_id.clone(),
            opened_at: w.at,
            last_message_at: w.at,
            closed_at: None,
            mode: Mode::Bot,
            bot_state: String::new(),
            merchant_id: w.merchant_id.clone(),
            handoff: None,
            message_count: 0,
        };
        created.push(model.clone());
        out.insert(key, (model, true));
    }
    if !created.is_empty() {
        // Another replica opening the same conversation meanwhile violates the partial unique
        // index, and the caller's transaction rolls back.
        conversation::Entity::insert_many(
            created
                .into_iter()
                .map(sea_orm::IntoActiveModel::into_active_model),
        )
        .exec_without_returning(txn)
        .await?;
    }
    Ok(out)
}

/// Stores `messages` (all of `tenant_id`, into conversations the caller resolved for that
/// tenant) with one insert, and with one update moves each conversation's `last_message_at`
/// forward to its newest message and counts the messages on it. Returns the stored rows, in the
/// order given, each with its sequence in its conversation.
///
/// The update locks the conversations' rows until commit (PostgreSQL; SQLite has one writer),
/// so two transactions appending to one conversation number their messages one after the
/// other, never both from the same count.
pub async fn append_messages<C: ConnectionTrait>(
    txn: &C,
    tenant_id: &str,
    messages: Vec<NewMessage>,
) -> Result<Vec<message::Model>, StoreError> {
    use conversation::Column as Conv;
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    let mut newest: HashMap<Uuid, (DateTime<Utc>, i64)> = HashMap::new();
    for m in &messages {
        let (t, n) = newest.entry(m.conversation_id).or_insert((m.created_at, 0));
        *t = std::cmp::max(*t, m.created_at);
        *n += 1;
    }
    let mut last_at = CaseStatement::new();
    let mut added = CaseStatement::new();
    for (id, (at, n)) in &newest {
        last_at = last_at.case(
            sea_orm::Condition::all()
                .add(Conv::Id.eq(*id))
                .add(Conv::LastMessageAt.lt(*at)),
            Expr::value(*at),
        );
        added = added.case(Conv::Id.eq(*id), Expr::value(*n));
    }
    let last_at = last_at.finally(Expr::col(Conv::LastMessageAt));
    let added = added.finally(Expr::value(0i64));
    let ids: Vec<Uuid> = newest.keys().copied().collect();
    let update = conversation::Entity::update_many()
        .col_expr(Conv::LastMessageAt, Expr::Case(Box::new(last_at)))
        .col_expr(
            Conv::MessageCount,
            Expr::col(Conv::MessageCount).add(Expr::Case(Box::new(added))),
        )
        .filter(Conv::TenantId.eq(tenant_id))
        .filter(Conv::Id.is_in(ids.iter().copied()));
    let counts: Vec<(Uuid, i64)> = if txn.get_database_backend() == DbBackend::Postgres {
        // One round trip: the new counts come back with the update.
        let mut stmt = update.into_query();
        stmt.returning(Query::returning().columns([Conv::Id, Conv::MessageCount]));
        txn.query_all(&stmt)
            .await?
            .iter()
            .map(|row| Ok((row.try_get("", "id")?, row.try_get("", "message_count")?)))
            .collect::<Result<_, sea_orm::DbErr>>()?
    } else {
        // SQLite has one writer: the update holds it, so this read sees the update's counts.
        update.exec(txn).await?;
        conversation::Entity::find()
            .select_only()
            .column(Conv::Id)
            .column(Conv::MessageCount)
            .filter(Conv::TenantId.eq(tenant_id))
            .filter(Conv::Id.is_in(ids))
            .into_tuple()
            .all(txn)
            .await?
    };
    if counts.len() != newest.len() {
        // A conversation that is not this tenant's (or not there): nothing is written.
        return Err(StoreError::Conflict(format!(
            "{} of {} conversations not found for tenant {tenant_id}",
            newest.len() - counts.len(),
            newest.len()
        )));
    }
    // The first sequence number of this batch in each conversation.
    let mut next: HashMap<Uuid, i64> = counts
        .into_iter()
        .map(|(id, count)| (id, count - newest.get(&id).map_or(0, |(_, n)| *n) + 1))
        .collect();
    let stored: Vec<message::Model> = messages
        .into_iter()
        .map(|m| {
            let mut row = m.to_model();
            row.tenant_id = tenant_id.to_owned();
            let seq = next
                .get_mut(&m.conversation_id)
                .expect("every conversation counted");
            row.seq = *seq;
            *seq += 1;
            row
        })
        .collect();
    message::Entity::insert_many(stored.iter().map(|m| message::ActiveModel {
        id: Set(m.id),
        tenant_id: Set(m.tenant_id.clone()),
        conversation_id: Set(m.conversation_id),
        direction: Set(m.direction.clone()),
        sender_kind: Set(m.sender_kind),
        text: Set(m.text.clone()),
        external_message_id: Set(m.external_message_id.clone()),
        created_at: Set(m.created_at),
        message_type: Set(m.message_type.clone()),
        cards: Set(m.cards.clone()),
        internal: Set(m.internal),
        agent_id: Set(m.agent_id.clone()),
        seq: Set(m.seq),
    }))
    .exec_without_returning(txn)
    .await?;
    Ok(stored)
}
