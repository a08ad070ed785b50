//! BM25 over the knowledge base. One document per FAQ: its standard question and all similar
//! questions, as words with their concepts plus character unigrams and bigrams (the fallback for
//! words the FAQ never uses). A query is a list of slots, one per word, each with alternative
//! terms (the word, its concepts, or its characters); a slot scores its best alternative, so a
//! synonym never counts twice. Besides the BM25 score, each FAQ gets the share of the query's
//! weight it explains, which is what confidence is made of.

use std::collections::HashMap;

// Low: repeating a word across similar questions should count, but not much.
const K1: f64 = 0.8;
const B: f64 = 0.75;
/// Weight of a concept reached through the synonym table, relative to the word itself.
pub const CONCEPT_FACTOR: f64 = 0.8;
/// Weight of character bigrams / unigrams standing in for a word the knowledge base never uses.
pub const BIGRAM_FACTOR: f64 = 0.5;
pub const UNIGRAM_FACTOR: f64 = 0.15;
/// Words of the domain lexicon (synonym table) count this much more than other words: they are
/// what a customer-service question is about, while rare everyday words (带, 朋友) are not.
pub const DOMAIN_FACTOR: f64 = 2.0;
/// Weight of a word nobody in the knowledge base uses, relative to the rarest known term:
/// unknown words (a product name, a city) lower confidence, but less than a missed keyword.
pub const UNKNOWN_FACTOR: f64 = 0.35;
/// Weight of an off-topic word (天气, lottery), relative to the rarest known term.
pub const OFFTOPIC_FACTOR: f64 = 1.5;
/// Largest weight of a context word, relative to the rarest known term.
pub const CONTEXT_FACTOR: f64 = 0.12;

/// Where an FAQ is visible: the platform's entries to everyone, a merchant's to its customers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Platform,
    Merchant(u32),
}

#[derive(Clone, Debug)]
pub struct Alt {
    pub term: String,
    pub factor: f64,
}

#[derive(Clone, Debug, Default)]
pub struct Slot {
    pub alts: Vec<Alt>,
    /// The word itself is unknown to the knowledge base; `alts` beyond it are its characters.
    pub unknown_word: bool,
    /// A word of a matter the shop does not deal with: it weighs [`OFFTOPIC_FACTOR`] of the
    /// largest idf and no FAQ explains it.
    pub offtopic: bool,
    /// A context word (a product, a relative, a place): it weighs at most [`CONTEXT_FACTOR`]
    /// of the largest idf.
    pub context: bool,
}

#[derive(Default)]
pub struct Index {
    vocab: HashMap<String, u32>,
    /// Per term: (document, term frequency).
    postings: Vec<Vec<(u32, f32)>>,
    idf: Vec<f64>,
    doc_len: Vec<f32>,
    avg_len: f64,
    scopes: Vec<Scope>,
    max_idf: f64,
}

/// One FAQ's result for a query.
#[derive(Clone, Copy, Debug)]
pub struct Hit {
    pub doc: u32,
    pub score: f64,
    /// Share of the query's weight this document explains, in [0, 1].
    pub coverage: f64,
}

impl Index {
    /// `docs`: per FAQ its scope and terms (repeated terms count).
    pub fn build(docs: Vec<(Scope, Vec<String>)>) -> Self {
        let mut ix = Index::default();
        let mut tf: HashMap<u32, f32> = HashMap::new();
        for (d, (scope, terms)) in docs.into_iter().enumerate() {
            tf.clear();
            for t in &terms {
                let next = ix.vocab.len() as u32;
                let id = *ix.vocab.entry(t.clone()).or_insert(next);
                if id == next {
                    ix.postings.push(Vec::new());
                }
                *tf.entry(id).or_default() += 1.0;
            }
            for (&id, &f) in &tf {
                ix.postings[id as usize].push((d as u32, f));
            }
            ix.doc_len.push(terms.len() as f32);
            ix.scopes.push(scope);
        }
        let n = ix.doc_len.len() as f64;
        ix.avg_len = if n > 0.0 {
            ix.doc_len.iter().map(|&l| l as f64).sum::<f64>() / n
        } else {
            1.0
        };
        ix.idf = ix
            .postings
            .iter()
            .map(|p| {
                let df = p.len() as f64;
                (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
            })
            .collect();
        ix.max_idf = (1.0 + (n + 0.5) / 0.5).ln();
        ix
    }

    pub fn len(&self) -> usize {
        self.doc_len.len()
    }

    pub fn is_empty(&self) -> bool {
        self.doc_len.is_empty()
    }

    pub fn contains(&self, term: &str) -> bool {
        self.vocab.contains_key(term)
    }

    pub fn scope(&self, doc: u32) -> Scope {
        self.scopes[doc as usize]
    }

    /// The weight a slot brings to the query: its best known alternative's idf, or a fixed
    /// share of the largest idf when no alternative is known at all.
    fn slot_weight(&self, slot: &Slot) -> f64 {
        if slot.offtopic {
            return OFFTOPIC_FACTOR * self.max_idf;
        }
        let unknown = UNKNOWN_FACTOR * self.max_idf;
        let cap = if slot.context {
            CONTEXT_FACTOR * self.max_idf
        } else {
            f64::INFINITY
        };
        let best = slot
            .alts
            .iter()
            .filter_map(|a| {
                self.vocab
                    .get(&a.term)
                    .map(|&t| a.factor * self.idf[t as usize])
            })
            .fold(None, |m: Option<f64>, w| Some(m.map_or(w, |m| m.max(w))));
        let w = match best {
            // A few shared characters do not make an unknown word known.
            Some(w) if slot.unknown_word => w.max(unknown),
            Some(w) => w,
            None => unknown,
        };
        w.min(cap)
    }

    /// Every document visible under `visible` that shares a term with the query, best first.
    pub fn search(&self, slots: &[Slot], visible: impl Fn(Scope) -> bool) -> Vec<Hit> {
        let weights: Vec<f64> = slots.iter().map(|s| self.slot_weight(s)).collect();
        let total: f64 = weights.iter().sum();
        if total <= 0.0 {
            return Vec::new();
        }
        let n = slots.len();
        // Per document, per slot: (bm25 contribution, matched weight); a slot keeps its best.
        let mut rows: HashMap<u32, Vec<(f64, f64)>> = HashMap::new();
        for (si, slot) in slots.iter().enumerate() {
            for (ai, alt) in slot.alts.iter().enumerate() {
                let Some(&t) = self.vocab.get(&alt.term) else {
                    continue;
                };
                let idf = self.idf[t as usize];
                for &(doc, f) in &self.postings[t as usize] {
                    if !visible(self.scopes[doc as usize]) {
                        continue;
                    }
                    let f = f as f64;
                    let norm = 1.0 - B + B * self.doc_len[doc as usize] as f64 / self.avg_len;
                    let full = alt.factor * idf;
                    // A capped (context) slot explains only as much as its cap; it scores in
                    // full when the FAQ names the very word (空调 in "空调保修多久" tells the air
                    // conditioner's entry from the fridge's), capped through its concepts.
                    let matched = full.min(weights[si]);
                    let scored = if slot.context && ai == 0 {
                        full
                    } else {
                        matched
                    };
                    let bm25 = scored * f * (K1 + 1.0) / (f + K1 * norm);
                    let row = rows.entry(doc).or_insert_with(|| vec![(0.0, 0.0); n]);
                    let cell = &mut row[si];
                    cell.0 = cell.0.max(bm25);
                    cell.1 = cell.1.max(matched);
                }
            }
        }
        let mut hits: Vec<Hit> = rows
            .into_iter()
            .map(|(doc, row)| Hit {
                doc,
                score: row.iter().map(|c| c.0).sum(),
                coverage: (row.iter().map(|c| c.1).sum::<f64>() / total).min(1.0),
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.doc.cmp(&b.doc)));
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(terms: &[&str]) -> Slot {
        Slot {
            alts: terms
                .iter()
                .map(|t| Alt {
                    term: (*t).into(),
                    factor: 1.0,
                })
                .collect(),
            ..Slot::default()
        }
    }

    fn docs() -> Index {
        let d = |s: Scope, t: &[&str]| (s, t.iter().map(|t| (*t).to_owned()).collect());
        Index::build(vec![
            d(Scope::Platform, &["物流", "哪", "物流", "查询"]),
            d(Scope::Platform, &["发票", "开"]),
            d(Scope::Merchant(0), &["戒指", "尺寸"]),
            d(Scope::Merchant(1), &["戒指", "保养"]),
        ])
    }

    #[test]
    fn ranks_and_covers() {
        let ix = docs();
        let hits = ix.search(&[slot(&["快递", "物流"]), slot(&["哪"])], |_| true);
        assert_eq!(hits[0].doc, 0);
        assert!((hits[0].coverage - 1.0).abs() < 1e-9);
        let half = ix.search(&[slot(&["发票"]), slot(&["下雨"])], |_| true);
        assert_eq!(half[0].doc, 1);
        assert!(half[0].coverage < 1.0 && half[0].coverage > 0.5);
        assert!(ix.search(&[slot(&["下雨"])], |_| true).is_empty());
    }

    #[test]
    fn scopes_filter_documents() {
        let ix = docs();
        let q = [slot(&["戒指"])];
        let platform = ix.search(&q, |s| s == Scope::Platform);
        assert!(platform.is_empty());
        let a = ix.search(&q, |s| matches!(s, Scope::Platform | Scope::Merchant(0)));
        assert_eq!(a.iter().map(|h| h.doc).collect::<Vec<_>>(), [2]);
    }
}
