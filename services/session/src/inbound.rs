//! The `session.inbound` consumer: a customer's message finds (or creates) its customer and
//! conversation, is stored, goes to the bot, and the bot's answer is stored and queued for
//! delivery — all in one transaction with the processed-event record, so a redelivered event
//! changes nothing and sends nothing twice.

use crate::SessionState;
use chrono::Utc;
use kefu_bus::{Envelope, HandlerError, QueueSpec};
use kefu_proto::bot::{AnswerReply, AnswerRequest};
use kefu_proto::event_types;
use kefu_proto::events::{BotAnnotation, ConversationOpened, MessageReceived, MessageToSend};
use kefu_store::sea_orm::TransactionTrait;
use kefu_store::session::{self as repo, NewMessage, Page};
use kefu_store::{idempotency, outbox};
use prost::Message as _;
use std::time::Duration;
use uuid::Uuid;

pub const CONSUMER: &str = "session.inbound";

/// What the customer gets when the bot cannot answer in time.
pub const BOT_UNAVAILABLE: &str = "抱歉，智能助手暂时繁忙，请稍后再试，或回复“人工”联系客服。Sorry, our assistant is busy; please try again shortly or reply \"agent\".";

pub fn queue_spec(prefetch: u16) -> QueueSpec {
    QueueSpec {
        name: CONSUMER.into(),
        bindings: vec![event_types::MESSAGE_RECEIVED.into()],
        prefetch,
        delivery_limit: 5,
    }
}

fn transient(e: impl std::error::Error + Send + Sync + 'static) -> HandlerError {
    HandlerError::Transient(Box::new(e))
}

pub async fn handle(state: SessionState, env: Envelope) -> Result<(), HandlerError> {
    let msg = MessageReceived::decode(env.payload.clone()).map_err(|e| {
        HandlerError::Permanent(format!("undecodable message.received: {e}").into())
    })?;
    if msg.channel_id.is_empty() || msg.external_user_id.is_empty() {
        return Err(HandlerError::Permanent(
            "message.received without channel or user".into(),
        ));
    }
    let tenant = env.tenant_id.as_str();
    let received_at = msg
        .received_at
        .as_ref()
        .and_then(kefu_proto::time::from_timestamp)
        .unwrap_or_else(Utc::now);

    // Ask the bot before opening the transaction: no locks held across the network. (A
    // redelivered event asks again; the processed-event record below then discards it.)
    let answer = ask_bot(&state, tenant, &msg).await;

    let txn = state.db.begin().await.map_err(transient)?;
    if !idempotency::record(&txn, CONSUMER, env.event_id)
        .await
        .map_err(transient)?
    {
        return Ok(());
    }
    let (customer_id, _) =
        repo::resolve_channel_customer(&txn, tenant, &msg.channel_id, &msg.external_user_id)
            .await
            .map_err(transient)?;
    let page = msg
        .page
        .as_ref()
        .map(|p| Page {
            page_type: p.page_type.clone(),
            url: p.url.clone(),
            product_id: p.product_id.clone(),
            order_id: p.order_id.clone(),
        })
        .unwrap_or_default();
    let (conversation, opened) = repo::open_conversation(
        &txn,
        tenant,
        customer_id,
        &msg.channel_id,
        &page,
        received_at,
    )
    .await
    .map_err(transient)?;
    let mut events = Vec::with_capacity(2);
    if opened {
        let event = ConversationOpened {
            conversation_id: conversation.id.to_string(),
            customer_id: customer_id.to_string(),
            channel_id: msg.channel_id.clone(),
            page: msg.page.clone(),
        };
        events.push(Envelope::new(
            tenant,
            event_types::CONVERSATION_OPENED,
            event.encode_to_vec(),
        ));
    }
    let inbound = NewMessage {
        id: Uuid::parse_str(&msg.message_id).unwrap_or_else(|_| Uuid::now_v7()),
        tenant_id: tenant.to_owned(),
        conversation_id: conversation.id,
        direction: "in",
        sender_kind: "customer",
        text: msg.text.clone(),
        external_message_id: Some(msg.external_message_id.clone()),
        created_at: received_at,
    };

    let reply_id = Uuid::now_v7();
    let (text, bot) = match &answer {
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
    let reply = NewMessage {
        id: reply_id,
        tenant_id: tenant.to_owned(),
        conversation_id: conversation.id,
        direction: "out",
        sender_kind: if bot.is_some() { "bot" } else { "system" },
        text: text.clone(),
        external_message_id: None,
        created_at: Utc::now().max(received_at),
    };
    repo::append_to(&txn, &conversation, vec![inbound, reply])
        .await
        .map_err(transient)?;
    let out = MessageToSend {
        message_id: reply_id.to_string(),
        conversation_id: conversation.id.to_string(),
        channel_id: msg.channel_id.clone(),
        external_user_id: msg.external_user_id.clone(),
        text,
        reply_to_external_message_id: msg.external_message_id.clone(),
        sender_kind: if bot.is_some() { "bot" } else { "system" }.into(),
        inbound_received_at: msg.received_at,
        bot,
    };
    events.push(Envelope::new(
        tenant,
        event_types::MESSAGE_TO_SEND,
        out.encode_to_vec(),
    ));
    for event in &events {
        outbox::enqueue(&txn, event).await.map_err(transient)?;
    }
    txn.commit().await.map_err(transient)?;
    state.outbox.dispatch(events);
    tracing::debug!(conversation = %conversation.id, "inbound message handled");
    Ok(())
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
