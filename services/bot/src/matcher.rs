//! Matching a customer's message against the knowledge base: overlap of normalised character
//! bigrams, characters and words with every standard and similar question (found through an
//! inverted index, so only candidates sharing a feature are scored), small talk first, and a
//! confidence threshold below which the bot offers suggestions or the menu instead of guessing.

use crate::kb::Faq;
use crate::normalize::{features, normalize};
use std::collections::HashMap;

/// At or above: answer with the FAQ.
pub const ANSWER_THRESHOLD: f64 = 0.45;
/// At or above (and below the answer threshold): offer the best questions as suggestions.
pub const SUGGEST_THRESHOLD: f64 = 0.25;

pub const FALLBACK_ANSWER: &str = "抱歉，我没太明白您的问题。您可以咨询：订单查询、物流配送、退换货、发票、优惠活动、会员积分，或回复“人工”联系客服。";
pub const SUGGEST_ANSWER: &str = "您是想问以下哪个问题？";
pub const GREETING_ANSWER: &str = "您好！我是智能客服，请问有什么可以帮您？";
pub const THANKS_ANSWER: &str = "不客气，很高兴为您服务！还有其他问题随时找我。";

const GREETINGS: &[&str] = &[
    "你好",
    "您好",
    "在吗",
    "在么",
    "在不在",
    "哈喽",
    "嗨",
    "hi",
    "hello",
    "hey",
    "早上好",
    "下午好",
    "晚上好",
    "有人吗",
    "你好呀",
    "您好呀",
];
const THANKS: &[&str] = &[
    "谢谢",
    "多谢",
    "感谢",
    "谢啦",
    "好的谢谢",
    "好的 谢谢",
    "thanks",
    "thank you",
    "thx",
    "ok thanks",
    "谢谢你",
    "谢谢您",
    "非常感谢",
];

#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub faq_id: Option<String>,
    pub intent: String,
    pub confidence: f64,
    pub answer: String,
    pub handoff: bool,
    pub reason: String,
    pub suggestions: Vec<String>,
}

struct Candidate {
    faq: usize,
    weight: f64,
}

pub struct Matcher {
    faqs: Vec<Faq>,
    candidates: Vec<Candidate>,
    index: HashMap<String, Vec<(u32, f64)>>,
}

fn feature_weight(f: &str) -> f64 {
    // A bigram or a word says much more than a single character.
    if f.chars().count() >= 2 { 2.0 } else { 1.0 }
}

impl Matcher {
    pub fn new(faqs: Vec<Faq>) -> Self {
        let mut candidates = Vec::new();
        let mut index: HashMap<String, Vec<(u32, f64)>> = HashMap::new();
        for (i, faq) in faqs.iter().enumerate() {
            for q in std::iter::once(&faq.question).chain(faq.similar.iter()) {
                let feats = features(&normalize(q));
                if feats.is_empty() {
                    continue;
                }
                let id = candidates.len() as u32;
                let mut weight = 0.0;
                for f in feats {
                    let w = feature_weight(&f);
                    weight += w;
                    index.entry(f).or_default().push((id, w));
                }
                candidates.push(Candidate { faq: i, weight });
            }
        }
        Self {
            faqs,
            candidates,
            index,
        }
    }

    pub fn faq(&self, id: &str) -> Option<&Faq> {
        self.faqs.iter().find(|f| f.id == id)
    }

    pub fn len(&self) -> usize {
        self.faqs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.faqs.is_empty()
    }

    /// Answers `text` for a customer of `merchant` (None: the platform's own customers).
    pub fn answer(&self, text: &str, merchant: Option<&str>) -> Answer {
        let norm = normalize(text);
        if let Some(small) = small_talk(&norm) {
            return small;
        }
        let feats = features(&norm);
        let query_weight: f64 = feats.iter().map(|f| feature_weight(f)).sum();
        let mut shared: HashMap<u32, f64> = HashMap::new();
        for f in &feats {
            if let Some(postings) = self.index.get(f) {
                for &(cand, w) in postings {
                    *shared.entry(cand).or_default() += w;
                }
            }
        }
        // Best score per FAQ visible to this customer.
        let mut best: HashMap<usize, f64> = HashMap::new();
        for (cand, s) in shared {
            let c = &self.candidates[cand as usize];
            let faq = &self.faqs[c.faq];
            if faq.merchant().is_some_and(|m| merchant != Some(m)) {
                continue;
            }
            let score = 2.0 * s / (query_weight + c.weight);
            let e = best.entry(c.faq).or_default();
            if score > *e {
                *e = score;
            }
        }
        let mut ranked: Vec<(usize, f64)> = best.into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        match ranked.first() {
            Some(&(i, score)) if score >= ANSWER_THRESHOLD => {
                let faq = &self.faqs[i];
                let handoff = faq.action.as_deref() == Some("handoff");
                Answer {
                    faq_id: Some(faq.id.clone()),
                    intent: faq.intent.clone(),
                    confidence: score,
                    answer: faq.answer.clone(),
                    handoff,
                    reason: if handoff {
                        format!("faq:{}", faq.id)
                    } else {
                        String::new()
                    },
                    suggestions: Vec::new(),
                }
            }
            Some(&(_, score)) if score >= SUGGEST_THRESHOLD => Answer {
                faq_id: None,
                intent: "fallback".into(),
                confidence: score,
                answer: SUGGEST_ANSWER.into(),
                handoff: false,
                reason: "low_confidence".into(),
                suggestions: ranked
                    .iter()
                    .take(3)
                    .filter(|(_, s)| *s >= SUGGEST_THRESHOLD)
                    .map(|(i, _)| self.faqs[*i].question.clone())
                    .collect(),
            },
            other => Answer {
                faq_id: None,
                intent: "fallback".into(),
                confidence: other.map_or(0.0, |o| o.1),
                answer: FALLBACK_ANSWER.into(),
                handoff: false,
                reason: "no_match".into(),
                suggestions: Vec::new(),
            },
        }
    }
}

fn small_talk(norm: &str) -> Option<Answer> {
    let reply = |intent: &str, answer: &str| Answer {
        faq_id: None,
        intent: intent.into(),
        confidence: 1.0,
        answer: answer.into(),
        handoff: false,
        reason: String::new(),
        suggestions: Vec::new(),
    };
    let stripped = norm.trim_end_matches(['啊', '呀', '哈', '哦', '呢', '的']);
    if THANKS.contains(&stripped) || THANKS.contains(&norm) {
        return Some(reply("thanks", THANKS_ANSWER));
    }
    if GREETINGS.contains(&stripped) || GREETINGS.contains(&norm) {
        return Some(reply("greeting", GREETING_ANSWER));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> Matcher {
        Matcher::new(crate::kb::parse_jsonl(include_str!("../../../demo/faq-kb.jsonl")).unwrap())
    }

    #[test]
    fn answers_paraphrases_in_both_scripts() {
        let m = demo();
        assert_eq!(
            m.answer("快递到哪儿了呀", None).faq_id.as_deref(),
            Some("logistics.where")
        );
        assert_eq!(
            m.answer("怎麼還不發貨", None).faq_id.as_deref(),
            Some("shipping.urge")
        );
        assert_eq!(
            m.answer("能开发票吗", None).faq_id.as_deref(),
            Some("invoice.issue")
        );
    }

    #[test]
    fn small_talk_is_not_a_miss() {
        let m = demo();
        assert_eq!(m.answer("您好", None).intent, "greeting");
        assert_eq!(m.answer("好的谢谢", None).intent, "thanks");
    }

    #[test]
    fn off_topic_falls_back_and_handoff_faqs_hand_off() {
        let m = demo();
        let a = m.answer("明天会下雨吗", None);
        assert_eq!((a.faq_id, a.intent.as_str()), (None, "fallback"));
        let h = m.answer("转人工", None);
        assert!(h.handoff);
        assert_eq!(h.faq_id.as_deref(), Some("handoff.human"));
    }

    #[test]
    fn merchant_entries_only_for_that_merchants_customers() {
        let m = demo();
        assert_ne!(
            m.answer("戒指尺寸怎么量", None).faq_id.as_deref(),
            Some("jewelry.size")
        );
        assert_eq!(
            m.answer("戒指尺寸怎么量", Some("jinyuan"))
                .faq_id
                .as_deref(),
            Some("jewelry.size")
        );
    }
}
