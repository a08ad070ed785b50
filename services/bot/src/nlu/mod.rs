//! The bot's understanding of one message, without memory of the conversation: normalisation
//! ([`text`]), segmentation and terms ([`segment`]) from the language data ([`lexicon`]),
//! small talk, handoff signals and sentiment ([`signals`]), BM25 over the knowledge base
//! ([`index`]), and the texts it answers with ([`reply`]). [`Engine::answer`] puts them together:
//!
//! 1. normalise (width, case, Traditional → Simplified) and detect zh-Hans / zh-Hant / en;
//! 2. a complaint or an explicit request for a person hands off (to the knowledge base's
//!    handoff FAQ when it has one);
//! 3. a message made only of greetings or thanks is small talk, never a miss;
//! 4. otherwise the FAQs visible to the customer are ranked; [`ANSWER_THRESHOLD`] and
//!    [`SUGGEST_THRESHOLD`] on the confidence decide between answering, offering up to three
//!    suggestions, and the fallback menu; strongly negative messages also hand off.

pub mod index;
pub mod lexicon;
pub mod reply;
pub mod segment;
pub mod signals;
pub mod text;

use crate::kb::Faq;
use index::{Alt, Hit, Index, Scope, Slot};
use lexicon::Lexicon;
use signals::{STRONG_NEGATIVE, Signals, SmallTalk};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
pub use text::Language;

/// At or above: answer with the best FAQ.
pub const ANSWER_THRESHOLD: f64 = 0.45;
/// At or above (below the answer threshold): offer the best FAQs' questions as suggestions.
pub const SUGGEST_THRESHOLD: f64 = 0.25;
/// Suggestions offered at most.
pub const MAX_SUGGESTIONS: usize = 3;
/// Words of a message considered for matching (the rest of a long message is ignored).
pub const MAX_QUERY_WORDS: usize = 64;

/// Why the bot hands the customer to a person.
pub mod reason {
    pub const HUMAN_REQUEST: &str = "human_request";
    pub const COMPLAINT: &str = "complaint";
    pub const FAQ_HANDOFF: &str = "faq_handoff";
    pub const NEGATIVE_SENTIMENT: &str = "negative_sentiment";
}

/// The bot's understanding of one message and what it answers.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    /// The FAQ answered with (or handed off through); `None` for small talk, suggestions and
    /// the fallback.
    pub faq_id: Option<String>,
    /// The FAQ's intent, or `greeting`, `thanks`, `fallback`.
    pub intent: String,
    /// The FAQ's action (`logistics_lookup`, `handoff`, …).
    pub action: Option<String>,
    /// In [0, 1]: the share of the message the best FAQ explains, lowered when a second FAQ
    /// explains it almost as well. 1 for small talk and explicit handoff requests.
    pub confidence: f64,
    /// The text for the customer, in their script (English system texts for English).
    pub answer: String,
    /// A person must take over.
    pub handoff: bool,
    /// `human_request`, `complaint`, `faq_handoff`, `negative_sentiment`, or empty.
    pub reason: String,
    /// Standard questions offered when unsure (customer's script), best first.
    pub suggestions: Vec<String>,
    /// The FAQ ids of `suggestions`.
    pub suggestion_ids: Vec<String>,
    pub language: Language,
    /// In [-1, 1]; at or below [`signals::STRONG_NEGATIVE`] the bot hands off.
    pub sentiment: f64,
    /// The bot did not answer the question (suggestions or fallback, no handoff); small talk
    /// is not a miss.
    pub miss: bool,
}

static BUILTIN_LEXICON: LazyLock<Arc<Lexicon>> = LazyLock::new(|| Arc::new(Lexicon::builtin()));
static BUILTIN_SIGNALS: LazyLock<Arc<Signals>> = LazyLock::new(|| Arc::new(Signals::builtin()));

/// Loads the dictionaries and conversion tables (a few hundred milliseconds) up front.
pub fn warm_up() {
    text::warm_up();
    segment::warm_up();
    LazyLock::force(&BUILTIN_LEXICON);
    LazyLock::force(&BUILTIN_SIGNALS);
}

/// One tenant's knowledge base, indexed.
pub struct Engine {
    faqs: Vec<Faq>,
    index: Index,
    merchants: HashMap<String, u32>,
    lexicon: Arc<Lexicon>,
    signals: Arc<Signals>,
}

/// A message, analysed.
struct Query {
    norm: text::Normalized,
    words: Vec<String>,
    lemmas: String,
}

impl Engine {
    pub fn new(faqs: Vec<Faq>) -> Self {
        Self::with_lexicon(faqs, BUILTIN_LEXICON.clone())
    }

    /// With a tenant's own lexicon (the built-in one extended, see [`Lexicon::extend_synonyms`]).
    pub fn with_lexicon(faqs: Vec<Faq>, lexicon: Arc<Lexicon>) -> Self {
        let mut merchants: HashMap<String, u32> = HashMap::new();
        let docs = faqs
            .iter()
            .map(|faq| {
                let scope = match faq.merchant() {
                    None => Scope::Platform,
                    Some(m) => {
                        let next = merchants.len() as u32;
                        Scope::Merchant(*merchants.entry(m.to_owned()).or_insert(next))
                    }
                };
                (scope, document_terms(&lexicon, faq))
            })
            .collect();
        Self {
            index: Index::build(docs),
            faqs,
            merchants,
            lexicon,
            signals: BUILTIN_SIGNALS.clone(),
        }
    }

    pub fn len(&self) -> usize {
        self.faqs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.faqs.is_empty()
    }

    pub fn faqs(&self) -> &[Faq] {
        &self.faqs
    }

    fn visible(&self, merchant: Option<&str>) -> impl Fn(Scope) -> bool + use<> {
        let own = merchant.and_then(|m| self.merchants.get(m).copied());
        move |s| match s {
            Scope::Platform => true,
            Scope::Merchant(m) => own == Some(m),
        }
    }

    fn analyse(&self, raw: &str) -> Query {
        let norm = text::normalize(raw);
        let words = if norm.language == Language::En {
            lexicon::english_words(&norm.text)
        } else {
            segment::words(&self.lexicon, &norm.text)
        };
        let lemmas = signals::lemma_line(&self.lexicon, &norm.text);
        Query {
            norm,
            words,
            lemmas,
        }
    }

    /// Slots for the index: one per word, with the word, its concepts and, for a Chinese word
    /// the knowledge base never uses, its character bigrams or characters.
    fn slots(&self, q: &Query) -> Vec<Slot> {
        let units = if q.norm.language == Language::En {
            segment::english_units(&self.lexicon, &q.norm.text)
        } else {
            segment::chinese_units(&self.lexicon, &q.norm.text)
        };
        units
            .into_iter()
            .filter(|u| !self.signals.is_small_talk_word(&u.word))
            .take(MAX_QUERY_WORDS)
            .map(|u| {
                let domain = if self.lexicon.is_topical(&u.word)
                    || u.terms[1..].iter().any(|t| self.lexicon.is_topical(t))
                {
                    index::DOMAIN_FACTOR
                } else {
                    1.0
                };
                let mut alts: Vec<Alt> = u
                    .terms
                    .iter()
                    .enumerate()
                    .map(|(i, t)| Alt {
                        term: t.clone(),
                        factor: domain * if i == 0 { 1.0 } else { index::CONCEPT_FACTOR },
                    })
                    .collect();
                let known = alts.iter().any(|a| self.index.contains(&a.term));
                let unknown_word = !known;
                if !known && u.word.chars().any(text::is_cjk) {
                    let chars: Vec<char> = u.word.chars().collect();
                    let bigrams: Vec<Alt> = chars
                        .windows(2)
                        .map(segment::char_key)
                        .filter(|k| self.index.contains(k))
                        .map(|term| Alt {
                            term,
                            factor: index::BIGRAM_FACTOR,
                        })
                        .collect();
                    if bigrams.is_empty() {
                        alts.extend(chars.iter().map(|c| Alt {
                            term: segment::char_key(&[*c]),
                            factor: index::UNIGRAM_FACTOR,
                        }));
                    } else {
                        alts.extend(bigrams);
                    }
                }
                Slot { alts, unknown_word }
            })
            .collect()
    }

    /// Ranked FAQs for a message, with the calibrated confidence of each.
    fn rank(&self, slots: &[Slot], merchant: Option<&str>) -> Vec<(usize, f64)> {
        let hits = self.index.search(slots, self.visible(merchant));
        let second = hits.get(1).map_or(0.0, |h| h.score);
        hits.iter()
            .enumerate()
            .map(|(i, h)| {
                let rival = if i == 0 { second } else { hits[0].score };
                (h.doc as usize, confidence(h, rival))
            })
            .collect()
    }

    /// Answers `text` for a customer of `merchant` (`None`: the platform's own customers, who
    /// see only platform entries).
    pub fn answer(&self, text: &str, merchant: Option<&str>) -> Answer {
        let q = self.analyse(text);
        let lang = q.norm.language;
        let sentiment = self.signals.sentiment(&q.words, &q.norm.text);
        let mut a = Answer {
            faq_id: None,
            intent: "fallback".into(),
            action: None,
            confidence: 0.0,
            answer: String::new(),
            handoff: false,
            reason: String::new(),
            suggestions: Vec::new(),
            suggestion_ids: Vec::new(),
            language: lang,
            sentiment,
            miss: false,
        };

        let signal = if self.signals.complains(&q.norm.text, &q.lemmas) {
            Some(reason::COMPLAINT)
        } else if self.signals.wants_human(&q.norm.text, &q.lemmas) {
            Some(reason::HUMAN_REQUEST)
        } else {
            None
        };
        let declined = self.signals.without_declined_human(&q.norm.text);
        let talk = declined.as_deref().unwrap_or(&q.norm.text);
        if signal.is_none()
            && let Some(small) = self.signals.small_talk(&self.lexicon, talk)
        {
            let (intent, text): (&str, fn(&reply::Texts) -> &'static str) = match small {
                SmallTalk::Greeting => ("greeting", |t| t.greeting),
                SmallTalk::Thanks => ("thanks", |t| t.thanks),
            };
            a.intent = intent.into();
            a.confidence = 1.0;
            a.answer = reply::system(lang, text);
            return a;
        }

        let slots = self.slots(&q);
        let mut ranked = self.rank(&slots, merchant);
        if declined.is_some() {
            // 不用转人工: whatever else the message asks, it is not for a person.
            ranked.retain(|&(i, _)| self.faqs[i].action.as_deref() != Some("handoff"));
        }

        if let Some(why) = signal {
            let faq = self.handoff_faq(&ranked, why, merchant);
            a.handoff = true;
            a.reason = why.into();
            a.confidence = 1.0;
            match faq {
                Some(i) => {
                    self.set_faq(&mut a, i);
                    if lang == Language::En {
                        a.answer = handoff_notice(lang, why);
                    }
                }
                None => a.answer = handoff_notice(lang, why),
            }
            return a;
        }

        let strongly_negative = sentiment <= STRONG_NEGATIVE;
        match ranked.first() {
            Some(&(i, conf)) if conf >= ANSWER_THRESHOLD => {
                a.confidence = conf;
                self.set_faq(&mut a, i);
                if a.action.as_deref() == Some("handoff") {
                    a.handoff = true;
                    a.reason = reason::FAQ_HANDOFF.into();
                    if lang == Language::En {
                        a.answer = handoff_notice(lang, reason::FAQ_HANDOFF);
                    }
                } else if strongly_negative {
                    a.handoff = true;
                    a.reason = reason::NEGATIVE_SENTIMENT.into();
                    a.answer.push('\n');
                    a.answer
                        .push_str(&handoff_notice(lang, reason::NEGATIVE_SENTIMENT));
                }
                return a;
            }
            Some(&(_, conf)) if conf >= SUGGEST_THRESHOLD => {
                a.confidence = conf;
                for &(i, c) in ranked.iter().take(MAX_SUGGESTIONS) {
                    if c < SUGGEST_THRESHOLD && !a.suggestions.is_empty() {
                        break;
                    }
                    a.suggestions
                        .push(reply::in_script(&self.faqs[i].question, lang));
                    a.suggestion_ids.push(self.faqs[i].id.clone());
                }
                a.answer = reply::suggestions(lang, &a.suggestions);
            }
            other => {
                a.confidence = other.map_or(0.0, |o| o.1);
                let intents = self.visible_intents(merchant);
                a.answer = reply::fallback(lang, &intents);
            }
        }
        if strongly_negative {
            a.handoff = true;
            a.reason = reason::NEGATIVE_SENTIMENT.into();
            a.answer = handoff_notice(lang, reason::NEGATIVE_SENTIMENT);
        } else {
            a.miss = true;
        }
        a
    }

    fn set_faq(&self, a: &mut Answer, i: usize) {
        let faq = &self.faqs[i];
        a.faq_id = Some(faq.id.clone());
        a.intent = faq.intent.clone();
        a.action = faq.action.clone();
        a.answer = reply::in_script(&faq.answer, a.language);
    }

    /// The handoff FAQ to hand off through: the best ranked one, else the one that best matches
    /// the signal's own concept (投诉, 人工), else none.
    fn handoff_faq(
        &self,
        ranked: &[(usize, f64)],
        why: &str,
        merchant: Option<&str>,
    ) -> Option<usize> {
        let is_handoff = |i: usize| self.faqs[i].action.as_deref() == Some("handoff");
        if let Some(&(i, _)) = ranked.iter().find(|(i, _)| is_handoff(*i)) {
            return Some(i);
        }
        let concept = if why == reason::COMPLAINT {
            "投诉"
        } else {
            "人工"
        };
        let slot = Slot {
            alts: vec![Alt {
                term: concept.into(),
                factor: 1.0,
            }],
            unknown_word: false,
        };
        self.index
            .search(&[slot], self.visible(merchant))
            .iter()
            .map(|h: &Hit| h.doc as usize)
            .find(|&i| is_handoff(i))
    }

    fn visible_intents(&self, merchant: Option<&str>) -> Vec<&str> {
        let visible = self.visible(merchant);
        let mut out: Vec<&str> = Vec::new();
        for (i, faq) in self.faqs.iter().enumerate() {
            if visible(self.index.scope(i as u32)) && !out.contains(&faq.intent.as_str()) {
                out.push(&faq.intent);
            }
        }
        out
    }
}

/// Confidence in [0, 1]: the share of the message's weight the FAQ explains, lowered by up to
/// 45% when the runner-up scores nearly as well (a tie means "ask, don't guess").
fn confidence(hit: &Hit, rival: f64) -> f64 {
    let margin = if hit.score > 0.0 {
        (1.0 - rival / hit.score).max(0.0)
    } else {
        0.0
    };
    let certainty = 0.55 + 0.45 * (margin / 0.35).min(1.0);
    (hit.coverage * certainty).clamp(0.0, 1.0)
}

fn handoff_notice(lang: Language, why: &str) -> String {
    reply::system(lang, |t| match why {
        reason::COMPLAINT => t.handoff_complaint,
        reason::NEGATIVE_SENTIMENT => t.handoff_negative,
        _ => t.handoff,
    })
}

/// An FAQ's terms: the units of its question and similar questions (words and concepts), and
/// their character unigrams and bigrams.
fn document_terms(lexicon: &Lexicon, faq: &Faq) -> Vec<String> {
    let mut terms = Vec::new();
    for q in std::iter::once(&faq.question).chain(&faq.similar) {
        let simplified = text::to_simplified(&text::fold_width_case(q));
        for u in segment::chinese_units(lexicon, &simplified) {
            terms.extend(u.terms);
        }
        terms.extend(segment::char_grams(&simplified));
    }
    terms
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kb::parse_jsonl;

    fn demo() -> Engine {
        Engine::new(parse_jsonl(include_str!("../../../../demo/faq-kb.jsonl")).unwrap())
    }

    fn faq(id: &str, scope: &str, question: &str) -> Faq {
        Faq {
            id: id.into(),
            intent: "product".into(),
            question: question.into(),
            similar: Vec::new(),
            answer: format!("answer of {id}"),
            action: None,
            scope: scope.into(),
        }
    }

    #[test]
    fn answers_unseen_phrasing_in_three_scripts() {
        let e = demo();
        let id = |t: &str| e.answer(t, None).faq_id;
        assert_eq!(id("快递到哪儿了呀").as_deref(), Some("logistics.where"));
        assert_eq!(id("東西什麼時候寄出").as_deref(), Some("shipping.urge"));
        assert_eq!(
            id("I was charged but the order failed").as_deref(),
            Some("payment.failed")
        );
        assert_eq!(id("送来的香蕉都黑了").as_deref(), Some("fresh.damaged"));
    }

    /// The messages the end-to-end tests send.
    #[test]
    fn end_to_end_messages() {
        let e = demo();
        let a = e.answer("我的快递到哪了", None);
        assert_eq!(a.faq_id.as_deref(), Some("logistics.where"));
        assert!(a.answer.contains("物流"));
        assert_eq!(
            e.answer("怎麼還不發貨", None).faq_id.as_deref(),
            Some("shipping.urge")
        );
        assert_eq!(
            e.answer("怎么开发票", None).faq_id.as_deref(),
            Some("invoice.issue")
        );
        assert_eq!(
            e.answer("退款多久到账", None).faq_id.as_deref(),
            Some("refund.time")
        );
        assert_eq!(e.answer("您好", None).intent, "greeting");
    }

    #[test]
    fn traditional_customers_get_traditional_answers() {
        let e = demo();
        let a = e.answer("我的訂單怎麼取消", None);
        assert_eq!(a.faq_id.as_deref(), Some("order.cancel"));
        assert_eq!(a.language, Language::ZhHant);
        assert!(
            a.answer.contains("訂單") && !a.answer.contains("订单"),
            "{}",
            a.answer
        );
        let g = e.answer("您好，在嗎", None);
        assert_eq!(g.intent, "greeting");
        assert!(g.answer.contains("請問"), "{}", g.answer);
    }

    #[test]
    fn english_customers_get_english_system_texts() {
        let e = demo();
        assert!(e.answer("hello", None).answer.starts_with("Hello"));
        assert!(
            e.answer("thank you so much", None)
                .answer
                .starts_with("You're welcome")
        );
        let off = e.answer("what's the weather like tomorrow", None);
        assert_eq!((off.intent.as_str(), off.miss), ("fallback", true));
        assert!(off.answer.contains("I can help with"), "{}", off.answer);
        let h = e.answer("I want to talk to a real person", None);
        assert!(h.handoff);
        assert!(h.answer.starts_with("I'm connecting you"), "{}", h.answer);
    }

    #[test]
    fn small_talk_is_never_a_miss() {
        let e = demo();
        for (t, intent) in [
            ("您好", "greeting"),
            ("好的谢谢", "thanks"),
            ("謝謝", "thanks"),
            ("hi there", "greeting"),
        ] {
            let a = e.answer(t, None);
            assert_eq!(
                (a.intent.as_str(), a.faq_id.as_deref(), a.miss),
                (intent, None, false),
                "{t}"
            );
        }
        // A greeting in front of a question does not hide the question.
        assert_eq!(
            e.answer("你好，我想开发票", None).faq_id.as_deref(),
            Some("invoice.issue")
        );
    }

    #[test]
    fn off_topic_gets_the_menu_of_the_customers_consultation_types() {
        let e = demo();
        let a = e.answer("明天会下雨吗", None);
        assert_eq!(
            (a.faq_id.as_deref(), a.intent.as_str(), a.miss),
            (None, "fallback", true)
        );
        assert!(a.confidence < SUGGEST_THRESHOLD);
        assert!(
            a.answer.contains("物流查询") && a.answer.contains("发票"),
            "{}",
            a.answer
        );
        assert!(!a.handoff);
    }

    #[test]
    fn unsure_offers_suggestions_instead_of_guessing() {
        let e = demo();
        // 退 fits both the return policy and how to return.
        let a = e.answer("能退吗", None);
        assert!(a.faq_id.is_none(), "{a:?}");
        assert!(a.miss);
        assert!(
            (SUGGEST_THRESHOLD..ANSWER_THRESHOLD).contains(&a.confidence),
            "{a:?}"
        );
        assert!(a.suggestion_ids.len() >= 2 && a.suggestion_ids.len() <= MAX_SUGGESTIONS);
        assert!(
            a.suggestion_ids.iter().all(|id| id.starts_with("return.")),
            "{a:?}"
        );
        assert!(a.answer.contains("1. "), "{}", a.answer);
    }

    #[test]
    fn confidence_is_a_share_in_zero_one() {
        let e = demo();
        for t in [
            "我的快递到哪了",
            "查物流",
            "怎么开发票发票发票",
            "随便说点什么",
            "x",
            "",
            "，。！",
        ] {
            let c = e.answer(t, None).confidence;
            assert!((0.0..=1.0).contains(&c), "{t}: {c}");
        }
        assert!(e.answer("我的快递到哪了", None).confidence >= 0.9);
        let empty = e.answer("   ", None);
        assert_eq!((empty.intent.as_str(), empty.miss), ("fallback", true));
    }

    #[test]
    fn handoff_signals() {
        let e = demo();
        let a = e.answer("给我找个真人", None);
        assert_eq!(
            (a.handoff, a.reason.as_str(), a.faq_id.as_deref()),
            (true, reason::HUMAN_REQUEST, Some("handoff.human"))
        );
        let c = e.answer("你们客服态度太恶劣了，我要投诉到底", None);
        assert_eq!(
            (c.handoff, c.reason.as_str(), c.faq_id.as_deref()),
            (true, reason::COMPLAINT, Some("handoff.complaint"))
        );
        let f = e.answer("别用机器人了", None);
        assert!(f.handoff && f.action.as_deref() == Some("handoff"));
        // Strongly negative: still answered, and handed to a person.
        let n = e.answer("垃圾快递，到现在还没到，气死我了", None);
        assert!(n.handoff && n.reason == reason::NEGATIVE_SENTIMENT, "{n:?}");
        assert!(n.sentiment <= signals::STRONG_NEGATIVE);
        assert!(!n.miss);
        // Declining a person is neither a handoff nor a miss.
        let d = e.answer("不用转人工了，谢谢", None);
        assert_eq!(
            (d.handoff, d.intent.as_str(), d.miss),
            (false, "thanks", false),
            "{d:?}"
        );
        let d = e.answer("不用转人工，我的快递到哪了", None);
        assert_eq!(
            (d.handoff, d.faq_id.as_deref()),
            (false, Some("logistics.where")),
            "{d:?}"
        );
        // Mildly negative is not a reason to hand off.
        let m = e.answer("不喜欢能退吗", None);
        assert!(!m.handoff, "{m:?}");
        // Without a knowledge base the request still reaches a person.
        let empty = Engine::new(Vec::new()).answer("转人工", None);
        assert_eq!((empty.handoff, empty.faq_id), (true, None));
    }

    #[test]
    fn actions_come_with_the_faq() {
        let e = demo();
        let a = e.answer("帮我查查物流", None);
        assert_eq!(a.action.as_deref(), Some("logistics_lookup"));
        assert_eq!(e.answer("生鲜怎么保存", None).action, None);
    }

    #[test]
    fn platform_customers_never_see_merchant_entries() {
        let e = demo();
        for t in [
            "戒指尺寸怎么量",
            "戒指想改小一圈",
            "黄金首饰怎么保养",
            "有鉴定证书吗",
        ] {
            let a = e.answer(t, None);
            assert!(
                !a.faq_id.as_deref().unwrap_or("").starts_with("jewelry."),
                "{t}: {a:?}"
            );
            assert!(
                a.suggestion_ids
                    .iter()
                    .all(|id| !id.starts_with("jewelry.")),
                "{t}: {a:?}"
            );
        }
        assert_eq!(
            e.answer("戒指尺寸怎么量", Some("jinyuan"))
                .faq_id
                .as_deref(),
            Some("jewelry.size")
        );
        // Merchant customers still see the platform's entries.
        assert_eq!(
            e.answer("怎么开发票", Some("jinyuan")).faq_id.as_deref(),
            Some("invoice.issue")
        );
    }

    #[test]
    fn merchants_never_see_each_others_entries() {
        let e = Engine::new(vec![
            faq("a.engrave", "merchant:a", "可以刻字吗"),
            faq("b.engrave", "merchant:b", "可以刻字吗"),
            faq("p.invoice", "platform", "怎么开发票"),
        ]);
        assert_eq!(
            e.answer("能刻字吗", Some("a")).faq_id.as_deref(),
            Some("a.engrave")
        );
        assert_eq!(
            e.answer("能刻字吗", Some("b")).faq_id.as_deref(),
            Some("b.engrave")
        );
        assert_eq!(e.answer("能刻字吗", None).faq_id, None);
        assert_eq!(e.answer("能刻字吗", Some("unknown")).faq_id, None);
        let a = e.answer("能刻字吗", Some("a"));
        assert!(!a.suggestion_ids.contains(&"b.engrave".to_owned()));
    }

    #[test]
    fn a_tenant_lexicon_teaches_new_synonyms() {
        let faqs = vec![faq("p.sf", "platform", "顺丰快递到哪了")];
        let mut lex = Lexicon::builtin();
        lex.extend_synonyms("tenant.txt", "顺丰: 小哥 快递员\n")
            .unwrap();
        let plain = Engine::new(faqs.clone());
        let taught = Engine::with_lexicon(faqs, Arc::new(lex));
        let q = "小哥到哪了";
        assert!(
            taught.answer(q, None).confidence > plain.answer(q, None).confidence,
            "the tenant's synonym must help"
        );
    }
}
