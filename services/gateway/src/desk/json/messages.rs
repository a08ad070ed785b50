//! Messages and cards.

use super::*;

/// A card button's action, as the channels' cards have it (see `crate::cards`).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardAction {
    pub action: String,
    #[serde(default)]
    pub order_id: String,
    #[serde(default)]
    pub product_id: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardField {
    pub label: String,
    pub value: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardButton {
    pub label: String,
    pub action: Option<CardAction>,
}

/// A structured message: an order, a product, or a menu of choices. The same shape as the
/// cards of webhooks and the web chat socket.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Card {
    /// order | logistics | product | menu
    pub kind: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub subtitle: String,
    #[serde(default)]
    pub image_url: String,
    #[serde(default)]
    pub order_id: String,
    #[serde(default)]
    pub product_id: String,
    #[serde(default)]
    pub fields: Vec<CardField>,
    #[serde(default)]
    pub buttons: Vec<CardButton>,
}

pub const CARD_KINDS: &[&str] = &["order", "logistics", "product", "menu"];

impl From<&ev::Card> for Card {
    fn from(c: &ev::Card) -> Self {
        Self {
            kind: c.kind.clone(),
            title: c.title.clone(),
            subtitle: c.subtitle.clone(),
            image_url: c.image_url.clone(),
            order_id: c.order_id.clone(),
            product_id: c.product_id.clone(),
            fields: c
                .fields
                .iter()
                .map(|f| CardField {
                    label: f.label.clone(),
                    value: f.value.clone(),
                })
                .collect(),
            buttons: c
                .buttons
                .iter()
                .map(|b| CardButton {
                    label: b.label.clone(),
                    action: b.action.as_ref().map(|a| CardAction {
                        action: a.action.clone(),
                        order_id: a.order_id.clone(),
                        product_id: a.product_id.clone(),
                    }),
                })
                .collect(),
        }
    }
}

impl Card {
    /// The checked card of `cards[i]`.
    pub(super) fn into_proto(self, i: usize) -> Result<ev::Card, ApiError> {
        let f = |name: &str| format!("cards[{i}].{name}");
        if !CARD_KINDS.contains(&self.kind.as_str()) {
            return Err(ApiError::field(
                &f("kind"),
                format!("must be one of {}", CARD_KINDS.join(", ")),
            ));
        }
        bounded(&f("title"), &self.title, 0, 200)?;
        bounded(&f("subtitle"), &self.subtitle, 0, 500)?;
        bounded(
            &f("image_url"),
            &self.image_url,
            0,
            crate::content::MAX_URL_LEN,
        )?;
        bounded(&f("order_id"), &self.order_id, 0, 128)?;
        bounded(&f("product_id"), &self.product_id, 0, 128)?;
        if self.fields.len() > 20 || self.buttons.len() > 10 {
            return Err(ApiError::field(
                &f("fields"),
                "at most 20 fields and 10 buttons",
            ));
        }
        let mut fields = Vec::new();
        for (j, x) in self.fields.into_iter().enumerate() {
            bounded(&f(&format!("fields[{j}].label")), &x.label, 0, 100)?;
            bounded(&f(&format!("fields[{j}].value")), &x.value, 0, 500)?;
            fields.push(ev::CardField {
                label: x.label,
                value: x.value,
            });
        }
        let mut buttons = Vec::new();
        for (j, b) in self.buttons.into_iter().enumerate() {
            bounded(&f(&format!("buttons[{j}].label")), &b.label, 1, 100)?;
            let action = match b.action {
                None => None,
                Some(a) => {
                    if !kefu_proto::actions::is_button_action(&a.action) {
                        return Err(ApiError::field(
                            &f(&format!("buttons[{j}].action.action")),
                            "is not a known button action",
                        ));
                    }
                    bounded(
                        &f(&format!("buttons[{j}].action.order_id")),
                        &a.order_id,
                        0,
                        128,
                    )?;
                    bounded(
                        &f(&format!("buttons[{j}].action.product_id")),
                        &a.product_id,
                        0,
                        128,
                    )?;
                    Some(ev::CardAction {
                        action: a.action,
                        order_id: a.order_id,
                        product_id: a.product_id,
                    })
                }
            };
            buttons.push(ev::CardButton {
                label: b.label,
                action,
            });
        }
        Ok(ev::Card {
            kind: self.kind,
            title: self.title,
            subtitle: self.subtitle,
            image_url: self.image_url,
            order_id: self.order_id,
            product_id: self.product_id,
            fields,
            buttons,
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct Message {
    pub message_id: String,
    /// in (customer) | out (bot, agent, system)
    pub direction: String,
    /// customer | bot | agent | system
    pub sender_kind: String,
    pub text: String,
    pub created_at: Option<DateTime<Utc>>,
    pub conversation_id: String,
    pub channel_id: String,
    /// text | image | card | system | action
    pub message_type: String,
    pub cards: Vec<Card>,
    /// An internal note or a whisper: agents only, never shown to the customer.
    pub internal: bool,
    /// The agent (or supervisor) who wrote it.
    pub agent_id: String,
}

impl From<&pb::Message> for Message {
    fn from(m: &pb::Message) -> Self {
        Self {
            message_id: m.message_id.clone(),
            direction: m.direction.clone(),
            sender_kind: m.sender_kind.clone(),
            text: m.text.clone(),
            created_at: ts(&m.created_at),
            conversation_id: m.conversation_id.clone(),
            channel_id: m.channel_id.clone(),
            message_type: m.message_type.clone(),
            cards: m.cards.iter().map(Card::from).collect(),
            internal: m.internal,
            agent_id: m.agent_id.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MessageList {
    pub messages: Vec<Message>,
}
