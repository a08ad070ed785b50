//! Domain events as facts: what analytics keeps of each event, one kind of fact per table
//! (`facts_message`, `facts_conversation`, `facts_agent_status`, `facts_order`). A fact is
//! written once per event id (an order once per order id) and never changed.

use chrono::{DateTime, Utc};
use kefu_bus::Envelope;
use kefu_proto::event_types as t;
use kefu_proto::events as ev;

/// Longest question text kept for hot topics (characters).
pub const MAX_QUESTION_CHARS: usize = 300;

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Sender {
    Customer,
    Bot,
    Agent,
    System,
}

impl Sender {
    pub fn parse(s: &str) -> Self {
        match s {
            "customer" => Sender::Customer,
            "bot" => Sender::Bot,
            "agent" => Sender::Agent,
            _ => Sender::System,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Sender::Customer => "customer",
            Sender::Bot => "bot",
            Sender::Agent => "agent",
            Sender::System => "system",
        }
    }
}

/// Where a conversation was, as its events say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConvRef {
    pub conversation_id: String,
    pub customer_id: String,
    pub merchant_id: String,
    pub channel: String,
    pub queue_id: String,
    pub tier: String,
}

impl ConvRef {
    fn of(r: Option<&ev::ConversationRef>) -> Self {
        r.map(|r| ConvRef {
            conversation_id: r.conversation_id.clone(),
            customer_id: r.customer_id.clone(),
            merchant_id: r.merchant_id.clone(),
            channel: r.channel_type.clone(),
            queue_id: r.queue_id.clone(),
            tier: r.tier.clone(),
        })
        .unwrap_or_default()
    }
}

/// `message.created`.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageFact {
    pub conv: ConvRef,
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub sender: Sender,
    pub agent_id: String,
    pub internal: bool,
    pub message_type: String,
    pub intent: String,
    pub faq_id: String,
    pub miss: bool,
    /// The question a missed answer was to (only kept for misses).
    pub question: String,
}

impl MessageFact {
    /// A message the customer typed or sent (text or image): what "the customer came back"
    /// means. Button taps (CSAT stars, card buttons) answer something shown before.
    pub fn is_customer_contact(&self) -> bool {
        self.sender == Sender::Customer && matches!(self.message_type.as_str(), "text" | "image")
    }

    /// Seen by the customer: not a note or whisper, not a system notice.
    pub fn is_public(&self) -> bool {
        !self.internal && self.sender != Sender::System
    }
}

/// The kinds of conversation lifecycle facts, in the order they apply at the same instant.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Kind {
    Opened,
    Handoff,
    QueueEntered,
    QueueLeft,
    Assigned,
    Transferred,
    Abandoned,
    Closed,
    Rated,
}

impl Kind {
    pub const ALL: &'static [Kind] = &[
        Kind::Opened,
        Kind::Handoff,
        Kind::QueueEntered,
        Kind::QueueLeft,
        Kind::Assigned,
        Kind::Transferred,
        Kind::Abandoned,
        Kind::Closed,
        Kind::Rated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Opened => "opened",
            Kind::Handoff => "handoff",
            Kind::QueueEntered => "queue_entered",
            Kind::QueueLeft => "queue_left",
            Kind::Assigned => "assigned",
            Kind::Transferred => "transferred",
            Kind::Abandoned => "abandoned",
            Kind::Closed => "closed",
            Kind::Rated => "rated",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.as_str() == s)
    }
}

/// A change in a conversation's life (opened, handed off, queued, answered, transferred,
/// abandoned, closed, rated).
#[derive(Clone, Debug, PartialEq)]
pub struct LifecycleFact {
    pub conv: ConvRef,
    pub kind: Kind,
    pub at: DateTime<Utc>,
    /// assigned: the agent; transferred: from; closed: the agent who had it; rated: the agent.
    pub agent_id: String,
    /// transferred: to (an agent, empty for a queue); queue_left: the agent offered to.
    pub other_agent_id: String,
    /// handoff, queue_entered, queue_left, closed: the reason; transferred: the target queue.
    pub reason: String,
    /// assigned, queue_left, abandoned: waited_ms; rated: the rating.
    pub value: i64,
    /// closed: the tags; handoff: the intents.
    pub labels: Vec<String>,
}

/// `agent.status_changed`.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusFact {
    pub agent_id: String,
    pub merchant_id: String,
    pub from: String,
    pub to: String,
    pub at: DateTime<Utc>,
}

/// One fact, from one event.
#[derive(Clone, Debug, PartialEq)]
pub enum Fact {
    Message(MessageFact),
    Lifecycle(LifecycleFact),
    Status(StatusFact),
    Order(crate::orders::OrderFact),
}

impl Fact {
    pub fn conversation_id(&self) -> Option<&str> {
        match self {
            Fact::Message(m) => Some(&m.conv.conversation_id),
            Fact::Lifecycle(l) => Some(&l.conv.conversation_id),
            Fact::Status(_) | Fact::Order(_) => None,
        }
    }
}

/// Why an event is not a fact.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("undecodable {0}: {1}")]
    Payload(String, prost::DecodeError),
    #[error("{0} without {1}")]
    Missing(String, &'static str),
}

fn ts(t: Option<&prost_types::Timestamp>, fallback: DateTime<Utc>) -> DateTime<Utc> {
    t.and_then(kefu_proto::time::from_timestamp)
        .map(|t| DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t))
        .unwrap_or(fallback)
}

fn decode<M: prost::Message + Default>(e: &Envelope) -> Result<M, DecodeError> {
    M::decode(e.payload.clone()).map_err(|err| DecodeError::Payload(e.event_type.clone(), err))
}

fn question(text: &str) -> String {
    text.trim().chars().take(MAX_QUESTION_CHARS).collect()
}

/// The fact an event brings; `Ok(None)` for event types analytics does not keep.
pub fn from_envelope(e: &Envelope) -> Result<Option<Fact>, DecodeError> {
    let fallback = e.occurred_at;
    let lifecycle = |conv: ConvRef, kind: Kind, at: DateTime<Utc>| LifecycleFact {
        conv,
        kind,
        at,
        agent_id: String::new(),
        other_agent_id: String::new(),
        reason: String::new(),
        value: 0,
        labels: Vec::new(),
    };
    let fact = match e.event_type.as_str() {
        t::MESSAGE_CREATED => {
            let m: ev::MessageCreated = decode(e)?;
            let bot = m.bot.unwrap_or_default();
            Fact::Message(MessageFact {
                conv: ConvRef::of(m.conversation.as_ref()),
                seq: i64::try_from(m.sequence).unwrap_or(i64::MAX),
                at: ts(m.created_at.as_ref(), fallback),
                sender: Sender::parse(&m.sender_kind),
                agent_id: m.agent_id,
                internal: m.internal,
                message_type: m.message_type,
                intent: bot.intent,
                faq_id: bot.faq_id,
                miss: bot.miss,
                question: if bot.miss {
                    question(&m.question)
                } else {
                    String::new()
                },
            })
        }
        t::CONVERSATION_OPENED => {
            let m: ev::ConversationOpened = decode(e)?;
            let conv = ConvRef {
                conversation_id: m.conversation_id,
                customer_id: m.customer_id,
                ..ConvRef::default()
            };
            Fact::Lifecycle(lifecycle(conv, Kind::Opened, fallback))
        }
        t::HANDOFF_REQUESTED => {
            let m: ev::HandoffRequested = decode(e)?;
            let profile = m.profile.unwrap_or_default();
            let conv = ConvRef {
                conversation_id: m.conversation_id,
                customer_id: m.customer_id,
                merchant_id: m.merchant_id,
                tier: profile.tier,
                ..ConvRef::default()
            };
            let mut f = lifecycle(conv, Kind::Handoff, ts(m.requested_at.as_ref(), fallback));
            f.reason = m.reason;
            f.labels = m.intents;
            Fact::Lifecycle(f)
        }
        t::QUEUE_ENTERED => {
            let m: ev::QueueEntered = decode(e)?;
            let mut f = lifecycle(
                ConvRef::of(m.conversation.as_ref()),
                Kind::QueueEntered,
                ts(m.at.as_ref(), fallback),
            );
            f.reason = m.reason;
            f.agent_id = m.from_agent_id;
            Fact::Lifecycle(f)
        }
        t::QUEUE_LEFT => {
            let m: ev::QueueLeft = decode(e)?;
            let mut f = lifecycle(
                ConvRef::of(m.conversation.as_ref()),
                Kind::QueueLeft,
                ts(m.at.as_ref(), fallback),
            );
            f.reason = m.reason;
            f.other_agent_id = m.agent_id;
            f.value = m.waited_ms;
            Fact::Lifecycle(f)
        }
        t::QUEUE_ABANDONED => {
            let m: ev::QueueAbandoned = decode(e)?;
            let mut f = lifecycle(
                ConvRef::of(m.conversation.as_ref()),
                Kind::Abandoned,
                ts(m.at.as_ref(), fallback),
            );
            f.value = m.waited_ms;
            Fact::Lifecycle(f)
        }
        t::CONVERSATION_ASSIGNED => {
            let m: ev::ConversationAssigned = decode(e)?;
            let mut conv = ConvRef::of(m.conversation.as_ref());
            if conv.conversation_id.is_empty() {
                conv.conversation_id = m.conversation_id;
            }
            if conv.queue_id.is_empty() {
                conv.queue_id = m.queue_id;
            }
            let mut f = lifecycle(conv, Kind::Assigned, ts(m.at.as_ref(), fallback));
            f.agent_id = m.agent_id;
            f.value = m.waited_ms;
            Fact::Lifecycle(f)
        }
        t::CONVERSATION_TRANSFERRED => {
            let m: ev::ConversationTransferred = decode(e)?;
            let mut f = lifecycle(
                ConvRef::of(m.conversation.as_ref()),
                Kind::Transferred,
                ts(m.at.as_ref(), fallback),
            );
            f.agent_id = m.from_agent_id;
            f.other_agent_id = m.to_agent_id;
            f.reason = m.to_queue_id;
            Fact::Lifecycle(f)
        }
        t::CONVERSATION_CLOSED => {
            let m: ev::ConversationClosed = decode(e)?;
            let mut conv = ConvRef::of(m.conversation.as_ref());
            if conv.conversation_id.is_empty() {
                conv.conversation_id = m.conversation_id;
            }
            let mut f = lifecycle(conv, Kind::Closed, ts(m.at.as_ref(), fallback));
            f.agent_id = m.agent_id;
            f.reason = m.reason;
            f.labels = m.tags;
            Fact::Lifecycle(f)
        }
        t::CSAT_RATED => {
            let m: ev::CsatRated = decode(e)?;
            let mut f = lifecycle(
                ConvRef::of(m.conversation.as_ref()),
                Kind::Rated,
                ts(m.at.as_ref(), fallback),
            );
            f.agent_id = m.agent_id;
            f.value = i64::from(m.rating);
            Fact::Lifecycle(f)
        }
        t::AGENT_STATUS_CHANGED => {
            let m: ev::AgentStatusChanged = decode(e)?;
            if m.agent_id.is_empty() {
                return Err(DecodeError::Missing(e.event_type.clone(), "agent_id"));
            }
            Fact::Status(StatusFact {
                agent_id: m.agent_id,
                merchant_id: m.merchant_id,
                from: m.from_status,
                to: m.to_status,
                at: ts(m.at.as_ref(), fallback),
            })
        }
        t::ORDER_PLACED => {
            let m: ev::OrderPlaced = decode(e)?;
            if m.order_id.is_empty() {
                return Err(DecodeError::Missing(e.event_type.clone(), "order_id"));
            }
            Fact::Order(crate::orders::OrderFact {
                order_id: m.order_id,
                customer_id: m.customer_id,
                merchant_id: m.merchant_id,
                placed_at: ts(m.placed_at.as_ref(), fallback).timestamp_millis(),
                amount_cents: m.amount_cents,
                paid_cents: m.paid_cents,
            })
        }
        _ => return Ok(None),
    };
    if fact.conversation_id().is_some_and(str::is_empty) {
        return Err(DecodeError::Missing(
            e.event_type.clone(),
            "conversation_id",
        ));
    }
    Ok(Some(fact))
}
