//! The fact tables: written once per event, read back to rebuild a conversation, to recompute a
//! day, and for the questions the bot missed.

use crate::facts::{ConvRef, Fact, Kind, LifecycleFact, MessageFact, Sender, StatusFact};
use crate::store::entities::{fact_agent_status, fact_conversation, fact_message};
use chrono::{DateTime, Utc};
use kefu_store::Scoped;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

const CHUNK: usize = 300;

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// Writes the facts of a batch (each event's once: a fact already there is left alone).
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    facts: &[(Uuid, &str, &Fact)],
) -> Result<(), DbErr> {
    let mut messages = Vec::new();
    let mut lifecycle = Vec::new();
    let mut statuses = Vec::new();
    let mut orders: Vec<(Uuid, String, &crate::orders::OrderFact)> = Vec::new();
    for (event_id, tenant, fact) in facts {
        let tenant = (*tenant).to_owned();
        match fact {
            Fact::Message(m) => messages.push(fact_message::ActiveModel {
                event_id: Set(*event_id),
                tenant_id: Set(tenant),
                conversation_id: Set(m.conv.conversation_id.clone()),
                customer_id: Set(m.conv.customer_id.clone()),
                seq: Set(m.seq),
                at: Set(ms(m.at)),
                sender: Set(m.sender.as_str().to_owned()),
                agent_id: Set(m.agent_id.clone()),
                internal: Set(m.internal),
                message_type: Set(m.message_type.clone()),
                merchant_id: Set(m.conv.merchant_id.clone()),
                channel: Set(m.conv.channel.clone()),
                queue_id: Set(m.conv.queue_id.clone()),
                tier: Set(m.conv.tier.clone()),
                intent: Set(m.intent.clone()),
                faq_id: Set(m.faq_id.clone()),
                miss: Set(m.miss),
                question: Set(m.question.clone()),
            }),
            Fact::Lifecycle(l) => lifecycle.push(fact_conversation::ActiveModel {
                event_id: Set(*event_id),
                tenant_id: Set(tenant),
                conversation_id: Set(l.conv.conversation_id.clone()),
                customer_id: Set(l.conv.customer_id.clone()),
                kind: Set(l.kind.as_str().to_owned()),
                at: Set(ms(l.at)),
                merchant_id: Set(l.conv.merchant_id.clone()),
                channel: Set(l.conv.channel.clone()),
                queue_id: Set(l.conv.queue_id.clone()),
                tier: Set(l.conv.tier.clone()),
                agent_id: Set(l.agent_id.clone()),
                other_agent_id: Set(l.other_agent_id.clone()),
                reason: Set(l.reason.clone()),
                value: Set(l.value),
                labels: Set(serde_json::to_string(&l.labels).unwrap_or_else(|_| "[]".into())),
            }),
            Fact::Order(o) => orders.push((*event_id, tenant, o)),
            Fact::Status(s) => statuses.push(fact_agent_status::ActiveModel {
                event_id: Set(*event_id),
                tenant_id: Set(tenant),
                agent_id: Set(s.agent_id.clone()),
                merchant_id: Set(s.merchant_id.clone()),
                from_status: Set(s.from.clone()),
                to_status: Set(s.to.clone()),
                at: Set(ms(s.at)),
            }),
        }
    }
    for chunk in messages.chunks(CHUNK) {
        fact_message::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::column(fact_message::Column::EventId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    for chunk in lifecycle.chunks(CHUNK) {
        fact_conversation::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::column(fact_conversation::Column::EventId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    for chunk in statuses.chunks(CHUNK) {
        fact_agent_status::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::column(fact_agent_status::Column::EventId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    crate::orders::insert(db, &orders).await
}

fn conv_ref(
    conversation_id: String,
    customer_id: String,
    merchant_id: String,
    channel: String,
    queue_id: String,
    tier: String,
) -> ConvRef {
    ConvRef {
        conversation_id,
        customer_id,
        merchant_id,
        channel,
        queue_id,
        tier,
    }
}

pub fn message_of(r: fact_message::Model) -> MessageFact {
    MessageFact {
        conv: conv_ref(
            r.conversation_id,
            r.customer_id,
            r.merchant_id,
            r.channel,
            r.queue_id,
            r.tier,
        ),
        seq: r.seq,
        at: time(r.at),
        sender: Sender::parse(&r.sender),
        agent_id: r.agent_id,
        internal: r.internal,
        message_type: r.message_type,
        intent: r.intent,
        faq_id: r.faq_id,
        miss: r.miss,
        question: r.question,
    }
}

pub fn lifecycle_of(r: fact_conversation::Model) -> Option<LifecycleFact> {
    Some(LifecycleFact {
        kind: Kind::parse(&r.kind)?,
        at: time(r.at),
        agent_id: r.agent_id,
        other_agent_id: r.other_agent_id,
        reason: r.reason,
        value: r.value,
        labels: serde_json::from_str(&r.labels).unwrap_or_default(),
        conv: conv_ref(
            r.conversation_id,
            r.customer_id,
            r.merchant_id,
            r.channel,
            r.queue_id,
            r.tier,
        ),
    })
}

pub fn status_of(r: fact_agent_status::Model) -> StatusFact {
    StatusFact {
        agent_id: r.agent_id,
        merchant_id: r.merchant_id,
        from: r.from_status,
        to: r.to_status,
        at: time(r.at),
    }
}

/// A conversation's messages in sequence order, and its lifecycle facts.
pub async fn of_conversation<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    conversation_id: &str,
) -> Result<(Vec<MessageFact>, Vec<LifecycleFact>), DbErr> {
    let messages = fact_message::Entity::of_tenant(tenant)
        .filter(fact_message::Column::ConversationId.eq(conversation_id))
        .order_by_asc(fact_message::Column::Seq)
        .all(db)
        .await?
        .into_iter()
        .map(message_of)
        .collect();
    let lifecycle = fact_conversation::Entity::of_tenant(tenant)
        .filter(fact_conversation::Column::ConversationId.eq(conversation_id))
        .all(db)
        .await?
        .into_iter()
        .filter_map(lifecycle_of)
        .collect();
    Ok((messages, lifecycle))
}

/// The customers' own messages (text or image) from `from` to `to` (ms, inclusive): each
/// customer's (at, conversation) pairs, by time.
pub async fn customer_contacts<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    customers: &[String],
    from: i64,
    to: i64,
) -> Result<std::collections::HashMap<String, Vec<(i64, String)>>, DbErr> {
    use sea_orm::QuerySelect;
    let mut out: std::collections::HashMap<String, Vec<(i64, String)>> = Default::default();
    for chunk in customers.chunks(CHUNK) {
        let rows: Vec<(String, i64, String)> = fact_message::Entity::of_tenant(tenant)
            .select_only()
            .column(fact_message::Column::CustomerId)
            .column(fact_message::Column::At)
            .column(fact_message::Column::ConversationId)
            .filter(fact_message::Column::CustomerId.is_in(chunk.iter().cloned()))
            .filter(fact_message::Column::Sender.eq(Sender::Customer.as_str()))
            .filter(fact_message::Column::MessageType.is_in(["text", "image"]))
            .filter(fact_message::Column::At.between(from, to))
            .into_tuple()
            .all(db)
            .await?;
        for (customer, at, conversation) in rows {
            out.entry(customer).or_default().push((at, conversation));
        }
    }
    for v in out.values_mut() {
        v.sort_unstable();
    }
    Ok(out)
}
