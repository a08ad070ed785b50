//! `message.undeliverable` from the gateway (a reply a channel's rules kept from the
//! customer: the service window closed, its quota spent): shown to whoever serves the
//! conversation as the desk event `message.undeliverable`, so the agent knows the customer
//! did not get it and can reach them another way.

use crate::SessionState;
use kefu_bus::{Envelope, HandlerError, QueueSpec};
use kefu_proto::events::MessageUndeliverable;
use kefu_store::idempotency;
use kefu_store::sea_orm::TransactionTrait;
use prost::Message as _;
use serde_json::json;
use uuid::Uuid;

pub const CONSUMER: &str = kefu_proto::queues::SESSION_DELIVERIES.name;

pub fn queue_spec() -> QueueSpec {
    crate::queue(kefu_proto::queues::SESSION_DELIVERIES).with_prefetch(16)
}

pub async fn handle(state: SessionState, envelope: Envelope) -> Result<(), HandlerError> {
    let event = MessageUndeliverable::decode(envelope.payload.clone()).map_err(|e| {
        HandlerError::Permanent(format!("undecodable message.undeliverable: {e}").into())
    })?;
    let tenant = envelope.tenant_id.as_str();
    let Ok(conversation) = Uuid::parse_str(&event.conversation_id) else {
        return Err(HandlerError::Permanent(
            format!(
                "message.undeliverable for conversation {:?}",
                event.conversation_id
            )
            .into(),
        ));
    };
    let txn = state.db.begin().await.map_err(HandlerError::transient)?;
    if !idempotency::record(&txn, CONSUMER, envelope.event_id)
        .await
        .map_err(HandlerError::transient)?
    {
        return Ok(());
    }
    let work = crate::store::desk::work_items(&txn, tenant, &[conversation])
        .await
        .map_err(HandlerError::transient)?
        .remove(&conversation);
    // The conversation's agent and supervisors when a person serves it; supervisors (and the
    // board) when only the bot did.
    let (merchant, audience) = match &work {
        Some(w) => (
            w.merchant_id.clone(),
            crate::desk::events::Audience::of_work(w),
        ),
        None => (String::new(), crate::desk::events::Audience::agent("")),
    };
    let desk = crate::desk::events::envelope(
        tenant,
        &merchant,
        &event.conversation_id,
        audience,
        json!({
            "type": "message.undeliverable",
            "conversation_id": event.conversation_id,
            "message_id": event.message_id,
            "channel_type": event.channel_type,
            "reason": event.reason,
            "detail": event.detail,
            "sender": event.sender_kind,
            "text": event.text,
        }),
    );
    kefu_worker::outbox::enqueue(&txn, &desk)
        .await
        .map_err(HandlerError::transient)?;
    txn.commit().await.map_err(HandlerError::transient)?;
    tracing::info!(tenant, conversation = %event.conversation_id, reason = %event.reason, "an undeliverable reply was reported to the desk");
    state.outbox.dispatch([desk]);
    Ok(())
}
