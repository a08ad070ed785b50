//! Customer and agent text before anything compares it, shared by the bot (FAQ matching) and
//! QA (inspection rules and classifiers): full-width → half-width, case folding, Traditional →
//! Simplified with OpenCC's dictionaries (phrases first, then characters), and the writer's
//! script or language (so that answers go back in it).

use ferrous_opencc::OpenCC;
use ferrous_opencc::config::BuiltinConfig;
use std::sync::LazyLock;

/// The writer's script or language (the bot reports it in its answers).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Language {
    /// Simplified Chinese (also the answer for mixed or unknown text).
    #[default]
    ZhHans,
    /// Traditional Chinese: answers are converted to Traditional.
    ZhHant,
    /// English: system texts in English.
    En,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::ZhHans => "zh-Hans",
            Language::ZhHant => "zh-Hant",
            Language::En => "en",
        }
    }

    /// The language of a code as [`Self::as_str`] writes it.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "zh-Hans" => Some(Language::ZhHans),
            "zh-Hant" => Some(Language::ZhHant),
            "en" => Some(Language::En),
            _ => None,
        }
    }

    /// The one of three texts written for this language.
    pub fn t(self, hans: &'static str, hant: &'static str, en: &'static str) -> &'static str {
        match self {
            Language::ZhHans => hans,
            Language::ZhHant => hant,
            Language::En => en,
        }
    }
}

struct Converters {
    t2s: OpenCC,
    s2t: OpenCC,
}

static OPENCC: LazyLock<Converters> = LazyLock::new(|| Converters {
    // The dictionaries are compiled into the crate; failing here means a broken build.
    t2s: OpenCC::from_config(BuiltinConfig::T2s).expect("built-in OpenCC t2s"),
    // Taiwan standard characters (為, 裡): what most Traditional-script customers read; the
    // vocabulary stays as written.
    s2t: OpenCC::from_config(BuiltinConfig::S2tw).expect("built-in OpenCC s2tw"),
});

/// Loads the conversion tables now rather than on the first message.
pub fn warm_up() {
    LazyLock::force(&OPENCC);
}

pub fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// Traditional → Simplified (OpenCC `t2s`); Simplified text comes back unchanged.
pub fn to_simplified(text: &str) -> String {
    if !text.chars().any(is_cjk) {
        return text.to_owned();
    }
    OPENCC.t2s.convert(text)
}

/// Simplified → Traditional (OpenCC `s2tw`), for answers to Traditional-script customers.
pub fn to_traditional(text: &str) -> String {
    if !text.chars().any(is_cjk) {
        return text.to_owned();
    }
    OPENCC.s2t.convert(text)
}

/// Full-width ASCII → half-width, ideographic space → space, lower case.
pub fn fold_width_case(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = match c as u32 {
            0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            0x3000 => ' ',
            _ => c,
        };
        out.extend(c.to_lowercase());
    }
    out
}

/// The language of a message: English when it has Latin letters and no Chinese; otherwise
/// Traditional when more of its characters are Traditional-only than Simplified-only.
pub fn detect(folded: &str, simplified: &str) -> Language {
    let cjk = folded.chars().filter(|&c| is_cjk(c)).count();
    if cjk == 0 {
        return if folded.chars().any(|c| c.is_ascii_alphabetic()) {
            Language::En
        } else {
            Language::ZhHans
        };
    }
    // Characters the t2s conversion changed are Traditional forms; characters that s2t would
    // change are Simplified forms. Phrase conversion keeps the character count in practice;
    // when it does not, any change counts as Traditional.
    let traditional = if folded.chars().count() == simplified.chars().count() {
        folded
            .chars()
            .zip(simplified.chars())
            .filter(|(a, b)| a != b)
            .count()
    } else {
        cjk
    };
    if traditional == 0 {
        return Language::ZhHans;
    }
    let as_traditional = to_traditional(folded);
    let simplified_only = if as_traditional.chars().count() == folded.chars().count() {
        folded
            .chars()
            .zip(as_traditional.chars())
            .filter(|(a, b)| a != b)
            .count()
    } else {
        0
    };
    if traditional > simplified_only {
        Language::ZhHant
    } else {
        Language::ZhHans
    }
}

/// A message ready for matching.
#[derive(Clone, Debug)]
pub struct Normalized {
    /// Width- and case-folded, Simplified script.
    pub text: String,
    pub language: Language,
}

pub fn normalize(raw: &str) -> Normalized {
    let folded = fold_width_case(raw);
    let text = to_simplified(&folded);
    let language = detect(&folded, &text);
    Normalized { text, language }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_width_and_case() {
        assert_eq!(
            fold_width_case("ＨＥＬＬＯ，Ｗｏｒｌｄ１２３"),
            "hello,world123"
        );
        assert_eq!(fold_width_case("ＧＩＡ证书"), "gia证书");
    }

    #[test]
    fn converts_traditional_phrases_and_characters() {
        assert_eq!(to_simplified("東西什麼時候寄出"), "东西什么时候寄出");
        assert_eq!(to_simplified("門市自取要帶什麼"), "门市自取要带什么");
        assert_eq!(to_simplified("頭髮乾燥"), "头发干燥");
        assert_eq!(to_simplified("臺灣的發票"), "台湾的发票");
        // Simplified text is left alone (a partial table would turn 么 into 幺).
        assert_eq!(to_simplified("怎么还不发货"), "怎么还不发货");
        assert_eq!(to_simplified("著名的著作"), "著名的著作");
    }

    #[test]
    fn converts_answers_to_traditional() {
        assert_eq!(
            to_traditional("请选择您要查询的订单"),
            "請選擇您要查詢的訂單"
        );
        assert_eq!(to_traditional("叶菜和浆果"), "葉菜和漿果");
        assert_eq!(to_traditional("我已为您登记"), "我已為您登記");
    }

    #[test]
    fn detects_the_customers_language() {
        let lang = |s: &str| normalize(s).language;
        assert_eq!(lang("快递到哪儿了呀"), Language::ZhHans);
        assert_eq!(lang("東西什麼時候寄出"), Language::ZhHant);
        assert_eq!(lang("門市自取要帶什麼"), Language::ZhHant);
        assert_eq!(lang("I was charged but the order failed"), Language::En);
        assert_eq!(lang("ＨＯＷ ＬＯＮＧ"), Language::En);
        assert_eq!(lang("钻石有GIA证书吗"), Language::ZhHans);
        assert_eq!(lang("12315"), Language::ZhHans);
        // Characters shared by both scripts do not make a message Traditional.
        assert_eq!(lang("我要投诉"), Language::ZhHans);
    }
}
