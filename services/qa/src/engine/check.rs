//! `kefu qa check --policy FILE`: transcripts as JSON lines in, one result line out per line,
//! in input order: `{"id","score","violations":[{"rule","kind","message"}]}` (`message` is
//! the index of the message a violation points at, or null when it is the conversation's), with
//! the fields in that order. A line that cannot be read gets `{"id","error"}` naming what is
//! wrong instead, and the others go on.

use super::Policy;
use super::transcript::parse_line;
use serde::Serialize;
use serde_json::Value;

/// One result line.
#[derive(Debug, Serialize)]
pub struct CheckResult<'a> {
    pub id: Value,
    pub score: u32,
    pub violations: Vec<CheckViolation<'a>>,
}

#[derive(Debug, Serialize)]
pub struct CheckViolation<'a> {
    pub rule: &'a str,
    pub kind: &'static str,
    pub message: Option<usize>,
}

/// The line in place of one that could not be read.
#[derive(Debug, Serialize)]
pub struct CheckError {
    pub id: Value,
    pub error: String,
}

/// The result for one input line.
pub fn check_line<'p>(policy: &'p Policy, line: &str) -> Result<CheckResult<'p>, String> {
    let parsed = parse_line(line)?;
    let report = policy.evaluate(&parsed.transcript);
    let violations = report
        .violations
        .iter()
        .map(|v| {
            let rule = &policy.rules[v.rule];
            CheckViolation {
                rule: &rule.id,
                kind: rule.kind.as_str(),
                message: v.message,
            }
        })
        .collect();
    Ok(CheckResult {
        id: parsed.id,
        score: report.score.score,
        violations,
    })
}

/// The id of a line that could not be read, if it has one to echo.
pub fn line_id(line: &str) -> Value {
    serde_json::from_str::<Value>(line)
        .ok()
        .and_then(|v| v.get("id").cloned())
        .filter(|id| id.is_string() || id.is_number())
        .unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_format_keeps_its_field_order() {
        let spec = kefu_crd::qa::parse_policy(
            "rules:\n  - {id: words, kind: forbidden_phrase, severity: critical, phrases: [爱买不买]}\n",
        )
        .unwrap();
        let policy = Policy::compile(&spec).unwrap();
        let line = r#"{"id":"c1","messages":[{"role":"agent","text":"爱买不买","at":"2026-01-01T00:00:00Z"}]}"#;
        let out = serde_json::to_string(&check_line(&policy, line).unwrap()).unwrap();
        assert_eq!(
            out,
            r#"{"id":"c1","score":0,"violations":[{"rule":"words","kind":"forbidden_phrase","message":0}]}"#
        );
    }
}
