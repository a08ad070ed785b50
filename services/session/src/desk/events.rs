//! Desk events (`desk.event`): what the gateway pushes to agents' and supervisors' sockets.
//! Payloads are small JSON documents; the workbench fetches details over REST when it needs
//! them.

use crate::store::desk::list_of;
use crate::store::entities::{message, work_item};
use kefu_bus::Envelope;
use kefu_proto::event_types;
use kefu_proto::events::Card;
use kefu_proto::session::DeskEvent;
use prost::Message as _;
use serde_json::{Value, json};

/// Who receives an event.
#[derive(Default)]
pub struct Audience {
    pub agents: Vec<String>,
    pub supervisors: bool,
    pub all_staff: bool,
}

impl Audience {
    pub fn agent(id: &str) -> Self {
        Self {
            agents: if id.is_empty() {
                Vec::new()
            } else {
                vec![id.to_owned()]
            },
            supervisors: true,
            all_staff: false,
        }
    }

    /// The conversation's agent, the supervisors monitoring or in it, and the supervisors'
    /// board.
    pub fn of_work(w: &work_item::Model) -> Self {
        let mut agents = Vec::new();
        if !w.agent_id.is_empty() {
            agents.push(w.agent_id.clone());
        }
        agents.extend(list_of(&w.monitors));
        agents.extend(list_of(&w.participants));
        agents.sort();
        agents.dedup();
        Self {
            agents,
            supervisors: true,
            all_staff: false,
        }
    }

    pub fn everyone() -> Self {
        Self {
            agents: Vec::new(),
            supervisors: true,
            all_staff: true,
        }
    }
}

pub fn envelope(
    tenant: &str,
    merchant: &str,
    conversation: &str,
    audience: Audience,
    payload: Value,
) -> Envelope {
    let kind = payload["type"].as_str().unwrap_or("event").to_owned();
    let event = DeskEvent {
        tenant_id: tenant.to_owned(),
        kind,
        agent_ids: audience.agents,
        supervisors: audience.supervisors,
        merchant_id: merchant.to_owned(),
        conversation_id: conversation.to_owned(),
        payload_json: payload.to_string(),
        all_staff: audience.all_staff,
    };
    Envelope::new(tenant, event_types::DESK_EVENT, event.encode_to_vec())
}

fn time(t: Option<chrono::DateTime<chrono::Utc>>) -> Value {
    t.map_or(Value::Null, |t| Value::String(t.to_rfc3339()))
}

/// The work item as the workbench's lists show it.
pub fn work_json(w: &work_item::Model) -> Value {
    json!({
        "conversation_id": w.conversation_id.to_string(),
        "customer_id": w.customer_id.to_string(),
        "state": w.state,
        "queue": w.queue,
        "agent_id": w.agent_id,
        "merchant_id": w.merchant_id,
        "channel_type": w.channel_type,
        "tier": w.tier,
        "page_type": w.page_type,
        "note": w.note,
        "enqueued_at": w.enqueued_at.to_rfc3339(),
        "offered_at": time(w.offered_at),
        "offer_expires_at": time(w.offer_expires_at),
        "accepted_at": time(w.accepted_at),
        "closed_at": time(w.closed_at),
        "csat": w.csat,
    })
}

/// One work-item event: `{"type": kind, "conversation": {...}}`.
pub fn work_event(kind: &str, w: &work_item::Model, audience: Audience) -> Envelope {
    envelope(
        &w.tenant_id,
        &w.merchant_id,
        &w.conversation_id.to_string(),
        audience,
        json!({"type": kind, "conversation": work_json(w)}),
    )
}

/// Queue figures changed (something joined or left a queue): every list of queued
/// conversations and the supervisors' board refresh.
pub fn queue_changed(tenant: &str, merchant: &str, queue: &str) -> Envelope {
    envelope(
        tenant,
        merchant,
        "",
        Audience::everyone(),
        json!({"type": "queue.changed", "queue": queue}),
    )
}

pub fn message_json(m: &message::Model, cards: &[Card]) -> Value {
    json!({
        "message_id": m.id.to_string(),
        "conversation_id": m.conversation_id.to_string(),
        "direction": m.direction,
        "sender_kind": m.sender_kind,
        "agent_id": m.agent_id,
        "internal": m.internal,
        "text": m.text,
        "message_type": m.message_type,
        "cards": kefu_proto::json::cards_json(cards),
        "created_at": m.created_at.to_rfc3339(),
    })
}

/// A new message in a conversation a person is on, for its agent and its supervisors.
pub fn message_event(w: &work_item::Model, m: &message::Model, cards: &[Card]) -> Envelope {
    envelope(
        &w.tenant_id,
        &w.merchant_id,
        &w.conversation_id.to_string(),
        Audience::of_work(w),
        json!({"type": "message", "conversation_id": w.conversation_id.to_string(), "message": message_json(m, cards)}),
    )
}
