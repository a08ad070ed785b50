use super::*;
use chrono::Utc;

fn order(id: &str) -> Order {
    Order {
        order_id: id.into(),
        status: "paid".into(),
        created_at: Utc::now(),
        amount_cents: 100,
        items: Vec::new(),
        merchant_id: String::new(),
        logistics: None,
        invoice: "none".into(),
        urged: false,
    }
}

#[test]
fn an_order_is_picked_by_number_or_by_place() {
    let offered = [order("D20261118001"), order("D20261112002")];
    assert_eq!(
        order_in_text("就是 d20261112002 这个", &offered).as_deref(),
        Some("D20261112002")
    );
    assert_eq!(
        order_in_text("第2个", &offered).as_deref(),
        Some("D20261112002")
    );
    assert_eq!(
        order_in_text("1", &offered).as_deref(),
        Some("D20261118001")
    );
    assert_eq!(order_in_text("第3个", &offered), None);
    assert_eq!(order_in_text("随便", &offered), None);
    assert_eq!(
        order_number_like("订单号是J20261101001谢谢").as_deref(),
        Some("J20261101001")
    );
    assert_eq!(order_number_like("我买了3个"), None);
    assert_eq!(
        order_number_like("订单号 J20261101001").as_deref(),
        Some("J20261101001")
    );
}

#[test]
fn state_survives_a_round_trip_and_garbage_starts_afresh() {
    let mut s = DialogueState {
        misses: 2,
        pending: Some("urge_shipment".into()),
        ..DialogueState::default()
    };
    s.note_intent("shipping");
    s.note_intent("shipping");
    assert_eq!(s.intents, ["shipping"]);
    assert_eq!(DialogueState::parse(&s.to_json()), s);
    assert_eq!(DialogueState::parse("{nope"), DialogueState::default());
}

#[test]
fn order_cards_offer_what_the_state_allows() {
    let mut o = order("D1");
    let labels = |c: &Card| -> Vec<String> {
        c.buttons
            .iter()
            .map(|b| b.action.as_ref().unwrap().action.clone())
            .collect()
    };
    assert_eq!(
        labels(&order_card(&o, Language::ZhHans, "order")),
        ["urge_shipment", "issue_invoice", "handoff"]
    );
    o.status = "completed".into();
    o.invoice = "requested".into();
    assert_eq!(
        labels(&order_card(&o, Language::En, "order")),
        ["create_return", "handoff"]
    );
}
