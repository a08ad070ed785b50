//! The engine as a customer meets it: scripts, small talk, thresholds, handoff, scoping.

use super::*;
use crate::kb::parse_jsonl;

fn demo() -> Engine {
    Engine::new(parse_jsonl(include_str!("../../../../demo/faq-kb.jsonl")).unwrap())
}

fn faq(id: &str, scope: &str, question: &str) -> Faq {
    Faq {
        id: id.into(),
        intent: "product".into(),
        question: question.into(),
        similar: Vec::new(),
        answer: format!("answer of {id}"),
        scope: scope.into(),
        ..Faq::default()
    }
}

#[test]
fn answers_unseen_phrasing_in_three_scripts() {
    let e = demo();
    let id = |t: &str| e.answer(t, None).faq_id;
    assert_eq!(id("快递到哪儿了呀").as_deref(), Some("logistics.where"));
    assert_eq!(id("東西什麼時候寄出").as_deref(), Some("shipping.urge"));
    assert_eq!(
        id("I was charged but the order failed").as_deref(),
        Some("payment.failed")
    );
    assert_eq!(id("送来的香蕉都黑了").as_deref(), Some("fresh.damaged"));
}

/// The messages the end-to-end tests send.
#[test]
fn end_to_end_messages() {
    let e = demo();
    let a = e.answer("我的快递到哪了", None);
    assert_eq!(a.faq_id.as_deref(), Some("logistics.where"));
    assert!(a.answer.contains("物流"));
    assert_eq!(
        e.answer("怎麼還不發貨", None).faq_id.as_deref(),
        Some("shipping.urge")
    );
    assert_eq!(
        e.answer("怎么开发票", None).faq_id.as_deref(),
        Some("invoice.issue")
    );
    assert_eq!(
        e.answer("退款多久到账", None).faq_id.as_deref(),
        Some("refund.time")
    );
    assert_eq!(e.answer("您好", None).intent, "greeting");
}

#[test]
fn traditional_customers_get_traditional_answers() {
    let e = demo();
    let a = e.answer("我的訂單怎麼取消", None);
    assert_eq!(a.faq_id.as_deref(), Some("order.cancel"));
    assert_eq!(a.language, Language::ZhHant);
    assert!(
        a.answer.contains("訂單") && !a.answer.contains("订单"),
        "{}",
        a.answer
    );
    let g = e.answer("您好，在嗎", None);
    assert_eq!(g.intent, "greeting");
    assert!(g.answer.contains("請問"), "{}", g.answer);
}

#[test]
fn english_customers_get_english_system_texts() {
    let e = demo();
    assert!(e.answer("hello", None).answer.starts_with("Hello"));
    assert!(
        e.answer("thank you so much", None)
            .answer
            .starts_with("You're welcome")
    );
    let off = e.answer("what's the weather like tomorrow", None);
    assert_eq!((off.intent.as_str(), off.miss), ("fallback", true));
    assert!(off.answer.contains("I can help with"), "{}", off.answer);
    let h = e.answer("I want to talk to a real person", None);
    assert!(h.handoff);
    assert!(h.answer.starts_with("I'm connecting you"), "{}", h.answer);
}

#[test]
fn small_talk_is_never_a_miss() {
    let e = demo();
    for (t, intent) in [
        ("您好", "greeting"),
        ("好的谢谢", "thanks"),
        ("謝謝", "thanks"),
        ("hi there", "greeting"),
    ] {
        let a = e.answer(t, None);
        assert_eq!(
            (a.intent.as_str(), a.faq_id.as_deref(), a.miss),
            (intent, None, false),
            "{t}"
        );
    }
    // A greeting in front of a question does not hide the question.
    assert_eq!(
        e.answer("你好，我想开发票", None).faq_id.as_deref(),
        Some("invoice.issue")
    );
}

#[test]
fn off_topic_gets_the_menu_of_the_customers_consultation_types() {
    let e = demo();
    let a = e.answer("明天会下雨吗", None);
    assert_eq!(
        (a.faq_id.as_deref(), a.intent.as_str(), a.miss),
        (None, "fallback", true)
    );
    assert!(a.confidence < SUGGEST_THRESHOLD);
    assert!(
        a.answer.contains("物流查询") && a.answer.contains("发票"),
        "{}",
        a.answer
    );
    assert!(!a.handoff);
}

#[test]
fn unsure_offers_suggestions_instead_of_guessing() {
    let e = demo();
    // 退 fits both the return policy and how to return.
    let a = e.answer("能退吗", None);
    assert!(a.faq_id.is_none(), "{a:?}");
    assert!(a.miss);
    assert!(a.confidence < ANSWER_THRESHOLD, "{a:?}");
    assert!(a.suggestion_ids.len() >= 2 && a.suggestion_ids.len() <= MAX_SUGGESTIONS);
    assert!(
        a.suggestion_ids.iter().all(|id| id.starts_with("return.")),
        "{a:?}"
    );
    assert!(a.answer.contains("1. "), "{}", a.answer);
}

#[test]
fn confidence_is_a_share_in_zero_one() {
    let e = demo();
    for t in [
        "我的快递到哪了",
        "查物流",
        "怎么开发票发票发票",
        "随便说点什么",
        "x",
        "",
        "，。！",
    ] {
        let c = e.answer(t, None).confidence;
        assert!((0.0..=1.0).contains(&c), "{t}: {c}");
    }
    assert!(e.answer("我的快递到哪了", None).confidence >= 0.9);
    let empty = e.answer("   ", None);
    assert_eq!((empty.intent.as_str(), empty.miss), ("fallback", true));
}

#[test]
fn handoff_signals() {
    let e = demo();
    let a = e.answer("给我找个真人", None);
    assert_eq!(
        (a.handoff, a.reason.as_str(), a.faq_id.as_deref()),
        (true, reason::HUMAN_REQUEST, Some("handoff.human"))
    );
    let c = e.answer("你们客服态度太恶劣了，我要投诉到底", None);
    assert_eq!(
        (c.handoff, c.reason.as_str(), c.faq_id.as_deref()),
        (true, reason::COMPLAINT, Some("handoff.complaint"))
    );
    let f = e.answer("别用机器人了", None);
    assert!(f.handoff && f.action.as_deref() == Some("handoff"));
    // Strongly negative: still answered, and handed to a person.
    let n = e.answer("垃圾快递，到现在还没到，气死我了", None);
    assert!(n.handoff && n.reason == reason::NEGATIVE_SENTIMENT, "{n:?}");
    assert!(n.sentiment <= signals::STRONG_NEGATIVE);
    assert!(!n.miss);
    // Declining a person is neither a handoff nor a miss.
    let d = e.answer("不用转人工了，谢谢", None);
    assert_eq!(
        (d.handoff, d.intent.as_str(), d.miss),
        (false, "thanks", false),
        "{d:?}"
    );
    let d = e.answer("不用转人工，我的快递到哪了", None);
    assert_eq!(
        (d.handoff, d.faq_id.as_deref()),
        (false, Some("logistics.where")),
        "{d:?}"
    );
    let d = e.answer("I don't need to talk to a person", None);
    assert!(!d.handoff, "{d:?}");
    // Mildly negative is not a reason to hand off.
    let m = e.answer("不喜欢能退吗", None);
    assert!(!m.handoff, "{m:?}");
    // Without a knowledge base the request still reaches a person.
    let empty = Engine::new(Vec::new()).answer("转人工", None);
    assert_eq!((empty.handoff, empty.faq_id), (true, None));
}

#[test]
fn actions_come_with_the_faq() {
    let e = demo();
    let a = e.answer("帮我查查物流", None);
    assert_eq!(a.action.as_deref(), Some("logistics_lookup"));
    assert_eq!(e.answer("生鲜怎么保存", None).action, None);
}

#[test]
fn platform_customers_never_see_merchant_entries() {
    let e = demo();
    for t in [
        "戒指尺寸怎么量",
        "戒指想改小一圈",
        "黄金首饰怎么保养",
        "有鉴定证书吗",
    ] {
        let a = e.answer(t, None);
        assert!(
            !a.faq_id.as_deref().unwrap_or("").starts_with("jewelry."),
            "{t}: {a:?}"
        );
        assert!(
            a.suggestion_ids
                .iter()
                .all(|id| !id.starts_with("jewelry.")),
            "{t}: {a:?}"
        );
    }
    assert_eq!(
        e.answer("戒指尺寸怎么量", Some("jinyuan"))
            .faq_id
            .as_deref(),
        Some("jewelry.size")
    );
    // Merchant customers still see the platform's entries.
    assert_eq!(
        e.answer("怎么开发票", Some("jinyuan")).faq_id.as_deref(),
        Some("invoice.issue")
    );
}

#[test]
fn merchants_never_see_each_others_entries() {
    let e = Engine::new(vec![
        faq("a.engrave", "merchant:a", "可以刻字吗"),
        faq("b.engrave", "merchant:b", "可以刻字吗"),
        faq("p.invoice", "platform", "怎么开发票"),
    ]);
    assert_eq!(
        e.answer("能刻字吗", Some("a")).faq_id.as_deref(),
        Some("a.engrave")
    );
    assert_eq!(
        e.answer("能刻字吗", Some("b")).faq_id.as_deref(),
        Some("b.engrave")
    );
    assert_eq!(e.answer("能刻字吗", None).faq_id, None);
    assert_eq!(e.answer("能刻字吗", Some("unknown")).faq_id, None);
    let a = e.answer("能刻字吗", Some("a"));
    assert!(!a.suggestion_ids.contains(&"b.engrave".to_owned()));
}

#[test]
fn a_tenant_lexicon_teaches_new_synonyms() {
    let faqs = vec![faq("p.sf", "platform", "顺丰快递到哪了")];
    let mut lex = Lexicon::builtin();
    lex.extend_synonyms("tenant.txt", "顺丰: 小哥 快递员\n")
        .unwrap();
    let plain = Engine::new(faqs.clone());
    let taught = Engine::with_lexicon(faqs, Arc::new(lex));
    let q = "小哥到哪了";
    assert!(
        taught.answer(q, None).confidence > plain.answer(q, None).confidence,
        "the tenant's synonym must help"
    );
}

#[test]
fn a_tenant_file_teaches_signals_and_variants_too() {
    let file = "[variants]\n顺丰: 顺风\n[person]\n掌柜\n[offtopic]\n炒股\n";
    let mut lex = Lexicon::builtin();
    lex.extend_synonyms("tenant.txt", file).unwrap();
    let mut sig = Signals::builtin();
    sig.extend(file);
    let faqs = parse_jsonl(include_str!("../../../../demo/faq-kb.jsonl")).unwrap();
    let plain = Engine::new(faqs.clone());
    let taught = Engine::with_language(faqs, Arc::new(lex), Arc::new(sig));
    let q = "叫你们掌柜出来";
    assert!(!plain.answer(q, None).handoff);
    assert!(taught.answer(q, None).handoff);
}

#[test]
fn off_topic_chat_is_not_answered_with_an_faq() {
    let e = demo();
    for text in [
        "明天上海天气怎么样",
        "who won the lakers game last night",
        "你们招不招快递员",
    ] {
        let a = e.answer(text, Some("jinyuan"));
        assert_eq!(
            (a.faq_id.as_deref(), a.handoff),
            (None, false),
            "{text}: {a:?}"
        );
    }
    // An FAQ question that mentions the weather is still answered.
    let a = e.answer("下雨天快递到哪了", None);
    assert_eq!(a.faq_id.as_deref(), Some("logistics.where"), "{a:?}");
}

#[test]
fn a_request_for_a_person_goes_through_the_person_entry() {
    let e = demo();
    let a = e.answer("Can I talk to a store manager?", None);
    assert_eq!(
        (a.handoff, a.faq_id.as_deref(), a.reason.as_str()),
        (true, Some("handoff.human"), reason::HUMAN_REQUEST),
        "{a:?}"
    );
    let a = e.answer("唔係投訴呀，淨係想問退款去到邊", None);
    assert!(!a.handoff, "{a:?}");
    let a = e.answer("叫你哋經理出嚟", None);
    assert!(a.handoff, "{a:?}");
    // A declined request is not content: the rest of the message is answered.
    let a = e.answer("唔使轉真人，話我知你哋間舖幾點開就得", None);
    assert_eq!(
        (a.handoff, a.faq_id.as_deref()),
        (false, Some("store.hours")),
        "{a:?}"
    );
}

#[test]
fn answers_come_in_the_customers_language() {
    let mut with = faq("p.time", "platform", "退款多久到账");
    with.answer = "1-3个工作日到账。".into();
    with.answers
        .insert("en".into(), "Refunds arrive in 1-3 working days.".into());
    with.answers
        .insert("zh-Hant".into(), "1至3個工作天入帳。".into());
    let mut without = faq("p.inv", "platform", "怎么开发票");
    without.answer = "在订单详情申请开票。".into();
    let e = Engine::new(vec![with, without]);
    let en = e.answer("how long does a refund take", None);
    assert_eq!(en.answer, "Refunds arrive in 1-3 working days.", "{en:?}");
    let hant = e.answer("退款多久到帳", None);
    assert_eq!(hant.answer, "1至3個工作天入帳。", "{hant:?}");
    let hans = e.answer("退款多久到账", None);
    assert_eq!(hans.answer, "1-3个工作日到账。");
    // No English answer: said so in English, with the Chinese text and a person offered.
    let inv = e.answer("how do I get an invoice", None);
    assert_eq!(inv.faq_id.as_deref(), Some("p.inv"), "{inv:?}");
    assert!(
        inv.answer
            .starts_with("Sorry, this answer is only written in Chinese")
            && inv.answer.ends_with("在订单详情申请开票。"),
        "{}",
        inv.answer
    );
    // Without a Traditional answer, the Simplified one is converted.
    assert_eq!(e.answer("怎麼開發票", None).answer, "在訂單詳情申請開票。");
}

#[test]
fn a_product_the_entries_name_tells_them_apart_and_one_they_do_not_weighs_little() {
    let e = Engine::new(vec![
        faq("p.ac", "platform", "空调保修多久"),
        faq("p.fridge", "platform", "冰箱保修多久"),
        faq("p.refund", "platform", "退款多久到账"),
    ]);
    let a = e.answer("我家空调保修多久", None);
    assert_eq!(a.faq_id.as_deref(), Some("p.ac"), "{a:?}");
    // A product no entry names is a detail of the story, not a reason to miss.
    let a = e.answer("上周买的电动牙刷退款多久到账", None);
    assert_eq!(a.faq_id.as_deref(), Some("p.refund"), "{a:?}");
}
