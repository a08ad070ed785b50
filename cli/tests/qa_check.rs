//! `kefu qa check` as a user runs it: the built binary, a policy file, transcripts as JSON lines
//! in, one result line out per input line in input order.

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn demo(file: &str) -> String {
    format!(
        "{}/../demo/{file}",
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR")
    )
}

fn check(policy: &str, stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(["qa", "check", "--policy", policy])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kefu");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

const SAMPLE: &str = include_str!("../../services/qa/tests/data/qa-sample.jsonl");

#[test]
fn one_result_line_per_transcript_in_order_with_the_contract_fields() {
    let out = check(&demo("qa-policy.yaml"), SAMPLE);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let inputs: Vec<Value> = SAMPLE
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), inputs.len());
    for (line, input) in lines.iter().zip(&inputs) {
        assert!(
            line.starts_with(&format!("{{\"id\":{},\"score\":", input["id"])),
            "{line}"
        );
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 3, "{line}");
        let score = v["score"].as_u64().unwrap();
        assert!(score <= 100);
        for violation in v["violations"].as_array().unwrap() {
            let keys: Vec<&String> = violation.as_object().unwrap().keys().collect();
            assert_eq!(keys.len(), 3);
            assert!(violation["rule"].is_string() && violation["kind"].is_string());
            assert!(violation["message"].is_u64() || violation["message"].is_null());
        }
        let clean = input["expect"].as_array().unwrap().is_empty();
        assert_eq!(clean, score == 100, "{line}");
    }
}

#[test]
fn a_bad_line_is_named_and_the_others_still_answered() {
    let good = SAMPLE.lines().next().unwrap();
    let input = format!(
        "{good}\n{{\"id\":\"broken\",\"messages\":[{{\"role\":\"boss\",\"text\":\"x\",\"at\":\"2026-01-01T00:00:00Z\"}}]}}\nnot json\n{good}\n"
    );
    let out = check(&demo("qa-policy.yaml"), &input);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("line 2: messages[0].role"), "{stderr}");
    assert!(stderr.contains("line 3: not JSON"), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[1]["id"], "broken");
    assert!(lines[1]["error"].as_str().unwrap().starts_with("line 2"));
    assert_eq!(lines[2]["id"], Value::Null);
    assert_eq!(lines[0], lines[3]);
}

#[test]
fn a_bad_policy_is_refused_with_every_field_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.yaml");
    std::fs::write(
        &path,
        "rules:\n  - {id: a, kind: forbidden_phrase, severity: critical}\n  - {id: b, kind: regex, severity: major, pattern: '(unclosed'}\n  - {id: c, kind: response_time, severity: minor, max_seconds: 10, phrases: [x]}\n  - {id: d, kind: shouting, severity: minor}\n",
    )
    .unwrap();
    let out = check(path.to_str().unwrap(), "");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("rules[3].kind"), "{stderr}");
    std::fs::write(
        &path,
        "rules:\n  - {id: a, kind: forbidden_phrase, severity: critical}\n  - {id: b, kind: regex, severity: major, pattern: '(unclosed'}\n  - {id: c, kind: response_time, severity: minor, max_seconds: 10, phrases: [x]}\n",
    )
    .unwrap();
    let out = check(path.to_str().unwrap(), "");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    for needle in [
        "rules[0].phrases: is required for forbidden_phrase",
        "rules[1].pattern: is not a valid regular expression",
        "rules[2].phrases: is not a parameter of response_time",
    ] {
        assert!(stderr.contains(needle), "{needle} in {stderr}");
    }
    assert!(String::from_utf8(out.stdout).unwrap().is_empty());
}
