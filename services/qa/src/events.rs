//! The domain events QA reads, decoded into what it keeps of them.

use crate::store::ConvRef;
use chrono::{DateTime, Utc};
use kefu_bus::Envelope;
use kefu_proto::event_types as t;
use kefu_proto::events as ev;

/// One event's meaning for QA.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// A public message of the customer, the bot or an agent.
    Message {
        conv: ConvRef,
        message_id: String,
        seq: i64,
        role: &'static str,
        agent_id: String,
        text: String,
        at: DateTime<Utc>,
    },
    /// The bot handed the conversation to a person.
    Handoff {
        conv: ConvRef,
        at: DateTime<Utc>,
    },
    /// An agent took the conversation.
    Assigned {
        conv: ConvRef,
        agent_id: String,
    },
    Closed {
        conv: ConvRef,
        agent_id: String,
        reason: String,
        at: DateTime<Utc>,
    },
    Rated {
        conv: ConvRef,
        rating: i32,
    },
}

impl Input {
    pub fn conv(&self) -> &ConvRef {
        match self {
            Input::Message { conv, .. }
            | Input::Handoff { conv, .. }
            | Input::Assigned { conv, .. }
            | Input::Closed { conv, .. }
            | Input::Rated { conv, .. } => conv,
        }
    }
}

fn conv_of(r: Option<&ev::ConversationRef>, fallback_id: &str) -> ConvRef {
    let mut c = r
        .map(|r| ConvRef {
            conversation_id: r.conversation_id.clone(),
            customer_id: r.customer_id.clone(),
            merchant_id: r.merchant_id.clone(),
            channel: r.channel_type.clone(),
        })
        .unwrap_or_default();
    if c.conversation_id.is_empty() {
        c.conversation_id = fallback_id.to_owned();
    }
    c
}

fn ts(t: Option<&prost_types::Timestamp>, fallback: DateTime<Utc>) -> DateTime<Utc> {
    t.and_then(kefu_proto::time::from_timestamp)
        .unwrap_or(fallback)
}

fn decode<M: prost::Message + Default>(e: &Envelope) -> Result<M, String> {
    M::decode(e.payload.clone()).map_err(|err| format!("undecodable {}: {err}", e.event_type))
}

/// What an event means to QA; `Ok(None)` for what it does not inspect (notes and whispers,
/// system notices, button taps, other event types).
pub fn decode_input(e: &Envelope) -> Result<Option<Input>, String> {
    let at = e.occurred_at;
    let input = match e.event_type.as_str() {
        t::MESSAGE_CREATED => {
            let m: ev::MessageCreated = decode(e)?;
            let role = match m.sender_kind.as_str() {
                "customer" => "customer",
                "bot" => "bot",
                "agent" => "agent",
                _ => return Ok(None),
            };
            // Notes and whispers never reach the customer; a tapped button answers a card.
            if m.internal || m.message_type == "action" {
                return Ok(None);
            }
            Input::Message {
                conv: conv_of(m.conversation.as_ref(), ""),
                message_id: m.message_id,
                seq: i64::try_from(m.sequence).unwrap_or(i64::MAX),
                role,
                agent_id: m.agent_id,
                text: m.text,
                at: ts(m.created_at.as_ref(), at),
            }
        }
        t::HANDOFF_REQUESTED => {
            let m: ev::HandoffRequested = decode(e)?;
            Input::Handoff {
                conv: ConvRef {
                    conversation_id: m.conversation_id,
                    customer_id: m.customer_id,
                    merchant_id: m.merchant_id,
                    channel: String::new(),
                },
                at: ts(m.requested_at.as_ref(), at),
            }
        }
        t::CONVERSATION_ASSIGNED => {
            let m: ev::ConversationAssigned = decode(e)?;
            Input::Assigned {
                conv: conv_of(m.conversation.as_ref(), &m.conversation_id),
                agent_id: m.agent_id,
            }
        }
        t::CONVERSATION_CLOSED => {
            let m: ev::ConversationClosed = decode(e)?;
            Input::Closed {
                conv: conv_of(m.conversation.as_ref(), &m.conversation_id),
                agent_id: m.agent_id,
                reason: m.reason,
                at: ts(m.at.as_ref(), at),
            }
        }
        t::CSAT_RATED => {
            let m: ev::CsatRated = decode(e)?;
            Input::Rated {
                conv: conv_of(m.conversation.as_ref(), ""),
                rating: m.rating,
            }
        }
        _ => return Ok(None),
    };
    if input.conv().conversation_id.is_empty() {
        return Err(format!("{} without a conversation id", e.event_type));
    }
    if let Input::Message { message_id, .. } = &input
        && message_id.is_empty()
    {
        return Err("message.created without a message id".into());
    }
    Ok(Some(input))
}
