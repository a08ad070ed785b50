//! Phrase lists as one automaton (Aho–Corasick): a message is scanned once for all of a rule's
//! phrases, however many there are, instead of once per phrase. Phrases are normalised like
//! messages ([`super::text::normalize`]); a phrase that begins or ends with a Latin letter or
//! digit only matches at a word boundary there (`hi` does not match `this`).

use super::text::{is_word_char, normalize};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

#[derive(Clone, Debug)]
pub struct PhraseSet {
    automaton: Option<AhoCorasick>,
    /// Per pattern: (needs a boundary before, needs a boundary after).
    bounds: Vec<(bool, bool)>,
    /// The phrases as normalised (pattern ids index into it).
    phrases: Vec<String>,
}

impl PhraseSet {
    pub fn new<I, S>(phrases: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut normalized: Vec<String> = phrases
            .into_iter()
            .map(|p| normalize(p.as_ref()))
            .filter(|p| !p.is_empty())
            .collect();
        normalized.sort();
        normalized.dedup();
        let bounds = normalized
            .iter()
            .map(|p| {
                (
                    p.chars().next().is_some_and(is_word_char),
                    p.chars().last().is_some_and(is_word_char),
                )
            })
            .collect();
        let automaton = (!normalized.is_empty()).then(|| {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .build(&normalized)
                .expect("phrases within the policy's limits always build")
        });
        Self {
            automaton,
            bounds,
            phrases: normalized,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.phrases.is_empty()
    }

    pub fn len(&self) -> usize {
        self.phrases.len()
    }

    fn at_boundaries(&self, text: &str, pattern: usize, start: usize, end: usize) -> bool {
        let (before, after) = self.bounds[pattern];
        let ok_before = !before || !text[..start].chars().next_back().is_some_and(is_word_char);
        let ok_after = !after || !text[end..].chars().next().is_some_and(is_word_char);
        ok_before && ok_after
    }

    /// Every phrase (by index) found in the normalised `text`, each once.
    pub fn found(&self, text: &str) -> Vec<usize> {
        let Some(ac) = &self.automaton else {
            return Vec::new();
        };
        let mut ids: Vec<usize> = ac
            .find_overlapping_iter(text)
            .filter(|m| self.at_boundaries(text, m.pattern().as_usize(), m.start(), m.end()))
            .map(|m| m.pattern().as_usize())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Whether any phrase occurs in the normalised `text`.
    pub fn any(&self, text: &str) -> bool {
        let Some(ac) = &self.automaton else {
            return false;
        };
        ac.find_overlapping_iter(text)
            .any(|m| self.at_boundaries(text, m.pattern().as_usize(), m.start(), m.end()))
    }

    /// Where the first phrase occurs (start byte), if any.
    pub fn first(&self, text: &str) -> Option<usize> {
        let ac = self.automaton.as_ref()?;
        ac.find_overlapping_iter(text)
            .find(|m| self.at_boundaries(text, m.pattern().as_usize(), m.start(), m.end()))
            .map(|m| m.start())
    }

    pub fn phrase(&self, id: usize) -> &str {
        &self.phrases[id]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::text::normalize;

    #[test]
    fn phrases_match_normalised_text_at_word_boundaries() {
        let set = PhraseSet::new(["爱买不买", "Not my job", "hi", "關我什麼事"]);
        assert!(set.any(&normalize("草莓本来就容易压坏，愛買不買")));
        assert!(set.any(&normalize("Sorry, that's NOT MY JOB.")));
        assert!(set.any(&normalize("这关我什么事")));
        assert!(!set.any(&normalize("this is fine")), "hi inside this");
        assert!(set.any(&normalize("Hi, this is Emma")));
        assert!(!set.any(&normalize("not my jobs")));
        assert_eq!(set.found(&normalize("hi, not my job, 爱买不买")).len(), 3);
        assert!(PhraseSet::new(Vec::<String>::new()).found("x").is_empty());
    }
}
