//! The two evaluation sets of `services/bot/eval` scored as `kefu bot eval` scores them, against
//! the demo knowledge base. `dev.jsonl` is what the matcher is tuned on; `heldout.jsonl` is only
//! measured (never tuned on). Both were written before any matcher change. The floors below are
//! the figures last measured, rounded down: a change that loses accuracy fails here.
//! `cargo test -p kefu-bot --test eval -- --nocapture` prints the reports (every wrong dev line).

use kefu_bot::Engine;
use kefu_bot::eval::{Report, evaluate, parse_labelled};
use kefu_bot::kb::parse_jsonl;

fn run(name: &str, text: &str, all_misses: bool) -> Report {
    let engine = Engine::new(parse_jsonl(include_str!("../../../demo/faq-kb.jsonl")).unwrap());
    let lines = parse_labelled(text).unwrap();
    let report = evaluate(&engine, &lines, None);
    let mut out = Vec::new();
    report.write(&mut out, all_misses).unwrap();
    eprintln!("== {name}\n{}", String::from_utf8_lossy(&out));
    report
}

#[test]
fn dev_set() {
    let r = run("dev.jsonl", include_str!("../eval/dev.jsonl"), true);
    assert_eq!(r.overall.total, 331);
    assert!(r.overall.accuracy() >= 0.91, "{}", r.overall);
}

#[test]
fn heldout_set() {
    let r = run(
        "heldout.jsonl",
        include_str!("../eval/heldout.jsonl"),
        false,
    );
    assert_eq!(r.overall.total, 316);
    assert!(r.overall.accuracy() >= 0.72, "{}", r.overall);
}
