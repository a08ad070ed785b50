//! A conversation as the engine sees it: messages with a role, a text and a time, in order.
//! The service builds it from its tables; `kefu qa check` reads it from JSON lines
//! (`{"id","lang","messages":[{"role","text","at"}]}`, the format of `qa-sample.jsonl`).
//!
//! Each message is [prepared](super::text::Prepared) at most once, when a rule first needs it,
//! so the real-time path pays only for the message that just arrived.

use super::text::Prepared;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::sync::OnceLock;

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Customer,
    Bot,
    Agent,
    /// Markers: `handoff` (a person was asked for), `closed` (the agent closed it); other
    /// system texts (CSAT invitations, notices) are kept but mean nothing to the rules.
    System,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "customer" => Some(Role::Customer),
            "bot" => Some(Role::Bot),
            "agent" => Some(Role::Agent),
            "system" => Some(Role::System),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Bot => "bot",
            Role::Agent => "agent",
            Role::System => "system",
        }
    }
}

/// The system text that marks the handoff to a person.
pub const HANDOFF: &str = "handoff";
/// The system text that marks the agent closing the conversation.
pub const CLOSED: &str = "closed";

#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub role: Role,
    pub text: String,
    pub at: DateTime<Utc>,
}

impl Message {
    pub fn new(role: Role, text: impl Into<String>, at: DateTime<Utc>) -> Self {
        Self {
            role,
            text: text.into(),
            at,
        }
    }

    pub fn is_marker(&self, marker: &str) -> bool {
        self.role == Role::System && self.text.trim() == marker
    }
}

/// The messages of one conversation, oldest first, each prepared on first use.
#[derive(Debug, Default)]
pub struct Transcript {
    messages: Vec<Message>,
    prepared: Vec<OnceLock<Prepared>>,
}

impl Transcript {
    pub fn new(messages: Vec<Message>) -> Self {
        let prepared = messages.iter().map(|_| OnceLock::new()).collect();
        Self { messages, prepared }
    }

    pub fn push(&mut self, message: Message) {
        self.messages.push(message);
        self.prepared.push(OnceLock::new());
    }

    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    pub fn get(&self, i: usize) -> &Message {
        &self.messages[i]
    }

    /// Message `i`, normalised (computed once).
    pub fn prepared(&self, i: usize) -> &Prepared {
        self.prepared[i].get_or_init(|| Prepared::new(&self.messages[i].text))
    }

    /// Whether the conversation ends with the agent closing it (a `closed` marker).
    pub fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.messages
            .iter()
            .rev()
            .find(|m| m.is_marker(CLOSED))
            .map(|m| m.at)
    }
}

/// Largest input line `kefu qa check` reads.
pub const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;
/// Most messages of one transcript.
pub const MAX_MESSAGES: usize = 5_000;
/// Longest message text.
pub const MAX_TEXT_CHARS: usize = 20_000;

#[derive(Deserialize)]
struct RawLine {
    id: serde_json::Value,
    #[serde(default)]
    lang: Option<String>,
    messages: Vec<RawMessage>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMessage {
    role: String,
    text: String,
    at: String,
}

/// One transcript line: its id (a string or a number, echoed as given) and its messages.
#[derive(Debug)]
pub struct TranscriptLine {
    pub id: serde_json::Value,
    pub lang: Option<String>,
    pub transcript: Transcript,
}

/// Reads one JSON line; the error names what is wrong and where (`messages[3].at`).
pub fn parse_line(line: &str) -> Result<TranscriptLine, String> {
    if line.len() > MAX_LINE_BYTES {
        return Err(format!("longer than {MAX_LINE_BYTES} bytes"));
    }
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    if !value.is_object() {
        return Err("must be a JSON object with id and messages".into());
    }
    let raw: RawLine = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.inner().to_string();
        if path == "." {
            inner
        } else {
            format!("{path}: {inner}")
        }
    })?;
    if !(raw.id.is_string() || raw.id.is_number()) {
        return Err("id: must be a string or a number".into());
    }
    if raw.messages.len() > MAX_MESSAGES {
        return Err(format!("messages: more than {MAX_MESSAGES}"));
    }
    let mut messages = Vec::with_capacity(raw.messages.len());
    for (i, m) in raw.messages.into_iter().enumerate() {
        let role = Role::parse(&m.role).ok_or_else(|| {
            format!(
                "messages[{i}].role: {:?} is not customer, bot, agent or system",
                m.role
            )
        })?;
        if m.text.chars().count() > MAX_TEXT_CHARS {
            return Err(format!(
                "messages[{i}].text: longer than {MAX_TEXT_CHARS} characters"
            ));
        }
        let at = DateTime::parse_from_rfc3339(m.at.trim())
            .map_err(|e| format!("messages[{i}].at: {:?} is not an RFC 3339 time: {e}", m.at))?
            .with_timezone(&Utc);
        messages.push(Message::new(role, m.text, at));
    }
    Ok(TranscriptLine {
        id: raw.id,
        lang: raw.lang,
        transcript: Transcript::new(messages),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_reads_with_its_markers_and_times() {
        let t = parse_line(
            r#"{"id":"c-1","lang":"en","messages":[{"role":"customer","text":"hi","at":"2026-11-12T10:20:00+08:00"},{"role":"system","text":"closed","at":"2026-11-12T10:21:00+08:00"}],"expect":[],"note":"x"}"#,
        )
        .unwrap();
        assert_eq!(t.id, "c-1");
        assert_eq!(t.transcript.len(), 2);
        assert_eq!(
            t.transcript.get(0).at.to_rfc3339(),
            "2026-11-12T02:20:00+00:00"
        );
        assert!(t.transcript.closed_at().is_some());
    }

    #[test]
    fn bad_lines_say_what_and_where() {
        let err = |l: &str| parse_line(l).unwrap_err();
        assert!(err("{not json").starts_with("not JSON"));
        assert!(err("[1]").contains("JSON object"));
        assert!(
            err(r#"{"id":"x"}"#).contains("messages"),
            "{}",
            err(r#"{"id":"x"}"#)
        );
        let role = err(
            r#"{"id":"x","messages":[{"role":"boss","text":"a","at":"2026-01-01T00:00:00Z"}]}"#,
        );
        assert!(role.starts_with("messages[0].role"), "{role}");
        let at = err(r#"{"id":"x","messages":[{"role":"agent","text":"a","at":"yesterday"}]}"#);
        assert!(at.starts_with("messages[0].at"), "{at}");
        let missing =
            err(r#"{"id":"x","messages":[{"role":"agent","at":"2026-01-01T00:00:00Z"}]}"#);
        assert!(
            missing.contains("messages[0]") && missing.contains("text"),
            "{missing}"
        );
        assert!(err(r#"{"id":[1],"messages":[]}"#).starts_with("id"));
    }
}
