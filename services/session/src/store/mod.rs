//! The session service's repository: customers and their identities, conversations, messages.
//! Every read takes the tenant id and filters on it: an id from another tenant is not found.
//! Only the session reads or writes these tables; [`migration`] creates them in the session's
//! own schema.

pub mod batch;
pub mod customers;
pub mod desk;
pub mod entities;
pub mod migration;

use crate::store::entities::{conversation, customer, customer_identity, message};
use chrono::{DateTime, Utc};
use kefu_store::{Scoped, StoreError};
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

pub const IDENTITY_EXTERNAL: &str = "external";
pub use entities::values::{ConversationStatus, Mode, Sender};

/// Finds the customer behind a channel's user id, creating customer and identity when new.
/// Returns the customer's id and whether it was created. (The batch of one of
/// [`batch::resolve_channel_customers`].)
pub async fn resolve_channel_customer<C: ConnectionTrait>(
    txn: &C,
    tenant_id: &str,
    channel_id: &str,
    external_user_id: &str,
) -> Result<(Uuid, bool), StoreError> {
    let key = (channel_id.to_owned(), external_user_id.to_owned());
    let found =
        batch::resolve_channel_customers(txn, tenant_id, std::slice::from_ref(&key)).await?;
    Ok(found[&key])
}

async fn find_identity<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    channel_id: &str,
    external_user_id: &str,
) -> Result<Option<customer_identity::Model>, StoreError> {
    Ok(customer_identity::Entity::of_tenant(tenant_id)
        .filter(customer_identity::Column::Kind.eq(IDENTITY_EXTERNAL))
        .filter(customer_identity::Column::Scope.eq(channel_id))
        .filter(customer_identity::Column::Value.eq(external_user_id))
        .one(db)
        .await?)
}

pub async fn find_channel_customer<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    channel_id: &str,
    external_user_id: &str,
) -> Result<Option<customer::Model>, StoreError> {
    let Some(identity) = find_identity(db, tenant_id, channel_id, external_user_id).await? else {
        return Ok(None);
    };
    Ok(customer::Entity::in_tenant(tenant_id, identity.customer_id)
        .one(db)
        .await?)
}

/// Where the customer was when the conversation started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    pub page_type: String,
    pub url: String,
    pub product_id: String,
    pub order_id: String,
}

/// The customer's open conversation on the channel, or a new one. Returns it and whether it was
/// created. (The batch of one of [`batch::open_conversations`].)
pub async fn open_conversation<C: ConnectionTrait>(
    txn: &C,
    tenant_id: &str,
    customer_id: Uuid,
    channel_id: &str,
    page: &Page,
    at: DateTime<Utc>,
) -> Result<(conversation::Model, bool), StoreError> {
    let want = batch::WantConversation {
        customer_id,
        channel_id: channel_id.to_owned(),
        page: page.clone(),
        at,
        merchant_id: String::new(),
    };
    let mut found = batch::open_conversations(txn, tenant_id, std::slice::from_ref(&want)).await?;
    found
        .remove(&(customer_id, channel_id.to_owned()))
        .ok_or_else(|| StoreError::Conflict("conversation vanished".into()))
}

#[derive(Clone, Debug)]
pub struct NewMessage {
    pub id: Uuid,
    pub tenant_id: String,
    pub conversation_id: Uuid,
    pub direction: &'static str,
    pub sender_kind: Sender,
    pub text: String,
    pub external_message_id: Option<String>,
    pub created_at: DateTime<Utc>,
    /// text | image | card | system | action
    pub message_type: &'static str,
    /// Encoded `kefu.events.v1.CardList`, when the message carries cards.
    pub cards: Option<Vec<u8>>,
    /// A note or whisper for agents only.
    pub internal: bool,
    /// The agent who wrote it; empty for customers, the bot and the system.
    pub agent_id: String,
}

impl NewMessage {
    /// The row this message becomes once appended.
    pub fn to_model(&self) -> message::Model {
        message::Model {
            id: self.id,
            tenant_id: self.tenant_id.clone(),
            conversation_id: self.conversation_id,
            direction: self.direction.to_owned(),
            sender_kind: self.sender_kind,
            text: self.text.clone(),
            external_message_id: self.external_message_id.clone(),
            created_at: self.created_at,
            message_type: self.message_type.to_owned(),
            cards: self.cards.clone(),
            internal: self.internal,
            agent_id: self.agent_id.clone(),
            // Numbered when appended.
            seq: 0,
        }
    }
}

/// Appends a message to one of the tenant's conversations (another tenant's conversation id is
/// a conflict and writes nothing) and moves `last_message_at` forward, never back.
pub async fn append_message<C: ConnectionTrait>(
    txn: &C,
    msg: NewMessage,
) -> Result<message::Model, StoreError> {
    let Some(conversation) =
        conversation::Entity::get(txn, &msg.tenant_id, msg.conversation_id).await?
    else {
        return Err(StoreError::Conflict(format!(
            "conversation {} not found",
            msg.conversation_id
        )));
    };
    let mut stored = batch::append_messages(txn, &conversation.tenant_id, vec![msg]).await?;
    Ok(stored.remove(0))
}

/// The latest `limit` messages of a conversation, oldest first; agents' internal notes only
/// when asked for.
pub async fn list_messages<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    conversation_id: Uuid,
    limit: u64,
    include_internal: bool,
) -> Result<Vec<message::Model>, StoreError> {
    let mut query = message::Entity::of_tenant(tenant_id)
        .filter(message::Column::ConversationId.eq(conversation_id));
    if !include_internal {
        query = query.filter(message::Column::Internal.eq(false));
    }
    latest_messages(db, query, limit).await
}

/// The latest `limit` messages `query` selects, oldest first.
pub(crate) async fn latest_messages<C: ConnectionTrait>(
    db: &C,
    query: sea_orm::Select<message::Entity>,
    limit: u64,
) -> Result<Vec<message::Model>, StoreError> {
    let mut rows = query
        .order_by_desc(message::Column::CreatedAt)
        .order_by_desc(message::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    rows.reverse();
    Ok(rows)
}
