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
    Filler,
}

#[derive(Clone, Debug, Default)]
pub struct Signals {
    small_talk: Vec<(String, Kind)>,
    human: Vec<String>,
    complaint: Vec<String>,
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
        for (section, line) in sections(SIGNALS) {
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
                "complaint" => s.complaint.extend(list),
                _ => {}
            }
        }
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
        // Longest phrases first so that 好的谢谢 is read as 好的 + 谢谢, not 好 + …
        s.small_talk
            .sort_by_key(|(p, _)| std::cmp::Reverse(p.chars().count()));
        s
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
            .chain(&self.complaint)
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
                Kind::Filler => {}
            }
            rest = &rest[hit.0..];
        }
        if thanks || (ack && !greeting) {
            Some(SmallTalk::Thanks)
        } else if greeting {
            Some(SmallTalk::Greeting)
        } else {
            None
        }
    }

    /// An explicit request for a person (转人工, 给我找个真人, talk to a person); a negated one
    /// (不用转人工) is not.
    pub fn wants_human(&self, text: &str, lemmas: &str) -> bool {
        let compact: String = compact(text).replace(' ', "");
        self.human.iter().any(|p| {
            if p.is_ascii() {
                return english_request(lemmas, p);
            }
            compact
                .match_indices(p.as_str())
                .any(|(i, _)| declining_negation(&compact[..i]).is_none())
        })
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

    pub fn complains(&self, text: &str, lemmas: &str) -> bool {
        let compact: String = compact(text).replace(' ', "");
        self.complaint.iter().any(|p| {
            if p.is_ascii() && p.chars().any(|c| c.is_ascii_alphabetic()) {
                contains_words(lemmas, p)
            } else {
                compact.contains(p.as_str())
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
    const NEGATIONS: &[&str] = &["don't", "not", "no", "never", "didn't", "doesn't"];
    let words: Vec<&str> = lemmas.split(' ').collect();
    let n = phrase.split(' ').count();
    (0..words.len().saturating_sub(n - 1))
        .filter(|&i| words[i..i + n].join(" ") == phrase)
        .map(|i| {
            words[i.saturating_sub(5)..i]
                .iter()
                .any(|w| NEGATIONS.contains(w))
        })
        .collect()
}

fn english_request(lemmas: &str, phrase: &str) -> bool {
    english_occurrences(lemmas, phrase)
        .iter()
        .any(|declined| !declined)
}

fn contains_words(haystack: &str, phrase: &str) -> bool {
    let hay = format!(" {haystack} ");
    hay.contains(&format!(" {phrase} "))
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
