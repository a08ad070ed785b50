//! How a handed-off conversation enters routing: its work item — the queue (the merchant's,
//! else the platform's) and what its priority and agent choice depend on — and the events that
//! announce it. The inbound consumer hands the conversation over; the desk decides the rest.

use crate::domain;
use crate::store::desk;
use crate::store::desk::WorkState;
use crate::store::entities::work_item;
use chrono::Utc;
use kefu_bus::Envelope;
use kefu_proto::events::{HandoffRequested, MessageReceived};
use kefu_store::StoreError;
use kefu_store::sea_orm::ConnectionTrait;
use uuid::Uuid;

/// What the inbound side knows of a conversation it hands to a person.
pub struct Handover<'a> {
    pub conversation_id: Uuid,
    pub customer_id: Uuid,
    /// The message that led to the handoff.
    pub message: &'a MessageReceived,
    /// The bot's sentiment score of that message, when it answered.
    pub sentiment: Option<f64>,
    /// The merchant the conversation began with: it stays with that merchant.
    pub conversation_merchant: Option<&'a str>,
}

/// Enqueues the conversation for routing in the caller's transaction and returns its new
/// item; `None` when the conversation was already in routing (it keeps its item).
pub async fn enqueue_handoff(
    txn: &impl ConnectionTrait,
    tenant: &str,
    setup: &super::setup::Setup,
    handoff: &HandoffRequested,
    h: Handover<'_>,
) -> Result<Option<work_item::Model>, StoreError> {
    let item = work_item(txn, tenant, setup, handoff, &h).await?;
    Ok(desk::enqueue(txn, &item).await?.then_some(item))
}

/// The events that announce a new item: `queue.entered` and its desk projection.
/// Made by the caller inside the message's span, so they carry its trace.
pub fn announce(item: &work_item::Model) -> Vec<Envelope> {
    let entered = domain::queue_entered(item, domain::Entered::Handoff, "", item.queue_entered_at);
    super::events::with_desk(item, vec![entered])
}

async fn work_item(
    txn: &impl ConnectionTrait,
    tenant: &str,
    setup: &super::setup::Setup,
    handoff: &HandoffRequested,
    h: &Handover<'_>,
) -> Result<work_item::Model, StoreError> {
    let now = Utc::now();
    let msg = h.message;
    let merchant = h
        .conversation_merchant
        .filter(|m| !m.is_empty())
        .unwrap_or(&msg.merchant_id)
        .to_owned();
    let profile = handoff.profile.clone().unwrap_or_default();
    let negative = matches!(handoff.reason.as_str(), "negative_sentiment" | "complaint")
        || h.sentiment.is_some_and(|s| s < 0.0);
    let channel_type = if msg.channel_type.is_empty() {
        "api".to_owned()
    } else {
        msg.channel_type.clone()
    };
    Ok(work_item::Model {
        conversation_id: h.conversation_id,
        tenant_id: tenant.to_owned(),
        customer_id: h.customer_id,
        queue: setup.queue_for(&merchant).name.clone(),
        merchant_id: merchant,
        state: WorkState::Waiting,
        channel_type,
        tier: profile.tier.clone(),
        page_type: msg
            .page
            .as_ref()
            .map(|p| p.page_type.clone())
            .unwrap_or_default(),
        negative,
        language: if handoff.language.is_empty() {
            profile.language.clone()
        } else {
            handoff.language.clone()
        },
        last_agent: desk::last_agent(txn, tenant, h.customer_id)
            .await?
            .unwrap_or_default(),
        enqueued_at: now,
        queue_entered_at: now,
        note: handoff.reason.clone(),
        ..work_item::Model::default()
    })
}
