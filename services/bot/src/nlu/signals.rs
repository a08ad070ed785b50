//! What a message is before any FAQ is looked at: small talk (greeting, thanks), an explicit
//! request for a person, a complaint, and how negative it sounds. Phrases and the sentiment
//! lexicon are data (`data/signals.txt`, `data/sentiment.txt`).

use super::lexicon::{Lexicon, data_lines, english_words};
use super::text::is_cjk;
use std::collections::HashMap;

pub const SIGNALS: &str = include_str!("../../data/signals.txt");
pub const SENTIMENT: &str = include_str!("../../data/sentiment.txt");

/// At or below this sentiment score the customer is handed to a person.
pub const STRONG_NEGATIVE: f64 = -0.55;
/// Squashing constant of the sentiment score (`s / sqrt(s² + α)`).
const SENTIMENT_ALPHA: f64 = 15.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmallTalk {
    Greeting,
    Thanks,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Greeting,
    Thanks,
    Ack,
    /// 拜拜, that's all: answered like thanks.
    Closing,
    /// 说明, help: what a customer thanks for; small talk only after a thanks.
    ThanksObject,
    Filler,
}

#[derive(Clone, Debug, Default)]
pub struct Signals {
    small_talk: Vec<(String, Kind)>,
    human: Vec<String>,
    person: Vec<String>,
    reach_before: Vec<String>,
    reach_after: Vec<String>,
    complaint: Vec<String>,
    offtopic: std::collections::HashSet<String>,
    sentiment: HashMap<String, f64>,
    negation: Vec<String>,
    intensifier: HashMap<String, f64>,
}

/// Phrases listed under `[section]` headers.
fn sections(text: &str) -> Vec<(String, String)> {
    let mut section = String::new();
    let mut out = Vec::new();
    for (_, line) in data_lines(text) {
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = s.to_owned();
        } else {
            out.push((section.clone(), line.to_owned()));
        }
    }
    out
}

/// Phrases of a data line: comma separated (English phrases of several words), or space
/// separated when the line has no comma (Chinese).
fn phrases(line: &str) -> Vec<String> {
    if line.contains(',') {
        line.split(',')
            .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|p| !p.is_empty())
            .collect()
    } else {
        line.split_whitespace().map(str::to_owned).collect()
    }
}

impl Signals {
    pub fn builtin() -> Self {
        let mut s = Signals::default();
        s.extend(SIGNALS);
        for (section, line) in sections(SENTIMENT) {
            match section.as_str() {
                "negative" | "positive" | "intensifier" => {
                    let mut it = line.split_whitespace();
                    let (Some(word), Some(v)) = (it.next(), it.next()) else {
                        continue;
                    };
                    let Ok(v) = v.parse::<f64>() else { continue };
                    if section == "intensifier" {
                        s.intensifier.insert(word.to_owned(), v);
                    } else {
                        s.sentiment.insert(word.to_owned(), v);
                    }
                }
                "negation" => s
                    .negation
                    .extend(line.split_whitespace().map(str::to_owned)),
                _ => {}
            }
        }
        s
    }

    /// Adds the phrases of `text` (the sections of `signals.txt`; lines outside a known
    /// section are ignored, so a tenant's synonyms file can carry both).
    pub fn extend(&mut self, text: &str) {
        let s = self;
        for (section, line) in sections(text) {
            let list = phrases(&line);
            match section.as_str() {
                "greeting" => s
                    .small_talk
                    .extend(list.into_iter().map(|p| (p, Kind::Greeting))),
                "thanks" => s
                    .small_talk
                    .extend(list.into_iter().map(|p| (p, Kind::Thanks))),
                "ack" => s
                    .small_talk
                    .extend(list.into_iter().map(|p| (p, Kind::Ack))),
                "human" => s.human.extend(list),
                "closing" => s
                    .small_talk
                    .extend(list.into_iter().map(|p| (p, Kind::Closing))),
                "thanks-object" => s
                    .small_talk
                    .extend(list.into_iter().map(|p| (p, Kind::ThanksObject))),
                "person" => s.person.extend(list),
                "reach-before" => s.reach_before.extend(list),
                "reach-after" => s.reach_after.extend(list),
                "complaint" => s.complaint.extend(list),
                "offtopic" => s.offtopic.extend(list),
                _ => {}
            }
        }
        // Longest phrases first so that 好的谢谢 is read as 好的 + 谢谢, not 好 + …
        s.small_talk
            .sort_by_key(|(p, _)| std::cmp::Reverse(p.chars().count()));
    }

    /// A word of a matter the shop does not deal with (天气, lottery).
    pub fn is_offtopic(&self, word: &str) -> bool {
        self.offtopic.contains(word)
    }

    /// Whether `word` is a greeting, thanks or acknowledgement phrase (dropped from matching:
    /// 你好，我想开发票 is about invoices).
    pub fn is_small_talk_word(&self, word: &str) -> bool {
        self.small_talk.iter().any(|(p, _)| p == word)
    }

    /// Multi-character Chinese phrases, to teach the segmenter.
    pub fn chinese_words(&self) -> impl Iterator<Item = &str> {
        self.small_talk
            .iter()
            .map(|(p, _)| p)
            .chain(&self.human)
            .chain(&self.person)
            .chain(&self.complaint)
            .chain(&self.offtopic)
            .chain(self.sentiment.keys())
            .map(String::as_str)
            .filter(|w| w.chars().count() >= 2 && w.chars().any(is_cjk))
    }

    /// Greeting or thanks when the whole message is made of small-talk phrases, stop words
    /// and punctuation (好的谢谢, 您好！, thanks a lot); `None` as soon as anything else is said.
    pub fn small_talk(&self, lexicon: &Lexicon, text: &str) -> Option<SmallTalk> {
        let compact = compact(text);
        if compact.is_empty() || compact.chars().count() > 40 {
            return None;
        }
        let (mut greeting, mut thanks, mut ack) = (false, false, false);
        let mut object = false;
        let mut rest = compact.as_str();
        while !rest.is_empty() {
            rest = rest.trim_start();
            if rest.is_empty() {
                break;
            }
            let hit = self
                .small_talk
                .iter()
                .find(|(p, _)| starts_with_word(rest, p))
                .map(|(p, k)| (p.len(), *k))
                .or_else(|| {
                    // A stop word (的, 呀, please) between small-talk phrases.
                    let n = rest
                        .char_indices()
                        .map(|(i, c)| i + c.len_utf8())
                        .take(4)
                        .filter(|&n| {
                            lexicon.is_stopword(&rest[..n]) && starts_with_word(rest, &rest[..n])
                        })
                        .last()?;
                    Some((n, Kind::Filler))
                })
                .or_else(|| {
                    let word_len = rest.find(' ').unwrap_or(rest.len());
                    let word = &rest[..word_len];
                    (word.is_ascii() && lexicon.is_stopword(word))
                        .then_some((word_len, Kind::Filler))
                })?;
            match hit.1 {
                Kind::Greeting => greeting = true,
                Kind::Thanks => thanks = true,
                Kind::Ack => ack = true,
                Kind::Closing => thanks = true,
                Kind::ThanksObject => object = true,
                Kind::Filler => {}
            }
            rest = &rest[hit.0..];
        }
        if object && !thanks {
            // 说明 alone is a word, not small talk.
            return None;
        }
        if thanks || (ack && !greeting) {
            Some(SmallTalk::Thanks)
        } else if greeting {
            Some(SmallTalk::Greeting)
        } else {
            None
        }
    }

    /// An explicit request for a person (转人工, 给我找个真人, talk to a person), or someone asked
    /// for (叫你们经理出来, put me through to your supervisor); a negated one (不用转人工, don't get
    /// a person) is not.
    pub fn wants_human(&self, text: &str, lemmas: &str) -> bool {
        let compact: String = compact(text).replace(' ', "").replace("请问", "");
        let direct = self.human.iter().any(|p| {
            if p.is_ascii() {
                return english_request(lemmas, p);
            }
            compact
                .match_indices(p.as_str())
                .any(|(i, _)| declining_negation(&compact[..i]).is_none())
        });
        direct || self.asks_for_someone(&compact, lemmas)
    }

    /// A [person] word with a [reach-before] word within six characters (English: five words)
    /// before it, or a [reach-after] word within as much after it; not declined.
    fn asks_for_someone(&self, compact: &str, lemmas: &str) -> bool {
        let words: Vec<&str> = lemmas.split(' ').collect();
        for p in &self.person {
            if p.is_ascii() {
                for (i, _) in english_positions(&words, p) {
                    let from = i.saturating_sub(5);
                    let before = &words[from..i];
                    // A negation before the reach word declines it too (I don't need to talk
                    // to a person).
                    let declined = words[i.saturating_sub(9)..i]
                        .iter()
                        .any(|w| NEGATIONS.contains(w));
                    let after = &words[(i + 1).min(words.len())..(i + 6).min(words.len())];
                    let within = |list: &[String], span: &[&str]| {
                        list.iter().filter(|r| r.is_ascii()).any(|r| {
                            let r: Vec<&str> = r.split(' ').collect();
                            span.windows(r.len()).any(|w| w == r.as_slice())
                        })
                    };
                    let reach =
                        within(&self.reach_before, before) || within(&self.reach_after, after);
                    if reach && !declined {
                        return true;
                    }
                }
                continue;
            }
            for (i, m) in compact.match_indices(p.as_str()) {
                let start = char_back(compact, i, 6);
                let end = char_forward(compact, i + m.len(), 6);
                let before = &compact[start..i];
                let after = &compact[i + m.len()..end];
                let reach = self
                    .reach_before
                    .iter()
                    .filter(|r| !r.is_ascii())
                    .filter_map(|r| before.rfind(r.as_str()))
                    .min()
                    .map(|at| start + at)
                    .or_else(|| {
                        self.reach_after
                            .iter()
                            .any(|r| after.contains(r.as_str()))
                            .then_some(i)
                    });
                if let Some(at) = reach
                    && declining_negation(&compact[..at]).is_none()
                {
                    return true;
                }
            }
        }
        false
    }

    /// Whether the message declines a person (不用转人工, I don't need a human): then it is not
    /// answered through a handoff FAQ either.
    pub fn declines_human(&self, text: &str, lemmas: &str) -> bool {
        self.without_declined_human(text).is_some()
            || self
                .human
                .iter()
                .filter(|p| p.is_ascii())
                .any(|p| english_occurrences(lemmas, p).contains(&true))
    }

    /// The message without the requests for a person it declines (不用转人工了，谢谢 → 了谢谢), or
    /// `None` when it declines none: a declined request is neither a handoff nor content.
    pub fn without_declined_human(&self, text: &str) -> Option<String> {
        let mut compact: String = compact(text).replace(' ', "");
        let mut declined = false;
        for p in self.human.iter().filter(|p| !p.is_ascii()) {
            while let Some((start, end)) = compact.match_indices(p.as_str()).find_map(|(i, m)| {
                declining_negation(&compact[..i]).map(|neg_start| (neg_start, i + m.len()))
            }) {
                compact.replace_range(start..end, "");
                declined = true;
            }
        }
        declined.then_some(compact)
    }

    /// A complaint (投诉, 消基会, report you to consumer protection); a denied one (不是投诉,
    /// this isn't a complaint) is not.
    pub fn complains(&self, text: &str, lemmas: &str) -> bool {
        let compact: String = compact(text).replace(' ', "");
        self.complaint.iter().any(|p| {
            if p.is_ascii() && p.chars().any(|c| c.is_ascii_alphabetic()) {
                english_request(lemmas, p)
            } else {
                compact
                    .match_indices(p.as_str())
                    .any(|(i, _)| denial(&compact[..i]).is_none())
            }
        })
    }

    /// Sentiment in [-1, 1] from the lexicon over `words` (jieba's words or English words):
    /// a negation within the two words before flips and dampens a word, intensifiers multiply
    /// it, exclamation marks sharpen a negative message.
    pub fn sentiment(&self, words: &[String], text: &str) -> f64 {
        let mut total = 0.0;
        for (i, w) in words.iter().enumerate() {
            // A word may carry its own negation (不喜欢 is one word for the segmenter).
            let (score, mut negated) = match self.sentiment.get(w.as_str()) {
                Some(&score) => (score, false),
                None => match self.negation.iter().find_map(|n| {
                    let rest = w.strip_prefix(n.as_str())?;
                    (!n.is_ascii()).then(|| self.sentiment.get(rest)).flatten()
                }) {
                    Some(&score) => (score, true),
                    None => continue,
                },
            };
            let mut s = score;
            for prev in words[i.saturating_sub(2)..i].iter() {
                if let Some(f) = self.intensifier.get(prev.as_str()) {
                    s *= f;
                }
                if self.negation.iter().any(|n| n == prev) {
                    negated = true;
                }
            }
            if negated {
                s *= -0.75;
            }
            total += s;
        }
        let bangs = text
            .chars()
            .filter(|&c| c == '!' || c == '！')
            .count()
            .min(3);
        if total < 0.0 {
            total *= 1.0 + 0.1 * bangs as f64;
        }
        total / (total * total + SENTIMENT_ALPHA).sqrt()
    }
}

/// Letters, digits and CJK characters; other characters become single spaces, and spaces next
/// to CJK characters are dropped.
pub fn compact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_alphanumeric() || c == '\'' {
            if is_cjk(c) && out.ends_with(' ') {
                out.pop();
            }
            out.push(c);
        } else if !out.is_empty() && !out.ends_with(' ') && !out.chars().last().is_some_and(is_cjk)
        {
            out.push(' ');
        }
    }
    out.trim_end().to_owned()
}

/// Where a negation that declines what follows starts, when `before` (the text before a phrase)
/// ends in one within four characters (不用转人工, 不需要找人工).
fn declining_negation(before: &str) -> Option<usize> {
    const NEGATIONS: &[&str] = &["不用", "不要", "不需要", "无需", "别", "没叫"];
    let window_start = before.char_indices().rev().nth(3).map_or(0, |(i, _)| i);
    NEGATIONS
        .iter()
        .filter_map(|n| before[window_start..].rfind(n).map(|i| window_start + i))
        .min()
}

/// Where a denial of what follows starts, when `before` ends in one within four characters
/// (我不是来投诉的, 没想投诉); also the declining negations (不用投诉).
fn denial(before: &str) -> Option<usize> {
    const DENIALS: &[&str] = &[
        "不是",
        "不想",
        "没想",
        "不打算",
        "没打算",
        "并非",
        "无意",
        "没有要",
        "没要",
    ];
    let window_start = before.char_indices().rev().nth(3).map_or(0, |(i, _)| i);
    DENIALS
        .iter()
        .filter_map(|n| before[window_start..].rfind(n).map(|i| window_start + i))
        .min()
        .or_else(|| declining_negation(before))
}

/// The byte offset `n` characters before `i` (or 0).
fn char_back(s: &str, i: usize, n: usize) -> usize {
    s[..i].char_indices().rev().nth(n - 1).map_or(0, |(j, _)| j)
}

/// The byte offset `n` characters after `i` (or the end).
fn char_forward(s: &str, i: usize, n: usize) -> usize {
    s[i..].char_indices().nth(n).map_or(s.len(), |(j, _)| i + j)
}

fn starts_with_word(rest: &str, phrase: &str) -> bool {
    if !rest.starts_with(phrase) {
        return false;
    }
    // An English phrase must end at a word boundary (hi ≠ history).
    let last = phrase.chars().last();
    let next = rest[phrase.len()..].chars().next();
    !(last.is_some_and(|c| c.is_ascii_alphanumeric())
        && next.is_some_and(|c| c.is_ascii_alphanumeric()))
}

/// Each occurrence of `phrase` among the words of `lemmas`: whether a negation among the five
/// words before declines it (I don't need a human).
fn english_occurrences(lemmas: &str, phrase: &str) -> Vec<bool> {
    let words: Vec<&str> = lemmas.split(' ').collect();
    english_positions(&words, phrase)
        .into_iter()
        .map(|(_, declined)| declined)
        .collect()
}

/// Where `phrase` starts among `words`, each with whether a negation among the five words
/// before declines it.
const NEGATIONS: &[&str] = &[
    "don't", "dont", "not", "no", "never", "didn't", "didnt", "doesn't", "doesnt", "isn't", "isnt",
    "aren't", "arent", "wasn't", "wasnt", "without", "won't", "wont",
];

fn english_positions(words: &[&str], phrase: &str) -> Vec<(usize, bool)> {
    let n = phrase.split(' ').count();
    (0..words.len().saturating_sub(n - 1))
        .filter(|&i| words[i..i + n].join(" ") == phrase)
        .map(|i| {
            let declined = words[i.saturating_sub(5)..i]
                .iter()
                .any(|w| NEGATIONS.contains(w));
            (i, declined)
        })
        .collect()
}

fn english_request(lemmas: &str, phrase: &str) -> bool {
    english_occurrences(lemmas, phrase)
        .iter()
        .any(|declined| !declined)
}

/// English words of `text` in dictionary form, joined by single spaces.
pub fn lemma_line(lexicon: &Lexicon, text: &str) -> String {
    english_words(text)
        .iter()
        .map(|w| lexicon.lemma(w))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(text: &str) -> Option<SmallTalk> {
        Signals::builtin().small_talk(&Lexicon::builtin(), text)
    }

    #[test]
    fn small_talk_in_every_script() {
        assert_eq!(small("您好"), Some(SmallTalk::Greeting));
        assert_eq!(small("你好呀！"), Some(SmallTalk::Greeting));
        assert_eq!(
            small("在嗎"),
            None,
            "Traditional is converted before, not here"
        );
        assert_eq!(small("在吗"), Some(SmallTalk::Greeting));
        assert_eq!(small("好的谢谢"), Some(SmallTalk::Thanks));
        assert_eq!(small("好的，谢谢您"), Some(SmallTalk::Thanks));
        assert_eq!(small("hello there"), Some(SmallTalk::Greeting));
        assert_eq!(small("thanks a lot!"), Some(SmallTalk::Thanks));
        assert_eq!(small("ok"), Some(SmallTalk::Thanks));
        assert_eq!(small("你好，我的快递到哪了"), None);
        assert_eq!(small("history"), None);
        assert_eq!(small("的"), None);
    }

    #[test]
    fn closings_and_thanks_without_thank_you_words() {
        assert_eq!(small("行吧 暂时就这些 拜拜"), Some(SmallTalk::Thanks));
        assert_eq!(small("哈啰～"), Some(SmallTalk::Greeting));
        assert_eq!(small("了解，没有其他问题了"), Some(SmallTalk::Thanks));
        assert_eq!(small("ok，感谢你的说明"), Some(SmallTalk::Thanks));
        assert_eq!(small("that's all, bye"), Some(SmallTalk::Thanks));
        assert_eq!(small("thanks for the help"), Some(SmallTalk::Thanks));
        // What one thanks for is not small talk on its own, nor is a filler.
        assert_eq!(small("说明"), None);
        assert_eq!(small("嗯"), None);
    }

    #[test]
    fn someone_asked_for_in_any_wording() {
        let s = Signals::builtin();
        let lex = Lexicon::builtin();
        let human = |t: &str| s.wants_human(t, &lemma_line(&lex, t));
        assert!(human("叫你们负责人来"));
        assert!(human("你们经理呢，找他出来"));
        assert!(human("麻烦让你们店长来跟我说"));
        assert!(human("能不能找个专人对接一下"));
        assert!(human("put me through to your supervisor"));
        assert!(human("can I get someone real"));
        assert!(human("is there an actual person I can chat with"));
        assert!(!human("店长推荐的那款还有货吗"));
        assert!(!human("请问你们店长几点上班"));
        assert!(!human("不用找经理了"));
        assert!(!human("don't bother getting a person, when do you open"));
        assert!(!human("someone stole my parcel"));
    }

    #[test]
    fn a_denied_complaint_is_not_one() {
        let s = Signals::builtin();
        let lex = Lexicon::builtin();
        let complaint = |t: &str| s.complains(t, &lemma_line(&lex, t));
        assert!(complaint("我要向消基会申诉"));
        assert!(complaint("gonna expose you on social media"));
        assert!(!complaint("先说明我不是来投诉的，退款到哪了"));
        assert!(!complaint(
            "this isn't a complaint, just asking about my refund"
        ));
        assert!(!complaint("I'm not complaining, where is my refund"));
    }

    #[test]
    fn human_requests_and_complaints() {
        let s = Signals::builtin();
        let lex = Lexicon::builtin();
        let human = |t: &str| s.wants_human(t, &lemma_line(&lex, t));
        assert!(human("给我找个真人"));
        assert!(human("转人工"));
        assert!(human("I want to talk to a person"));
        assert!(human("can I speak to a human please"));
        assert!(!human("不用转人工了"));
        assert!(!human("I don't need to talk to a person"));
        assert_eq!(
            s.without_declined_human("不用转人工了，谢谢").as_deref(),
            Some("了谢谢")
        );
        assert_eq!(s.without_declined_human("转人工"), None);
        assert!(!human("我的快递到哪了"));
        let complaint = |t: &str| s.complains(t, &lemma_line(&lex, t));
        assert!(complaint("你们客服态度太恶劣了，我要投诉到底"));
        assert!(complaint("我要打12315"));
        assert!(complaint("I want to file a complaint"));
        assert!(!complaint("怎么开发票"));
    }

    #[test]
    fn sentiment_with_negation_and_intensifiers() {
        let s = Signals::builtin();
        let lex = Lexicon::builtin();
        let score = |t: &str| {
            let words = if t.is_ascii() {
                english_words(t)
            } else {
                super::super::segment::words(&lex, t)
            };
            s.sentiment(&words, t)
        };
        for strong in [
            "垃圾",
            "你们太差了",
            "气死我了",
            "骗子！",
            "terrible service",
            "the worst shop",
        ] {
            assert!(
                score(strong) <= STRONG_NEGATIVE,
                "{strong}: {}",
                score(strong)
            );
        }
        assert!(score("不喜欢能退吗") < 0.0);
        assert!(score("不喜欢能退吗") > STRONG_NEGATIVE);
        assert!(score("非常满意") > 0.5);
        assert!(score("不满意") < 0.0);
        assert!(score("not bad") > 0.0);
        assert_eq!(score("我的快递到哪了"), 0.0);
    }
}
