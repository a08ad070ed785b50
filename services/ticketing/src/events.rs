//! Ticketing's domain events (docs/events.md), as envelopes for the outbox. Each takes the
//! ticket as it is after the change, so an event can only describe a change that happened.

use crate::store::entities::ticket;
use crate::tickets::Actor;
use chrono::{DateTime, Utc};
use kefu_bus::Envelope;
use kefu_proto::event_types as t;
use kefu_proto::events::{
    TicketActor, TicketAssigned, TicketCommented, TicketCreated, TicketRef, TicketSla,
    TicketStatusChanged, TicketUpdated,
};
use kefu_proto::time::to_timestamp;

fn envelope(tenant: &str, event_type: &str, payload: impl prost::Message) -> Envelope {
    Envelope::new(tenant, event_type, payload.encode_to_vec())
}

pub fn ticket_ref(x: &ticket::Model) -> TicketRef {
    TicketRef {
        ticket_id: x.id.to_string(),
        number: x.number.clone(),
        merchant_id: x.merchant_id.clone(),
        requester_id: x.requester_id.clone(),
        conversation_id: x.conversation_id.clone(),
        priority: x.priority.as_str().to_owned(),
        status: x.status.as_str().to_owned(),
        sub_status: x.sub_status.clone(),
        group_id: x.group_id.clone(),
        assignee_id: x.assignee_id.clone(),
        channel_id: x.channel_id.clone(),
    }
}

fn actor(a: &Actor) -> Option<TicketActor> {
    Some(TicketActor {
        kind: a.kind.clone(),
        id: a.id.clone(),
    })
}

pub fn created(x: &ticket::Model, by: &Actor) -> Envelope {
    envelope(
        &x.tenant_id,
        t::TICKET_CREATED,
        TicketCreated {
            ticket: Some(ticket_ref(x)),
            subject: x.subject.clone(),
            r#type: x.ticket_type.clone(),
            actor: actor(by),
            at: Some(to_timestamp(x.created_at)),
            tags: x.tags.0.clone(),
        },
    )
}

pub fn updated(x: &ticket::Model, fields: Vec<String>, by: &Actor, at: DateTime<Utc>) -> Envelope {
    envelope(
        &x.tenant_id,
        t::TICKET_UPDATED,
        TicketUpdated {
            ticket: Some(ticket_ref(x)),
            fields,
            actor: actor(by),
            at: Some(to_timestamp(at)),
        },
    )
}

pub fn status_changed(
    before: &ticket::Model,
    x: &ticket::Model,
    by: &Actor,
    at: DateTime<Utc>,
) -> Envelope {
    envelope(
        &x.tenant_id,
        t::TICKET_STATUS_CHANGED,
        TicketStatusChanged {
            ticket: Some(ticket_ref(x)),
            from_status: before.status.as_str().to_owned(),
            to_status: x.status.as_str().to_owned(),
            from_sub_status: before.sub_status.clone(),
            to_sub_status: x.sub_status.clone(),
            actor: actor(by),
            at: Some(to_timestamp(at)),
        },
    )
}

pub fn assigned(
    before: &ticket::Model,
    x: &ticket::Model,
    by: &Actor,
    at: DateTime<Utc>,
) -> Envelope {
    envelope(
        &x.tenant_id,
        t::TICKET_ASSIGNED,
        TicketAssigned {
            ticket: Some(ticket_ref(x)),
            from_group_id: before.group_id.clone(),
            to_group_id: x.group_id.clone(),
            from_assignee_id: before.assignee_id.clone(),
            to_assignee_id: x.assignee_id.clone(),
            actor: actor(by),
            at: Some(to_timestamp(at)),
        },
    )
}

pub fn commented(
    x: &ticket::Model,
    comment_id: uuid::Uuid,
    public: bool,
    text: &str,
    by: &Actor,
    at: DateTime<Utc>,
) -> Envelope {
    envelope(
        &x.tenant_id,
        t::TICKET_COMMENTED,
        TicketCommented {
            ticket: Some(ticket_ref(x)),
            comment_id: comment_id.to_string(),
            public,
            author: actor(by),
            text: text.to_owned(),
            at: Some(to_timestamp(at)),
        },
    )
}

/// `ticket.sla_warning` or `ticket.sla_breached`, with the timer's id as the event id (a timer
/// fires one event, whatever happens to the replica that fires it).
pub fn sla(
    x: &ticket::Model,
    fire: crate::sla::Fire,
    metric: &str,
    due_at: i64,
    timer_id: uuid::Uuid,
    at: DateTime<Utc>,
) -> Envelope {
    let event_type = match fire {
        crate::sla::Fire::Warning => t::TICKET_SLA_WARNING,
        crate::sla::Fire::Breach => t::TICKET_SLA_BREACHED,
    };
    let mut e = envelope(
        &x.tenant_id,
        event_type,
        TicketSla {
            ticket: Some(ticket_ref(x)),
            metric: metric.to_owned(),
            due_at: DateTime::from_timestamp_millis(due_at).map(to_timestamp),
            at: Some(to_timestamp(at)),
        },
    );
    e.event_id = timer_id;
    e
}
