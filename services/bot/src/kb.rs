//! The knowledge base format of `faq-kb.jsonl`: one FAQ per line. Loading validates every line
//! and reports the first bad one with its line number and field.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

/// Largest knowledge base file accepted.
pub const MAX_KB_BYTES: usize = 64 * 1024 * 1024;

/// Languages an FAQ may carry an answer in besides `answer` (Simplified Chinese, the default).
pub const ANSWER_LANGUAGES: &[&str] = &["en", "zh-Hant"];

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct Faq {
    pub id: String,
    pub intent: String,
    pub question: String,
    #[serde(default)]
    pub similar: Vec<String>,
    /// The answer in Simplified Chinese; Traditional-script customers get it converted when
    /// `answers` has no `zh-Hant`.
    pub answer: String,
    /// The answer in other languages, by code ([`ANSWER_LANGUAGES`]): `{"en": …, "zh-Hant": …}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub answers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    pub scope: String,
}

impl Faq {
    /// `None` for platform entries, the merchant id for `merchant:<id>`.
    pub fn merchant(&self) -> Option<&str> {
        self.scope.strip_prefix("merchant:")
    }

    /// The answer written for `language` (`en`, `zh-Hant`), if the entry has one.
    pub fn answer_in(&self, language: &str) -> Option<&str> {
        self.answers.get(language).map(String::as_str)
    }

    /// Checks the fields a loader cannot type: `(field, reason)` of the first problem.
    pub fn check(&self) -> Result<(), (String, String)> {
        for (field, v) in [
            ("id", &self.id),
            ("question", &self.question),
            ("answer", &self.answer),
            ("intent", &self.intent),
        ] {
            if v.trim().is_empty() {
                return Err((field.into(), "must not be empty".into()));
            }
        }
        if self.scope != "platform" && self.merchant().is_none_or(str::is_empty) {
            return Err(("scope".into(), "must be platform or merchant:<id>".into()));
        }
        if let Some(a) = &self.action
            && !kefu_proto::actions::is_faq_action(a)
        {
            return Err(("action".into(), format!("unknown action {a}")));
        }
        for (lang, text) in &self.answers {
            if !ANSWER_LANGUAGES.contains(&lang.as_str()) {
                return Err((
                    format!("answers.{lang}"),
                    format!("unknown language (one of {})", ANSWER_LANGUAGES.join(", ")),
                ));
            }
            if text.trim().is_empty() {
                return Err((format!("answers.{lang}"), "must not be empty".into()));
            }
        }
        Ok(())
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
        faq.check().map_err(|(field, reason)| err(&field, reason))?;
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

    #[test]
    fn answers_per_language() {
        let line = |answers: &str| {
            format!(
                r#"{{"id":"a","intent":"x","question":"q","answer":"中文","scope":"platform","answers":{answers}}}"#
            )
        };
        let kb = parse_jsonl(&line(r#"{"en":"English","zh-Hant":"繁體"}"#)).unwrap();
        assert_eq!(kb[0].answer_in("en"), Some("English"));
        assert_eq!(kb[0].answer_in("zh-Hant"), Some("繁體"));
        assert_eq!(kb[0].answer_in("fr"), None);
        let e = parse_jsonl(&line(r#"{"fr":"Bonjour"}"#)).unwrap_err();
        assert_eq!(e.field, "answers.fr");
        let e = parse_jsonl(&line(r#"{"en":" "}"#)).unwrap_err();
        assert_eq!(e.field, "answers.en");
        // Written back, an entry without other languages has no `answers` key.
        let plain = parse_jsonl(&line("{}")).unwrap();
        let json = serde_json::to_string(&plain[0]).unwrap();
        assert!(
            !json.contains("answers") && !json.contains("action"),
            "{json}"
        );
        assert_eq!(parse_jsonl(&json).unwrap(), plain);
    }
}
