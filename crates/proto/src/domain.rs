//! Domain events as JSON: what `kefu dev` shows at `/dev/events` and what the tests that count
//! events read. One function per event type would be more code than it is worth; each event's
//! identifying fields are picked out here, next to the payload types.

use crate::event_types as t;
use crate::events::{
    AgentStatusChanged, ConversationAssigned, ConversationClosed, ConversationOpened,
    ConversationRef, ConversationTransferred, CsatRated, HandoffRequested, MessageCreated,
    MessageUndeliverable, OrderActionTaken, OrderPlaced, QaAlertRaised, QueueAbandoned,
    QueueEntered, QueueLeft, TicketAssigned, TicketCommented, TicketCreated, TicketRef, TicketSla,
    TicketStatusChanged, TicketUpdated,
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

fn ticket(t: Option<&TicketRef>) -> Value {
    t.map_or(Value::Null, |t| {
        json!({
            "ticket_id": t.ticket_id,
            "number": t.number,
            "merchant_id": t.merchant_id,
            "requester_id": t.requester_id,
            "conversation_id": t.conversation_id,
            "channel_id": t.channel_id,
            "priority": t.priority,
            "status": t.status,
            "sub_status": t.sub_status,
            "group_id": t.group_id,
            "assignee_id": t.assignee_id,
        })
    })
}

/// The instant the payload says the change happened (RFC 3339, milliseconds): what analytics
/// counts durations between.
fn at(t: Option<&prost_types::Timestamp>) -> Value {
    t.and_then(crate::time::from_timestamp)
        .map_or(Value::Null, |t| {
            json!(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
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
            json!({"conversation_id": e.conversation_id, "reason": e.reason, "intents": e.intents, "merchant_id": e.merchant_id, "at": at(e.requested_at.as_ref())})
        }
        t::CONVERSATION_ASSIGNED => {
            let e: ConversationAssigned = decode(payload)?;
            json!({"conversation_id": e.conversation_id, "agent_id": e.agent_id, "queue_id": e.queue_id, "waited_ms": e.waited_ms, "at": at(e.at.as_ref()), "conversation": conv(e.conversation.as_ref())})
        }
        t::CONVERSATION_TRANSFERRED => {
            let e: ConversationTransferred = decode(payload)?;
            let c = conv(e.conversation.as_ref());
            json!({"conversation_id": c["conversation_id"], "from_agent_id": e.from_agent_id, "to_agent_id": e.to_agent_id, "from_queue_id": e.from_queue_id, "to_queue_id": e.to_queue_id, "at": at(e.at.as_ref()), "conversation": c})
        }
        t::CONVERSATION_CLOSED => {
            let e: ConversationClosed = decode(payload)?;
            json!({"conversation_id": e.conversation_id, "reason": e.reason, "agent_id": e.agent_id, "closed_by": e.closed_by, "summary": e.summary, "tags": e.tags, "at": at(e.at.as_ref()), "conversation": conv(e.conversation.as_ref())})
        }
        t::MESSAGE_CREATED => {
            let e: MessageCreated = decode(payload)?;
            let c = conv(e.conversation.as_ref());
            let bot = e.bot.as_ref().map_or(
                Value::Null,
                |b| json!({"intent": b.intent, "faq_id": b.faq_id, "miss": b.miss}),
            );
            json!({"conversation_id": c["conversation_id"], "message_id": e.message_id, "sender_kind": e.sender_kind, "agent_id": e.agent_id, "internal": e.internal, "sequence": e.sequence, "message_type": e.message_type, "question": e.question, "bot": bot, "at": at(e.created_at.as_ref()), "conversation": c})
        }
        t::QUEUE_ENTERED => {
            let e: QueueEntered = decode(payload)?;
            let c = conv(e.conversation.as_ref());
            json!({"conversation_id": c["conversation_id"], "reason": e.reason, "at": at(e.at.as_ref()), "conversation": c})
        }
        t::QUEUE_LEFT => {
            let e: QueueLeft = decode(payload)?;
            let c = conv(e.conversation.as_ref());
            json!({"conversation_id": c["conversation_id"], "reason": e.reason, "agent_id": e.agent_id, "waited_ms": e.waited_ms, "at": at(e.at.as_ref()), "conversation": c})
        }
        t::QUEUE_ABANDONED => {
            let e: QueueAbandoned = decode(payload)?;
            let c = conv(e.conversation.as_ref());
            json!({"conversation_id": c["conversation_id"], "waited_ms": e.waited_ms, "at": at(e.at.as_ref()), "conversation": c})
        }
        t::CSAT_RATED => {
            let e: CsatRated = decode(payload)?;
            let c = conv(e.conversation.as_ref());
            json!({"conversation_id": c["conversation_id"], "agent_id": e.agent_id, "rating": e.rating, "at": at(e.at.as_ref()), "conversation": c})
        }
        t::AGENT_STATUS_CHANGED => {
            let e: AgentStatusChanged = decode(payload)?;
            json!({"agent_id": e.agent_id, "merchant_id": e.merchant_id, "from_status": e.from_status, "to_status": e.to_status, "at": at(e.at.as_ref())})
        }
        t::ORDER_ACTION_TAKEN => {
            let e: OrderActionTaken = decode(payload)?;
            let c = conv(e.conversation.as_ref());
            json!({"conversation_id": c["conversation_id"], "action": e.action, "order_id": e.order_id, "message_id": e.message_id, "conversation": c})
        }
        t::ORDER_PLACED => {
            let e: OrderPlaced = decode(payload)?;
            json!({"order_id": e.order_id, "customer_id": e.customer_id, "merchant_id": e.merchant_id, "amount_cents": e.amount_cents, "paid_cents": e.paid_cents, "at": at(e.placed_at.as_ref())})
        }
        t::MESSAGE_UNDELIVERABLE => {
            let e: MessageUndeliverable = decode(payload)?;
            json!({"conversation_id": e.conversation_id, "message_id": e.message_id, "channel_id": e.channel_id, "channel_type": e.channel_type, "reason": e.reason, "sender_kind": e.sender_kind})
        }
        t::TICKET_CREATED => {
            let e: TicketCreated = decode(payload)?;
            let x = ticket(e.ticket.as_ref());
            json!({"ticket_id": x["ticket_id"], "conversation_id": x["conversation_id"], "subject": e.subject, "ticket": x})
        }
        t::TICKET_UPDATED => {
            let e: TicketUpdated = decode(payload)?;
            let x = ticket(e.ticket.as_ref());
            json!({"ticket_id": x["ticket_id"], "conversation_id": x["conversation_id"], "fields": e.fields, "ticket": x})
        }
        t::TICKET_STATUS_CHANGED => {
            let e: TicketStatusChanged = decode(payload)?;
            let x = ticket(e.ticket.as_ref());
            let actor = e.actor.map(|a| a.kind).unwrap_or_default();
            json!({"ticket_id": x["ticket_id"], "conversation_id": x["conversation_id"], "from_status": e.from_status, "to_status": e.to_status, "to_sub_status": e.to_sub_status, "actor_kind": actor, "ticket": x})
        }
        t::TICKET_COMMENTED => {
            let e: TicketCommented = decode(payload)?;
            let x = ticket(e.ticket.as_ref());
            let author = e.author.map(|a| a.kind).unwrap_or_default();
            json!({"ticket_id": x["ticket_id"], "conversation_id": x["conversation_id"], "comment_id": e.comment_id, "public": e.public, "author_kind": author, "ticket": x})
        }
        t::TICKET_ASSIGNED => {
            let e: TicketAssigned = decode(payload)?;
            let x = ticket(e.ticket.as_ref());
            json!({"ticket_id": x["ticket_id"], "conversation_id": x["conversation_id"], "to_group_id": e.to_group_id, "to_assignee_id": e.to_assignee_id, "ticket": x})
        }
        t::TICKET_SLA_WARNING | t::TICKET_SLA_BREACHED => {
            let e: TicketSla = decode(payload)?;
            let x = ticket(e.ticket.as_ref());
            json!({"ticket_id": x["ticket_id"], "conversation_id": x["conversation_id"], "metric": e.metric, "ticket": x})
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
