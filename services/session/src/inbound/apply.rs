//! One transaction per batch: the customers, conversations and messages of a batch, its handoffs, and the events they publish.

use super::*;
use crate::store::Sender;

/// Stores a batch in one transaction and returns the events it enqueued (for the outbox's
/// fast path). Events already processed are skipped.
pub(super) async fn apply(
    db: &DatabaseConnection,
    work: &[Work],
    settings: &HashMap<String, TenantSettings>,
) -> Result<Vec<Envelope>, StoreError> {
    let txn = db.begin().await?;
    let ids: Vec<Uuid> = work.iter().map(|w| w.envelope.event_id).collect();
    // The events not applied before, recorded as applied (all undone if the batch fails).
    let mut fresh_ids = idempotency::claim_many(&txn, CONSUMER, &ids).await?;
    let fresh: Vec<&Work> = work
        .iter()
        .filter(|w| fresh_ids.remove(&w.envelope.event_id))
        .collect();
    if fresh.is_empty() {
        txn.commit().await?;
        return Ok(Vec::new());
    }
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

/// One tenant's share of a batch: who the customers are, CSAT taps, the conversations and
/// their messages, then the handoffs — every row and event in the caller's transaction.
pub(super) async fn apply_tenant(
    txn: &impl kefu_store::sea_orm::ConnectionTrait,
    tenant: &str,
    items: &[&Work],
    rules: &TenantSettings,
    events: &mut Vec<Envelope>,
) -> Result<(), StoreError> {
    let (keys, customers_of) = identify(txn, tenant, items, rules, events).await?;
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
    let (conversations, handoffs) =
        converse(txn, tenant, &rest, &rest_keys, &customers_of, events).await?;
    // A conversation stays with the merchant it began with (its transcript is that merchant's),
    // whatever page the handoff came from.
    let merchant_of: HashMap<Uuid, String> = conversations
        .values()
        .map(|(c, _)| (c.id, c.merchant_id.clone()))
        .collect();
    hand_off_all(txn, tenant, handoffs, &merchant_of, events).await
}

/// A handoff to make: the conversation, the message that asked, the customer, the reason.
type Handoff<'a> = (Uuid, &'a Work, Uuid, String);

/// The customer behind each message, with the identities the channel vouches for attached
/// (merging by the tenant's rule) and profile hints filled in.
async fn identify(
    txn: &impl kefu_store::sea_orm::ConnectionTrait,
    tenant: &str,
    items: &[&Work],
    rules: &TenantSettings,
    events: &mut Vec<Envelope>,
) -> Result<(Vec<batch::ChannelUser>, HashMap<batch::ChannelUser, Uuid>), StoreError> {
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
                let r = &m.record;
                tracing::info!(survivor = %r.survivor_id, absorbed = %r.absorbed_id, cause = %r.cause, "customers merged");
                events.extend(crate::desk::events::merge_closures(&m.closed, Utc::now()));
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
    Ok((keys, customers_of))
}

/// Opens (or finds) each message's conversation and stores the customer's message and the
/// answer, with their events; returns the conversations and the handoffs the bot asked for.
async fn converse<'a>(
    txn: &impl kefu_store::sea_orm::ConnectionTrait,
    tenant: &str,
    items: &[&'a Work],
    keys: &[batch::ChannelUser],
    customers_of: &HashMap<batch::ChannelUser, Uuid>,
    events: &mut Vec<Envelope>,
) -> Result<
    (
        HashMap<(Uuid, String), (crate::store::entities::conversation::Model, bool)>,
        Vec<Handoff<'a>>,
    ),
    StoreError,
> {
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
        .filter(|(c, _)| c.mode == Mode::Queued)
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
    let mut handoffs: Vec<Handoff<'a>> = Vec::new();
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
        let already_queued = conversation.mode == Mode::Queued || queued.contains(&conversation.id);
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
            tier: customer_tier(w),
        };
        owners.extend((first_new..messages.len()).map(|_| (*w, reference.clone())));
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
        let created = created_events(w, reference, m);
        match work_items.get(&m.conversation_id) {
            // A person is on it: their screens show the message (the projection).
            Some(item) => events.extend(crate::desk::events::with_desk(item, created)),
            None => events.extend(created),
        }
    }
    // Only states that changed are written, all with one statement.
    let changed: Vec<(Uuid, String)> = bot_states
        .into_iter()
        .filter(|(id, state)| before.get(id) != Some(state))
        .collect();
    customers::set_bot_states(txn, tenant, &changed).await?;
    Ok((conversations, handoffs))
}

/// The handoffs of a batch: each conversation's handoff record, its routing item and events.
async fn hand_off_all(
    txn: &impl kefu_store::sea_orm::ConnectionTrait,
    tenant: &str,
    handoffs: Vec<Handoff<'_>>,
    merchant_of: &HashMap<Uuid, String>,
    events: &mut Vec<Envelope>,
) -> Result<(), StoreError> {
    let setup = if handoffs.is_empty() {
        None
    } else {
        Some(crate::desk::setup::load(txn, tenant).await?)
    };
    for (conversation_id, w, customer_id, reason) in handoffs {
        let handoff = handoff_of(txn, tenant, conversation_id, customer_id, w, &reason)
            .instrument(w.span.clone())
            .await?;
        customers::hand_off(txn, tenant, conversation_id, handoff.encode_to_vec()).await?;
        if let Some(setup) = &setup {
            let handover = crate::desk::intake::Handover {
                conversation_id,
                customer_id,
                message: &w.message,
                sentiment: w.answer.as_ref().map(|a| a.sentiment),
                conversation_merchant: merchant_of.get(&conversation_id).map(String::as_str),
            };
            let entered =
                crate::desk::intake::enqueue_handoff(txn, tenant, setup, &handoff, handover)
                    .await?;
            if let Some(item) = entered {
                let _in_span = w.span.enter();
                events.extend(crate::desk::intake::announce(&item));
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

/// The domain events of a stored message of `w`: `message.created`, and for the bot's answer
/// that ran an action on a known order, `order.action_taken`.
pub(super) fn created_events(
    w: &Work,
    reference: ConversationRef,
    m: &message::Model,
) -> Vec<Envelope> {
    let bot = (m.sender_kind == Sender::Bot)
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
    let question = if bot.is_some() {
        w.message.text.as_str()
    } else {
        ""
    };
    out.insert(
        0,
        crate::domain::answer_created(reference, m, bot.map(annotation), question),
    );
    out
}

/// The customer's member tier as the session knows it: the profile's, else the channel's hint.
fn customer_tier(w: &Work) -> String {
    w.context
        .as_ref()
        .map(|c| c.customer.tier.clone())
        .filter(|t| !t.is_empty())
        .or_else(|| w.message.profile.as_ref().map(|p| p.tier.clone()))
        .unwrap_or_default()
}

/// What the bot said about its answer, as events carry it.
pub(super) fn annotation(a: &AnswerReply) -> BotAnnotation {
    BotAnnotation {
        faq_id: a.faq_id.clone(),
        intent: a.intent.clone(),
        confidence: a.confidence,
        suggestions: a.suggestions.clone(),
        handoff: a.handoff,
        reason: a.reason.clone(),
        action: a.action.clone(),
        language: a.language.clone(),
        miss: a.miss,
    }
}

/// The customer's message and the answer to it (the bot's, or the busy notice), added to
/// `messages`; returns the event that delivers the answer. A conversation that is with a person
/// gets no automatic answer.
pub(super) fn turns(
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
        sender_kind: Sender::Customer,
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
    let sender = if bot.is_some() {
        Sender::Bot
    } else {
        Sender::System
    };
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
        sender_kind: sender.as_str().to_owned(),
        inbound_received_at: msg.received_at,
        bot,
        cards,
        message_type: message_type.into(),
    })
}

pub(super) fn received_at(msg: &MessageReceived) -> chrono::DateTime<Utc> {
    msg.received_at
        .as_ref()
        .and_then(kefu_proto::time::from_timestamp)
        .unwrap_or_else(Utc::now)
}

pub(super) fn page_of(msg: &MessageReceived) -> Page {
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

/// Records a CSAT tap in the customer's last closed conversation and rates it.
pub(super) async fn rate_last(
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
        let created =
            crate::domain::message_created(crate::domain::conversation_ref(&item), &m, None);
        events.extend(crate::desk::events::with_desk(&item, vec![created]));
    }
    let rated = crate::desk::grpc::rate_in(txn, &item, rating, String::new()).await?;
    events.extend(rated);
    Ok(())
}
