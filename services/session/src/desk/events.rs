//! Desk events (`desk.event`): what the gateway pushes to agents' and supervisors' sockets, a
//! projection of the session's domain events ([`project`]). Payloads are small JSON documents;
//! the workbench fetches details over REST when it needs them.

use crate::domain::Entered;
use crate::store::entities::work_item;
use kefu_bus::Envelope;
use kefu_proto::event_types as t;
use kefu_proto::events::{
    ConversationTransferred, MessageCreated, QueueAbandoned, QueueEntered, QueueLeft,
};
use kefu_proto::session::DeskEvent;
use kefu_proto::time::from_timestamp;
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
        agents.extend(w.monitors.to_vec());
        agents.extend(w.participants.to_vec());
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
    Envelope::new(tenant, t::DESK_EVENT, event.encode_to_vec())
}

fn time(t: Option<chrono::DateTime<chrono::Utc>>) -> Value {
    t.map_or(Value::Null, |t| Value::String(t.to_rfc3339()))
}

/// The work item as the workbench's lists show it.
pub fn work_json(w: &work_item::Model) -> Value {
    json!({
        "conversation_id": w.conversation_id.to_string(),
        "customer_id": w.customer_id.to_string(),
        "state": w.state.as_str(),
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

/// A message as the workbench shows it, from its `message.created` event.
fn message_json(m: &MessageCreated) -> Value {
    let conversation = m.conversation.as_ref();
    json!({
        "message_id": m.message_id,
        "conversation_id": conversation.map_or("", |c| c.conversation_id.as_str()),
        "direction": m.direction,
        "sender_kind": m.sender_kind,
        "agent_id": m.agent_id,
        "internal": m.internal,
        "text": m.text,
        "message_type": m.message_type,
        "cards": kefu_proto::json::cards_json(&m.cards),
        "created_at": time(m.created_at.as_ref().and_then(from_timestamp)),
    })
}

/// The workbench's projection of domain events: what the sockets of agents and supervisors
/// are told about each domain event of `item` (the routing item after the change). The desk
/// events with no domain counterpart (a supervisor joining or monitoring, an account removed,
/// an agent's screen refreshed) are made where they happen.
///
/// | domain event | desk events |
/// |---|---|
/// | `conversation.assigned`, `conversation.closed`, `csat.rated` | `conversation.updated` |
/// | `conversation.transferred` to an agent | `assignment.offered` (to them), `assignment.revoked` (from the agent before) |
/// | `conversation.transferred` to a queue | `assignment.revoked` (its `queue.entered` adds `queue.changed`) |
/// | `queue.entered` | `assignment.revoked` when requeued from an agent, `queue.changed` |
/// | `queue.left` | `assignment.offered` when offered, `queue.changed` (the queue it left) |
/// | `queue.abandoned` | `queue.changed` |
/// | `message.created` | `message` |
pub fn project(item: &work_item::Model, domain: &[Envelope]) -> Vec<Envelope> {
    let mut out = Vec::with_capacity(domain.len() + 1);
    let tenant = item.tenant_id.as_str();
    let merchant = item.merchant_id.as_str();
    for e in domain {
        let payload = &e.payload[..];
        match e.event_type.as_str() {
            t::CONVERSATION_ASSIGNED | t::CONVERSATION_CLOSED | t::CSAT_RATED => {
                out.push(work_event(
                    "conversation.updated",
                    item,
                    Audience::of_work(item),
                ));
            }
            t::CONVERSATION_TRANSFERRED => {
                let Ok(moved) = ConversationTransferred::decode(payload) else {
                    continue;
                };
                if !moved.to_agent_id.is_empty() {
                    let to = Audience::agent(&moved.to_agent_id);
                    out.push(work_event("assignment.offered", item, to));
                }
                let from = Audience::agent(&moved.from_agent_id);
                out.push(work_event("assignment.revoked", item, from));
            }
            t::QUEUE_ENTERED => {
                let Ok(entered) = QueueEntered::decode(payload) else {
                    continue;
                };
                if entered.reason == Entered::Requeued.as_str() && !entered.from_agent_id.is_empty()
                {
                    let from = Audience::agent(&entered.from_agent_id);
                    out.push(work_event("assignment.revoked", item, from));
                }
                // An overflow goes to the platform's queue: its figures are the platform's.
                let owner = if entered.reason == Entered::Overflow.as_str() {
                    ""
                } else {
                    merchant
                };
                out.push(queue_changed(tenant, owner, &item.queue));
            }
            t::QUEUE_LEFT => {
                let Ok(left) = QueueLeft::decode(payload) else {
                    continue;
                };
                if left.reason == "offered" {
                    let to = Audience::agent(&left.agent_id);
                    out.push(work_event("assignment.offered", item, to));
                }
                let queue = left.conversation.map(|c| c.queue_id).unwrap_or_default();
                out.push(queue_changed(tenant, merchant, &queue));
            }
            t::QUEUE_ABANDONED => {
                // Closed while waiting: the queue's figures changed.
                let Ok(gone) = QueueAbandoned::decode(payload) else {
                    continue;
                };
                let queue = gone.conversation.map(|c| c.queue_id).unwrap_or_default();
                out.push(queue_changed(tenant, merchant, &queue));
            }
            t::MESSAGE_CREATED => {
                let Ok(m) = MessageCreated::decode(payload) else {
                    continue;
                };
                let id = item.conversation_id.to_string();
                let body =
                    json!({"type": "message", "conversation_id": id, "message": message_json(&m)});
                out.push(envelope(
                    tenant,
                    merchant,
                    &id,
                    Audience::of_work(item),
                    body,
                ));
            }
            _ => {}
        }
    }
    out
}

/// `domain` followed by its [`project`]ion: the events of one change, for one outbox write.
pub fn with_desk(item: &work_item::Model, mut domain: Vec<Envelope>) -> Vec<Envelope> {
    let desk = project(item, &domain);
    domain.extend(desk);
    domain
}

/// The events of the conversations a customer merge closed, with their desk projection.
pub fn merge_closures(
    closed: &[crate::store::customers::MergeClosed],
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<Envelope> {
    let mut out = Vec::new();
    for c in closed {
        let domain = crate::domain::closed_by_merge(c, now);
        match &c.routing {
            Some((_, after)) => out.extend(with_desk(after, domain)),
            None => out.extend(domain),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain;
    use crate::store::desk::WorkState;
    use crate::store::entities::message;
    use chrono::Utc;
    use uuid::Uuid;

    fn item(state: WorkState, agent: &str) -> work_item::Model {
        work_item::Model {
            conversation_id: Uuid::now_v7(),
            customer_id: Uuid::now_v7(),
            tenant_id: "t1".into(),
            merchant_id: "m1".into(),
            state,
            queue: "q1".into(),
            agent_id: agent.into(),
            participants: vec!["sup".to_owned()].into(),
            ..work_item::Model::default()
        }
    }

    /// (type, named agents, merchant) of each desk event.
    fn shown(events: &[Envelope]) -> Vec<(String, Vec<String>, String)> {
        events
            .iter()
            .map(|e| {
                assert_eq!(e.event_type, t::DESK_EVENT);
                let d = DeskEvent::decode(&e.payload[..]).unwrap();
                let body: Value = serde_json::from_str(&d.payload_json).unwrap();
                assert_eq!(body["type"], d.kind.as_str());
                (d.kind, d.agent_ids, d.merchant_id)
            })
            .collect()
    }

    fn kinds(events: &[Envelope]) -> Vec<String> {
        shown(events).into_iter().map(|(k, _, _)| k).collect()
    }

    #[test]
    fn an_offer_is_offered_to_its_agent_and_changes_the_queue() {
        let now = Utc::now();
        let n = item(WorkState::Offered, "a1");
        let left = domain::queue_left(&n, "q1", "offered", now, now);
        let desk = shown(&project(&n, &[left]));
        assert_eq!(desk.len(), 2);
        assert_eq!(desk[0].0, "assignment.offered");
        assert_eq!(desk[0].1, vec!["a1".to_owned()]);
        assert_eq!(desk[1].0, "queue.changed");
        assert_eq!(desk[1].2, "m1");
    }

    #[test]
    fn a_lapsed_offer_is_revoked_from_the_agent_who_had_it() {
        let n = item(WorkState::Waiting, "");
        let back = domain::queue_entered(&n, domain::Entered::Requeued, "a1", Utc::now());
        let desk = shown(&project(&n, &[back]));
        assert_eq!(desk[0].0, "assignment.revoked");
        assert_eq!(desk[0].1, vec!["a1".to_owned()]);
        assert_eq!(desk[1].0, "queue.changed");
        // A handoff into a queue revokes nothing.
        let entered = domain::queue_entered(&n, domain::Entered::Handoff, "", Utc::now());
        assert_eq!(kinds(&project(&n, &[entered])), ["queue.changed"]);
    }

    #[test]
    fn an_overflow_changes_the_merchant_queue_and_the_platform_queue() {
        let now = Utc::now();
        let mut n = item(WorkState::Waiting, "");
        n.queue = "platform".into();
        let events = [
            domain::queue_left(&n, "q1", "overflow", now, now),
            domain::queue_entered(&n, domain::Entered::Overflow, "", now),
        ];
        let desk = shown(&project(&n, &events));
        let owners: Vec<&str> = desk.iter().map(|(_, _, m)| m.as_str()).collect();
        assert_eq!(
            kinds(&project(&n, &events)),
            ["queue.changed", "queue.changed"]
        );
        assert_eq!(owners, ["m1", ""]);
    }

    #[test]
    fn closing_a_waiting_conversation_refreshes_its_queue() {
        let now = Utc::now();
        let before = item(WorkState::Waiting, "");
        let after = item(WorkState::Closed, "");
        let events = domain::closed(&before, &after, "sup", now);
        assert_eq!(
            kinds(&project(&after, &events)),
            ["queue.changed", "conversation.updated"]
        );
    }

    #[test]
    fn a_transfer_offers_to_the_new_agent_and_revokes_from_the_old() {
        let now = Utc::now();
        let before = item(WorkState::Active, "a1");
        let to_agent = item(WorkState::Offered, "a2");
        let desk = shown(&project(
            &to_agent,
            &domain::transferred(&before, &to_agent, "", now),
        ));
        assert_eq!(desk[0].0, "assignment.offered");
        assert_eq!(desk[0].1, vec!["a2".to_owned()]);
        assert_eq!(desk[1].0, "assignment.revoked");
        assert_eq!(desk[1].1, vec!["a1".to_owned()]);
        let to_queue = item(WorkState::Waiting, "");
        let events = domain::transferred(&before, &to_queue, "", now);
        assert_eq!(
            kinds(&project(&to_queue, &events)),
            ["assignment.revoked", "queue.changed"]
        );
    }

    #[test]
    fn closes_ratings_and_messages_update_the_screens_of_the_people_on_it() {
        let now = Utc::now();
        let before = item(WorkState::Active, "a1");
        let mut after = item(WorkState::Closed, "a1");
        after.csat = 5;
        let mut events = domain::closed(&before, &after, "a1", now);
        events.push(domain::csat_rated(&after, now));
        events.push(domain::assigned(&after, now));
        assert_eq!(
            kinds(&project(&after, &events)),
            ["conversation.updated"; 3]
        );
        let card = kefu_proto::events::Card {
            kind: "csat".into(),
            title: "rate".into(),
            ..Default::default()
        };
        let m = message::Model {
            id: Uuid::now_v7(),
            tenant_id: "t1".into(),
            conversation_id: after.conversation_id,
            direction: "out".into(),
            sender_kind: crate::store::Sender::System,
            text: "rate".into(),
            message_type: "card".into(),
            cards: Some(kefu_proto::events::CardList { cards: vec![card] }.encode_to_vec()),
            created_at: now,
            seq: 7,
            external_message_id: None,
            internal: false,
            agent_id: String::new(),
        };
        let created = domain::message_created(domain::conversation_ref(&after), &m, None);
        let desk = project(&after, &[created]);
        let d = DeskEvent::decode(&desk[0].payload[..]).unwrap();
        assert_eq!(d.agent_ids, ["a1", "sup"]);
        let body: Value = serde_json::from_str(&d.payload_json).unwrap();
        assert_eq!(body["message"]["message_id"], m.id.to_string());
        assert_eq!(body["message"]["cards"][0]["kind"], "csat");
        assert_eq!(body["message"]["created_at"], now.to_rfc3339());
        // Events that are not about the screens project to nothing; with_desk keeps them first.
        let to_send = Envelope::new("t1", t::MESSAGE_TO_SEND, Vec::new());
        let all = with_desk(&after, vec![to_send]);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].event_type, t::MESSAGE_TO_SEND);
    }
}
