//! The JSON shape of outgoing messages and their cards, shared by webhooks and the web chat
//! socket (protobuf types stay inside Kefu).

pub use kefu_proto::json::{action_json, card_json, cards_json};
use serde_json::{Value, json};

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
