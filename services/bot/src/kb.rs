//! The knowledge base format of `faq-kb.jsonl`: one FAQ per line. Loading validates every line
//! and reports the first bad one with its line number and field.

use serde::Deserialize;
use std::collections::HashSet;

/// Largest knowledge base file accepted.
pub const MAX_KB_BYTES: usize = 64 * 1024 * 1024;

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Faq {
    pub id: String,
    pub intent: String,
    pub question: String,
    #[serde(default)]
    pub similar: Vec<String>,
    pub answer: String,
    #[serde(default)]
    pub action: Option<String>,
    pub scope: String,
}

impl Faq {
    /// `None` for platform entries, the merchant id for `merchant:<id>`.
    pub fn merchant(&self) -> Option<&str> {
        self.scope.strip_prefix("merchant:")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("knowledge base line {line}: {field}: {reason}")]
pub struct KbError {
    pub line: usize,
    pub field: String,
    pub reason: String,
}

pub fn parse_jsonl(text: &str) -> Result<Vec<Faq>, KbError> {
    if text.len() > MAX_KB_BYTES {
        return Err(KbError {
            line: 0,
            field: "file".into(),
            reason: format!("larger than {MAX_KB_BYTES} bytes"),
        });
    }
    let mut out = Vec::new();
    let mut ids = HashSet::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let err = |field: &str, reason: String| KbError {
            line,
            field: field.into(),
            reason,
        };
        let faq: Faq = serde_json::from_str(raw).map_err(|e| err("json", e.to_string()))?;
        for (field, v) in [
            ("id", &faq.id),
            ("question", &faq.question),
            ("answer", &faq.answer),
            ("intent", &faq.intent),
        ] {
            if v.trim().is_empty() {
                return Err(err(field, "must not be empty".into()));
            }
        }
        if faq.scope != "platform" && faq.merchant().is_none_or(str::is_empty) {
            return Err(err("scope", "must be platform or merchant:<id>".into()));
        }
        if let Some(a) = &faq.action
            && !kefu_proto::actions::is_faq_action(a)
        {
            return Err(err("action", format!("unknown action {a}")));
        }
        if !ids.insert(faq.id.clone()) {
            return Err(err("id", format!("duplicate id {}", faq.id)));
        }
        out.push(faq);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_the_demo_kb() {
        let kb = parse_jsonl(include_str!("../../../demo/faq-kb.jsonl")).unwrap();
        assert!(kb.len() >= 40);
        assert!(kb.iter().any(|f| f.merchant() == Some("jinyuan")));
    }

    #[test]
    fn reports_line_and_field() {
        let text = concat!(
            r#"{"id":"a","intent":"x","question":"q","answer":"a","scope":"platform"}"#,
            "\n",
            r#"{"id":"b","intent":"x","question":"q","answer":"a","scope":"platform","action":"fly"}"#
        );
        let e = parse_jsonl(text).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (2, "action"));
        let dup = format!(
            "{}\n{}",
            text.lines().next().unwrap(),
            text.lines().next().unwrap()
        );
        assert_eq!(parse_jsonl(&dup).unwrap_err().field, "id");
        assert_eq!(parse_jsonl("{").unwrap_err().field, "json");
    }
}
