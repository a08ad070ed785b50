//! Which language a customer writes in: English (no CJK), Traditional Chinese (characters
//! that only the Traditional script uses) or Simplified Chinese.

use crate::dialogue::Lang;

pub fn detect(text: &str) -> Lang {
    let mut cjk = 0usize;
    let mut latin = 0usize;
    let mut traditional = 0usize;
    for c in text.chars() {
        if ('\u{4e00}'..='\u{9fff}').contains(&c) {
            cjk += 1;
            if crate::normalize::is_traditional(c) {
                traditional += 1;
            }
        } else if c.is_ascii_alphabetic() {
            latin += 1;
        }
    }
    if cjk == 0 {
        return if latin > 0 { Lang::En } else { Lang::Hans };
    }
    if traditional > 0 {
        Lang::Hant
    } else {
        Lang::Hans
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_the_three_languages() {
        assert_eq!(detect("how long does delivery take"), Lang::En);
        assert_eq!(detect("東西什麼時候寄出"), Lang::Hant);
        assert_eq!(detect("快递到哪儿了呀"), Lang::Hans);
        assert_eq!(detect("D20261118001"), Lang::En);
        assert_eq!(detect("123"), Lang::Hans);
    }
}
