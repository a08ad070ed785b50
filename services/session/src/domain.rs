//! The session's domain events: every state change another service may care about, as a
//! protobuf event for the session's outbox (written in the transaction of the change). The
//! catalogue is `docs/events.md`. The desk events the workbench receives are their projection
//! (`desk::events::project`); these are the record other services build on.
//!
//! Each function takes the rows as they are *after* the change (and before, where the change
//! is a move), so an event can only describe a change that happened.

use crate::store::customers::MergeClosed;
use chrono::{DateTime, Utc};
use kefu_bus::Envelope;
use kefu_proto::event_types as t;
use kefu_proto::events::{
    AgentStatusChanged, BotAnnotation, CardList, ConversationAssigned, ConversationClosed,
    ConversationRef, ConversationTransferred, CsatRated, MessageCreated, OrderActionTaken,
    QueueAbandoned, QueueEntered, QueueLeft,
};
use kefu_proto::time::to_timestamp;
use prost::Message as _;

use crate::store::entities::{message, work_item};

fn envelope(tenant: &str, event_type: &str, payload: impl prost::Message) -> Envelope {
    Envelope::new(tenant, event_type, payload.encode_to_vec())
}

pub(crate) fn ms_between(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    (to - from).num_milliseconds().max(0)
}

/// The conversation a work item routes.
pub fn conversation_ref(w: &work_item::Model) -> ConversationRef {
    ConversationRef {
        conversation_id: w.conversation_id.to_string(),
        customer_id: w.customer_id.to_string(),
        merchant_id: w.merchant_id.clone(),
        channel_type: w.channel_type.clone(),
        queue_id: w.queue.clone(),
        tier: w.tier.clone(),
    }
}

/// Why a conversation (re)entered a queue.
#[derive(Clone, Copy, Debug)]
pub enum Entered {
    /// The bot handed it off.
    Handoff,
    /// An agent transferred it to this queue.
    Transfer,
    /// The routing engine moved it to its overflow queue.
    Overflow,
    /// An offer expired or its agent went away: back to waiting.
    Requeued,
}

impl Entered {
    /// The `reason` of its `queue.entered` event.
    pub fn as_str(self) -> &'static str {
        match self {
            Entered::Handoff => "handoff",
            Entered::Transfer => "transfer",
            Entered::Overflow => "overflow",
            Entered::Requeued => "requeued",
        }
    }
}

/// `queue.entered`: `w` (after the change) waits in `w.queue` since `at`; `from_agent` is the
/// agent who had it (a transfer, a lapsed or given-back offer), empty otherwise.
pub fn queue_entered(
    w: &work_item::Model,
    why: Entered,
    from_agent: &str,
    at: DateTime<Utc>,
) -> Envelope {
    envelope(
        &w.tenant_id,
        t::QUEUE_ENTERED,
        QueueEntered {
            conversation: Some(conversation_ref(w)),
            reason: why.as_str().to_owned(),
            at: Some(to_timestamp(at)),
            from_agent_id: from_agent.to_owned(),
        },
    )
}

/// `queue.left`: `w` (after the change) no longer waits in `queue`: it was offered to an agent
/// (`offered`) or moved on to another queue (`overflow`, `transfer`).
pub fn queue_left(
    w: &work_item::Model,
    queue: &str,
    reason: &str,
    queue_entered_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Envelope {
    let mut conversation = conversation_ref(w);
    conversation.queue_id = queue.to_owned();
    envelope(
        &w.tenant_id,
        t::QUEUE_LEFT,
        QueueLeft {
            conversation: Some(conversation),
            reason: reason.to_owned(),
            agent_id: w.agent_id.clone(),
            waited_ms: ms_between(queue_entered_at, now),
            at: Some(to_timestamp(now)),
        },
    )
}

/// `conversation.assigned`: the agent accepted `after`.
pub fn assigned(after: &work_item::Model, now: DateTime<Utc>) -> Envelope {
    envelope(
        &after.tenant_id,
        t::CONVERSATION_ASSIGNED,
        ConversationAssigned {
            conversation_id: after.conversation_id.to_string(),
            agent_id: after.agent_id.clone(),
            queue_id: after.queue.clone(),
            conversation: Some(conversation_ref(after)),
            waited_ms: ms_between(after.enqueued_at, now),
            at: Some(to_timestamp(now)),
        },
    )
}

/// `conversation.transferred` (and, for a transfer to a queue, `queue.entered`): `before` was
/// the agent's, `after` is offered to another agent or waits in another queue.
pub fn transferred(
    before: &work_item::Model,
    after: &work_item::Model,
    note: &str,
    now: DateTime<Utc>,
) -> Vec<Envelope> {
    let to_queue = after.state.is_queued();
    let mut out = vec![envelope(
        &after.tenant_id,
        t::CONVERSATION_TRANSFERRED,
        ConversationTransferred {
            conversation: Some(conversation_ref(after)),
            from_agent_id: before.agent_id.clone(),
            to_agent_id: if to_queue {
                String::new()
            } else {
                after.agent_id.clone()
            },
            from_queue_id: before.queue.clone(),
            to_queue_id: after.queue.clone(),
            note: note.to_owned(),
            at: Some(to_timestamp(now)),
        },
    )];
    if to_queue {
        out.push(queue_entered(
            after,
            Entered::Transfer,
            &before.agent_id,
            now,
        ));
    }
    out
}

/// `conversation.closed` (and `queue.abandoned` when it closed while waiting): `before` is the
/// item before the close, `after` the closed item, `closed_by` who closed it.
pub fn closed(
    before: &work_item::Model,
    after: &work_item::Model,
    closed_by: &str,
    now: DateTime<Utc>,
) -> Vec<Envelope> {
    let reason = if before.state.is_queued() {
        "closed_in_queue"
    } else if closed_by == before.agent_id {
        "agent_closed"
    } else {
        "supervisor_closed"
    };
    closing(Some(before), &Closing::of(after), closed_by, reason, now)
}

/// `conversation.closed` with reason `merged` (and `queue.abandoned` when it was waiting): a
/// customer merge closed the absorbed customer's conversation — with its routing item before
/// and after, or only the conversation when the bot alone served it.
pub fn closed_by_merge(closed: &MergeClosed, now: DateTime<Utc>) -> Vec<Envelope> {
    match &closed.routing {
        Some((before, after)) => closing(Some(before), &Closing::of(after), "", "merged", now),
        None => {
            let c = &closed.conversation;
            let unrouted = Closing {
                tenant: &c.tenant_id,
                conversation: ConversationRef {
                    conversation_id: c.id.to_string(),
                    customer_id: c.customer_id.to_string(),
                    merchant_id: c.merchant_id.clone(),
                    ..ConversationRef::default()
                },
                summary: "",
                tags: &[],
            };
            closing(None, &unrouted, "", "merged", now)
        }
    }
}

/// What a `conversation.closed` says of the conversation.
struct Closing<'a> {
    tenant: &'a str,
    conversation: ConversationRef,
    summary: &'a str,
    tags: &'a [String],
}

impl<'a> Closing<'a> {
    fn of(after: &'a work_item::Model) -> Self {
        Closing {
            tenant: &after.tenant_id,
            conversation: conversation_ref(after),
            summary: &after.summary,
            tags: &after.tags,
        }
    }
}

fn closing(
    before: Option<&work_item::Model>,
    after: &Closing<'_>,
    closed_by: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Vec<Envelope> {
    let waiting = before.is_some_and(|b| b.state.is_queued());
    let mut out = Vec::with_capacity(2);
    if let Some(before) = before.filter(|_| waiting) {
        out.push(envelope(
            after.tenant,
            t::QUEUE_ABANDONED,
            QueueAbandoned {
                conversation: Some(after.conversation.clone()),
                waited_ms: ms_between(before.queue_entered_at, now),
                at: Some(to_timestamp(now)),
            },
        ));
    }
    out.push(envelope(
        after.tenant,
        t::CONVERSATION_CLOSED,
        ConversationClosed {
            conversation_id: after.conversation.conversation_id.clone(),
            reason: reason.into(),
            conversation: Some(after.conversation.clone()),
            agent_id: match before {
                Some(b) if !waiting => b.agent_id.clone(),
                _ => String::new(),
            },
            closed_by: closed_by.to_owned(),
            summary: after.summary.to_owned(),
            tags: after.tags.to_vec(),
            at: Some(to_timestamp(now)),
        },
    ));
    out
}

/// `csat.rated`: the customer rated `w` (after the rating).
pub fn csat_rated(w: &work_item::Model, now: DateTime<Utc>) -> Envelope {
    envelope(
        &w.tenant_id,
        t::CSAT_RATED,
        CsatRated {
            conversation: Some(conversation_ref(w)),
            agent_id: w.agent_id.clone(),
            rating: w.csat,
            comment: w.csat_comment.clone(),
            at: Some(to_timestamp(now)),
        },
    )
}

/// `agent.status_changed`.
pub fn agent_status_changed(
    tenant: &str,
    agent_id: &str,
    merchant_id: &str,
    from: &str,
    to: &str,
    now: DateTime<Utc>,
) -> Envelope {
    envelope(
        tenant,
        t::AGENT_STATUS_CHANGED,
        AgentStatusChanged {
            agent_id: agent_id.to_owned(),
            merchant_id: merchant_id.to_owned(),
            from_status: from.to_owned(),
            to_status: to.to_owned(),
            at: Some(to_timestamp(now)),
        },
    )
}

/// `message.created` for a stored message `m` of the conversation `conversation`.
pub fn message_created(
    conversation: ConversationRef,
    m: &message::Model,
    bot: Option<BotAnnotation>,
) -> Envelope {
    answer_created(conversation, m, bot, "")
}

/// `message.created` for the bot's answer `m` to the customer's `question`.
pub fn answer_created(
    conversation: ConversationRef,
    m: &message::Model,
    bot: Option<BotAnnotation>,
    question: &str,
) -> Envelope {
    envelope(
        &m.tenant_id,
        t::MESSAGE_CREATED,
        MessageCreated {
            conversation: Some(conversation),
            message_id: m.id.to_string(),
            sender_kind: m.sender_kind.as_str().to_owned(),
            agent_id: m.agent_id.clone(),
            direction: m.direction.clone(),
            message_type: m.message_type.clone(),
            internal: m.internal,
            text: m.text.clone(),
            created_at: Some(to_timestamp(m.created_at)),
            sequence: u64::try_from(m.seq).unwrap_or_default(),
            bot,
            cards: m
                .cards
                .as_deref()
                .and_then(|b| CardList::decode(b).ok())
                .map(|l| l.cards)
                .unwrap_or_default(),
            question: question.to_owned(),
        },
    )
}

/// `order.action_taken`: the bot's message `m` carried the result of `action` on `order_id`.
pub fn order_action_taken(
    conversation: ConversationRef,
    m: &message::Model,
    action: &str,
    order_id: &str,
) -> Envelope {
    envelope(
        &m.tenant_id,
        t::ORDER_ACTION_TAKEN,
        OrderActionTaken {
            conversation: Some(conversation),
            action: action.to_owned(),
            order_id: order_id.to_owned(),
            message_id: m.id.to_string(),
            at: Some(to_timestamp(m.created_at)),
        },
    )
}
