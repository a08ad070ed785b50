//! `kefu qa check`'s engine on the shared sample (`tests/data/qa-sample.jsonl`) with the demo
//! policy (`demo/qa-policy.yaml`): every conversation's expected rule ids, precision and recall
//! per rule printed. The sample is twelve conversations; it shows each rule once and is no
//! measure of unseen wording (the held-out classifier sets are).

use kefu_qa::engine::check::check_line;
use std::collections::{BTreeMap, BTreeSet};

fn policy() -> kefu_qa::engine::Policy {
    kefu_qa::cli::load_policy(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../demo/qa-policy.yaml"
    )))
    .expect("the demo policy")
}

#[test]
fn the_sample_conversations_break_exactly_their_expected_rules() {
    let policy = policy();
    let sample = include_str!("data/qa-sample.jsonl");
    let mut per_rule: BTreeMap<String, (u32, u32, u32)> = BTreeMap::new();
    let mut mismatches = Vec::new();
    for line in sample.lines().filter(|l| !l.trim().is_empty()) {
        let input: serde_json::Value = serde_json::from_str(line).unwrap();
        let expected: BTreeSet<String> = input["expect"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        let out = serde_json::to_value(check_line(&policy, line).unwrap()).unwrap();
        assert_eq!(out["id"], input["id"]);
        let got: BTreeSet<String> = out["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["rule"].as_str().unwrap().to_owned())
            .collect();
        for rule in policy.rules.iter().map(|r| r.id.clone()) {
            let e = per_rule.entry(rule.clone()).or_default();
            match (got.contains(&rule), expected.contains(&rule)) {
                (true, true) => e.0 += 1,
                (true, false) => e.1 += 1,
                (false, true) => e.2 += 1,
                (false, false) => {}
            }
        }
        if got != expected {
            mismatches.push(format!("{}: expected {expected:?}, got {out}", input["id"]));
        }
    }
    for (rule, (tp, fp, fn_)) in &per_rule {
        println!("{rule:<18} tp={tp} fp={fp} fn={fn_}");
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
