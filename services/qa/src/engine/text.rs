//! A message's text as every rule compares it: full-width folded to half-width, lower case,
//! Traditional converted to Simplified (OpenCC, shared with the bot in `kefu-text`), runs of
//! white space made one space and spaces between Chinese characters dropped (Chinese is not
//! written with spaces: a space inside a phrase hides nothing). Rules, phrases and patterns
//! are all matched against this form, so a phrase written in Simplified also catches its
//! Traditional or full-width spelling.

pub use kefu_text::{Language, is_cjk};
use std::sync::OnceLock;

/// One message, normalised once for every rule.
#[derive(Debug)]
pub struct Prepared {
    /// The normalised text.
    pub norm: String,
    pub language: Language,
    /// The classifiers' features, computed on first use.
    pub(crate) features: OnceLock<super::detect::features::Features>,
}

impl Prepared {
    pub fn new(raw: &str) -> Self {
        let folded = kefu_text::fold_width_case(raw);
        let simplified = kefu_text::to_simplified(&folded);
        let language = kefu_text::detect(&folded, &simplified);
        Self {
            norm: squeeze(&simplified),
            language,
            features: OnceLock::new(),
        }
    }

    /// The classifiers' view of the message.
    pub fn features(&self) -> &super::detect::features::Features {
        self.features
            .get_or_init(|| super::detect::features::Features::extract(&self.norm))
    }
}

/// Normalises a phrase or a pattern's literal the way messages are.
pub fn normalize(raw: &str) -> String {
    squeeze(&kefu_text::to_simplified(&kefu_text::fold_width_case(raw)))
}

fn is_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{200b}'
}

/// One space for each run of white space, none at the ends or next to a Chinese character.
fn squeeze(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    let mut last: Option<char> = None;
    for c in text.chars() {
        if is_space(c) {
            pending_space = last.is_some();
            continue;
        }
        if pending_space {
            let cjk_edge =
                last.is_some_and(|l| is_cjk(l) || is_cjk_punct(l)) || is_cjk(c) || is_cjk_punct(c);
            if !cjk_edge {
                out.push(' ');
            }
            pending_space = false;
        }
        out.push(c);
        last = Some(c);
    }
    out
}

/// Chinese punctuation (ideographic full stop, enumeration comma, quotes, brackets, ellipsis).
pub fn is_cjk_punct(c: char) -> bool {
    matches!(c as u32, 0x3000..=0x303F | 0x2018..=0x201F | 0x2026 | 0xFF00..=0xFF0F)
}

/// Whether `c` is part of a word for the purpose of phrase boundaries (Latin letters and
/// digits: `hi` must not match inside `this`; Chinese has no such boundaries).
pub fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The text split at sentence and clause punctuation, each piece trimmed, empty ones dropped.
pub fn clauses(norm: &str) -> impl Iterator<Item = &str> {
    norm.split(|c: char| {
        matches!(
            c,
            ',' | '.' | '!' | '?' | ';' | ':' | '。' | '、' | '…' | '~' | '\n'
        )
    })
    .map(str::trim)
    .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_case_script_and_spaces_are_folded() {
        assert_eq!(Prepared::new("愛買  不買！").norm, "爱买不买!");
        assert_eq!(Prepared::new("ＮＯＴ   my Job").norm, "not my job");
        assert_eq!(Prepared::new("  您好 ， 我是 小林 ").norm, "您好,我是小林");
        assert_eq!(Prepared::new("order 123 好的").norm, "order 123好的");
        assert_eq!(Prepared::new("你好 hello").norm, "你好hello");
        assert_eq!(Prepared::new("驗證碼").language, Language::ZhHant);
        assert_eq!(normalize("關我什麼事"), "关我什么事");
    }

    #[test]
    fn clauses_split_at_punctuation() {
        let c: Vec<&str> = clauses("好的,已为您处理。还有其他问题吗?").collect();
        assert_eq!(c, ["好的", "已为您处理", "还有其他问题吗"]);
    }
}
