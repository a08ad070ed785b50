//! Text normalisation before matching: full-width → half-width, lower case, Traditional →
//! Simplified for common characters, punctuation and spaces removed between CJK characters.

/// Common Traditional characters and their Simplified forms (the ones customer-service
/// messages use most; the full conversion table arrives with the production bot).
const T2S: &[(char, char)] = &[
    ('東', '东'),
    ('麼', '么'),
    ('時', '时'),
    ('門', '门'),
    ('貨', '货'),
    ('發', '发'),
    ('訂', '订'),
    ('單', '单'),
    ('還', '还'),
    ('這', '这'),
    ('個', '个'),
    ('們', '们'),
    ('運', '运'),
    ('費', '费'),
    ('買', '买'),
    ('賣', '卖'),
    ('錢', '钱'),
    ('號', '号'),
    ('碼', '码'),
    ('電', '电'),
    ('話', '话'),
    ('會', '会'),
    ('員', '员'),
    ('優', '优'),
    ('務', '务'),
    ('問', '问'),
    ('題', '题'),
    ('請', '请'),
    ('謝', '谢'),
    ('說', '说'),
    ('開', '开'),
    ('關', '关'),
    ('換', '换'),
    ('帶', '带'),
    ('樣', '样'),
    ('點', '点'),
    ('幾', '几'),
    ('後', '后'),
    ('來', '来'),
    ('對', '对'),
    ('車', '车'),
    ('無', '无'),
    ('與', '与'),
    ('為', '为'),
    ('過', '过'),
    ('給', '给'),
    ('網', '网'),
    ('頁', '页'),
    ('聯', '联'),
    ('繫', '系'),
    ('線', '线'),
    ('寶', '宝'),
    ('貝', '贝'),
    ('遞', '递'),
    ('郵', '邮'),
    ('寄', '寄'),
    ('嗎', '吗'),
    ('麵', '面'),
    ('簡', '简'),
    ('體', '体'),
    ('價', '价'),
    ('格', '格'),
    ('減', '减'),
    ('滿', '满'),
    ('惠', '惠'),
    ('積', '积'),
    ('區', '区'),
    ('門', '门'),
    ('市', '市'),
    ('店', '店'),
    ('營', '营'),
    ('業', '业'),
    ('間', '间'),
    ('現', '现'),
    ('張', '张'),
    ('據', '据'),
    ('稅', '税'),
    ('壞', '坏'),
    ('損', '损'),
    ('實', '实'),
    ('際', '际'),
    ('質', '质'),
    ('量', '量'),
    ('尺', '尺'),
    ('寸', '寸'),
    ('戒', '戒'),
    ('指', '指'),
    ('鑽', '钻'),
    ('飾', '饰'),
    ('黃', '黄'),
    ('鑑', '鉴'),
    ('證', '证'),
    ('書', '书'),
    ('修', '修'),
    ('理', '理'),
    ('護', '护'),
    ('養', '养'),
    ('禮', '礼'),
    ('裝', '装'),
    ('帳', '账'),
    ('號', '号'),
    ('登', '登'),
    ('錄', '录'),
    ('銷', '销'),
    ('戶', '户'),
    ('碼', '码'),
    ('密', '密'),
    ('紅', '红'),
    ('歡', '欢'),
    ('迎', '迎'),
    ('話', '话'),
    ('轉', '转'),
    ('專', '专'),
    ('嗎', '吗'),
    ('訴', '诉'),
    ('態', '态'),
    ('惡', '恶'),
    ('劣', '劣'),
    ('錯', '错'),
    ('少', '少'),
    ('雙', '双'),
    ('節', '节'),
    ('動', '动'),
    ('活', '活'),
    ('領', '领'),
    ('券', '券'),
    ('條', '条'),
    ('氣', '气'),
    ('鮮', '鲜'),
    ('蘋', '苹'),
    ('烏', '乌'),
    ('龍', '龙'),
    ('臺', '台'),
    ('台', '台'),
    ('灣', '湾'),
    ('內', '内'),
    ('認', '认'),
    ('識', '识'),
    ('邊', '边'),
    ('長', '长'),
    ('從', '从'),
    ('讓', '让'),
    ('應', '应'),
    ('該', '该'),
    ('麼', '么'),
    ('帶', '带'),
    ('顧', '顾'),
    ('客', '客'),
    ('服', '服'),
    ('務', '务'),
];

fn t2s(c: char) -> char {
    static MAP: std::sync::LazyLock<std::collections::HashMap<char, char>> =
        std::sync::LazyLock::new(|| T2S.iter().copied().collect());
    if (c as u32) < 0x3400 {
        return c;
    }
    MAP.get(&c).copied().unwrap_or(c)
}

/// Whether `c` is written differently in Simplified Chinese.
pub fn is_traditional(c: char) -> bool {
    t2s(c) != c
}

pub fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF)
}

/// Normalised text: CJK characters kept, Latin words lower-cased and separated by single spaces.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = match c as u32 {
            0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            0x3000 => ' ',
            _ => c,
        };
        let c = t2s(c);
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with(' ') && !out.is_empty() {
            out.push(' ');
        }
    }
    out.trim_end().to_owned()
}

/// Matching features: CJK unigrams and bigrams (bigrams also across a space between CJK
/// characters), and Latin words.
pub fn features(normalized: &str) -> Vec<String> {
    let mut feats = Vec::new();
    let mut prev_cjk: Option<char> = None;
    for word in normalized.split(' ') {
        let mut latin = String::new();
        for c in word.chars() {
            if is_cjk(c) {
                if !latin.is_empty() {
                    feats.push(std::mem::take(&mut latin));
                }
                feats.push(c.to_string());
                if let Some(p) = prev_cjk {
                    feats.push(format!("{p}{c}"));
                }
                prev_cjk = Some(c);
            } else {
                latin.push(c);
                prev_cjk = None;
            }
        }
        if !latin.is_empty() {
            feats.push(latin);
        }
    }
    feats.sort();
    feats.dedup();
    feats
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_width_case_and_script() {
        assert_eq!(normalize("ＨＥＬＬＯ，東西"), "hello 东西");
        assert_eq!(normalize("  快递到哪了？？ "), "快递到哪了");
    }

    #[test]
    fn features_mix_bigrams_and_words() {
        let f = features(&normalize("查 物流 ok"));
        for want in ["查", "物", "流", "物流", "查物", "ok"] {
            assert!(f.contains(&want.to_string()), "{want} in {f:?}");
        }
    }
}
