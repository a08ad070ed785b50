//! Domain events as JSON: what `kefu dev` shows at `/dev/events` and what the tests that count
//! events read. One function per event type would be more code than it is worth; each event's
//! identifying fields are picked out here, next to the payload types.

use crate::event_types as t;
use crate::events::{
    AgentStatusChanged, ConversationAssigned, ConversationClosed, ConversationOpened,
    ConversationRef, ConversationTransferred, CsatRated, HandoffRequested, MessageCreated,
    MessageUndeliverable, OrderActionTaken, QaAlertRaised, QueueAbandoned, QueueEntered, QueueLeft,
};
use prost::Message;
use serde_json::{Value, json};

fn conv(c: Option<&ConversationRef>) -> Value {
    c.map_or(Value::Null, |c| {
        json!({
            "conversation_id": c.conversation_id,
            "customer_id": c.customer_id,
            "merchant_id": c.merchant_id,
            "channel_type": c.channel_type,
            "queue_id": c.queue_id,
            "tier": c.tier,
        })
    })
}

fn decode<M: Message + Default>(payload: &[u8]) -> Option<M> {
    M::decode(payload).ok()
}

/// The domain event `payload` of type `event_type` as JSON with its conversation id (when it
/// concerns one) at `conversation_id`; `None` for other event types or a payload that does not
/// decode.
pub fn describe(event_type: &str, payload: &[u8]) -> Option<Value> {
    let v = match event_type {
        t::CONVERSATION_OPENED => {
            let e: ConversationOpened = decode(payload)?;
            json!({"conversation_id": e.conversation_id, "customer_id": e.customer_id, "channel_id": e.channel_id})
        }
        t::HANDOFF_REQUESTED => {
            let e: HandoffRequested = decode(payload)?;
            json!({"conversation_id": e.conversation_id, "reason": e.reason, "intents": e.intents, "merchant_id": e.merchant_id})
        }
        t::CONVERSATION_ASSIGNED => {
            let e: ConversationAssigned = decode(payload)?;
            json!({"conversation_id": e.conversation_id, "agent_id": e.agent_id, "queue_id": e.queue_id, "waited_ms": e.waited_ms, "conversation": conv(e.conversation.as_ref())})
        }
        t::CONVERSATION_TRANSFERRED => {
            let e: ConversationTransferred = decode(payload)?;
            let c = conv(e.conversation.as_ref());
            json!({"conversation_id": c["conversation_id"], "from_agent_id": e.from_agent_id, "to_agent_id": e.to_agent_id, "from_queue_id": e.from_queue_id, "to_queue_id": e.to_queue_id, "conversation": c})
        }
        t::CONVERSATION_CLOSED => {
            let e: ConversationClosed = decode(payload)?;
            json!({"conversation_id": e.conversation_id, "reason": e.reason, "agent_id": e.agent_id, "closed_by": e.closed_by, "summary": e.summary, "tags": e.tags, "conversation": conv(e.conversation.as_ref())})
        }
        t::MESSAGE_CREATED => {
            let e: MessageCreated = decode(payload)?;
            let c = conv(e.conversation.as_ref());
            let bot = e.bot.as_ref().map_or(
                Value::Null,
                |b| json!({"intent": b.intent, "faq_id": b.faq_id, "miss": b.miss}),
            );
            json!({"conversation_id": c["conversation_id"], "message_id": e.message_id, "sender_kind": e.sender_kind, "agent_id": e.agent_id, "internal": e.internal, "sequence": e.sequence, "message_type": e.message_type, "question": e.question, "bot": bot, "conversation": c})
        }
        t::QUEUE_ENTERED => {
            let e: QueueEntered = decode(payload)?;
            let c = conv(e.conversation.as_ref());
            json!({"conversation_id": c["conversation_id"], "reason": e.reason, "conversation": c})
        }
        t::QUEUE_LEFT => {
            let e: QueueLeft = decode(payload)?;
            let c = conv(e.conversation.as_ref());
            json!({"conversation_id": c["conversation_id"], "reason": e.reason, "agent_id": e.agent_id, "waited_ms": e.waited_ms, "conversation": c})
        }
        t::QUEUE_ABANDONED => {
            let e: QueueAbandoned = decode(payload)?;
            let c = conv(e.conversation.as_ref());
            json!({"conversation_id": c["conversation_id"], "waited_ms": e.waited_ms, "conversation": c})
        }
        t::CSAT_RATED => {
            let e: CsatRated = decode(payload)?;
            let c = conv(e.conversation.as_ref());
            json!({"conversation_id": c["conversation_id"], "agent_id": e.agent_id, "rating": e.rating, "conversation": c})
        }
        t::AGENT_STATUS_CHANGED => {
            let e: AgentStatusChanged = decode(payload)?;
            json!({"agent_id": e.agent_id, "merchant_id": e.merchant_id, "from_status": e.from_status, "to_status": e.to_status})
        }
        t::ORDER_ACTION_TAKEN => {
            let e: OrderActionTaken = decode(payload)?;
            let c = conv(e.conversation.as_ref());
            json!({"conversation_id": c["conversation_id"], "action": e.action, "order_id": e.order_id, "message_id": e.message_id, "conversation": c})
        }
        t::MESSAGE_UNDELIVERABLE => {
            let e: MessageUndeliverable = decode(payload)?;
            json!({"conversation_id": e.conversation_id, "message_id": e.message_id, "channel_id": e.channel_id, "channel_type": e.channel_type, "reason": e.reason, "sender_kind": e.sender_kind})
        }
        t::QA_ALERT_RAISED => {
            let e: QaAlertRaised = decode(payload)?;
            let c = conv(e.conversation.as_ref());
            json!({"conversation_id": c["conversation_id"], "alert_id": e.alert_id, "agent_id": e.agent_id, "rule": e.rule, "kind": e.kind, "severity": e.severity, "message_id": e.message_id, "message_index": e.message_index, "conversation": c})
        }
        _ => return None,
    };
    Some(v)
}

/// [`describe`] plus the envelope's identity: `event_id`, `event_type`, `tenant_id`,
/// `occurred_at` (RFC 3339).
pub fn describe_event(
    event_id: &str,
    tenant_id: &str,
    event_type: &str,
    occurred_at: &str,
    payload: &[u8],
) -> Option<Value> {
    let mut v = describe(event_type, payload)?;
    v["event_id"] = json!(event_id);
    v["event_type"] = json!(event_type);
    v["tenant_id"] = json!(tenant_id);
    v["occurred_at"] = json!(occurred_at);
    Some(v)
}
