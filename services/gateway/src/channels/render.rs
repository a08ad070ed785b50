//! Outgoing messages for channels that carry only text (WeChat, SMS, Douyin): the text, then
//! each card as lines — its title, subtitle and fields — and what the customer can answer to
//! act on it (buttons cannot be pressed there; the bot understands the words).

use kefu_proto::events::MessageToSend;

/// The message as plain text.
pub fn plain_text(m: &MessageToSend) -> String {
    let mut out = m.text.trim().to_owned();
    for card in &m.cards {
        let mut lines = Vec::new();
        let title = [card.title.trim(), card.subtitle.trim()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" · ");
        if !title.is_empty() {
            lines.push(format!("【{title}】"));
        }
        for f in &card.fields {
            lines.push(format!("{}：{}", f.label.trim(), f.value.trim()));
        }
        let labels: Vec<&str> = card
            .buttons
            .iter()
            .map(|b| b.label.trim())
            .filter(|l| !l.is_empty())
            .collect();
        if !labels.is_empty() {
            lines.push(format!("回复：{}", labels.join(" / ")));
        }
        if !lines.is_empty() {
            if !out.is_empty() {
                out.push_str("\n\n");
            }
            out.push_str(&lines.join("\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kefu_proto::events::{Card, CardButton, CardField};

    #[test]
    fn cards_become_lines() {
        let m = MessageToSend {
            text: "您的订单：".into(),
            cards: vec![Card {
                title: "订单 D1".into(),
                subtitle: "已发货".into(),
                fields: vec![CardField {
                    label: "物流".into(),
                    value: "顺丰 SF1".into(),
                }],
                buttons: vec![CardButton {
                    label: "催发货".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            plain_text(&m),
            "您的订单：\n\n【订单 D1 · 已发货】\n物流：顺丰 SF1\n回复：催发货"
        );
    }
}
