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
use chrono::Utc;
use kefu_bus::{BatchItem, Envelope, HandlerError, QueueSpec};
use kefu_proto::bot::{AnswerReply, AnswerRequest};
use kefu_proto::event_types;
use kefu_proto::events::{BotAnnotation, ConversationOpened, MessageReceived, MessageToSend};
use kefu_store::sea_orm::{DatabaseConnection, TransactionTrait};
use kefu_store::session::batch::{self, WantConversation};
use kefu_store::session::{NewMessage, Page};
use kefu_store::{StoreError, idempotency, outbox};
use prost::Message as _;
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;
use tracing::Instrument;
use uuid::Uuid;

pub const CONSUMER: &str = kefu_proto::queues::SESSION_INBOUND.name;

/// What the customer gets when the bot cannot answer in time.
pub const BOT_UNAVAILABLE: &str = "抱歉，智能助手暂时繁忙，请稍后再试，或回复“人工”联系客服。Sorry, our assistant is busy; please try again shortly or reply \"agent\".";

/// Most messages in one batch (and one transaction).
pub const MAX_BATCH: usize = 64;

pub fn queue_spec(prefetch: u16) -> QueueSpec {
    crate::queue(kefu_proto::queues::SESSION_INBOUND).with_prefetch(prefetch)
}

/// One decoded message of a batch, with the bot's answer once asked.
struct Work {
    index: usize,
    envelope: Envelope,
    message: MessageReceived,
    span: tracing::Span,
    answer: Option<AnswerReply>,
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
    Ok(msg)
}

/// Handles one batch; one result per item, in order.
pub async fn handle_batch(
    state: SessionState,
    items: Vec<BatchItem>,
) -> Vec<Result<(), HandlerError>> {
    let mut results: Vec<Option<Result<(), HandlerError>>> =
        (0..items.len()).map(|_| None).collect();
    let mut work = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        match decode(&item.envelope) {
            Ok(message) => work.push(Work {
                index,
                envelope: item.envelope,
                message,
                span: item.span,
                answer: None,
            }),
            Err(e) => results[index] = Some(Err(e)),
        }
    }
    // Ask the bot before opening the transaction: no locks held across the network. (A
    // redelivered event asks again; the processed-event record then discards it.)
    let answers =
        futures::future::join_all(work.iter().map(|w| {
            ask_bot(&state, &w.envelope.tenant_id, &w.message).instrument(w.span.clone())
        }))
        .await;
    for (w, answer) in work.iter_mut().zip(answers) {
        w.answer = answer;
    }
    match apply(&state.db, &work).await {
        Ok(events) => {
            state.outbox.dispatch(events);
            for w in &work {
                results[w.index] = Some(Ok(()));
            }
        }
        Err(err) if work.len() > 1 && err.is_conflict() => {
            tracing::debug!(error = %err, count = work.len(), "batch failed; applying one by one");
            for w in work {
                let one = std::slice::from_ref(&w);
                results[w.index] = Some(match apply(&state.db, one).await {
                    Ok(events) => {
                        state.outbox.dispatch(events);
                        Ok(())
                    }
                    Err(e) => Err(HandlerError::Transient(Box::new(e))),
                });
            }
        }
        Err(err) => {
            for w in &work {
                results[w.index] = Some(Err(HandlerError::Transient(err.to_string().into())));
            }
        }
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(HandlerError::Transient("not handled".into()))))
        .collect()
}

/// Stores a batch in one transaction and returns the events it enqueued (for the outbox's
/// fast path). Events already processed are skipped.
async fn apply(db: &DatabaseConnection, work: &[Work]) -> Result<Vec<Envelope>, StoreError> {
    let txn = db.begin().await?;
    let ids: Vec<Uuid> = work.iter().map(|w| w.envelope.event_id).collect();
    let done = idempotency::seen_many(&txn, CONSUMER, &ids).await?;
    let mut fresh_ids = HashSet::new();
    let fresh: Vec<&Work> = work
        .iter()
        .filter(|w| !done.contains(&w.envelope.event_id) && fresh_ids.insert(w.envelope.event_id))
        .collect();
    if fresh.is_empty() {
        txn.commit().await?;
        return Ok(Vec::new());
    }
    idempotency::record_many(
        &txn,
        CONSUMER,
        &fresh_ids.iter().copied().collect::<Vec<_>>(),
    )
    .await?;
    let mut by_tenant: BTreeMap<&str, Vec<&Work>> = BTreeMap::new();
    for w in fresh {
        by_tenant
            .entry(w.envelope.tenant_id.as_str())
            .or_default()
            .push(w);
    }
    let mut events = Vec::new();
    for (tenant, items) in by_tenant {
        apply_tenant(&txn, tenant, &items, &mut events).await?;
    }
    outbox::enqueue_many(&txn, &events).await?;
    txn.commit().await?;
    Ok(events)
}

async fn apply_tenant(
    txn: &impl kefu_store::sea_orm::ConnectionTrait,
    tenant: &str,
    items: &[&Work],
    events: &mut Vec<Envelope>,
) -> Result<(), StoreError> {
    let keys: Vec<batch::ChannelUser> = items
        .iter()
        .map(|w| {
            (
                w.message.channel_id.clone(),
                w.message.external_user_id.clone(),
            )
        })
        .collect();
    let customers = batch::resolve_channel_customers(txn, tenant, &keys).await?;
    let wants: Vec<WantConversation> = items
        .iter()
        .zip(&keys)
        .map(|(w, key)| WantConversation {
            customer_id: customers[key].0,
            channel_id: w.message.channel_id.clone(),
            page: page_of(&w.message),
            at: received_at(&w.message),
        })
        .collect();
    let conversations = batch::open_conversations(txn, tenant, &wants).await?;
    let mut announced = HashSet::new();
    let mut messages = Vec::with_capacity(items.len() * 2);
    for (w, want) in items.iter().zip(&wants) {
        let (conversation, created) = &conversations[&(want.customer_id, want.channel_id.clone())];
        // Events are created inside the message's span so each carries its own trace.
        let _in_span = w.span.enter();
        if *created && announced.insert(conversation.id) {
            let opened = ConversationOpened {
                conversation_id: conversation.id.to_string(),
                customer_id: want.customer_id.to_string(),
                channel_id: w.message.channel_id.clone(),
                page: w.message.page.clone(),
            };
            events.push(Envelope::new(
                tenant,
                event_types::CONVERSATION_OPENED,
                opened.encode_to_vec(),
            ));
        }
        let event = turns(w, tenant, conversation.id, &mut messages);
        events.push(Envelope::new(
            tenant,
            event_types::MESSAGE_TO_SEND,
            event.encode_to_vec(),
        ));
    }
    batch::append_messages(txn, tenant, messages).await?;
    Ok(())
}

fn received_at(msg: &MessageReceived) -> chrono::DateTime<Utc> {
    msg.received_at
        .as_ref()
        .and_then(kefu_proto::time::from_timestamp)
        .unwrap_or_else(Utc::now)
}

fn page_of(msg: &MessageReceived) -> Page {
    msg.page
        .as_ref()
        .map(|p| Page {
            page_type: p.page_type.clone(),
            url: p.url.clone(),
            product_id: p.product_id.clone(),
            order_id: p.order_id.clone(),
        })
        .unwrap_or_default()
}

/// The customer's message and the answer to it (the bot's, or the busy notice), added to
/// `messages`; returns the event that delivers the answer.
fn turns(
    w: &Work,
    tenant: &str,
    conversation_id: Uuid,
    messages: &mut Vec<NewMessage>,
) -> MessageToSend {
    let msg = &w.message;
    let at = received_at(msg);
    messages.push(NewMessage {
        id: Uuid::parse_str(&msg.message_id).unwrap_or_else(|_| Uuid::now_v7()),
        tenant_id: tenant.to_owned(),
        conversation_id,
        direction: "in",
        sender_kind: "customer",
        text: msg.text.clone(),
        external_message_id: Some(msg.external_message_id.clone()),
        created_at: at,
    });
    let (text, bot) = match &w.answer {
        Some(a) => (
            a.answer.clone(),
            Some(BotAnnotation {
                faq_id: a.faq_id.clone(),
                intent: a.intent.clone(),
                confidence: a.confidence,
                suggestions: a.suggestions.clone(),
                handoff: a.handoff,
                reason: a.reason.clone(),
            }),
        ),
        None => (BOT_UNAVAILABLE.to_owned(), None),
    };
    let sender = if bot.is_some() { "bot" } else { "system" };
    let reply_id = Uuid::now_v7();
    messages.push(NewMessage {
        id: reply_id,
        tenant_id: tenant.to_owned(),
        conversation_id,
        direction: "out",
        sender_kind: sender,
        text: text.clone(),
        external_message_id: None,
        created_at: Utc::now().max(at),
    });
    MessageToSend {
        message_id: reply_id.to_string(),
        conversation_id: conversation_id.to_string(),
        channel_id: msg.channel_id.clone(),
        external_user_id: msg.external_user_id.clone(),
        text,
        reply_to_external_message_id: msg.external_message_id.clone(),
        sender_kind: sender.into(),
        inbound_received_at: msg.received_at,
        bot,
    }
}

/// The bot's answer, or `None` when it is unreachable or too slow (the customer then gets
/// [`BOT_UNAVAILABLE`] rather than silence).
async fn ask_bot(state: &SessionState, tenant: &str, msg: &MessageReceived) -> Option<AnswerReply> {
    let request = AnswerRequest {
        tenant_id: tenant.to_owned(),
        conversation_id: String::new(),
        text: msg.text.clone(),
        merchant_id: String::new(),
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
