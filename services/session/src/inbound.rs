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
use crate::store::{MODE_QUEUED, NewMessage, Page};
use chrono::Utc;
use kefu_bus::{BatchItem, Envelope, HandlerError, QueueSpec};
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
                context: None,
                asked: false,
                answer: None,
                orders: Vec::new(),
            }),
            Err(e) => results[index] = Some(Err(e)),
        }
    }
    // What is known of each customer, and each tenant's rules, before asking the bot.
    let mut settings: HashMap<String, TenantSettings> = HashMap::new();
    if let Err(e) = load_contexts(&state, &mut work, &mut settings).await {
        let msg = e.to_string();
        for w in &work {
            results[w.index] = Some(Err(HandlerError::transient(msg.clone())));
        }
        return finish(results);
    }
    // Ask the bot before opening the transaction: no locks held across the network. (A
    // redelivered event asks again; the processed-event record then discards it.) Messages of
    // one conversation are asked in order, each with the state the previous one left.
    ask_all(&state, &mut work, &settings).await;
    match apply(&state.db, &work, &settings).await {
        Ok(events) => {
            committed(&state, events).await;
            for w in &work {
                results[w.index] = Some(Ok(()));
            }
        }
        Err(err) if work.len() > 1 && err.is_conflict() => {
            tracing::debug!(error = %err, count = work.len(), "batch failed; applying one by one");
            for w in work {
                let one = std::slice::from_ref(&w);
                results[w.index] = Some(match apply(&state.db, one, &settings).await {
                    Ok(events) => {
                        committed(&state, events).await;
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
    finish(results)
}

fn finish(results: Vec<Option<Result<(), HandlerError>>>) -> Vec<Result<(), HandlerError>> {
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(HandlerError::Transient("not handled".into()))))
        .collect()
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
        let mut queued = open.is_some_and(|c| c.mode == MODE_QUEUED);
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

/// The customer's identities: those the session knows plus those this message claims.
fn identities_of(w: &Work) -> Vec<Identity> {
    let mut out: Vec<Identity> = w
        .context
        .as_ref()
        .map(|c| {
            c.identities
                .iter()
                .map(|i| Identity {
                    kind: i.kind.clone(),
                    value: i.value.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    for i in &w.message.identities {
        if !out.contains(i) {
            out.push(i.clone());
        }
    }
    out
}

fn profile_of(w: &Work) -> CustomerProfile {
    let hints = w.message.profile.clone().unwrap_or_default();
    let (id, name, tier, region, language, tags) = match w.context.as_ref() {
        Some(c) => (
            c.customer.id.to_string(),
            c.customer.display_name.clone(),
            c.customer.tier.clone(),
            c.customer.region.clone(),
            c.customer.language.clone(),
            customers::tags_of(&c.customer),
        ),
        None => Default::default(),
    };
    let or = |a: String, b: String| if a.is_empty() { b } else { a };
    CustomerProfile {
        customer_id: id,
        display_name: or(name, hints.display_name),
        tier: or(tier, hints.tier),
        tags,
        region: or(region, hints.region),
        language: or(language, hints.language),
        identities: identities_of(w),
        recent_orders: Vec::new(),
    }
}

async fn recent_orders(state: &SessionState, w: &Work) -> Vec<OrderSummary> {
    let keys = crate::order_keys(&identities_of(w));
    if keys.is_empty() || !state.orders.is_configured() {
        return Vec::new();
    }
    match state.orders.recent_orders(&keys, 5).await {
        Ok(orders) => orders.iter().map(crate::order_summary).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "recent orders unavailable for the handoff");
            Vec::new()
        }
    }
}

/// Stores a batch in one transaction and returns the events it enqueued (for the outbox's
/// fast path). Events already processed are skipped.
async fn apply(
    db: &DatabaseConnection,
    work: &[Work],
    settings: &HashMap<String, TenantSettings>,
) -> Result<Vec<Envelope>, StoreError> {
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
        let rules = settings
            .get(tenant)
            .cloned()
            .unwrap_or_else(|| TenantSettings::defaults(tenant));
        apply_tenant(&txn, tenant, &items, &rules, &mut events).await?;
    }
    outbox::enqueue_many(&txn, &events).await?;
    txn.commit().await?;
    Ok(events)
}

async fn apply_tenant(
    txn: &impl kefu_store::sea_orm::ConnectionTrait,
    tenant: &str,
    items: &[&Work],
    rules: &TenantSettings,
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
    let mut customers_of: HashMap<batch::ChannelUser, Uuid> =
        batch::resolve_channel_customers(txn, tenant, &keys)
            .await?
            .into_iter()
            .map(|(k, (id, _))| (k, id))
            .collect();
    // Identities the channel vouches for attach to the customer, merging by the tenant's rule;
    // profile hints fill what is still empty. (Rare, so one message at a time.)
    for (w, key) in items.iter().zip(&keys) {
        let claimed: Vec<(String, String)> = w
            .message
            .identities
            .iter()
            .map(|i| (i.kind.clone(), i.value.clone()))
            .collect();
        if !claimed.is_empty() {
            let (now_id, merges) = customers::link_identities(
                txn,
                tenant,
                customers_of[key],
                &claimed,
                &rules.merge_identity_kinds,
            )
            .await?;
            for m in &merges {
                tracing::info!(survivor = %m.survivor_id, absorbed = %m.absorbed_id, cause = %m.cause, "customers merged");
            }
            customers_of.insert(key.clone(), now_id);
        }
        // The language the bot detected fills a profile that has none (one write per customer,
        // the first time).
        let known_language = w
            .context
            .as_ref()
            .is_some_and(|c| !c.customer.language.is_empty());
        let detected = w
            .answer
            .as_ref()
            .map(|a| a.language.clone())
            .filter(|l| !l.is_empty() && !known_language);
        if w.message.profile.is_some() || detected.is_some() {
            let p = w.message.profile.clone().unwrap_or_default();
            let hints = customers::ProfileUpdate {
                display_name: Some(p.display_name),
                tier: Some(p.tier),
                region: Some(p.region),
                language: Some(if p.language.is_empty() {
                    detected.unwrap_or_default()
                } else {
                    p.language
                }),
                tags: None,
            };
            customers::fill_profile(txn, tenant, customers_of[key], &hints).await?;
        }
    }
    // A tap on a CSAT button rates the customer's last closed conversation (and is recorded
    // there); it opens no conversation of its own.
    let mut rest: Vec<&Work> = Vec::with_capacity(items.len());
    let mut rest_keys: Vec<batch::ChannelUser> = Vec::with_capacity(items.len());
    for (w, key) in items.iter().zip(&keys) {
        match csat_rating(&w.message) {
            Some(rating) => rate_last(txn, tenant, customers_of[key], w, rating, events).await?,
            None => {
                rest.push(w);
                rest_keys.push(key.clone());
            }
        }
    }
    let (items, keys) = (&rest[..], &rest_keys);
    let wants: Vec<WantConversation> = items
        .iter()
        .zip(keys)
        .map(|(w, key)| WantConversation {
            customer_id: customers_of[key],
            channel_id: w.message.channel_id.clone(),
            page: page_of(&w.message),
            at: received_at(&w.message),
            merchant_id: w.message.merchant_id.clone(),
        })
        .collect();
    let conversations = batch::open_conversations(txn, tenant, &wants).await?;
    // Conversations with a person: their agents see the customer's new messages live.
    let with_person: Vec<Uuid> = conversations
        .values()
        .filter(|(c, _)| c.mode == MODE_QUEUED)
        .map(|(c, _)| c.id)
        .collect();
    let work_items = desk::work_items(txn, tenant, &with_person).await?;
    let mut announced = HashSet::new();
    let mut messages = Vec::with_capacity(items.len() * 2);
    // Whose each message is, and the conversation it is in, for its `message.created`.
    let mut owners: Vec<(&Work, ConversationRef)> = Vec::with_capacity(items.len() * 2);
    let mut bot_states: HashMap<Uuid, String> = HashMap::new();
    // The states the conversations had before this batch.
    let before: HashMap<Uuid, String> = conversations
        .values()
        .map(|(c, _)| (c.id, c.bot_state.clone()))
        .collect();
    let mut handoffs: Vec<(Uuid, &Work, Uuid, String)> = Vec::new();
    let mut queued: HashSet<Uuid> = HashSet::new();
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
        let already_queued = conversation.mode == MODE_QUEUED || queued.contains(&conversation.id);
        let first_new = messages.len();
        let reply = turns(w, tenant, conversation.id, already_queued, &mut messages);
        let reference = ConversationRef {
            conversation_id: conversation.id.to_string(),
            customer_id: want.customer_id.to_string(),
            merchant_id: conversation.merchant_id.clone(),
            channel_type: w.message.channel_type.clone(),
            queue_id: work_items
                .get(&conversation.id)
                .map(|i| i.queue.clone())
                .unwrap_or_default(),
        };
        owners.extend((first_new..messages.len()).map(|_| (*w, reference.clone())));
        if let Some(item) = work_items.get(&conversation.id)
            && let Some(m) = messages.get(first_new)
        {
            events.push(crate::desk::events::message_event(item, &m.to_model(), &[]));
        }
        if let Some(event) = reply {
            events.push(Envelope::new(
                tenant,
                event_types::MESSAGE_TO_SEND,
                event.encode_to_vec(),
            ));
        }
        if let Some(a) = w.answer.as_ref().filter(|_| !already_queued) {
            bot_states.insert(conversation.id, a.state.clone());
            if a.handoff {
                queued.insert(conversation.id);
                handoffs.push((conversation.id, w, want.customer_id, a.reason.clone()));
            }
        }
    }
    let stored = batch::append_messages(txn, tenant, messages).await?;
    for (m, (w, reference)) in stored.iter().zip(owners) {
        let _in_span = w.span.enter();
        events.extend(created_events(w, reference, m));
    }
    // Only states that changed are written, all with one statement.
    let changed: Vec<(Uuid, String)> = bot_states
        .into_iter()
        .filter(|(id, state)| before.get(id) != Some(state))
        .collect();
    customers::set_bot_states(txn, tenant, &changed).await?;
    let setup = if handoffs.is_empty() {
        None
    } else {
        Some(crate::desk::setup::load(txn, tenant).await?)
    };
    // A conversation stays with the merchant it began with (its transcript is that merchant's),
    // whatever page the handoff came from.
    let merchant_of: HashMap<Uuid, String> = conversations
        .values()
        .map(|(c, _)| (c.id, c.merchant_id.clone()))
        .collect();
    for (conversation_id, w, customer_id, reason) in handoffs {
        let handoff = handoff_of(txn, tenant, conversation_id, customer_id, w, &reason)
            .instrument(w.span.clone())
            .await?;
        customers::hand_off(txn, tenant, conversation_id, handoff.encode_to_vec()).await?;
        if let Some(setup) = &setup {
            let item = work_item_of(
                txn,
                tenant,
                setup,
                conversation_id,
                customer_id,
                w,
                &handoff,
                merchant_of.get(&conversation_id).map(String::as_str),
            )
            .await?;
            if desk::enqueue(txn, &item).await? {
                let _in_span = w.span.enter();
                events.push(crate::desk::events::queue_changed(
                    tenant,
                    &item.merchant_id,
                    &item.queue,
                ));
                events.push(crate::domain::queue_entered(
                    &item,
                    crate::domain::Entered::Handoff,
                ));
            }
        }
        // The event carries the message's trace; the span is entered only while it is made
        // (never across an await).
        let _in_span = w.span.enter();
        tracing::info!(conversation = %conversation_id, reason = %reason, "handed off to a person");
        events.push(Envelope::new(
            tenant,
            event_types::HANDOFF_REQUESTED,
            handoff.encode_to_vec(),
        ));
    }
    Ok(())
}

/// Everything a person needs to take over: the transcript so far, the intents the bot saw,
/// why it handed off, who the customer is and where they are.
async fn handoff_of(
    txn: &impl kefu_store::sea_orm::ConnectionTrait,
    tenant: &str,
    conversation_id: Uuid,
    customer_id: Uuid,
    w: &Work,
    reason: &str,
) -> Result<HandoffRequested, StoreError> {
    let transcript = crate::store::list_messages(txn, tenant, conversation_id, 50, false)
        .await?
        .into_iter()
        .map(|m| TranscriptLine {
            sender_kind: m.sender_kind,
            text: m.text,
            at: Some(kefu_proto::time::to_timestamp(m.created_at)),
        })
        .collect();
    let mut profile = profile_of(w);
    if let Some(c) = customers::get_customer(txn, tenant, customer_id).await? {
        profile.customer_id = c.id.to_string();
        let or = |a: String, b: &str| if a.is_empty() { b.to_owned() } else { a };
        profile.display_name = or(c.display_name.clone(), &profile.display_name);
        profile.tier = or(c.tier.clone(), &profile.tier);
        profile.region = or(c.region.clone(), &profile.region);
        profile.language = or(c.language.clone(), &profile.language);
        profile.tags = customers::tags_of(&c);
    }
    profile.recent_orders = w.orders.clone();
    let answer = w.answer.as_ref();
    Ok(HandoffRequested {
        conversation_id: conversation_id.to_string(),
        customer_id: customer_id.to_string(),
        channel_id: w.message.channel_id.clone(),
        reason: reason.to_owned(),
        intents: answer.map(|a| a.intents.clone()).unwrap_or_default(),
        transcript,
        profile: Some(profile),
        page: w.message.page.clone(),
        merchant_id: w.message.merchant_id.clone(),
        requested_at: Some(kefu_proto::time::to_timestamp(Utc::now())),
        language: answer.map(|a| a.language.clone()).unwrap_or_default(),
    })
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
/// `messages`; returns the event that delivers the answer. A conversation that is with a person
/// gets no automatic answer.
fn turns(
    w: &Work,
    tenant: &str,
    conversation_id: Uuid,
    queued: bool,
    messages: &mut Vec<NewMessage>,
) -> Option<MessageToSend> {
    let msg = &w.message;
    let at = received_at(msg);
    let (message_type, text) = match (msg.message_type.as_str(), &msg.action) {
        ("action", Some(a)) => (
            "action",
            if msg.text.is_empty() {
                format!("[{}] {}", a.action, a.order_id).trim().to_owned()
            } else {
                msg.text.clone()
            },
        ),
        ("image", _) => (
            "image",
            if msg.text.is_empty() {
                msg.image_url.clone()
            } else {
                msg.text.clone()
            },
        ),
        _ => ("text", msg.text.clone()),
    };
    messages.push(NewMessage {
        internal: false,
        agent_id: String::new(),
        id: Uuid::parse_str(&msg.message_id).unwrap_or_else(|_| Uuid::now_v7()),
        tenant_id: tenant.to_owned(),
        conversation_id,
        direction: "in",
        sender_kind: "customer",
        text,
        external_message_id: Some(msg.external_message_id.clone()),
        created_at: at,
        message_type,
        cards: None,
    });
    if queued || !w.asked {
        return None;
    }
    let (text, bot, cards) = match &w.answer {
        Some(a) => (a.answer.clone(), Some(annotation(a)), a.cards.clone()),
        None => (BOT_UNAVAILABLE.to_owned(), None, Vec::new()),
    };
    let sender = if bot.is_some() { "bot" } else { "system" };
    let reply_id = Uuid::now_v7();
    let message_type = if cards.is_empty() { "text" } else { "card" };
    messages.push(NewMessage {
        internal: false,
        agent_id: String::new(),
        id: reply_id,
        tenant_id: tenant.to_owned(),
        conversation_id,
        direction: "out",
        sender_kind: sender,
        text: text.clone(),
        external_message_id: None,
        created_at: Utc::now().max(at),
        message_type,
        cards: (!cards.is_empty()).then(|| {
            CardList {
                cards: cards.clone(),
            }
            .encode_to_vec()
        }),
    });
    Some(MessageToSend {
        message_id: reply_id.to_string(),
        conversation_id: conversation_id.to_string(),
        channel_id: msg.channel_id.clone(),
        external_user_id: msg.external_user_id.clone(),
        text,
        reply_to_external_message_id: msg.external_message_id.clone(),
        sender_kind: sender.into(),
        inbound_received_at: msg.received_at,
        bot,
        cards,
        message_type: message_type.into(),
    })
}

/// What the bot said about its answer, as events carry it.
fn annotation(a: &AnswerReply) -> BotAnnotation {
    BotAnnotation {
        faq_id: a.faq_id.clone(),
        intent: a.intent.clone(),
        confidence: a.confidence,
        suggestions: a.suggestions.clone(),
        handoff: a.handoff,
        reason: a.reason.clone(),
        action: a.action.clone(),
        language: a.language.clone(),
    }
}

/// The domain events of a stored message of `w`: `message.created`, and for the bot's answer
/// that ran an action on a known order, `order.action_taken`.
fn created_events(w: &Work, reference: ConversationRef, m: &message::Model) -> Vec<Envelope> {
    let bot = (m.sender_kind == "bot")
        .then_some(w.answer.as_ref())
        .flatten();
    let mut out = Vec::with_capacity(2);
    if let Some(a) = bot.filter(|a| kefu_proto::actions::ORDER.contains(&a.action.as_str())) {
        // The order the action ran on: the one order its cards show (several are a choice
        // offered, not an action taken), else the pressed button's.
        let mut shown: Vec<&str> = a
            .cards
            .iter()
            .map(|c| c.order_id.as_str())
            .filter(|o| !o.is_empty())
            .collect();
        shown.dedup();
        let order_id = match shown[..] {
            [one] => one,
            [] => w
                .message
                .action
                .as_ref()
                .map_or("", |b| b.order_id.as_str()),
            _ => "",
        };
        if !order_id.is_empty() {
            out.push(crate::domain::order_action_taken(
                reference.clone(),
                m,
                &a.action,
                order_id,
            ));
        }
    }
    out.insert(
        0,
        crate::domain::message_created(reference, m, bot.map(annotation)),
    );
    out
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

/// Records a CSAT tap in the customer's last closed conversation and rates it.
async fn rate_last(
    txn: &impl kefu_store::sea_orm::ConnectionTrait,
    tenant: &str,
    customer_id: Uuid,
    w: &Work,
    rating: u32,
    events: &mut Vec<Envelope>,
) -> Result<(), StoreError> {
    let Some(item) = desk::latest_invited(txn, tenant, customer_id).await? else {
        tracing::info!(customer = %customer_id, "a CSAT rating without a closed conversation; ignored");
        return Ok(());
    };
    let mut messages = Vec::new();
    turns(w, tenant, item.conversation_id, true, &mut messages);
    for m in batch::append_messages(txn, tenant, messages).await? {
        events.push(crate::domain::message_created(
            crate::domain::conversation_ref(&item),
            &m,
            None,
        ));
    }
    let rated = crate::desk::grpc::rate_in(txn, &item, rating, String::new()).await?;
    events.extend(rated);
    Ok(())
}

/// The routing entry of a conversation the bot handed off: its queue (the merchant's, else the
/// platform's), and what its priority and agent choice depend on.
#[allow(clippy::too_many_arguments)]
async fn work_item_of(
    txn: &impl kefu_store::sea_orm::ConnectionTrait,
    tenant: &str,
    setup: &crate::desk::setup::Setup,
    conversation_id: Uuid,
    customer_id: Uuid,
    w: &Work,
    handoff: &HandoffRequested,
    conversation_merchant: Option<&str>,
) -> Result<crate::store::entities::work_item::Model, StoreError> {
    let now = Utc::now();
    let merchant = conversation_merchant
        .filter(|m| !m.is_empty())
        .unwrap_or(&w.message.merchant_id)
        .to_owned();
    let profile = handoff.profile.clone().unwrap_or_default();
    let negative = matches!(handoff.reason.as_str(), "negative_sentiment" | "complaint")
        || w.answer.as_ref().is_some_and(|a| a.sentiment < 0.0);
    let channel_type = if w.message.channel_type.is_empty() {
        "api".to_owned()
    } else {
        w.message.channel_type.clone()
    };
    Ok(crate::store::entities::work_item::Model {
        conversation_id,
        tenant_id: tenant.to_owned(),
        customer_id,
        queue: setup.queue_for(&merchant).name.clone(),
        merchant_id: merchant,
        state: desk::WAITING.to_owned(),
        agent_id: String::new(),
        channel_type,
        tier: profile.tier.clone(),
        page_type: w
            .message
            .page
            .as_ref()
            .map(|p| p.page_type.clone())
            .unwrap_or_default(),
        negative,
        language: if handoff.language.is_empty() {
            profile.language.clone()
        } else {
            handoff.language.clone()
        },
        last_agent: desk::last_agent(txn, tenant, customer_id)
            .await?
            .unwrap_or_default(),
        enqueued_at: now,
        queue_entered_at: now,
        offered_at: None,
        offer_expires_at: None,
        accepted_at: None,
        closed_at: None,
        excluded: "[]".to_owned(),
        note: handoff.reason.clone(),
        summary: String::new(),
        tags: "[]".to_owned(),
        csat: 0,
        csat_comment: String::new(),
        monitors: "[]".to_owned(),
        participants: "[]".to_owned(),
        version: 0,
        csat_invited: false,
    })
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
