//! A conversation as the engine reads it, built from QA's stored items: the messages in their
//! session order (`sequence`), with the `handoff` and `closed` markers placed by time after
//! every message stored at or before them. The index of a message here is the `message` index
//! findings and the API name.

use crate::engine::transcript::{CLOSED, HANDOFF};
use crate::engine::{Message, Role, Transcript};
use crate::store::entities::item;
use chrono::{DateTime, Utc};

/// The item key of the handoff marker.
pub const HANDOFF_ITEM: &str = "~handoff";
/// The item key of the close marker (only when the agent closed it).
pub const CLOSED_ITEM: &str = "~closed";

pub fn is_marker(key: &str) -> bool {
    key.starts_with('~')
}

pub fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// A conversation's transcript and, for each index, its item.
pub struct View {
    pub transcript: Transcript,
    pub items: Vec<item::Model>,
}

impl View {
    pub fn build(mut rows: Vec<item::Model>) -> Self {
        let (mut markers, mut messages): (Vec<item::Model>, Vec<item::Model>) =
            rows.drain(..).partition(|r| is_marker(&r.item));
        messages.sort_by(|a, b| a.seq.cmp(&b.seq).then_with(|| a.item.cmp(&b.item)));
        // The handoff before the close when both fall on one millisecond.
        markers.sort_by_key(|m| (m.at, m.item == CLOSED_ITEM));
        let mut items = messages;
        for m in markers {
            let at = items
                .iter()
                .rposition(|x| !is_marker(&x.item) && x.at <= m.at)
                .map_or(0, |p| p + 1);
            // After any marker already there at the same place.
            let at = (at..items.len())
                .find(|&i| !is_marker(&items[i].item))
                .unwrap_or(items.len());
            items.insert(at, m);
        }
        let transcript = Transcript::new(
            items
                .iter()
                .map(|r| {
                    let role = Role::parse(&r.role).unwrap_or(Role::System);
                    let text = match r.item.as_str() {
                        HANDOFF_ITEM => HANDOFF.to_owned(),
                        CLOSED_ITEM => CLOSED.to_owned(),
                        _ => r.text.clone(),
                    };
                    Message::new(role, text, time(r.at))
                })
                .collect(),
        );
        Self { transcript, items }
    }

    pub fn index_of(&self, key: &str) -> Option<usize> {
        self.items.iter().position(|r| r.item == key)
    }

    /// The message id at `index` (empty for a marker or none).
    pub fn message_id(&self, index: Option<usize>) -> &str {
        index
            .and_then(|i| self.items.get(i))
            .filter(|r| !is_marker(&r.item))
            .map_or("", |r| r.item.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(item: &str, seq: i64, role: &str, at: i64) -> item::Model {
        item::Model {
            tenant_id: "t".into(),
            conversation_id: "c".into(),
            item: item.into(),
            seq,
            role: role.into(),
            agent_id: String::new(),
            text: item.into(),
            at,
        }
    }

    #[test]
    fn messages_by_sequence_and_markers_by_time() {
        let v = View::build(vec![
            row(CLOSED_ITEM, 0, "system", 500),
            row("m3", 3, "agent", 300),
            row(HANDOFF_ITEM, 0, "system", 200),
            row("m1", 1, "customer", 100),
            row("m2", 2, "bot", 200),
        ]);
        let keys: Vec<&str> = v.items.iter().map(|r| r.item.as_str()).collect();
        assert_eq!(keys, ["m1", "m2", HANDOFF_ITEM, "m3", CLOSED_ITEM]);
        assert!(v.transcript.get(2).is_marker(HANDOFF));
        assert!(v.transcript.closed_at().is_some());
        assert_eq!(v.index_of("m3"), Some(3));
        assert_eq!(v.message_id(Some(2)), "");
        assert_eq!(v.message_id(Some(3)), "m3");
    }
}
