use super::*;

fn actor() -> pb::Actor {
    pb::Actor::default()
}

#[test]
fn a_transfer_needs_exactly_one_target() {
    let t = |a: Option<&str>, q: Option<&str>| TransferBody {
        to_agent_id: a.map(Into::into),
        to_queue: q.map(Into::into),
        note: None,
    };
    let none = t(None, Some(""))
        .into_request(actor(), "c".into())
        .unwrap_err();
    assert_eq!(none.into_field(), "to_agent_id");
    let both = t(Some("a-2"), Some("vip"))
        .into_request(actor(), "c".into())
        .unwrap_err();
    assert_eq!(both.into_field(), "to_queue");
    let r = t(None, Some("vip"))
        .into_request(actor(), "c".into())
        .unwrap();
    assert_eq!((r.to_queue.as_str(), r.to_agent_id.as_str()), ("vip", ""));
    let bad = t(Some("A 2"), None)
        .into_request(actor(), "c".into())
        .unwrap_err();
    assert_eq!(bad.into_field(), "to_agent_id");
}

#[test]
fn statuses_are_the_four_known_ones() {
    for s in STATUSES {
        assert!(check_status(s).is_ok());
    }
    for s in ["", "Online", "lunch"] {
        assert_eq!(check_status(s).unwrap_err().into_field(), "status");
    }
}

#[test]
fn replies_need_content_and_checked_cards() {
    let empty: ReplyBody = serde_json::from_str(r#"{"text":"  "}"#).unwrap();
    assert_eq!(
        empty
            .into_request(actor(), "c".into())
            .unwrap_err()
            .into_field(),
        "text"
    );
    let card: ReplyBody = serde_json::from_str(
        r#"{"cards":[{"kind":"order","order_id":"o-1","buttons":[{"label":"Urge","action":{"action":"urge_shipment","order_id":"o-1"}}]}],"client_id":"r-1"}"#,
    )
    .unwrap();
    let r = card.into_request(actor(), "c".into()).unwrap();
    assert_eq!(
        r.cards[0].buttons[0].action.as_ref().unwrap().action,
        "urge_shipment"
    );
    assert_eq!(r.client_id, "r-1");
    let bad: ReplyBody = serde_json::from_str(r#"{"cards":[{"kind":"poster"}]}"#).unwrap();
    assert_eq!(
        bad.into_request(actor(), "c".into())
            .unwrap_err()
            .into_field(),
        "cards[0].kind"
    );
    let bad_action: ReplyBody = serde_json::from_str(
        r#"{"cards":[{"kind":"menu","buttons":[{"label":"x","action":{"action":"rm -rf"}}]}]}"#,
    )
    .unwrap();
    assert_eq!(
        bad_action
            .into_request(actor(), "c".into())
            .unwrap_err()
            .into_field(),
        "cards[0].buttons[0].action.action"
    );
    // The output shape is the one the channels already use for cards.
    let proto = ev::Card {
        kind: "order".into(),
        buttons: vec![ev::CardButton {
            label: "b".into(),
            action: None,
        }],
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_value(Card::from(&proto)).unwrap(),
        crate::cards::card_json(&proto)
    );
}

#[test]
fn agent_bodies_are_checked_and_round_trip() {
    let body = |j: &str| serde_json::from_str::<AgentBody>(j).unwrap();
    let create = body(r#"{"login":"li","role":"agent","capacity":{"web":3}}"#);
    assert_eq!(
        create
            .into_request("acme", "a-1", true)
            .unwrap_err()
            .into_field(),
        "password"
    );
    let short = body(r#"{"login":"li","role":"agent","password":"short"}"#);
    assert_eq!(
        short
            .into_request("acme", "a-1", true)
            .unwrap_err()
            .into_field(),
        "password"
    );
    let role = body(r#"{"login":"li","role":"root","password":"long enough"}"#);
    assert_eq!(
        role.into_request("acme", "a-1", true)
            .unwrap_err()
            .into_field(),
        "role"
    );
    let other = body(r#"{"agent_id":"a-2","login":"li","role":"agent"}"#);
    assert_eq!(
        other
            .into_request("acme", "a-1", false)
            .unwrap_err()
            .into_field(),
        "agent_id"
    );
    // A fetched agent (with its read-only fields) can be sent back as it is.
    let fetched = serde_json::to_string(&Agent::from(&pb::Agent {
        tenant_id: "acme".into(),
        agent_id: "a-1".into(),
        login: "li".into(),
        role: "supervisor".into(),
        status: "online".into(),
        ..Default::default()
    }))
    .unwrap();
    let (agent, password) = body(&fetched).into_request("acme", "a-1", false).unwrap();
    assert_eq!((agent.role.as_str(), password.as_str()), ("supervisor", ""));
    assert!(
        serde_json::from_str::<AgentBody>(r#"{"login":"li","role":"agent","pasword":"x"}"#)
            .is_err()
    );
}

#[test]
fn close_and_note_bodies_are_bounded() {
    let long = "x".repeat(MAX_TEXT_CHARS + 1);
    let note = NoteBody {
        text: long,
        client_id: None,
    };
    assert_eq!(
        note.into_request(actor(), "c".into())
            .unwrap_err()
            .into_field(),
        "text"
    );
    let tags = CloseBody {
        summary: None,
        tags: Some(vec![String::new()]),
    };
    assert_eq!(
        tags.into_request(actor(), "c".into())
            .unwrap_err()
            .into_field(),
        "tags[0]"
    );
}
