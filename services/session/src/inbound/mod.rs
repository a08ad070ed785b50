//! The `session.inbound` consumer: a customer's message finds (or creates) its customer and
//! conversation, is stored, goes to the bot, and the bot's answer is stored and queued for
//! delivery — all in one transaction with the processed-event record, so a redelivered event
//! changes nothing and sends nothing twice.
//!
//! Messages are handled in batches (whatever is waiting when the consumer asks): the bot is
//! asked for all of them at once, and one transaction stores the whole batch with a fixed
//! number of statements. A batch that fails as a whole (another replica created the same
//! customer at the same instant, say) is retried message by message, so one conflict cannot
//! hold the others back.

use crate::SessionState;
use crate::store::batch::{self, WantConversation};
use crate::store::customers::{self, Context, TenantSettings};
use crate::store::desk;
use crate::store::entities::message;
use crate::store::{Mode, NewMessage, Page};
use chrono::Utc;
use kefu_bus::{BatchItem, BatchOutcomes, Envelope, HandlerError};
use kefu_proto::bot::{AnswerReply, AnswerRequest};
use kefu_proto::event_types;
use kefu_proto::events::{
    BotAnnotation, CardList, ConversationOpened, ConversationRef, CustomerProfile,
    HandoffRequested, Identity, MessageReceived, MessageToSend, OrderSummary, TranscriptLine,
};
use kefu_store::sea_orm::{DatabaseConnection, TransactionTrait};
use kefu_store::{StoreError, idempotency};
use kefu_worker::outbox;
use prost::Message as _;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;
use tracing::Instrument;
use uuid::Uuid;

mod apply;
mod handoff;
use apply::*;
use handoff::*;

pub const CONSUMER: &str = kefu_proto::queues::SESSION_INBOUND.name;

/// What the customer gets when the bot cannot answer in time.
pub const BOT_UNAVAILABLE: &str = "抱歉，智能助手暂时繁忙，请稍后再试，或回复“人工”联系客服。Sorry, our assistant is busy; please try again shortly or reply \"agent\".";

/// Most messages in one batch (and one transaction).
pub const MAX_BATCH: usize = 64;

/// One decoded message of a batch, with the bot's answer once asked.
struct Work {
    index: usize,
    envelope: Envelope,
    message: MessageReceived,
    span: tracing::Span,
    /// What the session knew of the customer before this message (None: a new customer).
    context: Option<Context>,
    /// Whether the bot was asked (not when the conversation is with a person).
    asked: bool,
    answer: Option<AnswerReply>,
    /// The customer's recent orders, fetched for a handoff's context.
    orders: Vec<OrderSummary>,
}

fn decode(envelope: &Envelope) -> Result<MessageReceived, HandlerError> {
    let msg = MessageReceived::decode(envelope.payload.clone()).map_err(|e| {
        HandlerError::Permanent(format!("undecodable message.received: {e}").into())
    })?;
    if msg.channel_id.is_empty() || msg.external_user_id.is_empty() {
        return Err(HandlerError::Permanent(
            "message.received without channel or user".into(),
        ));
    }
    if msg.text.is_empty() && msg.action.is_none() && msg.image_url.is_empty() {
        return Err(HandlerError::Permanent(
            "message.received without text, image or action".into(),
        ));
    }
    Ok(msg)
}

/// Handles one batch; one result per item, in order.
pub async fn handle_batch(
    state: SessionState,
    items: Vec<BatchItem>,
) -> Vec<Result<(), HandlerError>> {
    let mut results = BatchOutcomes::new(items.len());
    let mut work = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        match decode(&item.envelope) {
            Ok(message) => work.push(Work {
                index,
                envelope: item.envelope,
                message,
                span: item.span,
                context: None,
                asked: false,
                answer: None,
                orders: Vec::new(),
            }),
            Err(e) => results.set(index, Err(e)),
        }
    }
    // What is known of each customer, and each tenant's rules, before asking the bot.
    let mut settings: HashMap<String, TenantSettings> = HashMap::new();
    if let Err(e) = load_contexts(&state, &mut work, &mut settings).await {
        let msg = e.to_string();
        for w in &work {
            results.set(w.index, Err(HandlerError::transient(msg.clone())));
        }
        return results.finish();
    }
    // Ask the bot before opening the transaction: no locks held across the network. (A
    // redelivered event asks again; the processed-event record then discards it.) Messages of
    // one conversation are asked in order, each with the state the previous one left.
    ask_all(&state, &mut work, &settings).await;
    match apply(&state.db, &work, &settings).await {
        Ok(events) => {
            committed(&state, events).await;
            for w in &work {
                results.set(w.index, Ok(()));
            }
        }
        Err(err) if work.len() > 1 && err.is_conflict() => {
            tracing::debug!(error = %err, count = work.len(), "batch failed; applying one by one");
            for w in work {
                let one = std::slice::from_ref(&w);
                let outcome = match apply(&state.db, one, &settings).await {
                    Ok(events) => {
                        committed(&state, events).await;
                        Ok(())
                    }
                    Err(e) => Err(HandlerError::Transient(Box::new(e))),
                };
                results.set(w.index, outcome);
            }
        }
        Err(err) => {
            for w in &work {
                results.set(
                    w.index,
                    Err(HandlerError::Transient(err.to_string().into())),
                );
            }
        }
    }
    results.finish()
}

/// Loads each message's customer context and each tenant's settings (a few statements per
/// tenant, whatever the batch size).
async fn load_contexts(
    state: &SessionState,
    work: &mut [Work],
    settings: &mut HashMap<String, TenantSettings>,
) -> Result<(), StoreError> {
    let mut by_tenant: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, w) in work.iter().enumerate() {
        by_tenant
            .entry(w.envelope.tenant_id.clone())
            .or_default()
            .push(i);
    }
    for (tenant, idx) in by_tenant {
        let keys: Vec<batch::ChannelUser> = idx
            .iter()
            .map(|&i| {
                (
                    work[i].message.channel_id.clone(),
                    work[i].message.external_user_id.clone(),
                )
            })
            .collect();
        let mut found = customers::contexts(&state.db, &tenant, &keys).await?;
        for (&i, key) in idx.iter().zip(&keys) {
            work[i].context = found.remove(key);
            // Two messages of one user in a batch: the later ones share the first one's context.
            if work[i].context.is_none() {
                work[i].context = idx
                    .iter()
                    .take_while(|&&j| j != i)
                    .find(|&&j| {
                        work[j].message.channel_id == key.0
                            && work[j].message.external_user_id == key.1
                    })
                    .and_then(|&j| work[j].context.clone());
            }
        }
        let s = state.rules.get(&state.db, &tenant).await?;
        settings.insert(tenant, s);
    }
    Ok(())
}

/// Asks the bot for every message whose conversation is with the bot: conversations in
/// parallel, the messages of one conversation in order (each passing its state on).
async fn ask_all(
    state: &SessionState,
    work: &mut [Work],
    settings: &HashMap<String, TenantSettings>,
) {
    let mut groups: BTreeMap<(String, String, String), Vec<usize>> = BTreeMap::new();
    for (i, w) in work.iter().enumerate() {
        groups
            .entry((
                w.envelope.tenant_id.clone(),
                w.message.channel_id.clone(),
                w.message.external_user_id.clone(),
            ))
            .or_default()
            .push(i);
    }
    let work_ref: &[Work] = work;
    let answered = futures::future::join_all(groups.into_values().map(|idx| async move {
        let mut out = Vec::with_capacity(idx.len());
        let first = &work_ref[idx[0]];
        let open = first.context.as_ref().and_then(|c| c.open.as_ref());
        let mut queued = open.is_some_and(|c| c.mode == Mode::Queued);
        let mut bot_state = open.map(|c| c.bot_state.clone()).unwrap_or_default();
        for i in idx {
            let w = &work_ref[i];
            if queued || csat_rating(&w.message).is_some() {
                out.push((i, false, None, Vec::new()));
                continue;
            }
            let tenant_settings = settings.get(&w.envelope.tenant_id);
            let answer = ask_bot(state, w, &bot_state, tenant_settings)
                .instrument(w.span.clone())
                .await;
            let mut orders = Vec::new();
            if let Some(a) = &answer {
                bot_state = a.state.clone();
                if a.handoff {
                    queued = true;
                    orders = recent_orders(state, w).await;
                }
            }
            out.push((i, true, answer, orders));
        }
        out
    }))
    .await;
    for (i, asked, answer, orders) in answered.into_iter().flatten() {
        work[i].asked = asked;
        work[i].answer = answer;
        work[i].orders = orders;
    }
}

/// The bot's answer, or `None` when it is unreachable or too slow (the customer then gets
/// [`BOT_UNAVAILABLE`] rather than silence).
async fn ask_bot(
    state: &SessionState,
    w: &Work,
    bot_state: &str,
    settings: Option<&TenantSettings>,
) -> Option<AnswerReply> {
    let msg = &w.message;
    let request = AnswerRequest {
        tenant_id: w.envelope.tenant_id.clone(),
        conversation_id: w
            .context
            .as_ref()
            .and_then(|c| c.open.as_ref())
            .map(|c| c.id.to_string())
            .unwrap_or_default(),
        text: if msg.message_type == "image" && msg.text.is_empty() {
            String::new()
        } else {
            msg.text.clone()
        },
        merchant_id: msg.merchant_id.clone(),
        page: msg.page.clone(),
        customer: Some(profile_of(w)),
        state: bot_state.to_owned(),
        action: msg.action.clone(),
        handoff_after_misses: settings.map_or(0, |s| s.handoff_after_misses),
    };
    let mut client = state.bot.clone();
    let timeout = Duration::from_millis(state.config.bot_timeout_ms);
    match tokio::time::timeout(timeout, client.answer(request)).await {
        Ok(Ok(reply)) => Some(reply.into_inner()),
        Ok(Err(status)) => {
            tracing::warn!(code = ?status.code(), message = status.message(), "bot call failed");
            None
        }
        Err(_) => {
            tracing::warn!(
                timeout_ms = state.config.bot_timeout_ms,
                "bot call timed out"
            );
            None
        }
    }
}

/// The rating a CSAT button carries (`csat:<1–5>`).
fn csat_rating(msg: &MessageReceived) -> Option<u32> {
    kefu_proto::actions::csat_rating(&msg.action.as_ref()?.action)
}

/// After a batch committed: its events go to the relay, and tenants with new handoffs wake
/// their router (after the commit, so no routing row is locked while the batch is open).
async fn committed(state: &SessionState, events: Vec<Envelope>) {
    let mut tenants: Vec<String> = events
        .iter()
        .filter(|e| e.event_type == event_types::HANDOFF_REQUESTED)
        .map(|e| e.tenant_id.clone())
        .collect();
    state.outbox.dispatch(events);
    tenants.sort();
    tenants.dedup();
    for t in tenants {
        if let Err(e) = desk::touch(&state.db, &t).await {
            // The router's timer routes the tenant anyway within a few seconds.
            tracing::warn!(tenant = %t, error = %e, "routing wake-up not recorded");
        }
    }
    state.desk_wake.notify_one();
}
