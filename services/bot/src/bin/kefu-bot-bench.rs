//! `kefu-bot-bench`: how fast the bot answers with a large knowledge base. Synthesises a
//! 10,000-entry knowledge base from the demo one (each FAQ recombined with products, in the
//! platform scope and twenty merchant scopes), indexes it, then replays a mix of messages —
//! knowledge-base questions, unseen paraphrases, Traditional, English, off-topic, small talk —
//! through `BotApp::answer`, one at a time, as platform and merchant customers.
//!
//! Last line: `bot_answers_per_s=<n> bot_p99_ms=<n> kb_entries=<n>`.

use kefu_bot::kb::{Faq, parse_jsonl};
use kefu_bot::{BotApp, Engine, Knowledge};
use std::time::Instant;

const DEMO_KB: &str = include_str!("../../../../demo/faq-kb.jsonl");
const HELD_OUT: &str = include_str!("../../tests/data/held-out.jsonl");
const SAMPLE: &str = include_str!("../../../../demo/bot-sample.jsonl");

const PRODUCTS: &[&str] = &[
    "牛奶",
    "空调",
    "手机",
    "连衣裙",
    "运动鞋",
    "大米",
    "草莓",
    "冰箱",
    "洗衣液",
    "耳机",
    "项链",
    "羽绒服",
    "奶粉",
    "纸巾",
    "咖啡",
    "笔记本电脑",
    "电饭煲",
    "面膜",
    "猫粮",
    "矿泉水",
    "床垫",
    "儿童玩具",
    "茶叶",
    "牛排",
    "口红",
    "台灯",
    "行李箱",
    "自行车",
    "蓝牙音箱",
    "保温杯",
];
const CONTEXTS: &[&str] = &[
    "",
    "请问",
    "你好，",
    "麻烦问下",
    "我在门店买的",
    "昨天下单的",
    "会员",
    "在app上买的",
];
const OFF_TOPIC: &[&str] = &[
    "明天会下雨吗",
    "今天股市怎么样",
    "给我讲个笑话",
    "你叫什么名字",
    "what's the weather like",
    "推薦一部電影",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: deterministic, so every run replays the same messages.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `n` FAQs: each demo FAQ recombined with a product and a phrasing context, 40% of them in one
/// of twenty merchant scopes.
fn synthesise(base: &[Faq], n: usize, rng: &mut Rng) -> Vec<Faq> {
    (0..n)
        .map(|k| {
            let b = &base[k % base.len()];
            let product = rng.pick(PRODUCTS);
            let context = rng.pick(CONTEXTS);
            let scope = if k < base.len() || rng.next() % 10 < 6 {
                b.scope.clone()
            } else {
                format!("merchant:m{}", rng.next() % 20)
            };
            let mut similar: Vec<String> = b
                .similar
                .iter()
                .map(|s| {
                    if rng.next().is_multiple_of(2) {
                        format!("{product}{s}")
                    } else {
                        format!("{context}{s}")
                    }
                })
                .collect();
            similar.push(format!("{context}{product}{}", b.question));
            Faq {
                id: if k < base.len() {
                    b.id.clone()
                } else {
                    format!("{}.{k}", b.id)
                },
                intent: b.intent.clone(),
                question: if k < base.len() {
                    b.question.clone()
                } else {
                    format!("{product}{}", b.question)
                },
                similar,
                answer: b.answer.clone(),
                answers: b.answers.clone(),
                action: b.action.clone(),
                scope,
            }
        })
        .collect()
}

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn texts_of(jsonl: &str) -> Vec<String> {
    jsonl
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_owned))
        .collect()
}

fn main() {
    let entries = arg("--entries", 10_000);
    let queries = arg("--queries", 20_000);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let base = parse_jsonl(DEMO_KB).expect("demo knowledge base");
    let faqs = synthesise(&base, entries, &mut rng);

    kefu_bot::nlu::warm_up();
    let rss_before = rss_kib();
    let started = Instant::now();
    let engine = Engine::new(faqs.clone());
    let build_ms = started.elapsed().as_secs_f64() * 1000.0;
    let rss_after = rss_kib();
    let knowledge = Knowledge::default();
    knowledge.set_engine("bench", engine);
    let app = BotApp::new(knowledge);
    println!(
        "kb_build_ms={build_ms:.0} kb_index_rss_mib={}",
        match (rss_before, rss_after) {
            (Some(a), Some(b)) => format!("{:.1}", b.saturating_sub(a) as f64 / 1024.0),
            _ => "n/a".into(),
        }
    );

    // The message mix: a third knowledge-base questions (some with a product), a third unseen
    // phrasings in three scripts, the rest off-topic and small talk.
    let unseen: Vec<String> = texts_of(HELD_OUT)
        .into_iter()
        .chain(texts_of(SAMPLE))
        .collect();
    let mut mix: Vec<(String, Option<String>)> = Vec::with_capacity(queries);
    for _ in 0..queries {
        let merchant = match rng.next() % 4 {
            0 => Some("jinyuan".to_owned()),
            1 => Some(format!("m{}", rng.next() % 20)),
            _ => None,
        };
        let text = match rng.next() % 6 {
            0 => rng.pick(&faqs).question.clone(),
            1 => {
                let f = rng.pick(&faqs);
                f.similar
                    .first()
                    .cloned()
                    .unwrap_or_else(|| f.question.clone())
            }
            2 | 3 => rng.pick(&unseen).clone(),
            4 => format!("{}{}", rng.pick(PRODUCTS), rng.pick(&unseen)),
            _ => rng.pick(OFF_TOPIC).to_string(),
        };
        mix.push((text, merchant));
    }

    for (text, merchant) in mix.iter().take(500) {
        app.answer("bench", text, merchant.as_deref());
    }
    let mut latencies = Vec::with_capacity(mix.len());
    let mut answered = 0usize;
    let started = Instant::now();
    for (text, merchant) in &mix {
        let t = Instant::now();
        let a = app.answer("bench", text, merchant.as_deref());
        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
        answered += usize::from(a.faq_id.is_some());
    }
    let total = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "bot_p50_ms={:.3} bot_max_ms={:.3} answered_with_faq={answered}/{}",
        at(0.5),
        latencies[latencies.len() - 1],
        mix.len()
    );
    println!(
        "bot_answers_per_s={:.0} bot_p99_ms={:.3} kb_entries={}",
        mix.len() as f64 / total,
        at(0.99),
        faqs.len()
    );
}
