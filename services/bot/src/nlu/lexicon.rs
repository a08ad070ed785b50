//! The language data behind matching, kept as text files under `services/bot/data/` so that
//! they can be read, reviewed and extended without touching code: domain synonyms
//! (`synonyms.txt`), the English → Chinese concept lexicon (`en-lexicon.txt`) and stop words
//! (`stopwords.txt`) and written variants rewritten before anything else (`variants.txt`:
//! Cantonese, typing slips and homophones, pinyin abbreviations). A tenant adds its own synonyms
//! (and variants, under a `[variants]` header) with [`Lexicon::extend_synonyms`].

use std::collections::{HashMap, HashSet};

pub const SYNONYMS: &str = include_str!("../../data/synonyms.txt");
pub const EN_LEXICON: &str = include_str!("../../data/en-lexicon.txt");
pub const STOPWORDS: &str = include_str!("../../data/stopwords.txt");
pub const VARIANTS: &str = include_str!("../../data/variants.txt");

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{file} line {line}: {reason}")]
pub struct LexiconError {
    pub file: String,
    pub line: usize,
    pub reason: String,
}

#[derive(Clone, Debug, Default)]
pub struct Lexicon {
    /// Word → the concepts it stands for, following chains (香蕉 → 水果 → 生鲜); the word itself
    /// is not included.
    concepts: HashMap<String, Vec<String>>,
    /// Direct edges before the closure, kept so that extensions can recompute it.
    edges: HashMap<String, Vec<String>>,
    /// English lemma phrase (words joined by one space) → Chinese terms.
    english: HashMap<String, Vec<String>>,
    english_longest: usize,
    /// Every word of an English phrase, to find dictionary forms.
    english_vocab: HashSet<String>,
    /// Irregular English forms → dictionary form.
    irregular: HashMap<String, String>,
    stopwords: HashSet<String>,
    /// Concepts marked `~`: function words, not topics.
    generic: HashSet<String>,
    /// Concepts marked `^`: context categories (products, people, places), weighing little.
    context: HashSet<String>,
    /// First character of a variant → (variant, standard), longest variant first.
    variants: HashMap<char, Vec<(String, String)>>,
}

/// Non-empty, non-comment lines with their 1-based numbers.
pub(crate) fn data_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

impl Lexicon {
    /// The lexicon shipped with Kefu.
    pub fn builtin() -> Self {
        let mut lex = Lexicon::default();
        lex.extend_synonyms("synonyms.txt", SYNONYMS)
            .expect("built-in synonyms.txt");
        lex.extend_english("en-lexicon.txt", EN_LEXICON)
            .expect("built-in en-lexicon.txt");
        lex.extend_variants("variants.txt", VARIANTS)
            .expect("built-in variants.txt");
        for (_, line) in data_lines(STOPWORDS) {
            lex.stopwords
                .extend(line.split_whitespace().map(str::to_owned));
        }
        lex
    }

    /// Adds `concept: word word …` lines (the format of `synonyms.txt`); lines after a
    /// `[variants]` header are variants (the format of `variants.txt`).
    pub fn extend_synonyms(&mut self, file: &str, text: &str) -> Result<(), LexiconError> {
        let mut in_variants = false;
        let mut other_section = false;
        let mut variants = String::new();
        for (line, raw) in data_lines(text) {
            let err = |reason: &str| LexiconError {
                file: file.into(),
                line,
                reason: reason.into(),
            };
            if raw.starts_with('[') && raw.ends_with(']') {
                // `[variants]` is read here; the signal sections (`[human]`, …) elsewhere.
                in_variants = raw == "[variants]";
                other_section = !in_variants;
                continue;
            }
            if other_section {
                continue;
            }
            if in_variants {
                // Keep the line numbers: blank lines stand in for the others.
                while variants.lines().count() + 1 < line {
                    variants.push('\n');
                }
                variants.push_str(raw);
                variants.push('\n');
                continue;
            }
            let (concept, words) = raw
                .split_once(':')
                .ok_or_else(|| err("expected `concept: word word …`"))?;
            let mut concept = concept.trim().to_lowercase();
            if let Some(c) = concept.strip_prefix('~') {
                concept = c.to_owned();
                self.generic.insert(concept.clone());
            } else if let Some(c) = concept.strip_prefix('^') {
                concept = c.to_owned();
                self.context.insert(concept.clone());
            }
            if concept.is_empty() || concept.contains(char::is_whitespace) {
                return Err(err("the concept must be one word"));
            }
            for w in words.split_whitespace() {
                let w = w.to_lowercase();
                if w != concept {
                    let e = self.edges.entry(w).or_default();
                    if !e.contains(&concept) {
                        e.push(concept.clone());
                    }
                }
            }
            self.edges.entry(concept).or_default();
        }
        self.close();
        if !variants.is_empty() {
            self.extend_variants(file, &variants)?;
        }
        Ok(())
    }

    /// Adds `standard: variant variant …` lines (the format of `variants.txt`).
    pub fn extend_variants(&mut self, file: &str, text: &str) -> Result<(), LexiconError> {
        for (line, raw) in data_lines(text) {
            let err = |reason: &str| LexiconError {
                file: file.into(),
                line,
                reason: reason.into(),
            };
            let (standard, variants) = raw
                .split_once(':')
                .ok_or_else(|| err("expected `standard: variant variant …`"))?;
            let standard = standard.trim().to_lowercase();
            if standard.is_empty() || standard.contains(char::is_whitespace) {
                return Err(err("the standard form must be one word"));
            }
            for v in variants.split_whitespace() {
                let v = v.to_lowercase();
                let Some(first) = v.chars().next() else {
                    continue;
                };
                let list = self.variants.entry(first).or_default();
                list.retain(|(old, _)| *old != v);
                list.push((v, standard.clone()));
                list.sort_by_key(|(v, _)| std::cmp::Reverse(v.chars().count()));
            }
        }
        Ok(())
    }

    /// `text` (folded, Simplified) with every variant replaced by its standard form, longest
    /// variant first at each position; Latin variants only as whole words, and only when
    /// `latin` (not for English messages, where `kd` or `dd` mean something else).
    pub fn rewrite(&self, text: &str, latin: bool) -> String {
        if self.variants.is_empty() {
            return text.to_owned();
        }
        let mut out = String::with_capacity(text.len() + 8);
        let mut i = 0;
        while i < text.len() {
            let rest = &text[i..];
            let c = rest.chars().next().expect("i is on a char boundary");
            let prev_alnum = out
                .chars()
                .last()
                .is_some_and(|p| p.is_ascii_alphanumeric());
            let hit = self.variants.get(&c).and_then(|list| {
                list.iter().find(|(v, _)| {
                    if !rest.starts_with(v.as_str()) {
                        return false;
                    }
                    if !v.is_ascii() {
                        return true;
                    }
                    let next_alnum = rest[v.len()..]
                        .chars()
                        .next()
                        .is_some_and(|n| n.is_ascii_alphanumeric());
                    latin && !prev_alnum && !next_alnum
                })
            });
            match hit {
                Some((v, standard)) => {
                    out.push_str(standard);
                    i += v.len();
                }
                None => {
                    out.push(c);
                    i += c.len_utf8();
                }
            }
        }
        out
    }

    /// Adds `english, english phrase: 中文 词` lines and `> form: lemma` irregular forms (the
    /// format of `en-lexicon.txt`).
    pub fn extend_english(&mut self, file: &str, text: &str) -> Result<(), LexiconError> {
        for (line, raw) in data_lines(text) {
            let err = |reason: &str| LexiconError {
                file: file.into(),
                line,
                reason: reason.into(),
            };
            if let Some(rest) = raw.strip_prefix('>') {
                let (form, lemma) = rest
                    .split_once(':')
                    .ok_or_else(|| err("expected `> form: lemma`"))?;
                self.irregular
                    .insert(form.trim().to_lowercase(), lemma.trim().to_lowercase());
                continue;
            }
            let (en, zh) = raw
                .split_once(':')
                .ok_or_else(|| err("expected `english, phrase: 中文 词`"))?;
            let zh: Vec<String> = zh.split_whitespace().map(str::to_owned).collect();
            if zh.is_empty() {
                return Err(err("no Chinese term after `:`"));
            }
            for phrase in en.split(',') {
                let words = english_words(phrase);
                if words.is_empty() {
                    continue;
                }
                // Phrases are stored in dictionary form so that "charged" finds "charge".
                let key = words
                    .iter()
                    .map(|w| self.lemma_of_known(w))
                    .collect::<Vec<_>>()
                    .join(" ");
                self.english_longest = self.english_longest.max(words.len());
                self.english_vocab.extend(key.split(' ').map(str::to_owned));
                let e = self.english.entry(key).or_default();
                for t in &zh {
                    if !e.contains(t) {
                        e.push(t.clone());
                    }
                }
            }
        }
        Ok(())
    }

    /// Recomputes every word's concepts from the direct edges.
    fn close(&mut self) {
        let mut concepts = HashMap::with_capacity(self.edges.len());
        for word in self.edges.keys() {
            let mut seen: Vec<String> = Vec::new();
            let mut stack: Vec<&String> = self.edges[word].iter().collect();
            while let Some(c) = stack.pop() {
                if c == word || seen.contains(c) {
                    continue;
                }
                seen.push(c.clone());
                if let Some(next) = self.edges.get(c) {
                    stack.extend(next.iter());
                }
            }
            if !seen.is_empty() {
                concepts.insert(word.clone(), seen);
            }
        }
        self.concepts = concepts;
    }

    /// The concepts `word` stands for (empty when it is its own concept or unknown).
    pub fn concepts(&self, word: &str) -> &[String] {
        self.concepts.get(word).map_or(&[], Vec::as_slice)
    }

    /// Whether the synonym table knows the word (as a word or a concept).
    pub fn knows(&self, word: &str) -> bool {
        self.edges.contains_key(word)
    }

    /// A topic word of the domain: known to the synonym table and not a function word.
    pub fn is_topical(&self, word: &str) -> bool {
        let concepts = self.concepts(word);
        self.knows(word)
            && !self.generic.contains(word)
            && (concepts.is_empty() || concepts.iter().any(|c| !self.generic.contains(c)))
    }

    /// A word of a context category (`^` in the synonyms: a product, a relative, a place) or
    /// the category itself.
    pub fn is_context(&self, word: &str) -> bool {
        !self.context.is_empty()
            && (self.context.contains(word)
                || self.concepts(word).iter().any(|c| self.context.contains(c)))
    }

    pub fn is_stopword(&self, word: &str) -> bool {
        self.stopwords.contains(word)
    }

    /// Every multi-character Chinese word of the tables, to teach the segmenter.
    pub fn chinese_words(&self) -> impl Iterator<Item = &str> {
        self.edges
            .keys()
            .chain(self.english.values().flatten())
            .map(String::as_str)
            .filter(|w| w.chars().count() >= 2 && w.chars().any(super::text::is_cjk))
    }

    /// The dictionary form of an English word: irregular forms from the table, then regular
    /// endings stripped until a form the lexicon lists appears; unknown words are kept.
    pub fn lemma(&self, word: &str) -> String {
        if let Some(l) = self.irregular.get(word) {
            return l.clone();
        }
        if self.is_english_head(word) {
            return word.to_owned();
        }
        for cand in lemma_candidates(word) {
            if self.is_english_head(&cand) {
                return cand;
            }
        }
        word.to_owned()
    }

    /// Like [`Self::lemma`] while the table is being built: irregular forms only.
    fn lemma_of_known(&self, word: &str) -> String {
        self.irregular
            .get(word)
            .cloned()
            .unwrap_or_else(|| word.to_owned())
    }

    fn is_english_head(&self, word: &str) -> bool {
        self.english_vocab.contains(word)
    }

    /// English words → Chinese terms, longest listed phrase first; words the lexicon does not
    /// know come back as themselves (stop words are dropped later).
    pub fn english_terms(&self, lemmas: &[String]) -> Vec<EnglishTerm> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < lemmas.len() {
            let mut matched = false;
            for n in (1..=self.english_longest.min(lemmas.len() - i)).rev() {
                let key = lemmas[i..i + n].join(" ");
                if let Some(zh) = self.english.get(&key) {
                    out.push(EnglishTerm::Mapped(zh.clone()));
                    i += n;
                    matched = true;
                    break;
                }
            }
            if !matched {
                out.push(EnglishTerm::Unknown(lemmas[i].clone()));
                i += 1;
            }
        }
        out
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnglishTerm {
    Mapped(Vec<String>),
    Unknown(String),
}

/// Lower-case English words; `don't` → `don't` kept whole, other punctuation splits.
pub fn english_words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '.' || c == '-'))
        .map(|w| w.trim_matches(|c| c == '\'' || c == '.' || c == '-'))
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect()
}

/// Possible dictionary forms of a regular English form, most specific first.
fn lemma_candidates(w: &str) -> Vec<String> {
    let mut out = Vec::new();
    let strip = |suffix: &str| w.strip_suffix(suffix).filter(|s| s.len() >= 2);
    if let Some(s) = strip("ies") {
        out.push(format!("{s}y"));
    }
    if let Some(s) = strip("ied") {
        out.push(format!("{s}y"));
    }
    if let Some(s) = strip("es") {
        out.push(s.to_owned());
    }
    if let Some(s) = strip("s")
        && !w.ends_with("ss")
    {
        out.push(s.to_owned());
    }
    for suffix in ["ed", "ing"] {
        if let Some(s) = strip(suffix) {
            out.push(s.to_owned());
            out.push(format!("{s}e"));
            // shipped → ship, stopped → stop
            let b = s.as_bytes();
            if b.len() >= 2 && b[b.len() - 1] == b[b.len() - 2] {
                out.push(s[..s.len() - 1].to_owned());
            }
        }
    }
    if let Some(s) = strip("d") {
        out.push(s.to_owned());
    }
    if let Some(s) = strip("er") {
        out.push(s.to_owned());
    }
    if let Some(s) = strip("ly") {
        out.push(s.to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synonyms_follow_chains() {
        let lex = Lexicon::builtin();
        let c = lex.concepts("香蕉");
        assert!(
            c.contains(&"水果".to_owned()) && c.contains(&"生鲜".to_owned()),
            "{c:?}"
        );
        assert!(lex.concepts("快递").contains(&"物流".to_owned()));
        assert!(lex.concepts("开票").contains(&"发票".to_owned()));
        assert!(lex.concepts("真人").contains(&"人工".to_owned()));
        assert!(lex.concepts("物流").is_empty());
    }

    #[test]
    fn tenants_extend_the_table() {
        let mut lex = Lexicon::builtin();
        assert!(lex.concepts("跨越速运").is_empty());
        lex.extend_synonyms("tenant.txt", "物流: 跨越速运 京东快递\n")
            .unwrap();
        assert!(lex.concepts("跨越速运").contains(&"物流".to_owned()));
        let e = lex.extend_synonyms("tenant.txt", "\n# c\nno colon here\n");
        assert_eq!(e.unwrap_err().line, 3);
    }

    #[test]
    fn variants_are_rewritten_and_tenants_add_their_own() {
        let mut lex = Lexicon::builtin();
        assert_eq!(lex.rewrite("我啲嘢寄咗出嚟", true), "我些东西寄了出来");
        assert_eq!(
            lex.rewrite("快第到哪了 咋还不法货", true),
            "快递到哪了 咋还不发货"
        );
        assert_eq!(lex.rewrite("wl信息 转rg", true), "物流信息 转人工");
        // Latin variants only as whole words, and not in English messages.
        assert_eq!(lex.rewrite("world", true), "world");
        assert_eq!(lex.rewrite("rg", false), "rg");
        assert_eq!(lex.rewrite("唔系投诉", true), "不是投诉");
        // A word holding a rewritten character stays whole.
        assert_eq!(lex.rewrite("哈啰，好啰", true), "哈啰，好了");
        lex.extend_synonyms("tenant.txt", "物流: 顺丰\n[variants]\n顺丰: 顺风\n")
            .unwrap();
        assert_eq!(lex.rewrite("顺风到哪了", true), "顺丰到哪了");
        assert!(lex.concepts("顺丰").contains(&"物流".to_owned()));
        let e = lex.extend_synonyms("tenant.txt", "[variants]\n\nno colon\n");
        assert_eq!(e.unwrap_err().line, 3);
    }

    #[test]
    fn english_words_reduce_to_their_dictionary_form() {
        let lex = Lexicon::builtin();
        assert_eq!(lex.lemma("refunded"), "refund");
        assert_eq!(lex.lemma("charges"), "charge");
        assert_eq!(lex.lemma("refunds"), "refund");
        assert_eq!(lex.lemma("deliveries"), "delivery");
        assert_eq!(lex.lemma("dispatched"), "dispatch");
        assert_eq!(lex.lemma("cancelling"), "cancel");
        assert_eq!(lex.lemma("paid"), "pay");
        assert_eq!(lex.lemma("packages"), "package");
        assert_eq!(lex.lemma("zebras"), "zebras");
    }

    #[test]
    fn english_phrases_map_to_chinese_terms() {
        let lex = Lexicon::builtin();
        let lemmas: Vec<String> = english_words("how long does delivery take")
            .iter()
            .map(|w| lex.lemma(w))
            .collect();
        let terms = lex.english_terms(&lemmas);
        assert!(
            terms.contains(&EnglishTerm::Mapped(vec!["多久".into()])),
            "{terms:?}"
        );
        assert!(
            terms.contains(&EnglishTerm::Mapped(vec!["配送".into()])),
            "{terms:?}"
        );
    }
}
