//! The conversation around the matcher: order look-ups and operations through the order-system
//! connector, order and product cards whose buttons work, multi-turn order choice, and the
//! handoff rules that need memory (N consecutive misses).
//!
//! The bot stays stateless: the session stores each conversation's [`DialogueState`] with the
//! turn and passes it back with the next message, so a restart or another replica loses nothing.

use crate::{BotApp, Language};
use kefu_orders::{CustomerKeys, Operation, Order, OrderError, Product};
use kefu_proto::actions::ORDER as ORDER_ACTIONS;
use kefu_proto::events::{Card, CardAction, CardButton, CardField, CustomerProfile, PageContext};
use serde::{Deserialize, Serialize};

/// Recent orders offered when the bot must ask which order.
pub const ORDER_CHOICES: usize = 3;
/// Intents remembered for the handoff's context.
const MAX_INTENTS: usize = 10;
/// Largest dialogue state accepted back from the session.
pub const MAX_STATE_BYTES: usize = 4 * 1024;

/// What the bot remembers within one conversation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DialogueState {
    /// Consecutive messages the bot could not answer.
    pub misses: u32,
    /// An order action waiting for the customer to say which order.
    pub pending: Option<String>,
    /// The order this conversation is about, once known.
    pub order_id: Option<String>,
    /// Intents detected so far, oldest first.
    pub intents: Vec<String>,
    /// The customer's language as last detected (for turns without words, e.g. a button).
    pub language: Option<String>,
}

impl DialogueState {
    /// Parses the state the session passed back; anything unreadable starts afresh.
    pub fn parse(s: &str) -> Self {
        if s.is_empty() || s.len() > MAX_STATE_BYTES {
            return Self::default();
        }
        serde_json::from_str(s).unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    fn note_intent(&mut self, intent: &str) {
        if self.intents.last().map(String::as_str) != Some(intent) {
            self.intents.push(intent.to_owned());
            if self.intents.len() > MAX_INTENTS {
                self.intents.remove(0);
            }
        }
    }
}

/// One customer turn as the bot sees it.
#[derive(Clone, Debug, Default)]
pub struct Turn {
    pub tenant: String,
    pub merchant: Option<String>,
    pub text: String,
    pub action: Option<CardAction>,
    pub page: Option<PageContext>,
    pub customer: Option<CustomerProfile>,
    pub state: DialogueState,
    /// Consecutive misses before a person takes over (0: [`DEFAULT_HANDOFF_AFTER_MISSES`]).
    pub handoff_after_misses: u32,
}

pub const DEFAULT_HANDOFF_AFTER_MISSES: u32 = 3;

/// The bot's reply to a turn.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reply {
    pub faq_id: Option<String>,
    pub intent: String,
    pub confidence: f64,
    pub answer: String,
    pub handoff: bool,
    pub reason: String,
    pub suggestions: Vec<String>,
    pub cards: Vec<Card>,
    pub state: DialogueState,
    /// The action that ran, if any.
    pub action: String,
    pub language: Language,
    /// In [-1, 1], from the understanding of the message.
    pub sentiment: f64,
    /// The bot could not answer (suggestions or fallback without a handoff).
    pub miss: bool,
    pub suggestion_ids: Vec<String>,
}

fn keys_of(customer: Option<&CustomerProfile>) -> CustomerKeys {
    CustomerKeys::from_identities(
        customer
            .map(|c| c.identities.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|i| (i.kind.as_str(), i.value.as_str())),
    )
}

/// An order number written in the message (letters then at least six digits, e.g.
/// `D20261118001`), or a pick from the offered list ("第2个", "2").
fn order_in_text(text: &str, offered: &[Order]) -> Option<String> {
    let upper = text.to_uppercase();
    for o in offered {
        if upper.contains(&o.order_id.to_uppercase()) {
            return Some(o.order_id.clone());
        }
    }
    let t = text.trim().trim_end_matches(['个', '個', '吧', '。', '.']);
    let t = t
        .trim_start_matches("第")
        .trim_start_matches("the ")
        .trim_start_matches('#');
    let n = match t {
        "1" | "一" | "first" | "1st" => 1,
        "2" | "二" | "second" | "2nd" => 2,
        "3" | "三" | "third" | "3rd" => 3,
        _ => 0,
    };
    (n > 0 && n <= offered.len().min(ORDER_CHOICES)).then(|| offered[n - 1].order_id.clone())
}

/// An order-number-looking token, when none of the offered orders matched (the order system
/// then decides whether it is the customer's).
fn order_number_like(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| {
            w.len() >= 8
                && w.len() <= 32
                && w.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && w.chars().filter(char::is_ascii_digit).count() >= 6
        })
        .map(str::to_uppercase)
}

fn money(cents: i64) -> String {
    format!("¥{}.{:02}", cents / 100, cents.rem_euclid(100))
}

fn status_text(status: &str, lang: Language) -> &'static str {
    match status {
        "unpaid" => lang.t("待付款", "待付款", "awaiting payment"),
        "paid" => lang.t("待发货", "待發貨", "paid, not shipped yet"),
        "shipped" => lang.t("运输中", "運輸中", "on its way"),
        "delivered" => lang.t("已签收", "已簽收", "delivered"),
        "completed" => lang.t("已完成", "已完成", "completed"),
        "cancelled" => lang.t("已取消", "已取消", "cancelled"),
        "returning" => lang.t("退换货中", "退換貨中", "return in progress"),
        _ => lang.t("处理中", "處理中", "in progress"),
    }
}

fn button(label: &str, action: &str, order_id: &str) -> CardButton {
    CardButton {
        label: label.to_owned(),
        action: Some(CardAction {
            action: action.to_owned(),
            order_id: order_id.to_owned(),
            product_id: String::new(),
        }),
    }
}

/// An order card with the buttons that make sense for its state.
pub fn order_card(o: &Order, lang: Language, kind: &str) -> Card {
    let mut fields = vec![
        CardField {
            label: lang.t("状态", "狀態", "Status").into(),
            value: status_text(&o.status, lang).into(),
        },
        CardField {
            label: lang.t("金额", "金額", "Amount").into(),
            value: money(o.amount_cents),
        },
        CardField {
            label: lang.t("下单时间", "下單時間", "Ordered").into(),
            value: o.created_at.format("%Y-%m-%d %H:%M").to_string(),
        },
    ];
    if o.urged && o.status == "paid" {
        fields.push(CardField {
            label: lang.t("发货", "發貨", "Shipping").into(),
            value: lang.t("已催发货", "已催發貨", "urged").into(),
        });
    }
    if let Some(l) = &o.logistics {
        fields.push(CardField {
            label: lang.t("物流", "物流", "Carrier").into(),
            value: format!("{} {}", l.carrier, l.tracking_no),
        });
        fields.push(CardField {
            label: lang.t("最新进展", "最新進展", "Latest").into(),
            value: l.latest.clone(),
        });
    }
    let id = o.order_id.as_str();
    let mut buttons = Vec::new();
    match o.status.as_str() {
        "paid" => buttons.push(button(
            lang.t("催发货", "催發貨", "Urge shipment"),
            "urge_shipment",
            id,
        )),
        "shipped" => buttons.push(button(
            lang.t("查物流", "查物流", "Track parcel"),
            "logistics_lookup",
            id,
        )),
        "delivered" | "completed" => buttons.push(button(
            lang.t("申请退货", "申請退貨", "Return"),
            "create_return",
            id,
        )),
        _ => {}
    }
    if o.invoice == "none" && !matches!(o.status.as_str(), "unpaid" | "cancelled") {
        buttons.push(button(
            lang.t("开发票", "開發票", "Invoice"),
            "issue_invoice",
            id,
        ));
    }
    buttons.push(button(
        lang.t("转人工", "轉人工", "Talk to a person"),
        "handoff",
        id,
    ));
    Card {
        kind: kind.to_owned(),
        title: o.title(),
        subtitle: format!("{} {}", lang.t("订单号", "訂單號", "Order"), o.order_id),
        image_url: o
            .items
            .first()
            .map(|i| i.image_url.clone())
            .unwrap_or_default(),
        order_id: o.order_id.clone(),
        product_id: String::new(),
        fields,
        buttons,
    }
}

/// A card offering an order to pick.
fn choice_card(o: &Order, lang: Language) -> Card {
    Card {
        kind: "order".into(),
        title: o.title(),
        subtitle: format!(
            "{} {} · {}",
            lang.t("订单号", "訂單號", "Order"),
            o.order_id,
            status_text(&o.status, lang)
        ),
        image_url: String::new(),
        order_id: o.order_id.clone(),
        product_id: String::new(),
        fields: Vec::new(),
        buttons: vec![button(
            lang.t("选这个订单", "選這個訂單", "This order"),
            "select_order",
            &o.order_id,
        )],
    }
}

pub fn product_card(p: &Product, lang: Language) -> Card {
    let stock = if p.stock > 0 {
        match lang {
            Language::En => format!("{} in stock", p.stock),
            _ => format!("{} {}", lang.t("有货，库存", "有貨，庫存", ""), p.stock),
        }
    } else {
        lang.t("暂时缺货", "暫時缺貨", "out of stock").to_owned()
    };
    Card {
        kind: "product".into(),
        title: p.name.clone(),
        subtitle: money(p.price_cents),
        image_url: p.image_url.clone(),
        order_id: String::new(),
        product_id: p.product_id.clone(),
        fields: vec![CardField {
            label: lang.t("库存", "庫存", "Stock").into(),
            value: stock,
        }],
        buttons: vec![CardButton {
            label: lang.t("转人工", "轉人工", "Talk to a person").into(),
            action: Some(CardAction {
                action: "handoff".into(),
                order_id: String::new(),
                product_id: p.product_id.clone(),
            }),
        }],
    }
}

impl BotApp {
    /// Answers one turn of a conversation.
    pub async fn respond(&self, turn: Turn) -> Reply {
        let mut state = turn.state.clone();
        let remembered = state
            .language
            .as_deref()
            .and_then(Language::from_code)
            .or_else(|| {
                turn.customer
                    .as_ref()
                    .and_then(|c| Language::from_code(&c.language))
            })
            .unwrap_or_default();
        if let Some(action) = turn.action.clone().filter(|a| !a.action.is_empty()) {
            return self.press(&turn, state, action, remembered).await;
        }
        if turn.text.trim().is_empty() {
            // An image (or an empty message): not a miss; ask what it is about.
            return Reply {
                intent: "fallback".into(),
                answer: remembered
                    .t(
                        "已收到您的图片，请用一句话描述一下遇到的问题，我来帮您处理。",
                        "已收到您的圖片，請用一句話描述一下遇到的問題，我來幫您處理。",
                        "Thanks for the picture. Please tell me in a sentence what the problem is.",
                    )
                    .into(),
                state,
                language: remembered,
                ..Reply::default()
            };
        }
        let a = self.answer(&turn.tenant, &turn.text, turn.merchant.as_deref());
        // Digits alone ("2") say nothing about the language: keep the one we know.
        let worded = turn
            .text
            .chars()
            .any(|c| c.is_alphabetic() && !c.is_ascii_digit());
        let lang = if worded { a.language } else { remembered };
        state.language = Some(lang.as_str().to_owned());
        let keys = keys_of(turn.customer.as_ref());
        // A pending order action: the customer's answer may name the order.
        if let Some(pending) = state.pending.clone()
            && !a.handoff
            && a.faq_id.is_none()
        {
            let offered = self.recent_orders(&keys).await.unwrap_or_default();
            if let Some(order_id) =
                order_in_text(&turn.text, &offered).or_else(|| order_number_like(&turn.text))
            {
                state.pending = None;
                state.order_id = Some(order_id.clone());
                state.misses = 0;
                let mut reply = self
                    .run_order_action(&turn, &mut state, &pending, &order_id, lang)
                    .await;
                reply.state = state;
                return reply;
            }
        }
        let action = a.action.clone().unwrap_or_default();
        let mut reply = Reply {
            faq_id: a.faq_id.clone(),
            intent: a.intent.clone(),
            confidence: a.confidence,
            answer: a.answer.clone(),
            handoff: a.handoff,
            reason: a.reason.clone(),
            suggestions: a.suggestions.clone(),
            language: lang,
            sentiment: a.sentiment,
            miss: a.miss,
            suggestion_ids: a.suggestion_ids.clone(),
            ..Reply::default()
        };
        if a.faq_id.is_some() || a.handoff {
            state.note_intent(&a.intent);
        }
        if a.handoff {
            reply.state = state;
            return reply;
        }
        if a.miss {
            state.misses += 1;
            let limit = match turn.handoff_after_misses {
                0 => DEFAULT_HANDOFF_AFTER_MISSES,
                n => n,
            };
            if state.misses >= limit {
                reply.handoff = true;
                reply.reason = "repeated_misses".into();
                reply.answer = lang
                    .t(
                        "抱歉，我暂时没能解决您的问题，正在为您转接人工客服，请稍候。",
                        "抱歉，我暫時沒能解決您的問題，正在為您轉接人工客服，請稍候。",
                        "Sorry I couldn't help with that. I'm connecting you to a person now.",
                    )
                    .into();
            }
            reply.state = state;
            return reply;
        }
        if a.faq_id.is_some() {
            state.misses = 0;
        }
        if ORDER_ACTIONS.contains(&action.as_str()) {
            reply.action = action.clone();
            let page_order = turn
                .page
                .as_ref()
                .map(|p| p.order_id.clone())
                .filter(|o| !o.is_empty());
            let offered = match self.recent_orders(&keys).await {
                Ok(o) => o,
                Err(e) => {
                    return self.unavailable(reply, state, e, lang);
                }
            };
            let chosen = order_in_text(&turn.text, &offered)
                .or_else(|| order_number_like(&turn.text))
                .or(page_order)
                .or_else(|| state.order_id.clone())
                .or_else(|| (offered.len() == 1).then(|| offered[0].order_id.clone()));
            if let Some(order_id) = chosen {
                state.order_id = Some(order_id.clone());
                let done = self
                    .run_order_action(&turn, &mut state, &action, &order_id, lang)
                    .await;
                reply.answer = done.answer;
                reply.cards = done.cards;
                reply.handoff = done.handoff;
                reply.reason = done.reason;
            } else if !offered.is_empty() {
                state.pending = Some(action);
                reply.answer = format!(
                    "{}\n{}",
                    a.answer,
                    lang.t(
                        "请选择要办理的订单：",
                        "請選擇要辦理的訂單：",
                        "Which order is it about?"
                    )
                );
                reply.cards = offered
                    .iter()
                    .take(ORDER_CHOICES)
                    .map(|o| choice_card(o, lang))
                    .collect();
            } else if keys.is_empty() {
                state.pending = Some(action);
                reply.answer = format!(
                    "{}\n{}",
                    a.answer,
                    lang.t(
                        "请告诉我订单号（可在“我的-订单”中查看），或登录后再问我。",
                        "請告訴我訂單號（可在「我的-訂單」中查看），或登入後再問我。",
                        "Please tell me the order number (see My Orders), or sign in and ask again."
                    )
                );
            } else {
                reply.answer = format!(
                    "{}\n{}",
                    a.answer,
                    lang.t(
                        "没有查到您近期的订单，如有疑问可以回复“人工”。",
                        "沒有查到您近期的訂單，如有疑問可以回覆「人工」。",
                        "I couldn't find any recent orders of yours. Reply \"agent\" to talk to a person."
                    )
                );
            }
        } else if action == "store_stock_lookup"
            && let Some(pid) = turn
                .page
                .as_ref()
                .map(|p| p.product_id.clone())
                .filter(|p| !p.is_empty())
        {
            reply.action = action;
            if let Ok(p) = self.orders.product(&pid).await {
                reply.cards.push(product_card(&p, lang));
            }
        }
        reply.state = state;
        reply
    }

    async fn recent_orders(&self, keys: &CustomerKeys) -> Result<Vec<Order>, OrderError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        self.orders.recent_orders(keys, 5).await
    }

    fn unavailable(
        &self,
        mut reply: Reply,
        state: DialogueState,
        e: OrderError,
        lang: Language,
    ) -> Reply {
        tracing::warn!(error = %e, "order system unavailable");
        reply.answer = lang
            .t(
                "抱歉，订单系统暂时无法查询。您可以稍后再试，或点击下方按钮联系人工客服。",
                "抱歉，訂單系統暫時無法查詢。您可以稍後再試，或點擊下方按鈕聯繫人工客服。",
                "Sorry, I can't reach the order system right now. Try again later or talk to a person.",
            )
            .into();
        reply.cards = vec![Card {
            kind: "menu".into(),
            title: lang.t("需要帮助？", "需要幫助？", "Need help?").into(),
            buttons: vec![button(
                lang.t("转人工", "轉人工", "Talk to a person"),
                "handoff",
                "",
            )],
            ..Card::default()
        }];
        reply.state = state;
        reply
    }

    /// Runs an order action on a known order and describes the result.
    async fn run_order_action(
        &self,
        turn: &Turn,
        state: &mut DialogueState,
        action: &str,
        order_id: &str,
        lang: Language,
    ) -> Reply {
        let keys = keys_of(turn.customer.as_ref());
        let mut reply = Reply {
            faq_id: None,
            intent: intent_of_action(action).into(),
            confidence: 1.0,
            answer: String::new(),
            handoff: false,
            reason: String::new(),
            suggestions: Vec::new(),
            cards: Vec::new(),
            state: DialogueState::default(),
            action: action.to_owned(),
            language: lang,
            ..Reply::default()
        };
        state.note_intent(intent_of_action(action));
        if keys.is_empty() {
            reply.answer = lang
                .t(
                    "为保护您的隐私，请先登录，我再为您查询这笔订单。",
                    "為保護您的隱私，請先登入，我再為您查詢這筆訂單。",
                    "To protect your privacy, please sign in so I can look up this order.",
                )
                .into();
            return reply;
        }
        if let Some(op) = Operation::from_action(action) {
            match self.orders.operate(&keys, order_id, op).await {
                Ok(done) => {
                    reply.answer = done.message;
                    reply.cards.push(order_card(&done.order, lang, "order"));
                }
                Err(OrderError::Refused(why)) => {
                    reply.answer = why;
                    if let Ok(o) = self.orders.order(&keys, order_id).await {
                        reply.cards.push(order_card(&o, lang, "order"));
                    }
                }
                Err(OrderError::NotFound) => reply.answer = not_found(order_id, lang),
                Err(e) => return self.unavailable(reply, state.clone(), e, lang),
            }
            return reply;
        }
        match self.orders.order(&keys, order_id).await {
            Ok(o) => {
                let kind = if action == "logistics_lookup" {
                    "logistics"
                } else {
                    "order"
                };
                reply.answer = match (action, &o.logistics) {
                    ("logistics_lookup", Some(l)) => match lang {
                        Language::En => format!(
                            "Order {} is with {} ({}): {}",
                            o.order_id, l.carrier, l.tracking_no, l.latest
                        ),
                        _ => format!(
                            "{} {}：{}（{} {}）",
                            lang.t("订单", "訂單", ""),
                            o.order_id,
                            l.latest,
                            l.carrier,
                            l.tracking_no
                        ),
                    },
                    ("logistics_lookup", None) => match lang {
                        Language::En => format!("Order {} has not shipped yet.", o.order_id),
                        _ => format!(
                            "{} {} {}",
                            lang.t("订单", "訂單", ""),
                            o.order_id,
                            lang.t(
                                "还没有发货，可以点“催发货”帮您加急。",
                                "還沒有發貨，可以點「催發貨」幫您加急。",
                                ""
                            )
                        ),
                    },
                    ("change_address", _) => lang
                        .t(
                            "修改收货地址需要人工客服核实，请点击“转人工”。",
                            "修改收貨地址需要人工客服核實，請點擊「轉人工」。",
                            "Changing the address needs a person to check; tap \"Talk to a person\".",
                        )
                        .into(),
                    _ => match lang {
                        Language::En => format!(
                            "Here is order {}: {}.",
                            o.order_id,
                            status_text(&o.status, lang)
                        ),
                        _ => format!(
                            "{} {}{}{}",
                            lang.t("为您找到订单", "為您找到訂單", ""),
                            o.order_id,
                            lang.t("，当前状态：", "，當前狀態：", ""),
                            status_text(&o.status, lang)
                        ),
                    },
                };
                reply.cards.push(order_card(&o, lang, kind));
            }
            Err(OrderError::NotFound) => reply.answer = not_found(order_id, lang),
            Err(e) => return self.unavailable(reply, state.clone(), e, lang),
        }
        reply
    }

    /// A card button.
    async fn press(
        &self,
        turn: &Turn,
        mut state: DialogueState,
        action: CardAction,
        lang: Language,
    ) -> Reply {
        if action.action == "handoff" {
            state.note_intent("handoff");
            return Reply {
                faq_id: None,
                intent: "handoff".into(),
                confidence: 1.0,
                answer: lang
                    .t(
                        "好的，正在为您转接人工客服，请稍候。",
                        "好的，正在為您轉接人工客服，請稍候。",
                        "Sure, connecting you to a person now.",
                    )
                    .into(),
                handoff: true,
                reason: "button".into(),
                suggestions: Vec::new(),
                cards: Vec::new(),
                state,
                action: "handoff".into(),
                language: lang,
                ..Reply::default()
            };
        }
        if action.action == "store_stock_lookup" && !action.product_id.is_empty() {
            let cards = match self.orders.product(&action.product_id).await {
                Ok(p) => vec![product_card(&p, lang)],
                Err(_) => Vec::new(),
            };
            return Reply {
                faq_id: None,
                intent: "store".into(),
                confidence: 1.0,
                answer: if cards.is_empty() {
                    lang.t(
                        "没有找到这件商品。",
                        "沒有找到這件商品。",
                        "I couldn't find that product.",
                    )
                    .into()
                } else {
                    String::new()
                },
                handoff: false,
                reason: String::new(),
                suggestions: Vec::new(),
                cards,
                state,
                action: action.action,
                language: lang,
                ..Reply::default()
            };
        }
        let run = if action.action == "select_order" {
            state
                .pending
                .take()
                .unwrap_or_else(|| "order_lookup".to_owned())
        } else {
            action.action.clone()
        };
        state.misses = 0;
        if action.order_id.is_empty() || !ORDER_ACTIONS.contains(&run.as_str()) {
            return Reply {
                faq_id: None,
                intent: "fallback".into(),
                confidence: 0.0,
                answer: lang
                    .t(
                        "这个按钮已经失效了，请重新告诉我您的问题。",
                        "這個按鈕已經失效了，請重新告訴我您的問題。",
                        "That button no longer works; please tell me what you need.",
                    )
                    .into(),
                handoff: false,
                reason: String::new(),
                suggestions: Vec::new(),
                cards: Vec::new(),
                state,
                action: String::new(),
                language: lang,
                ..Reply::default()
            };
        }
        state.order_id = Some(action.order_id.clone());
        let mut reply = self
            .run_order_action(turn, &mut state, &run, &action.order_id, lang)
            .await;
        reply.state = state;
        reply
    }
}

fn not_found(order_id: &str, lang: Language) -> String {
    match lang {
        Language::En => format!("I couldn't find order {order_id} among your orders."),
        _ => format!(
            "{}{}{}",
            lang.t("没有在您的订单中找到", "沒有在您的訂單中找到", ""),
            order_id,
            lang.t("，请核对订单号。", "，請核對訂單號。", "")
        ),
    }
}

fn intent_of_action(action: &str) -> &'static str {
    match action {
        "logistics_lookup" => "logistics",
        "urge_shipment" => "shipping",
        "issue_invoice" => "invoice",
        "create_return" | "create_exchange" => "after_sales",
        _ => "order",
    }
}

#[cfg(test)]
mod tests;
