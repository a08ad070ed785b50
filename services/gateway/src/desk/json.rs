//! The desk API's JSON: serde structs mirroring the `kefu.session.v1` desk messages in
//! snake_case (timestamps as RFC 3339 strings, maps as objects), their conversions from and to
//! protobuf, and the checks of request bodies. The OpenAPI document is derived from these same
//! types, so the document and the wire cannot drift apart.

use crate::error::ApiError;
use chrono::{DateTime, Utc};
use kefu_proto::events as ev;
use kefu_proto::session as pb;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The desk's limits, shared with the session that enforces them (`kefu_proto::desk`).
pub use kefu_proto::desk::{MAX_LIST, MAX_TEXT_CHARS, STATUSES};
/// Most cards in one reply.
pub const MAX_CARDS: usize = 10;
pub const SCOPES: &[&str] = &["mine", "queued", "closed", "active"];

fn ts(t: &Option<prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    t.as_ref().and_then(kefu_proto::time::from_timestamp)
}

/// The error body of every 4xx/5xx (see `crate::error`).
#[derive(Serialize, ToSchema)]
pub struct Error {
    /// e.g. `invalid_field`, `unauthenticated`, `forbidden`, `not_found`.
    pub error: String,
    pub message: String,
    /// The field at fault, when one is.
    pub field: Option<String>,
}

// ---------------------------------------------------------------- checks

/// `value` must be `min..=max` characters.
pub fn bounded(field: &str, value: &str, min: usize, max: usize) -> Result<(), ApiError> {
    Ok(kefu_proto::desk::check_chars(field, value, min, max)?)
}

/// A list field: the desk's list limits.
fn short_list(field: &str, items: &[String]) -> Result<(), ApiError> {
    Ok(kefu_proto::desk::check_list(field, items)?)
}

/// An optional client-chosen id (idempotency key), at most 128 bytes of printable ASCII.
fn client_id(field: &str, v: &Option<String>) -> Result<String, ApiError> {
    let v = v.clone().unwrap_or_default();
    if v.len() > crate::content::MAX_ID_LEN || !v.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::field(
            field,
            "must be at most 128 printable ASCII characters",
        ));
    }
    Ok(v)
}

pub fn check_status(status: &str) -> Result<(), ApiError> {
    if STATUSES.contains(&status) {
        Ok(())
    } else {
        Err(ApiError::field(
            "status",
            format!("must be one of {}", STATUSES.join(", ")),
        ))
    }
}

// ---------------------------------------------------------------- accounts

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    pub login: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>` (or `?token=` on the desk socket).
    pub token: String,
    pub agent: Agent,
    pub expires_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct Agent {
    pub tenant_id: String,
    pub agent_id: String,
    pub login: String,
    pub display_name: String,
    /// agent | supervisor | admin
    pub role: String,
    /// Empty for platform staff.
    pub merchant_id: String,
    pub skills: Vec<String>,
    /// BCP 47 tags, e.g. zh-Hans, en.
    pub languages: Vec<String>,
    /// Conversations at once per channel type (`*` for every other type).
    pub capacity: BTreeMap<String, u32>,
    /// online | busy | away | offline
    pub status: String,
    /// Open conversations per channel type.
    pub load: BTreeMap<String, u32>,
    pub status_since: Option<DateTime<Utc>>,
}

impl From<&pb::Agent> for Agent {
    fn from(a: &pb::Agent) -> Self {
        Self {
            tenant_id: a.tenant_id.clone(),
            agent_id: a.agent_id.clone(),
            login: a.login.clone(),
            display_name: a.display_name.clone(),
            role: a.role.clone(),
            merchant_id: a.merchant_id.clone(),
            skills: a.skills.clone(),
            languages: a.languages.clone(),
            capacity: a.capacity.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            status: a.status.clone(),
            load: a.load.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            status_since: ts(&a.status_since),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AgentList {
    pub agents: Vec<Agent>,
}

/// An agent account to create or replace: the [`Agent`] JSON plus `password`. The read-only
/// fields (`status`, `load`, `status_since`) are accepted so a fetched agent can be sent back,
/// and ignored.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentBody {
    /// Must match the path's tenant when given.
    pub tenant_id: Option<String>,
    /// Chosen by the gateway when creating without one; must match the path when replacing.
    pub agent_id: Option<String>,
    pub login: String,
    #[serde(default)]
    pub display_name: String,
    /// agent | supervisor | admin
    pub role: String,
    #[serde(default)]
    pub merchant_id: String,
    #[serde(default)]
    pub skills: Vec<String>,
    #[serde(default)]
    pub languages: Vec<String>,
    #[serde(default)]
    pub capacity: BTreeMap<String, u32>,
    /// 8–128 characters; required when creating, omitted keeps the current one.
    pub password: Option<String>,
    #[schema(read_only)]
    pub status: Option<String>,
    #[schema(read_only)]
    pub load: Option<BTreeMap<String, u32>>,
    #[schema(read_only)]
    pub status_since: Option<String>,
}

impl AgentBody {
    /// The checked account for `PutAgent`: `agent_id` is the path's (or a new one).
    pub fn into_request(
        self,
        tenant_id: &str,
        agent_id: &str,
        creating: bool,
    ) -> Result<(pb::Agent, String), ApiError> {
        if self.tenant_id.as_deref().is_some_and(|t| t != tenant_id) {
            return Err(ApiError::field("tenant_id", "must be the path's tenant"));
        }
        if self.agent_id.as_deref().is_some_and(|a| a != agent_id) {
            return Err(ApiError::field("agent_id", "must be the path's agent id"));
        }
        crate::admin::check_id("agent_id", agent_id)?;
        bounded("login", &self.login, 1, 128)?;
        bounded("display_name", &self.display_name, 0, 200)?;
        if crate::desk::auth::Role::parse(&self.role).is_none() {
            return Err(ApiError::field(
                "role",
                "must be one of agent, supervisor, admin",
            ));
        }
        if !self.merchant_id.is_empty() {
            crate::admin::check_id("merchant_id", &self.merchant_id)?;
        }
        short_list("skills", &self.skills)?;
        short_list("languages", &self.languages)?;
        if self.capacity.len() > MAX_LIST {
            return Err(ApiError::field("capacity", "has too many channel types"));
        }
        for (k, v) in &self.capacity {
            bounded("capacity", k, 1, 32)?;
            if *v > 100 {
                return Err(ApiError::field(
                    &format!("capacity.{k}"),
                    "must be at most 100",
                ));
            }
        }
        let password = self.password.unwrap_or_default();
        match (creating, password.is_empty()) {
            (true, true) => return Err(ApiError::field("password", "is required when creating")),
            (_, false) => bounded("password", &password, 8, 128)?,
            (false, true) => {}
        }
        let agent = pb::Agent {
            tenant_id: tenant_id.to_owned(),
            agent_id: agent_id.to_owned(),
            login: self.login,
            display_name: self.display_name,
            role: self.role,
            merchant_id: self.merchant_id,
            skills: self.skills,
            languages: self.languages,
            capacity: self.capacity.into_iter().collect(),
            ..Default::default()
        };
        Ok((agent, password))
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    /// online | busy | away | offline
    pub status: String,
}

// ---------------------------------------------------------------- canned responses

#[derive(Serialize, ToSchema)]
pub struct CannedResponse {
    pub tenant_id: String,
    pub canned_id: String,
    /// Empty: the whole platform's.
    pub merchant_id: String,
    /// e.g. "/thanks"
    pub shortcut: String,
    pub title: String,
    pub text: String,
}

impl From<&pb::CannedResponse> for CannedResponse {
    fn from(c: &pb::CannedResponse) -> Self {
        Self {
            tenant_id: c.tenant_id.clone(),
            canned_id: c.canned_id.clone(),
            merchant_id: c.merchant_id.clone(),
            shortcut: c.shortcut.clone(),
            title: c.title.clone(),
            text: c.text.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CannedList {
    pub canned: Vec<CannedResponse>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CannedBody {
    pub tenant_id: Option<String>,
    pub canned_id: Option<String>,
    #[serde(default)]
    pub merchant_id: String,
    pub shortcut: String,
    #[serde(default)]
    pub title: String,
    pub text: String,
}

impl CannedBody {
    pub fn into_proto(
        self,
        tenant_id: &str,
        canned_id: &str,
    ) -> Result<pb::CannedResponse, ApiError> {
        if self.tenant_id.as_deref().is_some_and(|t| t != tenant_id) {
            return Err(ApiError::field("tenant_id", "must be the path's tenant"));
        }
        if self.canned_id.as_deref().is_some_and(|c| c != canned_id) {
            return Err(ApiError::field("canned_id", "must be the path's id"));
        }
        crate::admin::check_id("canned_id", canned_id)?;
        if !self.merchant_id.is_empty() {
            crate::admin::check_id("merchant_id", &self.merchant_id)?;
        }
        bounded("shortcut", &self.shortcut, 1, 64)?;
        bounded("title", &self.title, 0, 200)?;
        bounded("text", &self.text, 1, MAX_TEXT_CHARS)?;
        Ok(pb::CannedResponse {
            tenant_id: tenant_id.to_owned(),
            canned_id: canned_id.to_owned(),
            merchant_id: self.merchant_id,
            shortcut: self.shortcut,
            title: self.title,
            text: self.text,
        })
    }
}

// ---------------------------------------------------------------- conversations

#[derive(Serialize, ToSchema)]
pub struct PageContext {
    pub url: String,
    /// home | list | product | cart | checkout | order | other
    pub page_type: String,
    pub product_id: String,
    pub order_id: String,
}

impl From<&ev::PageContext> for PageContext {
    fn from(p: &ev::PageContext) -> Self {
        Self {
            url: p.url.clone(),
            page_type: p.page_type.clone(),
            product_id: p.product_id.clone(),
            order_id: p.order_id.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Identity {
    pub kind: String,
    pub value: String,
}

#[derive(Serialize, ToSchema)]
pub struct OrderSummary {
    pub order_id: String,
    pub status: String,
    pub title: String,
    pub amount_cents: i64,
    pub created_at: Option<DateTime<Utc>>,
}

/// The unified customer: one person across channels.
#[derive(Serialize, ToSchema)]
pub struct CustomerProfile {
    pub customer_id: String,
    pub display_name: String,
    pub tier: String,
    pub tags: Vec<String>,
    pub region: String,
    pub language: String,
    pub identities: Vec<Identity>,
    pub recent_orders: Vec<OrderSummary>,
}

impl From<&ev::CustomerProfile> for CustomerProfile {
    fn from(p: &ev::CustomerProfile) -> Self {
        Self {
            customer_id: p.customer_id.clone(),
            display_name: p.display_name.clone(),
            tier: p.tier.clone(),
            tags: p.tags.clone(),
            region: p.region.clone(),
            language: p.language.clone(),
            identities: p
                .identities
                .iter()
                .map(|i| Identity {
                    kind: i.kind.clone(),
                    value: i.value.clone(),
                })
                .collect(),
            recent_orders: p
                .recent_orders
                .iter()
                .map(|o| OrderSummary {
                    order_id: o.order_id.clone(),
                    status: o.status.clone(),
                    title: o.title.clone(),
                    amount_cents: o.amount_cents,
                    created_at: ts(&o.created_at),
                })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TranscriptLine {
    /// customer | bot | agent | system
    pub sender_kind: String,
    pub text: String,
    pub at: Option<DateTime<Utc>>,
}

/// Why and how the bot handed the conversation to a person, with the transcript so far.
#[derive(Serialize, ToSchema)]
pub struct Handoff {
    pub conversation_id: String,
    pub customer_id: String,
    pub channel_id: String,
    /// human_request | complaint | faq_handoff | repeated_misses | negative_sentiment | button
    pub reason: String,
    pub intents: Vec<String>,
    pub transcript: Vec<TranscriptLine>,
    pub profile: Option<CustomerProfile>,
    pub page: Option<PageContext>,
    pub merchant_id: String,
    pub requested_at: Option<DateTime<Utc>>,
    pub language: String,
}

impl From<&ev::HandoffRequested> for Handoff {
    fn from(h: &ev::HandoffRequested) -> Self {
        Self {
            conversation_id: h.conversation_id.clone(),
            customer_id: h.customer_id.clone(),
            channel_id: h.channel_id.clone(),
            reason: h.reason.clone(),
            intents: h.intents.clone(),
            transcript: h
                .transcript
                .iter()
                .map(|t| TranscriptLine {
                    sender_kind: t.sender_kind.clone(),
                    text: t.text.clone(),
                    at: ts(&t.at),
                })
                .collect(),
            profile: h.profile.as_ref().map(CustomerProfile::from),
            page: h.page.as_ref().map(PageContext::from),
            merchant_id: h.merchant_id.clone(),
            requested_at: ts(&h.requested_at),
            language: h.language.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Conversation {
    pub tenant_id: String,
    pub conversation_id: String,
    pub customer_id: String,
    pub channel_id: String,
    /// open | closed
    pub status: String,
    pub opened_at: Option<DateTime<Utc>>,
    /// bot | queued
    pub mode: String,
    pub page: Option<PageContext>,
    pub handoff: Option<Handoff>,
}

impl From<&pb::Conversation> for Conversation {
    fn from(c: &pb::Conversation) -> Self {
        Self {
            tenant_id: c.tenant_id.clone(),
            conversation_id: c.conversation_id.clone(),
            customer_id: c.customer_id.clone(),
            channel_id: c.channel_id.clone(),
            status: c.status.clone(),
            opened_at: ts(&c.opened_at),
            mode: c.mode.clone(),
            page: c.page.as_ref().map(PageContext::from),
            handoff: c.handoff.as_ref().map(Handoff::from),
        }
    }
}

/// A handed-off conversation as the desk sees it.
#[derive(Serialize, ToSchema)]
pub struct WorkConversation {
    pub conversation: Option<Conversation>,
    /// waiting | offered | active | left_message | closed
    pub state: String,
    pub queue: String,
    /// The agent it is offered to or served by.
    pub agent_id: String,
    pub enqueued_at: Option<DateTime<Utc>>,
    pub offered_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub channel_type: String,
    pub merchant_id: String,
    pub monitors: Vec<String>,
    pub participants: Vec<String>,
    pub summary: String,
    pub tags: Vec<String>,
    /// 1–5 once rated; 0 before.
    pub csat: u32,
    pub priority: f64,
    pub customer_name: String,
    pub tier: String,
    /// Why it is in its current state: overflow:<from>, transfer:<agent>, timeout, reoffer.
    pub note: String,
    pub offer_expires_at: Option<DateTime<Utc>>,
}

impl From<&pb::WorkConversation> for WorkConversation {
    fn from(w: &pb::WorkConversation) -> Self {
        Self {
            conversation: w.conversation.as_ref().map(Conversation::from),
            state: w.state.clone(),
            queue: w.queue.clone(),
            agent_id: w.agent_id.clone(),
            enqueued_at: ts(&w.enqueued_at),
            offered_at: ts(&w.offered_at),
            accepted_at: ts(&w.accepted_at),
            closed_at: ts(&w.closed_at),
            channel_type: w.channel_type.clone(),
            merchant_id: w.merchant_id.clone(),
            monitors: w.monitors.clone(),
            participants: w.participants.clone(),
            summary: w.summary.clone(),
            tags: w.tags.clone(),
            csat: w.csat,
            priority: w.priority,
            customer_name: w.customer_name.clone(),
            tier: w.tier.clone(),
            note: w.note.clone(),
            offer_expires_at: ts(&w.offer_expires_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ConversationList {
    pub conversations: Vec<WorkConversation>,
}

// ---------------------------------------------------------------- messages and cards

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
    fn into_proto(self, i: usize) -> Result<ev::Card, ApiError> {
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

// ---------------------------------------------------------------- work requests

/// A reply to the customer: `text`, a canned response, cards, or a mix.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyBody {
    pub text: Option<String>,
    /// A canned response's text is sent (with `text` appended when both are set).
    pub canned_id: Option<String>,
    #[serde(default)]
    pub cards: Vec<Card>,
    /// The client's id for this reply: a re-send with the same id is not sent twice.
    pub client_id: Option<String>,
}

impl ReplyBody {
    pub fn into_request(
        self,
        actor: pb::Actor,
        conversation_id: String,
    ) -> Result<pb::ReplyRequest, ApiError> {
        let text = self.text.unwrap_or_default();
        let canned_id = self.canned_id.unwrap_or_default();
        if text.trim().is_empty() && canned_id.is_empty() && self.cards.is_empty() {
            return Err(ApiError::field(
                "text",
                "a reply needs text, canned_id or cards",
            ));
        }
        bounded("text", &text, 0, MAX_TEXT_CHARS)?;
        if !canned_id.is_empty() {
            crate::admin::check_id("canned_id", &canned_id)?;
        }
        if self.cards.len() > MAX_CARDS {
            return Err(ApiError::field(
                "cards",
                format!("must have at most {MAX_CARDS} cards"),
            ));
        }
        let cards = self
            .cards
            .into_iter()
            .enumerate()
            .map(|(i, c)| c.into_proto(i))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(pb::ReplyRequest {
            actor: Some(actor),
            conversation_id,
            text,
            canned_id,
            cards,
            client_id: client_id("client_id", &self.client_id)?,
        })
    }
}

/// An internal note (or a supervisor's whisper): agents only, never shown to the customer.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    pub text: String,
    pub client_id: Option<String>,
}

impl NoteBody {
    pub fn into_request(
        self,
        actor: pb::Actor,
        conversation_id: String,
    ) -> Result<pb::NoteRequest, ApiError> {
        if self.text.trim().is_empty() {
            return Err(ApiError::field("text", "is required"));
        }
        bounded("text", &self.text, 1, MAX_TEXT_CHARS)?;
        Ok(pb::NoteRequest {
            actor: Some(actor),
            conversation_id,
            client_id: client_id("client_id", &self.client_id)?,
            text: self.text,
        })
    }
}

/// To another agent or another queue: exactly one of the two.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferBody {
    pub to_agent_id: Option<String>,
    pub to_queue: Option<String>,
    /// Shown to the next agent with the conversation's context.
    pub note: Option<String>,
}

impl TransferBody {
    pub fn into_request(
        self,
        actor: pb::Actor,
        conversation_id: String,
    ) -> Result<pb::TransferRequest, ApiError> {
        let agent = self.to_agent_id.unwrap_or_default();
        let queue = self.to_queue.unwrap_or_default();
        match (agent.is_empty(), queue.is_empty()) {
            (true, true) => {
                return Err(ApiError::field(
                    "to_agent_id",
                    "one of to_agent_id or to_queue is required",
                ));
            }
            (false, false) => {
                return Err(ApiError::field(
                    "to_queue",
                    "give to_agent_id or to_queue, not both",
                ));
            }
            (false, true) => crate::admin::check_id("to_agent_id", &agent)?,
            (true, false) => crate::admin::check_id("to_queue", &queue)?,
        }
        let note = self.note.unwrap_or_default();
        bounded("note", &note, 0, 2_000)?;
        Ok(pb::TransferRequest {
            actor: Some(actor),
            conversation_id,
            to_agent_id: agent,
            to_queue: queue,
            note,
        })
    }
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CloseBody {
    pub summary: Option<String>,
    pub tags: Option<Vec<String>>,
}

impl CloseBody {
    pub fn into_request(
        self,
        actor: pb::Actor,
        conversation_id: String,
    ) -> Result<pb::CloseRequest, ApiError> {
        let summary = self.summary.unwrap_or_default();
        bounded("summary", &summary, 0, 2_000)?;
        let tags = self.tags.unwrap_or_default();
        short_list("tags", &tags)?;
        Ok(pb::CloseRequest {
            actor: Some(actor),
            conversation_id,
            summary,
            tags,
        })
    }
}

// ---------------------------------------------------------------- supervision

#[derive(Serialize, ToSchema)]
pub struct QueueStats {
    pub name: String,
    pub merchant_id: String,
    pub skills: Vec<String>,
    pub waiting: u32,
    pub left_messages: u32,
    pub longest_wait_seconds: u32,
    pub agents_online: u32,
    pub free_slots: u32,
    /// Served within the SLA's seconds, over conversations offered in the last hour, in percent.
    pub service_level_percent: f64,
    pub sla_target_percent: u32,
    pub sla_within_seconds: u32,
    pub active: u32,
}

impl From<&pb::QueueStats> for QueueStats {
    fn from(q: &pb::QueueStats) -> Self {
        Self {
            name: q.name.clone(),
            merchant_id: q.merchant_id.clone(),
            skills: q.skills.clone(),
            waiting: q.waiting,
            left_messages: q.left_messages,
            longest_wait_seconds: q.longest_wait_seconds,
            agents_online: q.agents_online,
            free_slots: q.free_slots,
            service_level_percent: q.service_level_percent,
            sla_target_percent: q.sla_target_percent,
            sla_within_seconds: q.sla_within_seconds,
            active: q.active,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct QueueList {
    pub queues: Vec<QueueStats>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor() -> pb::Actor {
        pb::Actor::default()
    }

    fn field_of(e: ApiError) -> String {
        match e {
            ApiError::InvalidField { field, .. } => field,
            other => panic!("not a field error: {other}"),
        }
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
        assert_eq!(field_of(none), "to_agent_id");
        let both = t(Some("a-2"), Some("vip"))
            .into_request(actor(), "c".into())
            .unwrap_err();
        assert_eq!(field_of(both), "to_queue");
        let r = t(None, Some("vip"))
            .into_request(actor(), "c".into())
            .unwrap();
        assert_eq!((r.to_queue.as_str(), r.to_agent_id.as_str()), ("vip", ""));
        let bad = t(Some("A 2"), None)
            .into_request(actor(), "c".into())
            .unwrap_err();
        assert_eq!(field_of(bad), "to_agent_id");
    }

    #[test]
    fn statuses_are_the_four_known_ones() {
        for s in STATUSES {
            assert!(check_status(s).is_ok());
        }
        for s in ["", "Online", "lunch"] {
            assert_eq!(field_of(check_status(s).unwrap_err()), "status");
        }
    }

    #[test]
    fn replies_need_content_and_checked_cards() {
        let empty: ReplyBody = serde_json::from_str(r#"{"text":"  "}"#).unwrap();
        assert_eq!(
            field_of(empty.into_request(actor(), "c".into()).unwrap_err()),
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
            field_of(bad.into_request(actor(), "c".into()).unwrap_err()),
            "cards[0].kind"
        );
        let bad_action: ReplyBody = serde_json::from_str(
            r#"{"cards":[{"kind":"menu","buttons":[{"label":"x","action":{"action":"rm -rf"}}]}]}"#,
        )
        .unwrap();
        assert_eq!(
            field_of(bad_action.into_request(actor(), "c".into()).unwrap_err()),
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
            field_of(create.into_request("acme", "a-1", true).unwrap_err()),
            "password"
        );
        let short = body(r#"{"login":"li","role":"agent","password":"short"}"#);
        assert_eq!(
            field_of(short.into_request("acme", "a-1", true).unwrap_err()),
            "password"
        );
        let role = body(r#"{"login":"li","role":"root","password":"long enough"}"#);
        assert_eq!(
            field_of(role.into_request("acme", "a-1", true).unwrap_err()),
            "role"
        );
        let other = body(r#"{"agent_id":"a-2","login":"li","role":"agent"}"#);
        assert_eq!(
            field_of(other.into_request("acme", "a-1", false).unwrap_err()),
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
            field_of(note.into_request(actor(), "c".into()).unwrap_err()),
            "text"
        );
        let tags = CloseBody {
            summary: None,
            tags: Some(vec![String::new()]),
        };
        assert_eq!(
            field_of(tags.into_request(actor(), "c".into()).unwrap_err()),
            "tags[0]"
        );
    }
}
