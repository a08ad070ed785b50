//! Conversations, handoffs and the customer as the workbench sees them.

use super::*;

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
