//! How alike two normalised texts are, for `similar_phrase` and `repeated_message`: the Dice
//! coefficient of their bags of grams — Chinese characters and character pairs, Latin words
//! and word pairs — taken at its best over the message's clauses (and pairs of adjacent
//! clauses), so a standard phrase said inside a longer message still counts.
//!
//! This is lexical similarity: rewording that shares no characters is not caught. It sits
//! behind [`similarity`] so a sentence encoder can replace it when one is available.

use super::text::{clauses, is_cjk};
use rustc_hash::FxHasher;
use std::hash::Hasher;

/// A text's grams, hashed, sorted, each once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bag(Vec<u64>);

fn hash(parts: &[&str]) -> u64 {
    let mut h = FxHasher::default();
    for p in parts {
        h.write(p.as_bytes());
        h.write_u8(0);
    }
    h.finish()
}

impl Bag {
    pub fn of(norm: &str) -> Self {
        let mut units: Vec<String> = Vec::new();
        let mut word = String::new();
        for c in norm.chars() {
            if is_cjk(c) {
                if !word.is_empty() {
                    units.push(std::mem::take(&mut word));
                }
                units.push(c.to_string());
            } else if c.is_alphanumeric() {
                word.push(c);
            } else if !word.is_empty() {
                units.push(std::mem::take(&mut word));
            }
        }
        if !word.is_empty() {
            units.push(word);
        }
        let mut grams: Vec<u64> = units.iter().map(|u| hash(&[u])).collect();
        grams.extend(units.windows(2).map(|w| hash(&[&w[0], &w[1]])));
        grams.sort_unstable();
        grams.dedup();
        Bag(grams)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// 2·|A∩B| / (|A|+|B|), in [0, 1].
    pub fn dice(&self, other: &Bag) -> f64 {
        if self.0.is_empty() || other.0.is_empty() {
            return 0.0;
        }
        let (mut i, mut j, mut common) = (0, 0, 0);
        while i < self.0.len() && j < other.0.len() {
            match self.0[i].cmp(&other.0[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    common += 1;
                    i += 1;
                    j += 1;
                }
            }
        }
        2.0 * common as f64 / (self.0.len() + other.0.len()) as f64
    }
}

/// The best similarity between `phrase` and the message, whole or clause by clause.
pub fn similarity(message_norm: &str, phrase: &Bag) -> f64 {
    let whole = Bag::of(message_norm).dice(phrase);
    let parts: Vec<&str> = clauses(message_norm).collect();
    let mut best = whole;
    for (i, c) in parts.iter().enumerate() {
        best = best.max(Bag::of(c).dice(phrase));
        if let Some(next) = parts.get(i + 1) {
            best = best.max(Bag::of(&format!("{c},{next}")).dice(phrase));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::text::normalize;

    #[test]
    fn a_standard_phrase_inside_a_longer_message_is_similar() {
        let phrase = Bag::of(&normalize("请问还有其他问题吗"));
        let s = similarity(
            &normalize("好的，已为您处理完毕。请问还有其他问题吗？"),
            &phrase,
        );
        assert!(s > 0.99, "{s}");
        let reworded = similarity(&normalize("还有别的问题需要帮忙吗"), &phrase);
        assert!(reworded > 0.3 && reworded < 0.9, "{reworded}");
        let unrelated = similarity(&normalize("快递明天到"), &phrase);
        assert!(unrelated < 0.2, "{unrelated}");
        let en = similarity(
            &normalize("Got it. Is there anything else I can help you with?"),
            &Bag::of(&normalize("anything else I can help with")),
        );
        assert!(en > 0.6, "{en}");
    }
}
