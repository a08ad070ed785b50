//! Accuracy on labelled messages: the shared sample (`demo/bot-sample.jsonl`, tiny, seen while
//! building) and our own held-out set of unseen phrasings (`tests/data/held-out.jsonl`: every FAQ
//! in Simplified, Traditional and English, small talk, off-topic and handoff triggers). A line is
//! right when the bot answers with the expected FAQ, or for `greeting` / `thanks` / `fallback`
//! gives that intent without an FAQ; `lang` must match the detected language.

use kefu_bot::kb::parse_jsonl;
use kefu_bot::{Engine, Language};
use serde::Deserialize;

#[derive(Deserialize)]
struct Labelled {
    text: String,
    expect: String,
    lang: String,
    #[serde(default)]
    merchant: Option<String>,
}

struct Score {
    right: usize,
    total: usize,
    lang_right: usize,
    misses: Vec<String>,
}

fn score(file: &str, default_merchant: Option<&str>) -> Score {
    let engine = Engine::new(parse_jsonl(include_str!("../../../demo/faq-kb.jsonl")).unwrap());
    let mut s = Score {
        right: 0,
        total: 0,
        lang_right: 0,
        misses: Vec::new(),
    };
    for line in file.lines().filter(|l| !l.trim().is_empty()) {
        let l: Labelled = serde_json::from_str(line).unwrap();
        let merchant = l.merchant.as_deref().or(default_merchant);
        let a = engine.answer(&l.text, merchant);
        let ok = match l.expect.as_str() {
            "greeting" | "thanks" | "fallback" => a.faq_id.is_none() && a.intent == l.expect,
            id => a.faq_id.as_deref() == Some(id),
        };
        s.total += 1;
        if ok {
            s.right += 1;
        } else {
            s.misses.push(format!(
                "{} → expected {}, got {:?}/{} conf {:.2} suggestions {:?}",
                l.text, l.expect, a.faq_id, a.intent, a.confidence, a.suggestion_ids
            ));
        }
        if a.language.as_str() == l.lang {
            s.lang_right += 1;
        } else {
            s.misses.push(format!(
                "{}: language {:?}, expected {}",
                l.text, a.language, l.lang
            ));
        }
    }
    s
}

fn report(name: &str, s: &Score) -> f64 {
    let acc = s.right as f64 / s.total as f64;
    eprintln!(
        "{name}: {}/{} = {:.1}% (language {}/{})",
        s.right,
        s.total,
        acc * 100.0,
        s.lang_right,
        s.total
    );
    for m in &s.misses {
        eprintln!("  {m}");
    }
    acc
}

#[test]
fn accuracy_on_the_shared_sample() {
    // The sample has no merchant; its jewellery line is asked as a customer of jinyuan, who
    // sees the platform's entries too.
    let s = score(
        include_str!("../../../demo/bot-sample.jsonl"),
        Some("jinyuan"),
    );
    let acc = report("bot-sample", &s);
    assert!(acc >= 0.9, "accuracy {acc:.3} on bot-sample");
    assert_eq!(s.lang_right, s.total);
}

#[test]
fn accuracy_on_held_out_phrasings() {
    let s = score(include_str!("data/held-out.jsonl"), None);
    let acc = report("held-out", &s);
    assert!(acc >= 0.8, "accuracy {acc:.3} on the held-out set");
    assert!(s.lang_right as f64 >= 0.95 * s.total as f64);
}

/// A second set of unseen phrasings, written after the engine was tuned and measured once
/// without changing anything for it: the honest estimate for new traffic.
#[test]
fn accuracy_on_fresh_phrasings() {
    let s = score(include_str!("data/fresh.jsonl"), None);
    let acc = report("fresh", &s);
    assert!(acc >= 0.8, "accuracy {acc:.3} on the fresh set");
}

#[test]
fn language_is_reported() {
    let engine = Engine::new(Vec::new());
    assert_eq!(engine.answer("hello", None).language, Language::En);
}
