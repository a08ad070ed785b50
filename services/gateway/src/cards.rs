//! The JSON shape of outgoing messages and their cards, shared by webhooks and the web chat
//! socket (protobuf types stay inside Kefu).

use kefu_proto::events::{Card, CardAction};
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

/// A stored message of a customer's history (the admin API and the widget's `history` frame).
pub fn history_message_json(m: &kefu_proto::session::Message) -> Value {
    json!({
        "message_id": m.message_id,
        "conversation_id": m.conversation_id,
        "channel_id": m.channel_id,
        "direction": m.direction,
        "sender": m.sender_kind,
        "message_type": m.message_type,
        "text": m.text,
        "cards": cards_json(&m.cards),
        "created_at": m.created_at.as_ref().and_then(kefu_proto::time::from_timestamp),
    })
}
