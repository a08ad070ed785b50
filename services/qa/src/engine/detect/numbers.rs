//! Numbers that are personal data in themselves, recognised by their structure and check
//! digits rather than their context: bank cards (issuer prefix and the Luhn check), mainland
//! resident identity cards (18 characters, ISO 7064 MOD 11-2 check and a real birth date),
//! Hong Kong identity cards (check digit) and Taiwan national IDs (check digit). A masked
//! number (`6222 **** **** 0128`) or an order number that merely has many digits is none of
//! these.

use std::sync::LazyLock;

/// What a number is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PersonalNumber {
    BankCard,
    MainlandId,
    HongKongId,
    TaiwanId,
}

/// Digit runs, allowing single spaces or dashes between groups (`6222-0212-3456-7890`), not
/// glued to letters (`LJ2026110855320117` is an order number); with whether it was grouped.
fn digit_runs(text: &str) -> Vec<(String, bool)> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].1.is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        let mut digits = String::new();
        let mut grouped = false;
        while i < chars.len() {
            let c = chars[i].1;
            if c.is_ascii_digit() {
                digits.push(c);
                i += 1;
            } else if (c == ' ' || c == '-')
                && i + 1 < chars.len()
                && chars[i + 1].1.is_ascii_digit()
                && digits.len() >= 3
            {
                grouped = true;
                i += 1;
            } else {
                break;
            }
        }
        let glued_before = start > 0 && chars[start - 1].1.is_ascii_alphabetic();
        let glued_after = i < chars.len() && chars[i].1.is_ascii_alphabetic();
        // An 18-character ID may end in X.
        let x_check = i < chars.len() && matches!(chars[i].1, 'x' | 'X') && digits.len() == 17;
        if x_check {
            digits.push('X');
            i += 1;
        }
        let glued_after = if x_check {
            i < chars.len() && chars[i].1.is_ascii_alphanumeric()
        } else {
            glued_after
        };
        if !glued_before && !glued_after {
            out.push((digits, grouped));
        }
    }
    out
}

pub fn luhn(digits: &str) -> bool {
    let mut sum = 0;
    for (i, c) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(c - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

/// Issuer prefixes of the card networks customers in China, Hong Kong and Taiwan carry:
/// UnionPay 62, Visa 4, Mastercard 51–55 and 2221–2720, American Express 34 and 37, JCB 35,
/// Discover 6011 and 65, Diners 36 and 38.
fn card_prefix(d: &str) -> bool {
    let n = |k: usize| d.get(..k).and_then(|p| p.parse::<u32>().ok()).unwrap_or(0);
    d.starts_with('4')
        || (51..=55).contains(&n(2))
        || (2221..=2720).contains(&n(4))
        || matches!(n(2), 34 | 35 | 36 | 37 | 38 | 62 | 65)
        || n(4) == 6011
}

pub fn bank_card(digits: &str, grouped: bool, card_context: bool) -> bool {
    let len = digits.len();
    (13..=19).contains(&len)
        && digits.bytes().all(|b| b.is_ascii_digit())
        && card_prefix(digits)
        && luhn(digits)
        // 13–15 digits without grouping or a card word could be a parcel number.
        && (len >= 16 || grouped || card_context)
}

fn valid_date(y: u32, m: u32, d: u32) -> bool {
    chrono::NaiveDate::from_ymd_opt(y as i32, m, d).is_some()
}

pub fn mainland_id(id: &str) -> bool {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let b = id.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = b[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(c, w)| u32::from(c - b'0') * w)
        .sum();
    if b[17].to_ascii_uppercase() != CHECK[(sum % 11) as usize] {
        return false;
    }
    let num = |r: std::ops::Range<usize>| id[r].parse::<u32>().unwrap_or(0);
    let (y, m, d) = (num(6..10), num(10..12), num(12..14));
    (1900..=2100).contains(&y) && valid_date(y, m, d) && num(0..2) >= 11
}

/// `A123456(7)`, `AB9876543`: one or two letters, six digits, a check digit or A.
pub fn hong_kong_id(candidate: &str) -> bool {
    let s: String = candidate
        .chars()
        .filter(|c| !matches!(c, '(' | ')' | ' '))
        .collect::<String>()
        .to_ascii_uppercase();
    let b = s.as_bytes();
    let letters = b.iter().take_while(|c| c.is_ascii_uppercase()).count();
    if !(1..=2).contains(&letters) || b.len() != letters + 7 {
        return false;
    }
    let body = &b[letters..letters + 6];
    let check = b[letters + 6];
    if !body.iter().all(u8::is_ascii_digit) || !(check.is_ascii_digit() || check == b'A') {
        return false;
    }
    let letter = |c: u8| u32::from(c - b'A') + 10;
    let mut sum = if letters == 2 {
        letter(b[0]) * 9 + letter(b[1]) * 8
    } else {
        36 * 9 + letter(b[0]) * 8
    };
    for (i, c) in body.iter().enumerate() {
        sum += u32::from(c - b'0') * (7 - i as u32);
    }
    let expected = (11 - sum % 11) % 11;
    let got = if check == b'A' {
        10
    } else {
        u32::from(check - b'0')
    };
    expected == got
}

/// `A123456789`: a letter, 1 or 2 (or 8/9 for residents), eight digits, with the check digit.
pub fn taiwan_id(candidate: &str) -> bool {
    const CODES: &str = "ABCDEFGHJKLMNPQRSTUVXYWZIO";
    let s = candidate.to_ascii_uppercase();
    let b = s.as_bytes();
    if b.len() != 10
        || !b[1..].iter().all(u8::is_ascii_digit)
        || !matches!(b[1], b'1' | b'2' | b'8' | b'9')
    {
        return false;
    }
    let Some(pos) = CODES.find(b[0] as char) else {
        return false;
    };
    let code = pos as u32 + 10;
    let mut sum = code / 10 + (code % 10) * 9;
    for (i, c) in b[1..9].iter().enumerate() {
        sum += u32::from(c - b'0') * (8 - i as u32);
    }
    sum += u32::from(b[9] - b'0');
    sum.is_multiple_of(10)
}

static LETTER_IDS: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"(?i)\b([a-z]{1,2}\d{6}\s?\(?[0-9a]\)?|[a-z]\d{9})\b")
        .expect("a built-in pattern compiles")
});

const CARD_WORDS: &[&str] = &["卡", "card", "visa", "银联", "信用", "debit", "credit"];

/// Every personal number written out in full in `text` (normalised or not).
pub fn personal_numbers(text: &str) -> Vec<PersonalNumber> {
    let lower = text.to_lowercase();
    let card_context = CARD_WORDS.iter().any(|w| lower.contains(w));
    let mut found = Vec::new();
    for (digits, grouped) in digit_runs(text) {
        if mainland_id(&digits) {
            found.push(PersonalNumber::MainlandId);
        } else if bank_card(&digits, grouped, card_context) {
            found.push(PersonalNumber::BankCard);
        }
    }
    for m in LETTER_IDS.find_iter(text) {
        let s = m.as_str();
        if taiwan_id(s) {
            found.push(PersonalNumber::TaiwanId);
        } else if hong_kong_id(s) {
            found.push(PersonalNumber::HongKongId);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_numbers_need_a_prefix_and_the_luhn_check() {
        assert!(luhn("4111111111111111"));
        assert_eq!(
            personal_numbers("卡号是 4111 1111 1111 1111"),
            [PersonalNumber::BankCard]
        );
        assert_eq!(
            personal_numbers("6222 0212 3456 7890 128"),
            [PersonalNumber::BankCard]
        );
        assert_eq!(personal_numbers("6212260200012345670").len(), 1);
        assert!(
            personal_numbers("6212260200012345675").is_empty(),
            "fails the Luhn check"
        );
        assert!(personal_numbers("订单 LJ2026110855320117").is_empty());
        assert!(personal_numbers("6222 **** **** 0128").is_empty());
        assert!(
            personal_numbers("order 2026110855320117").is_empty(),
            "no card prefix"
        );
    }

    #[test]
    fn identity_numbers_need_their_check_digits() {
        assert!(mainland_id("11010519491231002X"));
        assert!(!mainland_id("110105194912310021"), "wrong check digit");
        assert!(!mainland_id("110105194913310023"), "no 13th month");
        assert_eq!(
            personal_numbers("身份证号 11010519491231002x 对吗"),
            [PersonalNumber::MainlandId]
        );
        assert!(hong_kong_id("A123456(3)"));
        assert!(!hong_kong_id("A123456(4)"));
        assert!(taiwan_id("A123456789"));
        assert!(!taiwan_id("A123456788"));
        assert_eq!(
            personal_numbers("ID A123456789"),
            [PersonalNumber::TaiwanId]
        );
    }
}
