use super::*;
use crate::counters::{Counter as C, Values};
use crate::facts::{ConvRef, LifecycleFact, MessageFact};
use chrono::DateTime;

const T0: i64 = 1_762_819_200_000; // 2025-11-11T00:00:00Z
const S: i64 = 1000;
const DAY: i64 = 86_400_000;

fn conv() -> ConvRef {
    ConvRef {
        conversation_id: "c1".into(),
        customer_id: "u1".into(),
        merchant_id: "m".into(),
        channel: "web".into(),
        queue_id: String::new(),
        tier: "gold".into(),
    }
}

fn msg(seq: i64, at: i64, sender: Sender, agent: &str) -> MessageFact {
    MessageFact {
        conv: conv(),
        seq,
        at: DateTime::from_timestamp_millis(at).unwrap(),
        sender,
        agent_id: agent.into(),
        internal: false,
        message_type: "text".into(),
        intent: String::new(),
        faq_id: String::new(),
        miss: false,
        question: String::new(),
    }
}

fn life(kind: Kind, at: i64, agent: &str, queue: &str, value: i64, reason: &str) -> LifecycleFact {
    LifecycleFact {
        conv: ConvRef {
            queue_id: queue.into(),
            ..conv()
        },
        kind,
        at: DateTime::from_timestamp_millis(at).unwrap(),
        agent_id: agent.into(),
        other_agent_id: String::new(),
        reason: reason.into(),
        value,
        labels: vec![],
    }
}

fn totals(items: &[Contribution]) -> Values {
    let mut v = Values::new();
    for c in items {
        match c.item {
            Item::Add(id, n) => v.add(C::ALL[id as usize], n),
            Item::Sample(h, ms) => v.sample(Hist::ALL[h as usize], ms / 1000, 1),
        }
    }
    v
}

/// A handed-off conversation: the bot, a handoff, an answer after 30 s, a first response at
/// 45 s, a reply in 20 s, a transfer to a colleague who closes it, a rating.
fn handed_off() -> (Vec<MessageFact>, Vec<LifecycleFact>) {
    let h = T0 + 60 * S;
    let messages = vec![
        msg(1, T0, Sender::Customer, ""),
        msg(2, T0 + S, Sender::Bot, ""),
        msg(3, h, Sender::Customer, ""),
        msg(4, h + S, Sender::Bot, ""),
        msg(5, h + 45 * S, Sender::Agent, "a"),
        msg(6, h + 60 * S, Sender::Customer, ""),
        msg(7, h + 65 * S, Sender::Customer, ""),
        msg(8, h + 80 * S, Sender::Agent, "a"),
        msg(9, h + 120 * S, Sender::Agent, "b"),
    ];
    let mut transferred = life(Kind::Transferred, h + 100 * S, "a", "q1", 0, "");
    transferred.other_agent_id = "b".into();
    let lifecycle = vec![
        life(Kind::Opened, T0, "", "", 0, ""),
        life(Kind::Handoff, h, "", "", 0, "human_request"),
        life(Kind::QueueEntered, h, "", "q1", 0, "handoff"),
        life(Kind::QueueLeft, h + 20 * S, "", "q1", 20_000, "offered"),
        life(Kind::Assigned, h + 30 * S, "a", "q1", 30_000, ""),
        transferred,
        life(Kind::Assigned, h + 110 * S, "b", "q1", 0, ""),
        life(Kind::Closed, h + 200 * S, "b", "q1", 0, "agent_closed"),
        life(Kind::Rated, h + 210 * S, "b", "q1", 5, ""),
    ];
    (messages, lifecycle)
}

fn fold_all(messages: &[MessageFact], lifecycle: &[LifecycleFact]) -> ConvState {
    let mut s = ConvState::default();
    for m in messages {
        assert!(s.apply_message(m));
    }
    for l in lifecycle {
        s.apply_life(l);
    }
    s
}

#[test]
fn a_handed_off_conversation_contributes_each_metric_once() {
    let (m, l) = handed_off();
    let mut s = fold_all(&m, &l);
    pin_thresholds(&mut s, &Settings::default());
    let now = T0 + 2 * DAY;
    let v = totals(&derive(&s, now, &[]));
    assert_eq!(v.get(C::Conversations), 1);
    assert_eq!(v.get(C::Handoffs), 1);
    assert_eq!(v.get(C::BotConversations), 1);
    assert_eq!(v.get(C::BotContained), 0);
    assert_eq!(v.get(C::Answered), 1);
    assert_eq!(v.get(C::WaitMs), 30_000);
    // 30 s is more than the default 20 s target.
    assert_eq!(v.get(C::AnsweredInTarget), 0);
    assert_eq!((v.get(C::FrtN), v.get(C::FrtMs)), (1, 45_000));
    // The customer waited from their first unanswered message (60 s) to the reply (80 s).
    assert_eq!((v.get(C::ReplyN), v.get(C::ReplyMs)), (1, 20_000));
    // a: accept at 30 s to the transfer at 100 s; b: accept at 110 s to the close at 200 s.
    assert_eq!(
        (v.get(C::HandleN), v.get(C::HandleMs)),
        (2, 70_000 + 90_000)
    );
    assert_eq!(v.get(C::Served), 2);
    assert_eq!(v.get(C::Transfers), 1);
    assert_eq!((v.get(C::Closed), v.get(C::Resolved)), (1, 1));
    assert_eq!((v.get(C::FcrSettled), v.get(C::Fcr)), (1, 1));
    assert_eq!(
        (v.get(C::CsatN), v.get(C::CsatGood), v.get(C::CsatSum)),
        (1, 1, 5)
    );
    // The customer's message in another conversation within 24 h of the close: not FCR.
    let close = T0 + 60 * S + 200 * S;
    let v = totals(&derive(&s, now, &[close + 3600 * S]));
    assert_eq!((v.get(C::FcrSettled), v.get(C::Fcr)), (1, 0));
    // Before 24 h passed, FCR is not settled either way.
    let v = totals(&derive(&s, close + 1000, &[]));
    assert_eq!((v.get(C::FcrSettled), v.get(C::Fcr)), (0, 0));
}

#[test]
fn arrival_order_does_not_change_the_result() {
    let (m, l) = handed_off();
    let mut in_order = fold_all(&m, &l);
    pin_thresholds(&mut in_order, &Settings::default());
    let now = T0 + 2 * DAY;
    let expected = derive(&in_order, now, &[]);
    // Lifecycle facts backwards, messages with one behind: the fold asks for a rebuild, and the
    // rebuild in sequence order gives the same contributions.
    let mut s = ConvState::default();
    for f in l.iter().rev() {
        s.apply_life(f);
    }
    assert!(s.apply_message(&m[0]));
    assert!(s.apply_message(&m[2]));
    assert!(
        !s.apply_message(&m[1]),
        "a message behind one folded asks for a rebuild"
    );
    s.reset_messages();
    for x in &m {
        assert!(s.apply_message(x));
    }
    pin_thresholds(&mut s, &Settings::default());
    assert_eq!(derive(&s, now, &[]), expected);
}

#[test]
fn bot_only_episodes_settle_and_count_containment() {
    let mut s = ConvState::default();
    // Day 1: a question and an answer. Day 3: another (more than 24 h later: a new episode).
    for (i, at) in [T0, T0 + S, T0 + 2 * DAY, T0 + 2 * DAY + S]
        .iter()
        .enumerate()
    {
        let sender = if i % 2 == 0 {
            Sender::Customer
        } else {
            Sender::Bot
        };
        s.apply_message(&msg(i as i64 + 1, *at, sender, ""));
    }
    assert_eq!(s.episodes.len(), 2);
    let v = totals(&derive(&s, T0 + 2 * DAY + 2 * S, &[]));
    // Only the first episode settled: contained (nothing within 24 h of its end).
    assert_eq!((v.get(C::BotConversations), v.get(C::BotContained)), (1, 1));
    let v = totals(&derive(&s, T0 + 4 * DAY, &[T0 + 3600 * S]));
    // The customer wrote elsewhere an hour after the first episode: that one is not contained.
    assert_eq!((v.get(C::BotConversations), v.get(C::BotContained)), (2, 1));
    assert_eq!(settles_at(&s, T0 + 2 * DAY + 2 * S), Some(T0 + 3 * DAY + S));
}

#[test]
fn abandonment_is_split_at_the_threshold() {
    let mut s = ConvState::default();
    s.apply_life(&life(Kind::Handoff, T0, "", "", 0, "complaint"));
    s.apply_life(&life(Kind::QueueEntered, T0, "", "q1", 0, "handoff"));
    s.apply_life(&life(Kind::Abandoned, T0 + 8 * S, "", "q1", 8_000, ""));
    s.apply_life(&life(
        Kind::Closed,
        T0 + 8 * S,
        "",
        "q1",
        0,
        "closed_in_queue",
    ));
    pin_thresholds(&mut s, &Settings::default());
    let v = totals(&derive(&s, T0 + 2 * DAY, &[]));
    assert_eq!((v.get(C::Abandoned), v.get(C::AbandonedShort)), (1, 1));
    assert_eq!((v.get(C::Closed), v.get(C::Resolved)), (1, 0));
    assert!(s.waiting().is_none());
}

#[test]
fn waiting_keeps_its_first_entry_through_a_lapsed_offer() {
    let mut s = ConvState::default();
    s.apply_life(&life(Kind::QueueEntered, T0, "", "q1", 0, "handoff"));
    s.apply_life(&life(
        Kind::QueueLeft,
        T0 + 5 * S,
        "",
        "q1",
        5000,
        "offered",
    ));
    assert_eq!(s.waiting(), None);
    s.apply_life(&life(
        Kind::QueueEntered,
        T0 + 35 * S,
        "a",
        "q1",
        0,
        "requeued",
    ));
    assert_eq!(s.waiting(), Some(("q1".into(), T0)));
}
