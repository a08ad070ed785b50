//! Domain events as the session publishes them, at chosen instants: what the contract suite,
//! the end-to-end scripted day and the bench feed the analytics service with. The payloads are
//! the real protobuf messages; only the clock is the script's.

use chrono::{DateTime, Utc};
use kefu_bus::Envelope;
use kefu_proto::event_types as t;
use kefu_proto::events::{
    AgentStatusChanged, BotAnnotation, ConversationAssigned, ConversationClosed,
    ConversationOpened, ConversationRef, ConversationTransferred, CsatRated, CustomerProfile,
    HandoffRequested, MessageCreated, OrderPlaced, QueueAbandoned, QueueEntered, QueueLeft,
};
use kefu_proto::time::to_timestamp;
use prost::Message;

/// A stream of one tenant's domain events.
#[derive(Debug, Default)]
pub struct Script {
    pub tenant: String,
    pub events: Vec<Envelope>,
}

fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).expect("a valid instant")
}

/// A conversation of the script: where it is, and its next message number.
#[derive(Clone, Debug)]
pub struct Conv {
    pub id: String,
    pub customer: String,
    pub merchant: String,
    pub channel: String,
    pub tier: String,
    pub queue: String,
    pub seq: u64,
}

impl Conv {
    fn reference(&self) -> ConversationRef {
        ConversationRef {
            conversation_id: self.id.clone(),
            customer_id: self.customer.clone(),
            merchant_id: self.merchant.clone(),
            channel_type: self.channel.clone(),
            queue_id: self.queue.clone(),
            tier: self.tier.clone(),
        }
    }
}

impl Script {
    pub fn new(tenant: &str) -> Self {
        Self {
            tenant: tenant.to_owned(),
            events: Vec::new(),
        }
    }

    /// An event of type `event_type` that happened at `at_ms`.
    pub fn push(&mut self, event_type: &str, at_ms: i64, payload: impl Message) {
        let mut e = Envelope::new(self.tenant.clone(), event_type, payload.encode_to_vec());
        e.occurred_at = time(at_ms);
        self.events.push(e);
    }

    /// A conversation (nothing published yet).
    pub fn conversation(
        &self,
        id: &str,
        customer: &str,
        channel: &str,
        merchant: &str,
        tier: &str,
    ) -> Conv {
        Conv {
            id: id.to_owned(),
            customer: customer.to_owned(),
            merchant: merchant.to_owned(),
            channel: channel.to_owned(),
            tier: tier.to_owned(),
            queue: String::new(),
            seq: 0,
        }
    }

    pub fn opened(&mut self, c: &Conv, at: i64) {
        self.push(
            t::CONVERSATION_OPENED,
            at,
            ConversationOpened {
                conversation_id: c.id.clone(),
                customer_id: c.customer.clone(),
                channel_id: format!("{}-channel", c.channel),
                page: None,
            },
        );
    }

    fn message(
        &mut self,
        c: &mut Conv,
        at: i64,
        sender: &str,
        agent: &str,
        with: impl FnOnce(&mut MessageCreated),
    ) {
        c.seq += 1;
        let direction = if sender == "customer" { "in" } else { "out" };
        let mut m = MessageCreated {
            conversation: Some(c.reference()),
            message_id: uuid::Uuid::now_v7().to_string(),
            sender_kind: sender.to_owned(),
            agent_id: agent.to_owned(),
            direction: direction.to_owned(),
            message_type: "text".to_owned(),
            created_at: Some(to_timestamp(time(at))),
            sequence: c.seq,
            ..MessageCreated::default()
        };
        with(&mut m);
        self.push(t::MESSAGE_CREATED, at, m);
    }

    /// The customer writes.
    pub fn customer(&mut self, c: &mut Conv, at: i64) {
        self.message(c, at, "customer", "", |_| {});
    }

    /// The bot answers `question` with an FAQ (`faq` empty and `miss`: it could not).
    pub fn bot(
        &mut self,
        c: &mut Conv,
        at: i64,
        intent: &str,
        faq: &str,
        miss: bool,
        question: &str,
    ) {
        let bot = BotAnnotation {
            faq_id: faq.to_owned(),
            intent: intent.to_owned(),
            miss,
            ..BotAnnotation::default()
        };
        self.message(c, at, "bot", "", |m| {
            m.bot = Some(bot);
            m.question = question.to_owned();
        });
    }

    /// An agent writes to the customer.
    pub fn agent(&mut self, c: &mut Conv, at: i64, agent: &str) {
        self.message(c, at, "agent", agent, |_| {});
    }

    /// An agent's internal note.
    pub fn note(&mut self, c: &mut Conv, at: i64, agent: &str) {
        self.message(c, at, "agent", agent, |m| m.internal = true);
    }

    /// The bot hands off to `queue` (`conversation.handoff_requested` and `queue.entered`).
    pub fn handoff(&mut self, c: &mut Conv, at: i64, reason: &str, queue: &str) {
        self.push(
            t::HANDOFF_REQUESTED,
            at,
            HandoffRequested {
                conversation_id: c.id.clone(),
                customer_id: c.customer.clone(),
                reason: reason.to_owned(),
                merchant_id: c.merchant.clone(),
                requested_at: Some(to_timestamp(time(at))),
                profile: Some(CustomerProfile {
                    customer_id: c.customer.clone(),
                    tier: c.tier.clone(),
                    ..CustomerProfile::default()
                }),
                ..HandoffRequested::default()
            },
        );
        self.queue_entered(c, at, queue, "handoff", "");
    }

    pub fn queue_entered(
        &mut self,
        c: &mut Conv,
        at: i64,
        queue: &str,
        reason: &str,
        from_agent: &str,
    ) {
        c.queue = queue.to_owned();
        self.push(
            t::QUEUE_ENTERED,
            at,
            QueueEntered {
                conversation: Some(c.reference()),
                reason: reason.to_owned(),
                at: Some(to_timestamp(time(at))),
                from_agent_id: from_agent.to_owned(),
            },
        );
    }

    /// Offered to `agent` after waiting `waited_ms` in its queue.
    pub fn offered(&mut self, c: &mut Conv, at: i64, agent: &str, waited_ms: i64) {
        self.push(
            t::QUEUE_LEFT,
            at,
            QueueLeft {
                conversation: Some(c.reference()),
                reason: "offered".to_owned(),
                agent_id: agent.to_owned(),
                waited_ms,
                at: Some(to_timestamp(time(at))),
            },
        );
    }

    /// `agent` accepts, `waited_ms` after the handoff.
    pub fn assigned(&mut self, c: &mut Conv, at: i64, agent: &str, waited_ms: i64) {
        self.push(
            t::CONVERSATION_ASSIGNED,
            at,
            ConversationAssigned {
                conversation_id: c.id.clone(),
                agent_id: agent.to_owned(),
                queue_id: c.queue.clone(),
                conversation: Some(c.reference()),
                waited_ms,
                at: Some(to_timestamp(time(at))),
            },
        );
    }

    /// `from` transfers to the agent `to`.
    pub fn transferred(&mut self, c: &mut Conv, at: i64, from: &str, to: &str) {
        self.push(
            t::CONVERSATION_TRANSFERRED,
            at,
            ConversationTransferred {
                conversation: Some(c.reference()),
                from_agent_id: from.to_owned(),
                to_agent_id: to.to_owned(),
                from_queue_id: c.queue.clone(),
                to_queue_id: c.queue.clone(),
                note: String::new(),
                at: Some(to_timestamp(time(at))),
            },
        );
    }

    /// Closed while waiting, `waited_ms` after it entered its queue.
    pub fn abandoned(&mut self, c: &mut Conv, at: i64, waited_ms: i64) {
        self.push(
            t::QUEUE_ABANDONED,
            at,
            QueueAbandoned {
                conversation: Some(c.reference()),
                waited_ms,
                at: Some(to_timestamp(time(at))),
            },
        );
        self.closed(c, at, "closed_in_queue", "", &[]);
    }

    pub fn closed(&mut self, c: &mut Conv, at: i64, reason: &str, agent: &str, tags: &[&str]) {
        self.push(
            t::CONVERSATION_CLOSED,
            at,
            ConversationClosed {
                conversation_id: c.id.clone(),
                reason: reason.to_owned(),
                conversation: Some(c.reference()),
                agent_id: agent.to_owned(),
                closed_by: agent.to_owned(),
                summary: String::new(),
                tags: tags.iter().map(|t| (*t).to_owned()).collect(),
                at: Some(to_timestamp(time(at))),
            },
        );
    }

    pub fn rated(&mut self, c: &mut Conv, at: i64, agent: &str, rating: i32) {
        self.push(
            t::CSAT_RATED,
            at,
            CsatRated {
                conversation: Some(c.reference()),
                agent_id: agent.to_owned(),
                rating,
                comment: String::new(),
                at: Some(to_timestamp(time(at))),
            },
        );
    }

    pub fn status(&mut self, at: i64, agent: &str, merchant: &str, from: &str, to: &str) {
        self.push(
            t::AGENT_STATUS_CHANGED,
            at,
            AgentStatusChanged {
                agent_id: agent.to_owned(),
                merchant_id: merchant.to_owned(),
                from_status: from.to_owned(),
                to_status: to.to_owned(),
                at: Some(to_timestamp(time(at))),
            },
        );
    }

    /// The order system reports an order of `customer` placed at `at`.
    pub fn order(
        &mut self,
        at: i64,
        order_id: &str,
        customer: &str,
        amount_cents: i64,
        paid_cents: i64,
    ) {
        self.push(
            t::ORDER_PLACED,
            at,
            OrderPlaced {
                order_id: order_id.to_owned(),
                customer_id: customer.to_owned(),
                merchant_id: String::new(),
                placed_at: Some(to_timestamp(time(at))),
                amount_cents,
                paid_cents,
            },
        );
    }
}
