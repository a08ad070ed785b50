//! Lexical cues where the wording is narrow and well known: greetings and self-introductions,
//! polite closings, apologies, and outright insults. Each is a phrase list (one automaton) and
//! a few patterns over the normalised text (Simplified, lower case), in
//! `data/cues.txt`, so Traditional and full-width spellings are covered by normalisation.
//! Tone, anger, solutions and sensitive requests vary far more and are classifiers.

use crate::engine::phrases::PhraseSet;
use regex::Regex;
use std::sync::LazyLock;

const CUES: &str = include_str!("../../../data/cues.txt");

/// One cue: phrases and patterns anywhere, phrases that must open the message, patterns on
/// the text as written, and patterns that cancel it.
pub struct Cue {
    phrases: PhraseSet,
    openers: PhraseSet,
    patterns: Vec<Regex>,
    raw_patterns: Vec<Regex>,
    negations: Vec<Regex>,
}

impl Cue {
    fn from_section(section: &str) -> Self {
        let (mut phrases, mut openers) = (Vec::new(), Vec::new());
        let (mut patterns, mut raw_patterns, mut negations) = (Vec::new(), Vec::new(), Vec::new());
        let mut current = "";
        for line in CUES.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                current = name;
                continue;
            }
            let Some((tag, rest)) = line.split_once(':') else {
                continue;
            };
            if current != section {
                continue;
            }
            let rest = rest.trim();
            let list = || rest.split('|').map(|p| p.trim().to_owned());
            let regex = || Regex::new(rest).expect("a built-in cue pattern compiles");
            match tag {
                "phrases" => phrases.extend(list()),
                "opens" => openers.extend(list()),
                "pattern" => patterns.push(regex()),
                "raw" => raw_patterns.push(regex()),
                "unless" => negations.push(regex()),
                other => panic!("cues.txt: unknown entry {other:?} in [{section}]"),
            }
        }
        Self {
            phrases: PhraseSet::new(phrases),
            openers: PhraseSet::new(openers),
            patterns,
            raw_patterns,
            negations,
        }
    }

    /// Whether the message (normalised, and as written) shows the cue.
    pub fn found(&self, norm: &str, raw: &str) -> bool {
        if self.negations.iter().any(|n| n.is_match(norm)) {
            return false;
        }
        self.phrases.any(norm)
            || self.openers.first(norm) == Some(0)
            || self.patterns.iter().any(|p| p.is_match(norm))
            || self.raw_patterns.iter().any(|p| p.is_match(raw))
    }

    /// [`Self::found`], also counting `extra` phrases (a rule's own).
    pub fn found_with(&self, norm: &str, raw: &str, extra: &PhraseSet) -> bool {
        self.found(norm, raw) || extra.any(norm)
    }
}

pub struct Cues {
    pub greeting: Cue,
    pub closing: Cue,
    pub apology: Cue,
    pub insult: Cue,
}

pub static CUE_LISTS: LazyLock<Cues> = LazyLock::new(|| Cues {
    greeting: Cue::from_section("greeting"),
    closing: Cue::from_section("closing"),
    apology: Cue::from_section("apology"),
    insult: Cue::from_section("insult"),
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::text::normalize;

    fn greets(s: &str) -> bool {
        CUE_LISTS.greeting.found(&normalize(s), s)
    }
    fn closes(s: &str) -> bool {
        CUE_LISTS.closing.found(&normalize(s), s)
    }
    fn apologises(s: &str) -> bool {
        CUE_LISTS.apology.found(&normalize(s), s)
    }
    fn insults(s: &str) -> bool {
        CUE_LISTS.insult.found(&normalize(s), s)
    }

    #[test]
    fn greetings_and_introductions() {
        for yes in [
            "您好，我是邻家优选客服小林，很高兴为您服务。",
            "你好，照片直接发在这里也可以。",
            "您好，我是客服小美。請問是在哪個活動頁面領取的呢？",
            "Hello, this is Emma from Linjia support.",
            "Hi, this is Leo from Linjia support. I'm really sorry",
            "我是售后专员阿强，这边帮您处理退款",
            "這裡是金緣珠寶客服小雅",
            "亲，在的，请问有什么可以帮您？",
            "Good evening! How can I help?",
            "This is Mark with the returns team.",
            "My name is Priya, I'll be helping you today.",
            "我是李娜，请问有什么可以帮您",
            "早上好～请问有什么需要",
            "欢迎光临邻家优选",
            "客服小王为您服务，请问遇到什么问题了",
            "Thanks for reaching out to Linjia!",
        ] {
            assert!(greets(yes), "{yes}");
        }
        for no in [
            "订单号发一下。",
            "退到哪张卡？把完整卡号发我查一下。",
            "What's your order number?",
            "我是说你可以在订单详情里申请",
            "尺码表写得清清楚楚",
            "This is not something we can change.",
            "I'm sorry, what is the order number?",
            "this is weird, let me check",
        ] {
            assert!(!greets(no), "{no}");
        }
    }

    #[test]
    fn polite_closings() {
        for yes in [
            "不客气，祝您生活愉快！",
            "还有其他问题吗？",
            "已经给你申请退款了，1-3个工作日原路退回。还有其他问题吗？",
            "還有其他需要幫忙的嗎？",
            "不客氣，祝您有美好的一天！",
            "Have a nice day!",
            "Thank you for your patience, and have a great evening!",
            "Anything else I can help with?",
            "感谢您的咨询，祝您工作顺利！",
            "还有别的问题吗？",
            "有问题随时联系我们哦",
            "You're welcome! Take care.",
        ] {
            assert!(closes(yes), "{yes}");
        }
        for no in [
            "對的。",
            "查到了，银行显示11月14日已经退回到这张卡。",
            "已帮您联系快递改派到新地址，请留意短信通知。",
            "The courier will call you before coming.",
            "会员等级由系统每月自动计算。",
        ] {
            assert!(!closes(no), "{no}");
        }
    }

    #[test]
    fn apologies_and_their_negations() {
        assert!(apologises("非常抱歉给您带来不便"));
        assert!(apologises("不好意思让您久等了"));
        assert!(apologises("I'm really sorry about that"));
        assert!(apologises("對不起"));
        assert!(!apologises("我没什么好道歉的"));
        assert!(!apologises("I'm not sorry, that is the rule"));
        assert!(!apologises("会员等级由系统每月自动计算"));
    }

    #[test]
    fn insults_at_word_boundaries() {
        assert!(insults("你是不是傻"));
        assert!(insults("闭嘴吧你"));
        assert!(insults("are you stupid?"));
        assert!(insults("給我滾"));
        assert!(!insults("滚筒洗衣机的尺寸是多少"));
        assert!(!insults("the dumbbell set is out of stock"));
    }
}
