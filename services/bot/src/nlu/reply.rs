//! The bot's own texts (greeting, thanks, the consultation menu, the suggestion prompt, handoff
//! notices) in Chinese and English, and putting any text into the customer's script.

use super::text::{Language, to_traditional};

pub struct Texts {
    pub greeting: &'static str,
    pub thanks: &'static str,
    /// `{menu}` is replaced by the consultation types of the customer's knowledge base.
    pub fallback: &'static str,
    pub menu_separator: &'static str,
    pub suggest: &'static str,
    pub handoff: &'static str,
    pub handoff_complaint: &'static str,
    pub handoff_negative: &'static str,
    /// Before an FAQ's Chinese answer when the entry has no answer in the customer's language.
    pub untranslated: &'static str,
}

pub const ZH: Texts = Texts {
    greeting: "您好！我是智能客服，请问有什么可以帮您？",
    thanks: "不客气，很高兴为您服务！还有其他问题随时找我。",
    fallback: "抱歉，我没太明白您的问题。您可以咨询：{menu}，或回复“人工”联系客服。",
    menu_separator: "、",
    suggest: "您是想问以下哪个问题？",
    handoff: "正在为您转接人工客服，请稍候。",
    handoff_complaint: "非常抱歉给您带来不好的体验，正在为您转接专属客服处理，请稍候。",
    handoff_negative: "非常抱歉让您不满意，正在为您转接人工客服，请稍候。",
    untranslated: "",
};

pub const EN: Texts = Texts {
    greeting: "Hello! I'm the virtual assistant. How can I help you?",
    thanks: "You're welcome! Let me know if there is anything else.",
    fallback: "Sorry, I didn't quite get that. I can help with: {menu}. Or reply \"agent\" to talk to a person.",
    menu_separator: ", ",
    suggest: "Did you mean one of these?",
    handoff: "I'm connecting you with a member of our team, please wait a moment.",
    handoff_complaint: "I'm sorry about your experience. I'm connecting you with a colleague who handles complaints, please wait a moment.",
    handoff_negative: "I'm sorry for the trouble. I'm connecting you with a member of our team, please wait a moment.",
    untranslated: "Sorry, this answer is only written in Chinese so far; here it is. Reply \"agent\" if you would like a person to help you in English.",
};

/// Consultation types of the menu, by FAQ intent, in menu order: (intent, Chinese, English).
pub const MENU: &[(&str, &str, &str)] = &[
    ("order", "订单查询", "orders"),
    ("logistics", "物流查询", "order tracking"),
    ("shipping", "发货配送", "shipping and delivery"),
    (
        "after_sales",
        "退换货与售后",
        "returns, exchanges and refunds",
    ),
    ("invoice", "发票", "invoices"),
    ("promotion", "优惠活动", "coupons and promotions"),
    ("member", "会员积分", "membership and points"),
    ("payment", "支付", "payment"),
    ("store", "门店自提", "stores and pickup"),
    ("account", "账号", "your account"),
    ("product", "商品咨询", "products"),
];

pub fn texts(language: Language) -> &'static Texts {
    match language {
        Language::En => &EN,
        Language::ZhHans | Language::ZhHant => &ZH,
    }
}

/// A Chinese text in the customer's script: Traditional for Traditional-script customers,
/// unchanged otherwise (English customers get knowledge-base answers as written).
pub fn in_script(text: &str, language: Language) -> String {
    match language {
        Language::ZhHant => to_traditional(text),
        Language::ZhHans | Language::En => text.to_owned(),
    }
}

/// A system text for the customer: English texts as they are, Chinese ones in their script.
pub fn system(language: Language, pick: impl Fn(&Texts) -> &'static str) -> String {
    in_script(pick(texts(language)), language)
}

/// The fallback answer listing the consultation types present in `intents`.
pub fn fallback(language: Language, intents: &[&str]) -> String {
    let t = texts(language);
    let labels: Vec<&str> = MENU
        .iter()
        .filter(|(intent, _, _)| intents.contains(intent))
        .map(|(_, zh, en)| if language == Language::En { *en } else { *zh })
        .collect();
    let menu = if labels.is_empty() {
        if language == Language::En {
            "orders, delivery, returns and refunds".to_owned()
        } else {
            "订单、物流、退换货".to_owned()
        }
    } else {
        labels.join(t.menu_separator)
    };
    in_script(&t.fallback.replace("{menu}", &menu), language)
}

/// The suggestion prompt followed by numbered questions (already in the customer's script).
pub fn suggestions(language: Language, questions: &[String]) -> String {
    let mut s = system(language, |t| t.suggest);
    for (i, q) in questions.iter().enumerate() {
        s.push_str(&format!("\n{}. {q}", i + 1));
    }
    s
}
