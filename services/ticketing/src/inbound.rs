//! The `ticketing.events` consumer: `message.created` events of customers' messages. A
//! customer's words in a conversation with an open ticket land in the ticket as a public
//! comment and reopen it when it was pending, on hold or solved. One transaction per batch,
//! with the processed-event records: a redelivered event finds its record and changes nothing.

use crate::TicketingState;
use chrono::Utc;
use kefu_bus::{BatchItem, BatchOutcomes, HandlerError};
use kefu_proto::events::MessageCreated;
use kefu_store::idempotency;
use prost::Message as _;
use sea_orm::TransactionTrait;

pub const CONSUMER: &str = kefu_proto::queues::TICKETING_EVENTS.name;

/// Most events in one batch (and one transaction).
pub const MAX_BATCH: usize = 100;

struct Reply {
    index: usize,
    event_id: uuid::Uuid,
    tenant: String,
    conversation: String,
    customer: String,
    text: String,
    at: chrono::DateTime<Utc>,
}

/// Handles one batch; one result per item, in order.
pub async fn handle_batch(
    state: TicketingState,
    items: Vec<BatchItem>,
) -> Vec<Result<(), HandlerError>> {
    let mut results = BatchOutcomes::new(items.len());
    let mut work = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let e = &item.envelope;
        if e.event_type != kefu_proto::event_types::MESSAGE_CREATED {
            results.set(i, Ok(()));
            continue;
        }
        let m = match MessageCreated::decode(e.payload.clone()) {
            Ok(m) => m,
            Err(err) => {
                results.set(
                    i,
                    Err(HandlerError::permanent(format!(
                        "undecodable message.created: {err}"
                    ))),
                );
                continue;
            }
        };
        let conv = m.conversation.unwrap_or_default();
        if m.sender_kind != "customer" || m.internal || conv.conversation_id.is_empty() {
            results.set(i, Ok(()));
            continue;
        }
        let text = if m.text.is_empty() {
            format!("[{}]", m.message_type)
        } else {
            m.text
        };
        work.push(Reply {
            index: i,
            event_id: e.event_id,
            tenant: e.tenant_id.clone(),
            conversation: conv.conversation_id,
            customer: conv.customer_id,
            text,
            at: m
                .created_at
                .as_ref()
                .and_then(kefu_proto::time::from_timestamp)
                .unwrap_or(e.occurred_at),
        });
    }
    if work.is_empty() {
        return results.finish();
    }
    match apply(&state, &work).await {
        Ok(events) => {
            for r in &work {
                results.set(r.index, Ok(()));
            }
            state.committed(events);
        }
        Err(e) => {
            tracing::warn!(error = %e, events = work.len(), "ticketing batch failed; redelivering");
            for r in &work {
                results.set(r.index, Err(HandlerError::transient(e.to_string())));
            }
        }
    }
    results.finish()
}

async fn apply(
    state: &TicketingState,
    work: &[Reply],
) -> Result<Vec<kefu_bus::Envelope>, sea_orm::DbErr> {
    let txn = state.db.begin().await?;
    let ids: Vec<uuid::Uuid> = work.iter().map(|r| r.event_id).collect();
    let fresh = idempotency::claim_many(&txn, CONSUMER, &ids).await?;
    let mut events = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for r in work {
        if !fresh.contains(&r.event_id) || !seen.insert(r.event_id) {
            continue;
        }
        if let Some(done) = crate::tickets::customer_reply(
            &txn,
            &r.tenant,
            &r.conversation,
            &r.customer,
            &r.text,
            r.at,
        )
        .await?
        {
            events.extend(done.events);
        }
    }
    txn.commit().await?;
    Ok(events)
}
