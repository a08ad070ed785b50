//! What the suite's bodies share: a ticketing app over the test's database, events in the
//! outbox, feeding it customer messages.

use chrono::{DateTime, Utc};
use kefu_bus::{BatchItem, Envelope, InProcessBus, Topology};
use kefu_proto::events::{ConversationRef, MessageCreated};
use kefu_store::entities::outbox;
use kefu_ticketing::tickets::{Actor, NewTicket};
use kefu_ticketing::{TicketingApp, TicketingConfig, TicketingState};
use prost::Message as _;
use sea_orm::{DatabaseConnection, EntityTrait, QueryOrder};
use std::sync::Arc;

pub async fn app(db: &DatabaseConnection) -> TicketingState {
    let bus = Arc::new(InProcessBus::new(Topology::new("t")));
    TicketingApp::build(TicketingConfig::default(), db.clone(), bus)
        .await
        .expect("the ticketing app")
        .state
}

pub fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("an RFC 3339 instant")
}

pub fn agent(id: &str) -> Actor {
    Actor::new("agent", id)
}

pub fn new_ticket(tenant: &str, subject: &str) -> NewTicket {
    NewTicket {
        tenant: tenant.to_owned(),
        subject: subject.to_owned(),
        description: "描述 description".to_owned(),
        requester_id: "cust-1".to_owned(),
        ..NewTicket::default()
    }
}

/// The event types in the outbox, oldest first.
pub async fn outbox_types(db: &DatabaseConnection) -> Vec<String> {
    outbox::Entity::find()
        .order_by_asc(outbox::Column::Id)
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.event_type)
        .collect()
}

/// A `message.created` of the customer in `conversation`.
pub fn customer_message(
    tenant: &str,
    conversation: &str,
    text: &str,
    created: DateTime<Utc>,
) -> Envelope {
    let m = MessageCreated {
        conversation: Some(ConversationRef {
            conversation_id: conversation.to_owned(),
            customer_id: "cust-1".to_owned(),
            channel_type: "web".to_owned(),
            ..ConversationRef::default()
        }),
        message_id: uuid::Uuid::now_v7().to_string(),
        sender_kind: "customer".to_owned(),
        direction: "in".to_owned(),
        message_type: "text".to_owned(),
        text: text.to_owned(),
        created_at: Some(kefu_proto::time::to_timestamp(created)),
        ..MessageCreated::default()
    };
    Envelope::new(
        tenant,
        kefu_proto::event_types::MESSAGE_CREATED,
        m.encode_to_vec(),
    )
}

pub async fn feed(state: &TicketingState, events: &[Envelope]) {
    let items = events
        .iter()
        .map(|e| BatchItem {
            envelope: e.clone(),
            span: tracing::Span::none(),
        })
        .collect();
    for r in kefu_ticketing::inbound::handle_batch(state.clone(), items).await {
        r.unwrap_or_else(|e| panic!("a batch failed: {e}"));
    }
}
