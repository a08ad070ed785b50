//! What the classifiers see of a message: tokens of the normalised text — each Chinese
//! character, each Latin word (lightly stemmed: `refunds`, `refunded` → `refund`), each number
//! as its length class (a 6-digit code and a 19-digit card number look different, their digits
//! do not matter), `?` `!` `…` — and their 1-, 2- and 3-grams with the message's start and end,
//! plus character 3-grams inside long English words (unseen inflections and typos share them)
//! and English words in the scope of a negation marked as such (`not sorry` is no apology).
//! Each feature is hashed into [`DIM`] slots.
//!
//! Character n-grams of Chinese generalise beyond any word list: 态度, 自己看, 不归我管 are
//! features, and a new sentence that shares them is scored by them.

use rustc_hash::FxHasher;
use std::hash::Hasher;

/// Hashed feature slots per model.
pub const DIM: usize = 1 << 18;

/// A message's features: hashed slots (each once) and their common value (L2-normalised),
/// plus dense ones from a sentence encoder when one is used (see `SentenceEncoder`).
#[derive(Clone, Debug, Default)]
pub struct Features {
    pub slots: Vec<u32>,
    pub value: f32,
    pub dense: Vec<f32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Cjk,
    Word,
    Number,
    Punct,
    Edge,
}

#[derive(Clone, Debug)]
struct Token {
    text: String,
    kind: Kind,
    negated: bool,
}

const NEGATIONS: &[&str] = &[
    "not", "no", "never", "dont", "doesnt", "didnt", "cant", "cannot", "wont", "isnt", "arent",
    "wasnt", "werent", "havent", "hasnt", "shouldnt", "wouldnt", "couldnt", "nothing", "without",
    "aint", "mustnt", "neither", "nor",
];

/// `refunds` → `refund`, `charged` → `charg`, `waiting` → `wait`: crude, consistent, enough for
/// features (the training data and the message are stemmed alike).
fn stem(word: &str) -> String {
    let w = word;
    for suffix in ["ingly", "edly", "ing", "ed", "ly", "es", "s"] {
        if let Some(stem) = w.strip_suffix(suffix)
            && stem.chars().count() >= 3
        {
            return stem.to_owned();
        }
    }
    w.to_owned()
}

fn number_class(digits: usize) -> &'static str {
    match digits {
        0..=3 => "#short",
        4..=5 => "#4-5",
        6 => "#6",
        7..=12 => "#7-12",
        13..=19 => "#13-19",
        _ => "#long",
    }
}

fn tokens(norm: &str) -> Vec<Token> {
    let mut out = vec![Token {
        text: "<s>".into(),
        kind: Kind::Edge,
        negated: false,
    }];
    let chars: Vec<char> = norm.chars().collect();
    let mut i = 0;
    let mut negation_left = 0u8;
    while i < chars.len() {
        let c = chars[i];
        if super::super::text::is_cjk(c) {
            out.push(Token {
                text: c.to_string(),
                kind: Kind::Cjk,
                negated: false,
            });
            negation_left = 0;
            i += 1;
        } else if c.is_alphabetic() {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphabetic() && !super::super::text::is_cjk(chars[i])
                    || (chars[i] == '\'' || chars[i] == '’')
                        && i + 1 < chars.len()
                        && chars[i + 1].is_alphabetic())
            {
                i += 1;
            }
            let word: String = chars[start..i]
                .iter()
                .filter(|c| c.is_alphabetic())
                .collect();
            let negated = negation_left > 0;
            negation_left = negation_left.saturating_sub(1);
            if NEGATIONS.contains(&word.as_str()) {
                negation_left = 3;
            }
            out.push(Token {
                text: stem(&word),
                kind: Kind::Word,
                negated,
            });
        } else if c.is_ascii_digit() {
            // Digit groups joined by single spaces or dashes are one number (card numbers are
            // written in groups of four).
            let mut digits = 0;
            while i < chars.len() {
                if chars[i].is_ascii_digit() {
                    digits += 1;
                    i += 1;
                } else if (chars[i] == ' ' || chars[i] == '-')
                    && i + 1 < chars.len()
                    && chars[i + 1].is_ascii_digit()
                    && digits >= 3
                {
                    i += 1;
                } else {
                    break;
                }
            }
            out.push(Token {
                text: number_class(digits).into(),
                kind: Kind::Number,
                negated: false,
            });
            negation_left = 0;
        } else {
            let p = match c {
                '?' => Some("?"),
                '!' => Some("!"),
                '…' => Some("…"),
                '.' if chars.get(i + 1) == Some(&'.') => Some("…"),
                ',' | '.' | '。' | ';' | ':' | '、' | '~' => Some(","),
                _ => None,
            };
            if let Some(p) = p {
                negation_left = 0;
                // A run of the same mark is one token ("!!!" is as loud as "!!").
                if out.last().is_none_or(|t| t.text != p) {
                    out.push(Token {
                        text: p.into(),
                        kind: Kind::Punct,
                        negated: false,
                    });
                }
            }
            i += 1;
        }
    }
    out.push(Token {
        text: "</s>".into(),
        kind: Kind::Edge,
        negated: false,
    });
    out
}

fn slot(parts: &[&str]) -> u32 {
    let mut h = FxHasher::default();
    for p in parts {
        h.write(p.as_bytes());
        h.write_u8(0xff);
    }
    // FxHash's low bits are weak; fold the high half in.
    let v = h.finish();
    ((v ^ (v >> 29) ^ (v >> 47)) as usize % DIM) as u32
}

impl Features {
    pub fn extract(norm: &str) -> Self {
        let toks = tokens(norm);
        let mut slots = Vec::with_capacity(toks.len() * 4);
        for (i, t) in toks.iter().enumerate() {
            if t.kind != Kind::Edge {
                slots.push(slot(&["1", &t.text]));
            }
            if t.negated {
                slots.push(slot(&["neg", &t.text]));
            }
            if let Some(n) = toks.get(i + 1) {
                slots.push(slot(&["2", &t.text, &n.text]));
                if let Some(m) = toks.get(i + 2) {
                    slots.push(slot(&["3", &t.text, &n.text, &m.text]));
                }
            }
            if t.kind == Kind::Word && t.text.len() >= 5 {
                let padded: Vec<char> = format!("^{}$", t.text).chars().collect();
                for w in padded.windows(3) {
                    let g: String = w.iter().collect();
                    slots.push(slot(&["c", &g]));
                }
            }
        }
        slots.sort_unstable();
        slots.dedup();
        let value = if slots.is_empty() {
            0.0
        } else {
            1.0 / (slots.len() as f32).sqrt()
        };
        Self {
            slots,
            value,
            dense: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(norm: &str) -> Vec<String> {
        tokens(norm).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn tokens_are_characters_words_number_classes_and_marks() {
        assert_eq!(
            texts("验证码382915发我!!"),
            ["<s>", "验", "证", "码", "#6", "发", "我", "!", "</s>"]
        );
        assert_eq!(
            texts("card 6222 0212 3456 7890 128, ok?"),
            ["<s>", "card", "#13-19", ",", "ok", "?", "</s>"]
        );
        assert_eq!(
            texts("i've refunded the eggs"),
            ["<s>", "ive", "refund", "the", "egg", "</s>"]
        );
    }

    #[test]
    fn negation_marks_the_words_after_it() {
        let t = tokens("i'm not sorry at all. sorry");
        let sorry: Vec<bool> = t
            .iter()
            .filter(|t| t.text == "sorry")
            .map(|t| t.negated)
            .collect();
        assert_eq!(sorry, [true, false]);
    }

    #[test]
    fn features_are_deduplicated_and_normalised() {
        let f = Features::extract("好的好的");
        let mut s = f.slots.clone();
        s.dedup();
        assert_eq!(s.len(), f.slots.len());
        assert!((f.value * f.value * f.slots.len() as f32 - 1.0).abs() < 1e-5);
        assert!(Features::extract("").slots.len() == 1, "<s> </s>");
    }
}
