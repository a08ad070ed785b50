//! Operations shared by the desk's gRPC handlers and the router: a work-item change committed
//! with its events, and messages to the customer.

use crate::SessionState;
use crate::store::Sender;
use crate::store::desk::{self, Change, WorkState};
use crate::store::entities::{conversation, customer_identity, message, work_item};
use crate::store::{self as repo, NewMessage};
use chrono::Utc;
use kefu_bus::Envelope;
use kefu_proto::event_types;
use kefu_proto::events::{Card, CardList, MessageToSend};
use kefu_store::sea_orm::{
    ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use kefu_store::{Scoped, StoreError};
use kefu_worker::outbox;
use prost::Message as _;
use uuid::Uuid;

/// Whether a committed change wakes the router (the router's own changes do not).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    Router,
    No,
}

/// Applies `change` if the item `at` (id, version) is still at that version in one of `from`;
/// the events made of the changed item are written to the outbox in the same transaction.
/// `None` when the item moved on in the meantime.
pub async fn commit(
    state: &SessionState,
    tenant: &str,
    at: (Uuid, i64),
    from: &[WorkState],
    change: Change,
    events: impl FnOnce(&work_item::Model) -> Vec<Envelope>,
    wake: Wake,
) -> Result<Option<work_item::Model>, StoreError> {
    let txn = state.db.begin().await?;
    let Some(item) = desk::change(&txn, tenant, at.0, at.1, from, change).await? else {
        txn.rollback().await?;
        return Ok(None);
    };
    let events = events(&item);
    outbox::enqueue_many(&txn, &events).await?;
    txn.commit().await?;
    state.outbox.dispatch(events);
    if wake == Wake::Router {
        desk::touch(&state.db, tenant).await?;
        state.desk_wake.notify_one();
    }
    Ok(Some(item))
}

/// Why an offer goes back to its queue.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TakeBack {
    /// Not accepted in time (the router's pass): that agent is left out of the next round.
    Lapsed,
    /// The agent went away or offline: not held to the expiry, not excluded; the router is
    /// woken to offer it again.
    AgentAway,
}

/// Takes the offer of `w` back from its agent: the item waits again (`queue.entered`,
/// requeued). `None` when it was accepted or moved meanwhile.
pub async fn take_back(
    state: &SessionState,
    w: &work_item::Model,
    why: TakeBack,
) -> Result<Option<work_item::Model>, StoreError> {
    let lapsed = why == TakeBack::Lapsed;
    let wake = if lapsed { Wake::No } else { Wake::Router };
    let mut change = Change {
        state: Some(WorkState::Waiting),
        agent_id: Some(String::new()),
        note: Some("reoffer".to_owned()),
        ..Change::default()
    };
    if lapsed {
        let mut excluded = w.excluded.to_vec();
        excluded.push(w.agent_id.clone());
        change.excluded = Some(desk::Strings(excluded));
        change.clear_expiry = true;
    } else {
        change.clear_offer = true;
    }
    let at = (w.conversation_id, w.version);
    let from = w.agent_id.as_str();
    commit(
        state,
        &w.tenant_id,
        at,
        &[WorkState::Offered],
        change,
        |n| {
            let back =
                crate::domain::queue_entered(n, crate::domain::Entered::Requeued, from, Utc::now());
            super::events::with_desk(n, vec![back])
        },
        wake,
    )
    .await
}

/// The channel user a conversation's replies go to: the customer's most recent identity on the
/// conversation's channel.
pub async fn external_user<C: ConnectionTrait>(
    db: &C,
    c: &conversation::Model,
) -> Result<String, StoreError> {
    Ok(customer_identity::Entity::of_tenant(c.tenant_id.as_str())
        .filter(customer_identity::Column::CustomerId.eq(c.customer_id))
        .filter(customer_identity::Column::Kind.eq(repo::IDENTITY_EXTERNAL))
        .filter(customer_identity::Column::Scope.eq(c.channel_id.as_str()))
        .order_by_desc(customer_identity::Column::CreatedAt)
        .one(db)
        .await?
        .map(|i| i.value)
        .unwrap_or_default())
}

/// What an agent, a supervisor or the system says in a conversation.
pub struct Say<'a> {
    pub sender_kind: Sender,
    pub agent_id: &'a str,
    pub text: String,
    pub cards: Vec<Card>,
    pub internal: bool,
    /// Idempotency key: a message with the same key in the conversation is not written twice.
    pub key: Option<String>,
}

impl Say<'static> {
    /// A message from the system (not an agent) to the customer, written once per `key`.
    pub fn system(text: String, cards: Vec<Card>, key: String) -> Self {
        Self {
            sender_kind: Sender::System,
            agent_id: "",
            text,
            cards,
            internal: false,
            key: Some(key),
        }
    }
}

/// Stores a message in the conversation `c` (routed as `w`): its `message.created` event and,
/// unless internal, the event that delivers it to the customer. Returns the stored message (the
/// earlier one when the key was seen) and the events, none when nothing new was written.
pub async fn say<C: ConnectionTrait>(
    txn: &C,
    c: &conversation::Model,
    w: &work_item::Model,
    say: Say<'_>,
) -> Result<(message::Model, Vec<Envelope>), StoreError> {
    if let Some(key) = &say.key
        && let Some(existing) = message::Entity::of_tenant(c.tenant_id.as_str())
            .filter(message::Column::ConversationId.eq(c.id))
            .filter(message::Column::ExternalMessageId.eq(key.as_str()))
            .one(txn)
            .await?
    {
        return Ok((existing, Vec::new()));
    }
    let message_type = if say.internal {
        "note"
    } else if !say.cards.is_empty() {
        "card"
    } else {
        "text"
    };
    let cards = (!say.cards.is_empty()).then(|| {
        CardList {
            cards: say.cards.clone(),
        }
        .encode_to_vec()
    });
    let stored = repo::append_message(
        txn,
        NewMessage {
            id: Uuid::now_v7(),
            tenant_id: c.tenant_id.clone(),
            conversation_id: c.id,
            direction: "out",
            sender_kind: say.sender_kind,
            text: say.text.clone(),
            external_message_id: say.key.clone(),
            created_at: Utc::now(),
            message_type,
            cards,
            internal: say.internal,
            agent_id: say.agent_id.to_owned(),
        },
    )
    .await?;
    let mut events = vec![crate::domain::message_created(
        crate::domain::conversation_ref(w),
        &stored,
        None,
    )];
    if !say.internal {
        let out = MessageToSend {
            message_id: stored.id.to_string(),
            conversation_id: c.id.to_string(),
            channel_id: c.channel_id.clone(),
            external_user_id: external_user(txn, c).await?,
            text: say.text,
            reply_to_external_message_id: String::new(),
            sender_kind: say.sender_kind.as_str().to_owned(),
            inbound_received_at: None,
            bot: None,
            cards: say.cards,
            message_type: message_type.to_owned(),
        };
        events.push(Envelope::new(
            &c.tenant_id,
            event_types::MESSAGE_TO_SEND,
            out.encode_to_vec(),
        ));
    }
    Ok((stored, events))
}

/// Text in the customer's language: Traditional Chinese, English, or Simplified (the default).
pub fn localized(language: &str, zh_hans: &str, zh_hant: &str, en: &str) -> String {
    let l = language.to_ascii_lowercase();
    if l.starts_with("en") {
        en
    } else if l.contains("hant") || l.ends_with("-tw") || l.ends_with("-hk") || l.ends_with("-mo") {
        zh_hant
    } else {
        zh_hans
    }
    .to_owned()
}
