//! The bot's understanding of one message, without memory of the conversation: normalisation
//! ([`text`]), segmentation and terms ([`segment`]) from the language data ([`lexicon`]),
//! small talk, handoff signals and sentiment ([`signals`]), BM25 over the knowledge base
//! ([`index`]), and the texts it answers with ([`reply`]). [`Engine::answer`] puts them together:
//!
//! 1. normalise (width, case, Traditional → Simplified) and detect zh-Hans / zh-Hant / en;
//! 2. a complaint or an explicit request for a person hands off (to the knowledge base's
//!    handoff FAQ when it has one);
//! 3. a message made only of greetings or thanks is small talk, never a miss;
//! 4. otherwise the FAQs visible to the customer are ranked; [`ANSWER_THRESHOLD`] on the
//!    confidence (a higher one when off-topic words are present, and for handoff FAQs reached
//!    only by ranking) and [`SUGGEST_THRESHOLD`] on the support decide between answering,
//!    offering up to three suggestions, and the fallback menu; strongly negative messages also
//!    hand off.

mod answer;
pub mod index;
pub mod lexicon;
pub mod reply;
pub mod segment;
pub mod signals;
/// Normalisation, shared with QA in `kefu-text`.
pub use kefu_text as text;

use crate::kb::Faq;
pub use answer::{Answer, reason};
use index::{Alt, Hit, Index, Scope, Slot};
use lexicon::Lexicon;
use signals::{STRONG_NEGATIVE, Signals, SmallTalk};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
pub use text::Language;

/// At or above: answer with the best FAQ.
pub const ANSWER_THRESHOLD: f64 = 0.35;
/// At or above: answer with the best FAQ although the message speaks of something off-topic
/// (the weather, a game) too.
pub const OFFTOPIC_ANSWER_THRESHOLD: f64 = 0.75;
/// At or above: hand off through a handoff FAQ the ranking found (without a request or a
/// complaint the signals recognised): a false handoff costs a person's time.
pub const HANDOFF_FAQ_THRESHOLD: f64 = 0.7;
/// Below the answer threshold, FAQs whose support (the square root of the share of the message
/// they explain) is at or above this are offered as suggestions.
pub const SUGGEST_THRESHOLD: f64 = 0.5;
/// Suggestions offered at most.
pub const MAX_SUGGESTIONS: usize = 3;
/// Words of a message considered for matching (the rest of a long message is ignored).
pub const MAX_QUERY_WORDS: usize = 64;

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
        Self::with_language(faqs, lexicon, BUILTIN_SIGNALS.clone())
    }

    /// With a tenant's own lexicon and signals (the built-in ones extended from the tenant's
    /// synonyms file, see [`Signals::extend`]).
    pub fn with_language(faqs: Vec<Faq>, lexicon: Arc<Lexicon>, signals: Arc<Signals>) -> Self {
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
            signals,
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
        let mut norm = text::normalize(raw);
        norm.text = self
            .lexicon
            .rewrite(&collapse_repeats(&norm.text), norm.language != Language::En);
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
                if self.signals.is_offtopic(&u.word) {
                    return Slot {
                        offtopic: true,
                        ..Slot::default()
                    };
                }
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
                Slot {
                    alts,
                    unknown_word,
                    context: self.lexicon.is_context(&u.word),
                    offtopic: false,
                }
            })
            .collect()
    }

    /// Ranked FAQs for a message: (FAQ, calibrated confidence, support — the square root of the
    /// share of the message it explains, whatever its rivals).
    fn rank(&self, slots: &[Slot], merchant: Option<&str>) -> Vec<(usize, f64, f64)> {
        let hits = self.index.search(slots, self.visible(merchant));
        let second = hits.get(1).map_or(0.0, |h| h.score);
        hits.iter()
            .enumerate()
            .map(|(i, h)| {
                let rival = if i == 0 { second } else { hits[0].score };
                (h.doc as usize, confidence(h, rival), h.coverage.sqrt())
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

        // A declined request (不用转人工，…) is not content: match what else the message says.
        let slots = match &declined {
            Some(rest) => self.slots(&Query {
                norm: text::Normalized {
                    text: rest.clone(),
                    language: lang,
                },
                words: Vec::new(),
                lemmas: String::new(),
            }),
            None => self.slots(&q),
        };
        let mut ranked = self.rank(&slots, merchant);
        if self.signals.declines_human(&q.norm.text, &q.lemmas) {
            // 不用转人工: whatever else the message asks, it is not for a person.
            ranked.retain(|&(i, _, _)| self.faqs[i].action.as_deref() != Some("handoff"));
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

        if ranked.first().is_some_and(|&(i, conf, _)| {
            self.faqs[i].action.as_deref() == Some("handoff") && conf < HANDOFF_FAQ_THRESHOLD
        }) {
            ranked.retain(|&(i, _, _)| self.faqs[i].action.as_deref() != Some("handoff"));
        }
        let answer_at = if slots.iter().any(|s| s.offtopic) {
            OFFTOPIC_ANSWER_THRESHOLD
        } else {
            ANSWER_THRESHOLD
        };
        let strongly_negative = sentiment <= STRONG_NEGATIVE;
        match ranked.first() {
            Some(&(i, conf, _)) if conf >= answer_at => {
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
            Some(&(_, conf, support)) if support >= SUGGEST_THRESHOLD => {
                a.confidence = conf;
                for &(i, _, support) in ranked.iter().take(MAX_SUGGESTIONS) {
                    if support < SUGGEST_THRESHOLD {
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
        a.answer = answer_text(faq, a.language);
    }

    /// The handoff FAQ to hand off through: the one that best matches the signal's own concept
    /// (投诉, 人工), else the best ranked one, else none.
    fn handoff_faq(
        &self,
        ranked: &[(usize, f64, f64)],
        why: &str,
        merchant: Option<&str>,
    ) -> Option<usize> {
        let is_handoff = |i: usize| self.faqs[i].action.as_deref() == Some("handoff");
        // The entry for the signal's own concept (人工 for a request, 投诉 for a complaint)
        // first: "talk to a store manager" is a request even if it mentions the store.
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
            ..Slot::default()
        };
        self.index
            .search(&[slot], self.visible(merchant))
            .iter()
            .map(|h: &Hit| h.doc as usize)
            .find(|&i| is_handoff(i))
            .or_else(|| ranked.iter().map(|&(i, _, _)| i).find(|&i| is_handoff(i)))
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

/// Confidence in [0, 1]: the square root of the share of the message's weight the FAQ explains
/// (a long message with a story around a clear question is still answered), times the lead
/// over the runner-up (full at a 20% lead; a near tie is below [`ANSWER_THRESHOLD`] whatever the
/// coverage: ask, don't guess).
fn confidence(hit: &Hit, rival: f64) -> f64 {
    let margin = if hit.score > 0.0 {
        (1.0 - rival / hit.score).max(0.0)
    } else {
        0.0
    };
    let certainty = (margin / 0.2).min(1.0);
    // The square root: a long message with a story around the question (context words, names)
    // is still answered when the question part is clear.
    (hit.coverage.sqrt() * certainty).clamp(0.0, 1.0)
}

/// An FAQ's answer for a customer writing in `lang`: the entry's own answer in that language
/// (`answers.en`, `answers.zh-Hant`); Traditional converted from the Simplified one; for English
/// without an English answer, the Chinese text after a note saying so and offering a person.
fn answer_text(faq: &Faq, lang: Language) -> String {
    match lang {
        Language::ZhHans => faq.answer.clone(),
        Language::ZhHant => faq
            .answer_in("zh-Hant")
            .map_or_else(|| reply::in_script(&faq.answer, lang), str::to_owned),
        Language::En => faq.answer_in("en").map_or_else(
            || format!("{}\n{}", reply::EN.untranslated, faq.answer),
            str::to_owned,
        ),
    }
}

fn handoff_notice(lang: Language, why: &str) -> String {
    reply::system(lang, |t| match why {
        reason::COMPLAINT => t.handoff_complaint,
        reason::NEGATIVE_SENTIMENT => t.handoff_negative,
        _ => t.handoff,
    })
}

/// Runs of three or more of the same Latin letter shortened to one (heyyy → hey, pleeease →
/// please): lengthening is emphasis, not spelling.
fn collapse_repeats(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut j = i + 1;
        while j < chars.len() && chars[j] == c {
            j += 1;
        }
        let run = if c.is_ascii_alphabetic() && j - i >= 3 {
            1
        } else {
            j - i
        };
        out.extend(std::iter::repeat_n(c, run));
        i = j;
    }
    out
}

/// An FAQ's terms: the units of its question and similar questions (words and concepts), and
/// their character unigrams and bigrams.
fn document_terms(lexicon: &Lexicon, faq: &Faq) -> Vec<String> {
    let mut terms = Vec::new();
    for q in std::iter::once(&faq.question).chain(&faq.similar) {
        let simplified = lexicon.rewrite(&text::to_simplified(&text::fold_width_case(q)), true);
        for u in segment::chinese_units(lexicon, &simplified) {
            terms.extend(u.terms);
        }
        terms.extend(segment::char_grams(&simplified));
    }
    terms
}

#[cfg(test)]
mod tests;
