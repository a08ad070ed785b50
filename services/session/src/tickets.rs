//! Customers kept informed about their tickets: the ticketing service's `ticket.commented`
//! (a public reply by staff) and `ticket.status_changed` (by staff) for a ticket linked to a
//! conversation become a message in that conversation, delivered on the customer's channel
//! like any agent's reply (`message.to_send`). The customer's own words and the changes they
//! cause are not echoed back. Idempotent: the message's key is the event id.

use crate::SessionState;
use crate::desk::ops::{self, Say};
use crate::store::entities::conversation;
use crate::store::entities::values::Sender;
use kefu_bus::{Envelope, HandlerError, QueueSpec};
use kefu_proto::event_types as t;
use kefu_proto::events::{TicketCommented, TicketRef, TicketStatusChanged};
use kefu_store::Scoped;
use kefu_store::idempotency;
use kefu_store::sea_orm::TransactionTrait;
use prost::Message as _;
use uuid::Uuid;

pub const CONSUMER: &str = kefu_proto::queues::SESSION_TICKETS.name;

pub fn queue_spec() -> QueueSpec {
    crate::queue(kefu_proto::queues::SESSION_TICKETS).with_prefetch(16)
}

/// What the customer is told that a ticket's status is now, in their language.
fn status_text(language: &str, number: &str, status: &str) -> String {
    let (hans, hant, en) = match status {
        "open" => ("处理中", "處理中", "being worked on"),
        "pending" => ("等待您的回复", "等待您的回覆", "waiting for your reply"),
        "on_hold" => (
            "暂时搁置，我们会尽快跟进",
            "暫時擱置，我們會盡快跟進",
            "on hold; we will follow up soon",
        ),
        "solved" => ("已解决", "已解決", "solved"),
        "closed" => ("已关闭", "已關閉", "closed"),
        _ => ("已受理", "已受理", "received"),
    };
    ops::localized(
        language,
        &format!("您的工单 {number} 状态已更新：{hans}"),
        &format!("您的工單 {number} 狀態已更新：{hant}"),
        &format!("Your ticket {number} is now {en}."),
    )
}

pub async fn handle(state: SessionState, envelope: Envelope) -> Result<(), HandlerError> {
    let bad = |e: prost::DecodeError| {
        HandlerError::Permanent(format!("undecodable {}: {e}", envelope.event_type).into())
    };
    // (the ticket, who wrote, what the customer reads); None: nothing for the customer.
    let said: Option<(TicketRef, Sender, String, Option<String>)> =
        match envelope.event_type.as_str() {
            t::TICKET_COMMENTED => {
                let e = TicketCommented::decode(envelope.payload.clone()).map_err(bad)?;
                let author = e.author.unwrap_or_default();
                (e.public && author.kind != "customer").then(|| {
                    let sender = if author.kind == "agent" {
                        Sender::Agent
                    } else {
                        Sender::System
                    };
                    (
                        e.ticket.unwrap_or_default(),
                        sender,
                        author.id,
                        Some(e.text),
                    )
                })
            }
            t::TICKET_STATUS_CHANGED => {
                let e = TicketStatusChanged::decode(envelope.payload.clone()).map_err(bad)?;
                let actor = e.actor.unwrap_or_default();
                (actor.kind != "customer" && e.from_status != e.to_status).then(|| {
                    (
                        e.ticket.unwrap_or_default(),
                        Sender::System,
                        String::new(),
                        None,
                    )
                })
            }
            _ => None,
        };
    let Some((ticket, sender, agent_id, text)) = said else {
        return Ok(());
    };
    let Ok(conversation_id) = Uuid::parse_str(&ticket.conversation_id) else {
        // A ticket made by API without a conversation: no channel to tell the customer on.
        return Ok(());
    };
    let tenant = envelope.tenant_id.as_str();
    let txn = state.db.begin().await.map_err(HandlerError::transient)?;
    if !idempotency::record(&txn, CONSUMER, envelope.event_id)
        .await
        .map_err(HandlerError::transient)?
    {
        return Ok(());
    }
    let c = conversation::Entity::get(&txn, tenant, conversation_id)
        .await
        .map_err(HandlerError::transient)?;
    let w = crate::store::desk::work_items(&txn, tenant, &[conversation_id])
        .await
        .map_err(HandlerError::transient)?
        .remove(&conversation_id);
    let (Some(c), Some(w)) = (c, w) else {
        tracing::info!(tenant, ticket = %ticket.number, "the ticket's conversation is not one a person served; the customer is not told");
        txn.commit().await.map_err(HandlerError::transient)?;
        return Ok(());
    };
    let text = text.unwrap_or_else(|| status_text(&w.language, &ticket.number, &ticket.status));
    let (_, events) = ops::say(
        &txn,
        &c,
        &w,
        Say {
            sender_kind: sender,
            agent_id: &agent_id,
            text,
            cards: Vec::new(),
            internal: false,
            key: Some(format!("ticket:{}", envelope.event_id)),
        },
    )
    .await
    .map_err(HandlerError::transient)?;
    kefu_worker::outbox::enqueue_many(&txn, &events)
        .await
        .map_err(HandlerError::transient)?;
    txn.commit().await.map_err(HandlerError::transient)?;
    state.outbox.dispatch(events);
    Ok(())
}
