//! Protobuf messages and gRPC stubs for Kefu, generated at build time from `proto/`.
//!
//! - [`bus`]: the event envelope.
//! - [`events`]: the payloads of bus events, one message per event type.
//! - [`gateway`], [`session`], [`bot`], [`analytics`], [`qa`]: each service's gRPC API (client and server).
//!
//! [`event_types`] names the routing keys so producers and consumers cannot drift apart.

#![allow(clippy::doc_markdown, clippy::large_enum_variant)]

pub mod bus {
    tonic::include_proto!("kefu.bus.v1");
}
pub mod events {
    tonic::include_proto!("kefu.events.v1");
}
pub mod gateway {
    tonic::include_proto!("kefu.gateway.v1");
}
pub mod session {
    tonic::include_proto!("kefu.session.v1");
}
pub mod bot {
    tonic::include_proto!("kefu.bot.v1");
}
pub mod analytics {
    tonic::include_proto!("kefu.analytics.v1");
}
pub mod qa {
    tonic::include_proto!("kefu.qa.v1");
}
pub mod desk;
pub mod domain;

/// Routing keys of bus events; the payload type of each is named beside it.
pub mod event_types {
    /// [`crate::events::MessageReceived`]
    pub const MESSAGE_RECEIVED: &str = "message.received";
    /// [`crate::events::MessageToSend`]
    pub const MESSAGE_TO_SEND: &str = "message.to_send";
    /// [`crate::events::ConversationOpened`]
    pub const CONVERSATION_OPENED: &str = "conversation.opened";
    /// [`crate::events::ConversationAssigned`]
    pub const CONVERSATION_ASSIGNED: &str = "conversation.assigned";
    /// [`crate::events::ConversationClosed`]
    pub const CONVERSATION_CLOSED: &str = "conversation.closed";
    /// [`crate::events::HandoffRequested`]
    pub const HANDOFF_REQUESTED: &str = "conversation.handoff_requested";
    /// [`crate::events::ConversationTransferred`]
    pub const CONVERSATION_TRANSFERRED: &str = "conversation.transferred";
    /// [`crate::events::MessageCreated`]
    pub const MESSAGE_CREATED: &str = "message.created";
    /// [`crate::events::QueueEntered`]
    pub const QUEUE_ENTERED: &str = "queue.entered";
    /// [`crate::events::QueueLeft`]
    pub const QUEUE_LEFT: &str = "queue.left";
    /// [`crate::events::QueueAbandoned`]
    pub const QUEUE_ABANDONED: &str = "queue.abandoned";
    /// [`crate::events::CsatRated`]
    pub const CSAT_RATED: &str = "csat.rated";
    /// [`crate::events::AgentStatusChanged`]
    pub const AGENT_STATUS_CHANGED: &str = "agent.status_changed";
    /// [`crate::events::OrderActionTaken`]
    pub const ORDER_ACTION_TAKEN: &str = "order.action_taken";

    /// The domain events: state changes other services consume (docs/events.md).
    pub const DOMAIN: &[&str] = &[
        CONVERSATION_OPENED,
        HANDOFF_REQUESTED,
        CONVERSATION_ASSIGNED,
        CONVERSATION_TRANSFERRED,
        CONVERSATION_CLOSED,
        MESSAGE_CREATED,
        QUEUE_ENTERED,
        QUEUE_LEFT,
        QUEUE_ABANDONED,
        CSAT_RATED,
        AGENT_STATUS_CHANGED,
        ORDER_ACTION_TAKEN,
        MESSAGE_UNDELIVERABLE,
        QA_ALERT_RAISED,
    ];
    /// [`crate::events::MessageUndeliverable`]: the gateway could not deliver a reply under the
    /// channel's rules (window, quota).
    pub const MESSAGE_UNDELIVERABLE: &str = "message.undeliverable";
    /// [`crate::events::TenantConfigChanged`]
    pub const TENANT_CONFIG_CHANGED: &str = "tenant.config_changed";
    /// [`crate::session::DeskEvent`]: pushed to agents' and supervisors' sockets.
    pub const DESK_EVENT: &str = "desk.event";
    /// [`crate::events::QaAlertRaised`]: the QA service found a real-time violation worth a
    /// supervisor's attention.
    pub const QA_ALERT_RAISED: &str = "qa.alert_raised";
    /// [`crate::events::SocketPush`]: a frame for a customer's chat sockets on any gateway
    /// replica.
    pub const SOCKET_PUSH: &str = "socket.push";
}

/// The bot's actions: what a knowledge-base entry may ask for besides its answer, and what a
/// card button may do. One list for the knowledge-base loader, the bot and the channels.
pub mod actions {
    /// Actions that act on one of the customer's orders.
    pub const ORDER: &[&str] = &[
        "order_lookup",
        "logistics_lookup",
        "urge_shipment",
        "change_address",
        "cancel_order",
        "create_return",
        "create_exchange",
        "issue_invoice",
    ];
    pub const STORE_STOCK_LOOKUP: &str = "store_stock_lookup";
    pub const HANDOFF: &str = "handoff";
    /// A card button only: picks one of the offered orders for the pending question.
    pub const SELECT_ORDER: &str = "select_order";

    /// Every action a knowledge-base entry may name.
    pub fn is_faq_action(action: &str) -> bool {
        ORDER.contains(&action) || action == STORE_STOCK_LOOKUP || action == HANDOFF
    }

    /// Every action a card button may carry.
    pub fn is_button_action(action: &str) -> bool {
        is_faq_action(action) || action == SELECT_ORDER || csat_rating(action).is_some()
    }

    /// The rating of a CSAT button (`csat:1` … `csat:5`), sent when a conversation closes.
    pub fn csat_rating(action: &str) -> Option<u32> {
        // Exactly one digit: `csat:05` or `csat:+3` are not ratings.
        match action.strip_prefix(CSAT_PREFIX)?.as_bytes() {
            [d @ b'1'..=b'5'] => Some(u32::from(d - b'0')),
            _ => None,
        }
    }

    /// The action prefix of the CSAT buttons.
    pub const CSAT_PREFIX: &str = "csat:";
}

/// The JSON shape of cards outside Kefu (webhooks, the chat socket, the desk socket): one shape
/// wherever a card leaves as JSON.
pub mod json {
    use crate::events::{Card, CardAction};
    use serde_json::{Value, json};

    pub fn action_json(a: &CardAction) -> Value {
        json!({ "action": a.action, "order_id": a.order_id, "product_id": a.product_id })
    }

    pub fn card_json(c: &Card) -> Value {
        json!({
            "kind": c.kind,
            "title": c.title,
            "subtitle": c.subtitle,
            "image_url": c.image_url,
            "order_id": c.order_id,
            "product_id": c.product_id,
            "fields": c.fields.iter().map(|f| json!({"label": f.label, "value": f.value})).collect::<Vec<_>>(),
            "buttons": c.buttons.iter().map(|b| json!({
                "label": b.label,
                "action": b.action.as_ref().map(action_json),
            })).collect::<Vec<_>>(),
        })
    }

    pub fn cards_json(cards: &[Card]) -> Vec<Value> {
        cards.iter().map(card_json).collect()
    }
}

/// Conversions between `prost_types::Timestamp` and `chrono`.
pub mod time {
    use chrono::{DateTime, Utc};

    pub fn to_timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
        prost_types::Timestamp {
            seconds: t.timestamp(),
            nanos: t.timestamp_subsec_nanos() as i32,
        }
    }

    pub fn from_timestamp(t: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?)
    }
}

/// The system's consumer queues, in one place. Every service declares all of them when it
/// starts (not just the one it consumes), so an event is never published before the queue
/// that must receive it exists — on a fresh broker the gateway may well start first.
pub mod queues {
    use crate::event_types;

    /// A consumer queue: its name, the routing keys bound to it, and how many deliveries a
    /// message gets before it is dead-lettered.
    #[derive(Clone, Copy, Debug)]
    pub struct Queue {
        pub name: &'static str,
        pub bindings: &'static [&'static str],
        pub delivery_limit: u32,
    }

    /// The session service's inbound customer messages.
    pub const SESSION_INBOUND: Queue = Queue {
        name: "session.inbound",
        bindings: &[event_types::MESSAGE_RECEIVED],
        delivery_limit: 5,
    };

    /// The gateway's outbound messages to deliver to channels.
    pub const GATEWAY_OUTBOUND: Queue = Queue {
        name: "gateway.outbound",
        bindings: &[event_types::MESSAGE_TO_SEND],
        delivery_limit: 5,
    };

    /// The session service's copy of tenant rules (customer merging, bot handoff).
    pub const SESSION_CONFIG: Queue = Queue {
        name: "session.config",
        bindings: &[event_types::TENANT_CONFIG_CHANGED],
        delivery_limit: 5,
    };

    /// The session's copy of delivery failures, shown to the conversation's agent.
    pub const SESSION_DELIVERIES: Queue = Queue {
        name: "session.deliveries",
        bindings: &[event_types::MESSAGE_UNDELIVERABLE],
        delivery_limit: 5,
    };

    /// The analytics service's domain events (every one of them: the facts it counts).
    pub const ANALYTICS_EVENTS: Queue = Queue {
        name: "analytics.events",
        bindings: event_types::DOMAIN,
        delivery_limit: 5,
    };

    /// The analytics service's copy of tenant settings (reporting time zone, attribution,
    /// queues' answer targets).
    pub const ANALYTICS_CONFIG: Queue = Queue {
        name: "analytics.config",
        bindings: &[event_types::TENANT_CONFIG_CHANGED],
        delivery_limit: 5,
    };

    /// The QA service's domain events: messages as they are stored (real-time rules) and the
    /// conversation's life (handoff, agent, close, CSAT) for the conversation rules.
    pub const QA_EVENTS: Queue = Queue {
        name: "qa.events",
        bindings: &[
            event_types::MESSAGE_CREATED,
            event_types::HANDOFF_REQUESTED,
            event_types::CONVERSATION_ASSIGNED,
            event_types::CONVERSATION_CLOSED,
            event_types::CSAT_RATED,
        ],
        delivery_limit: 5,
    };

    /// The QA service's copy of the tenants' QA policies.
    pub const QA_CONFIG: Queue = Queue {
        name: "qa.config",
        bindings: &[event_types::TENANT_CONFIG_CHANGED],
        delivery_limit: 5,
    };

    pub const ALL: &[Queue] = &[
        SESSION_INBOUND,
        GATEWAY_OUTBOUND,
        SESSION_CONFIG,
        SESSION_DELIVERIES,
        ANALYTICS_EVENTS,
        ANALYTICS_CONFIG,
        QA_EVENTS,
        QA_CONFIG,
    ];
}
