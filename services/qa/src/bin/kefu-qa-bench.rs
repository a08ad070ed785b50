//! `kefu-qa-bench [MESSAGES]`: real-time inspection on one core — the demo policy plus a
//! forbidden-phrase rule of 200 phrases, conversations streamed message by message exactly as
//! the service inspects them ([`Policy::inspect`] on each new message, the transcript so far
//! held in memory). Prints
//! `qa_messages_per_s=<n> qa_p99_ms=<n> rules=<n>` (and the median), after a warm-up that
//! trains the classifiers.
//!
//! The conversations are the shared sample's twelve, in three languages, replayed with fresh
//! times and a varying suffix on every text (so nothing is computed once and reused).

use chrono::{Duration, Utc};
use kefu_qa::engine::transcript::{Message, Transcript, parse_line};
use kefu_qa::engine::{Policy, warm_up};
use std::time::Instant;

const DEMO_POLICY: &str = include_str!("../../../../demo/qa-policy.yaml");
const SAMPLE: &str = include_str!("../../tests/data/qa-sample.jsonl");

/// 200 phrases an operator might forbid, half Chinese, half English.
fn forbidden_phrases() -> Vec<String> {
    let zh_a = [
        "你自己",
        "我们不",
        "这不是",
        "别来",
        "少跟我",
        "懒得",
        "谁让你",
        "不关",
        "你爱",
        "没空",
    ];
    let zh_b = [
        "看着办",
        "负责",
        "我的事",
        "烦我",
        "废话",
        "管你",
        "乱买",
        "我们的事",
        "怎样就怎样",
        "理你",
    ];
    let en_a = [
        "not our",
        "deal with",
        "go ask",
        "stop asking",
        "your own",
        "too bad",
        "no way",
        "we don't",
        "figure it",
        "why should",
    ];
    let en_b = [
        "problem",
        "it yourself",
        "someone else",
        "me again",
        "fault",
        "for you",
        "to refund",
        "care",
        "out alone",
        "i bother",
    ];
    let mut out = Vec::with_capacity(200);
    for a in zh_a {
        for b in zh_b {
            out.push(format!("{a}{b}"));
        }
    }
    for a in en_a {
        for b in en_b {
            out.push(format!("{a} {b}"));
        }
    }
    out
}

fn policy() -> Policy {
    let mut spec = kefu_crd::qa::parse_policy(DEMO_POLICY).expect("the demo policy");
    spec.rules.push(kefu_crd::qa::QaRule {
        id: "bench-phrases".into(),
        kind: kefu_crd::qa::QaRuleKind::ForbiddenPhrase,
        severity: kefu_crd::qa::Severity::Major,
        category: None,
        points: None,
        alert: None,
        description: None,
        phrases: forbidden_phrases(),
        max_seconds: None,
        pattern: None,
        exclude: None,
        min_matches: None,
        threshold: None,
        role: None,
        mode: None,
        min_chars: None,
    });
    Policy::compile(&spec).expect("the bench policy compiles")
}

fn main() {
    let total: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let policy = policy();
    warm_up();
    let conversations: Vec<Vec<Message>> = SAMPLE
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            parse_line(l)
                .expect("a sample line")
                .transcript
                .messages()
                .to_vec()
        })
        .collect();
    let mut latencies: Vec<u64> = Vec::with_capacity(total);
    let mut violations = 0usize;
    let mut round = 0usize;
    let start = Instant::now();
    'outer: loop {
        for (c, messages) in conversations.iter().enumerate() {
            let shift = Duration::seconds((round * 1000 + c) as i64);
            let base = Utc::now() + shift;
            let origin = messages[0].at;
            let mut t = Transcript::default();
            for m in messages {
                if latencies.len() == total {
                    break 'outer;
                }
                let text = if m.role == kefu_qa::engine::Role::System {
                    m.text.clone()
                } else {
                    format!("{} {}", m.text, round % 97)
                };
                let began = Instant::now();
                t.push(Message::new(m.role, text, base + (m.at - origin)));
                violations += policy.inspect(&t, t.len() - 1).violations.len();
                latencies.push(began.elapsed().as_nanos() as u64);
            }
            violations += policy.finish(&t).len();
        }
        round += 1;
    }
    let elapsed = start.elapsed();
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    let per_s = latencies.len() as f64 / elapsed.as_secs_f64();
    println!(
        "qa_messages_per_s={:.0} qa_p99_ms={:.3} rules={}",
        per_s,
        at(0.99) as f64 / 1e6,
        policy.rules.len()
    );
    println!(
        "qa_p50_ms={:.3} messages={} violations={violations} forbidden_phrases=200",
        at(0.5) as f64 / 1e6,
        latencies.len()
    );
}
