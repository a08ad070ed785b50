//! Words and terms. Chinese is segmented with jieba (its default dictionary taught the
//! lexicon's domain words), adjacent pieces that together form a lexicon word are joined again,
//! and every word brings the concepts it stands for. English goes through the English lexicon
//! instead, so both reach the same Chinese terms.

use super::lexicon::{EnglishTerm, Lexicon, english_words};
use super::text::is_cjk;
use jieba_rs::Jieba;
use std::sync::LazyLock;

/// One word of a message with the terms it may match: the word itself first, then its concepts.
#[derive(Clone, Debug, PartialEq)]
pub struct Unit {
    pub word: String,
    pub terms: Vec<String>,
}

static JIEBA: LazyLock<Jieba> = LazyLock::new(|| {
    let mut j = Jieba::new();
    let builtin = Lexicon::builtin();
    let signals = super::signals::Signals::builtin();
    for w in builtin.chinese_words().chain(signals.chinese_words()) {
        // A high frequency keeps domain words whole (双十一, 门店自提, 太差).
        j.add_word(w, Some(20_000), None);
    }
    j
});

/// Loads the segmenter's dictionary now rather than on the first message.
pub fn warm_up() {
    LazyLock::force(&JIEBA);
}

/// jieba's words of `text` (Simplified, folded), without spaces and punctuation, with adjacent
/// pieces joined when together they are a word the lexicon knows (a tenant's own words, or a
/// domain word jieba cut differently in context).
pub fn words(lexicon: &Lexicon, text: &str) -> Vec<String> {
    let raw: Vec<&str> = JIEBA
        .cut(text, true)
        .into_iter()
        .map(|t| t.word)
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .collect();
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let mut taken = 1;
        for n in (2..=3.min(raw.len() - i)).rev() {
            let joined: String = raw[i..i + n].concat();
            if lexicon.knows(&joined) {
                out.push(joined);
                taken = n;
                break;
            }
        }
        if taken == 1 {
            out.push(raw[i].to_owned());
        }
        i += taken;
    }
    out
}

fn unit(lexicon: &Lexicon, word: String) -> Unit {
    let mut terms = vec![word.clone()];
    terms.extend(lexicon.concepts(&word).iter().cloned());
    Unit { word, terms }
}

/// The matching units of Chinese (or mixed) text: stop words dropped, Latin words reduced to
/// their dictionary form and looked up in the English lexicon.
pub fn chinese_units(lexicon: &Lexicon, text: &str) -> Vec<Unit> {
    let mut out = Vec::new();
    for w in words(lexicon, text) {
        if lexicon.is_stopword(&w) {
            continue;
        }
        if w.chars().all(|c| c.is_ascii_alphabetic()) && !lexicon.knows(&w) {
            let lemma = lexicon.lemma(&w);
            match lexicon.english_terms(std::slice::from_ref(&lemma)).pop() {
                Some(EnglishTerm::Mapped(zh)) => {
                    out.extend(zh.into_iter().map(|t| unit(lexicon, t)));
                    continue;
                }
                _ if lexicon.is_stopword(&lemma) => continue,
                _ => {}
            }
        }
        out.push(unit(lexicon, w));
    }
    out
}

/// The matching units of English text: dictionary forms, longest lexicon phrases first, then
/// the Chinese terms they name; unknown words stay (they count against confidence).
pub fn english_units(lexicon: &Lexicon, text: &str) -> Vec<Unit> {
    let lemmas: Vec<String> = english_words(text)
        .iter()
        .map(|w| lexicon.lemma(w))
        .collect();
    let mut out = Vec::new();
    for t in lexicon.english_terms(&lemmas) {
        match t {
            EnglishTerm::Mapped(zh) => out.extend(zh.into_iter().map(|t| unit(lexicon, t))),
            EnglishTerm::Unknown(w) if lexicon.is_stopword(&w) => {}
            EnglishTerm::Unknown(w) if w.chars().all(|c| c.is_ascii_digit()) => {}
            EnglishTerm::Unknown(w) => out.push(Unit {
                terms: vec![w.clone()],
                word: w,
            }),
        }
    }
    out
}

/// Character unigrams and bigrams of the Chinese runs of `text`: the fallback for words the
/// knowledge base never uses.
pub fn char_grams(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut prev: Option<char> = None;
    for c in text.chars() {
        if is_cjk(c) {
            out.push(char_key(&[c]));
            if let Some(p) = prev {
                out.push(char_key(&[p, c]));
            }
            prev = Some(c);
        } else {
            prev = None;
        }
    }
    out
}

/// Character features live in their own namespace so that 发票 the word and 发票 the bigram
/// are different terms.
pub fn char_key(chars: &[char]) -> String {
    let mut s = String::with_capacity(1 + chars.len() * 3);
    s.push('\u{1}');
    s.extend(chars);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws(text: &str) -> Vec<String> {
        words(&Lexicon::builtin(), text)
    }

    #[test]
    fn domain_words_stay_whole() {
        assert!(
            ws("双十一有什么活动").contains(&"双十一".to_owned()),
            "{:?}",
            ws("双十一有什么活动")
        );
        assert!(ws("双11满减规则").contains(&"双11".to_owned()));
        assert!(ws("门市自取要带什么").contains(&"自取".to_owned()));
        assert!(ws("你们服务太差了").contains(&"太差".to_owned()));
    }

    #[test]
    fn units_carry_concepts_and_drop_stop_words() {
        let lex = Lexicon::builtin();
        let u = chinese_units(&lex, "送来的香蕉都黑了");
        let banana = u.iter().find(|u| u.word == "香蕉").expect("香蕉");
        assert!(banana.terms.contains(&"生鲜".to_owned()));
        assert!(u.iter().all(|u| u.word != "的" && u.word != "了"), "{u:?}");
    }

    #[test]
    fn english_reaches_the_same_terms() {
        let lex = Lexicon::builtin();
        let u = english_units(&lex, "I was charged but the order failed");
        let terms: Vec<&str> = u.iter().map(|u| u.terms[0].as_str()).collect();
        assert_eq!(terms, ["扣款", "订单", "失败"]);
    }

    #[test]
    fn char_grams_fall_back_for_unknown_words() {
        let g = char_grams("鞋子ok");
        assert_eq!(
            g,
            [
                char_key(&['鞋']),
                char_key(&['子']),
                char_key(&['鞋', '子'])
            ]
        );
    }
}
