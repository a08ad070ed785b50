//! The `qa.events` consumer: a batch of domain events becomes, in one transaction, the
//! processed-event records, the conversations' items, the real-time findings and alerts (a
//! `qa.alert_raised` and a `desk.event` for the supervisors' screens, through the outbox), and
//! at a close the conversation's score. A redelivered event finds its record and changes
//! nothing.

use crate::events::{Input, decode_input};
use crate::scoring;
use crate::store::entities::values::ConversationStatus;
use crate::store::entities::{alert, conversation, item};
use crate::store::{self, ConvRef};
use crate::view::{CLOSED_ITEM, HANDOFF_ITEM, View};
use crate::{CompiledPolicy, QaState};
use chrono::{DateTime, Utc};
use kefu_bus::{BatchItem, BatchOutcomes, Envelope, HandlerError};
use kefu_store::idempotency;
use prost::Message as _;
use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};
use std::collections::BTreeMap;

pub const CONSUMER: &str = kefu_proto::queues::QA_EVENTS.name;

/// Most events in one batch (and one transaction).
pub const MAX_BATCH: usize = 100;

/// Handles one batch; one result per item, in order.
pub async fn handle_batch(state: QaState, items: Vec<BatchItem>) -> Vec<Result<(), HandlerError>> {
    let mut results = BatchOutcomes::new(items.len());
    let mut work: Vec<(usize, Envelope, Input)> = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        match decode_input(&item.envelope) {
            Ok(Some(input)) => work.push((i, item.envelope, input)),
            Ok(None) => results.set(i, Ok(())),
            Err(e) => results.set(i, Err(HandlerError::permanent(e))),
        }
    }
    if work.is_empty() {
        return results.finish();
    }
    match apply(&state, &work).await {
        Ok(out) => {
            for (i, _, _) in &work {
                results.set(*i, Ok(()));
            }
            state.outbox.dispatch(out);
        }
        Err(e) => {
            tracing::warn!(error = %e, events = work.len(), "qa batch failed; redelivering");
            for (i, _, _) in &work {
                results.set(*i, Err(HandlerError::transient(e.to_string())));
            }
        }
    }
    results.finish()
}

/// Applies a batch in one transaction; returns the envelopes it wrote to the outbox.
async fn apply(state: &QaState, work: &[(usize, Envelope, Input)]) -> Result<Vec<Envelope>, DbErr> {
    let txn = state.db.begin().await?;
    let ids: Vec<uuid::Uuid> = work.iter().map(|(_, e, _)| e.event_id).collect();
    let fresh = idempotency::claim_many(&txn, CONSUMER, &ids).await?;
    let mut seen = std::collections::HashSet::new();
    let fresh: Vec<&(usize, Envelope, Input)> = work
        .iter()
        .filter(|(_, e, _)| fresh.contains(&e.event_id) && seen.insert(e.event_id))
        .collect();
    let mut by_tenant: BTreeMap<&str, Vec<ConvRef>> = BTreeMap::new();
    for (_, e, input) in &fresh {
        by_tenant
            .entry(e.tenant_id.as_str())
            .or_default()
            .push(input.conv().clone());
    }
    for (tenant, refs) in &by_tenant {
        store::lock_conversations(&txn, tenant, refs).await?;
    }
    let mut out = Vec::new();
    for (_, envelope, input) in fresh {
        let tenant = envelope.tenant_id.as_str();
        let policy = state.policies.get(&txn, tenant).await?;
        one(state, &txn, tenant, policy.as_deref(), input, &mut out).await?;
    }
    kefu_worker::outbox::enqueue_many(&txn, &out).await?;
    txn.commit().await?;
    Ok(out)
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// Fills what an earlier event did not know (the conversation's merchant, customer, channel).
fn complete(c: &mut conversation::Model, r: &ConvRef) {
    if c.merchant_id.is_empty() {
        c.merchant_id.clone_from(&r.merchant_id);
    }
    if c.customer_id.is_empty() {
        c.customer_id.clone_from(&r.customer_id);
    }
    if c.channel.is_empty() {
        c.channel.clone_from(&r.channel);
    }
}

async fn one<C: ConnectionTrait>(
    state: &QaState,
    db: &C,
    tenant: &str,
    policy: Option<&CompiledPolicy>,
    input: &Input,
    out: &mut Vec<Envelope>,
) -> Result<(), DbErr> {
    let r = input.conv();
    let Some(mut conv) = store::conversation(db, tenant, &r.conversation_id).await? else {
        // lock_conversations made it.
        return Err(DbErr::RecordNotFound(r.conversation_id.clone()));
    };
    let before = conv.clone();
    complete(&mut conv, r);
    let marker = |key: &str, at: DateTime<Utc>| item::Model {
        tenant_id: tenant.to_owned(),
        conversation_id: r.conversation_id.clone(),
        item: key.to_owned(),
        seq: 0,
        role: "system".into(),
        agent_id: String::new(),
        text: String::new(),
        at: ms(at),
    };
    match input {
        Input::Message {
            message_id,
            seq,
            role,
            agent_id,
            text,
            at,
            ..
        } => {
            if *role == "agent" && !agent_id.is_empty() && conv.status == ConversationStatus::Open {
                conv.agent_id.clone_from(agent_id);
            }
            let row = item::Model {
                tenant_id: tenant.to_owned(),
                conversation_id: r.conversation_id.clone(),
                item: message_id.clone(),
                seq: *seq,
                role: (*role).to_owned(),
                agent_id: agent_id.clone(),
                text: text.clone(),
                at: ms(*at),
            };
            let new = store::add_item(db, row).await?;
            if conv != before {
                store::save_conversation(db, conv.clone()).await?;
            }
            if !new {
                return Ok(());
            }
            state.metrics.inspected.add(1, &[]);
            match (conv.status, policy) {
                (ConversationStatus::Open, Some(p)) => {
                    realtime(state, db, &conv, p, message_id, out).await?;
                }
                // A message the close overtook: the result must include it.
                (ConversationStatus::Closed, Some(p)) => {
                    scoring::score(state, db, conv, p).await?;
                }
                _ => {}
            }
        }
        Input::Handoff { at, .. } => {
            let new = store::add_item(db, marker(HANDOFF_ITEM, *at)).await?;
            if conv != before {
                store::save_conversation(db, conv.clone()).await?;
            }
            if new
                && conv.status == ConversationStatus::Closed
                && let Some(p) = policy
            {
                scoring::score(state, db, conv, p).await?;
            }
        }
        Input::Assigned { agent_id, .. } => {
            if conv.status == ConversationStatus::Open && !agent_id.is_empty() {
                conv.agent_id.clone_from(agent_id);
            }
            if conv != before {
                store::save_conversation(db, conv).await?;
            }
        }
        Input::Closed {
            agent_id,
            reason,
            at,
            ..
        } => {
            if conv.status == ConversationStatus::Closed {
                return Ok(());
            }
            conv.status = ConversationStatus::Closed;
            conv.closed_at = Some(ms(*at));
            conv.day = at.format("%Y-%m-%d").to_string();
            conv.close_reason.clone_from(reason);
            if !agent_id.is_empty() {
                conv.agent_id.clone_from(agent_id);
            }
            // The closing rule asks how the agent ended it: only when the agent did.
            if reason == "agent_closed" {
                store::add_item(db, marker(CLOSED_ITEM, *at)).await?;
            }
            store::save_conversation(db, conv.clone()).await?;
            if let Some(p) = policy {
                scoring::score(state, db, conv, p).await?;
            }
        }
        Input::Rated { rating, .. } => {
            conv.csat = Some(*rating);
            store::save_conversation(db, conv.clone()).await?;
            if let Some(p) = policy
                && conv.score.is_some()
            {
                scoring::sample(db, &conv, p, scoring::now_ms()).await?;
            }
        }
    }
    Ok(())
}

/// The real-time rules on the message just stored: its findings, and an alert for each that
/// the rule alerts on (and for an angry customer while the conversation goes on).
async fn realtime<C: ConnectionTrait>(
    state: &QaState,
    db: &C,
    conv: &conversation::Model,
    policy: &CompiledPolicy,
    message_id: &str,
    out: &mut Vec<Envelope>,
) -> Result<(), DbErr> {
    let tenant = conv.tenant_id.as_str();
    let view = View::build(store::items(db, tenant, &conv.conversation_id).await?);
    let Some(i) = view.index_of(message_id) else {
        return Ok(());
    };
    let inspection = policy.policy.inspect(&view.transcript, i);
    let angry = inspection
        .angry_customer
        .filter(|&k| policy.policy.rules[k].alert)
        .map(|k| (k, Some(i)));
    record(
        state,
        db,
        conv,
        policy,
        &view,
        &inspection.violations,
        angry,
        out,
    )
    .await
}

/// Stores real-time violations as findings and raises an alert (once per rule and message) for
/// each whose rule alerts, plus `extra` (an angry customer); the alerts' events go to `out`.
#[allow(clippy::too_many_arguments)]
pub async fn record<C: ConnectionTrait>(
    state: &QaState,
    db: &C,
    conv: &conversation::Model,
    policy: &CompiledPolicy,
    view: &View,
    violations: &[crate::engine::Violation],
    extra: Option<(usize, Option<usize>)>,
    out: &mut Vec<Envelope>,
) -> Result<(), DbErr> {
    let tenant = conv.tenant_id.as_str();
    let now = scoring::now_ms();
    let mut found = Vec::new();
    let mut alerts: Vec<(usize, Option<usize>)> = Vec::new();
    for v in violations {
        let rule = &policy.policy.rules[v.rule];
        found.push(scoring::auto_finding(
            conv, rule, view, v.message, true, now,
        ));
        state.metrics.violation(rule, true);
        if rule.alert {
            alerts.push((v.rule, v.message));
        }
    }
    alerts.extend(extra);
    store::add_findings(db, found).await?;
    for (k, message) in alerts {
        let rule = &policy.policy.rules[k];
        let message_id = view.message_id(message).to_owned();
        let message_at = message.map_or(now, |m| view.items[m].at);
        let id = scoring::derived_id(&[
            tenant,
            &conv.conversation_id,
            "alert",
            &rule.id,
            &message_id,
        ]);
        let row = alert::Model {
            id: id.clone(),
            tenant_id: tenant.to_owned(),
            conversation_id: conv.conversation_id.clone(),
            merchant_id: conv.merchant_id.clone(),
            agent_id: conv.agent_id.clone(),
            rule: rule.id.clone(),
            kind: rule.kind.as_str().to_owned(),
            severity: rule.severity.as_str().to_owned(),
            message_id: message_id.clone(),
            message_at,
            raised_at: now,
        };
        if !store::add_alert(db, row.clone()).await? {
            continue;
        }
        state
            .metrics
            .alert_latency_ms
            .record((now - message_at).max(0) as f64, &[]);
        let excerpt: String = message
            .map(|m| view.items[m].text.chars().take(120).collect())
            .unwrap_or_default();
        out.extend(alert_events(&row, message, &excerpt));
    }
    Ok(())
}

/// The `qa.alert_raised` event and the supervisors' `desk.event` of an alert.
pub fn alert_events(a: &alert::Model, index: Option<usize>, excerpt: &str) -> [Envelope; 2] {
    let conversation = kefu_proto::events::ConversationRef {
        conversation_id: a.conversation_id.clone(),
        merchant_id: a.merchant_id.clone(),
        ..Default::default()
    };
    let at = |ms: i64| kefu_proto::time::to_timestamp(crate::view::time(ms));
    let raised = kefu_proto::events::QaAlertRaised {
        alert_id: a.id.clone(),
        conversation: Some(conversation),
        agent_id: a.agent_id.clone(),
        rule: a.rule.clone(),
        kind: a.kind.clone(),
        severity: a.severity.clone(),
        message_id: a.message_id.clone(),
        message_index: index.map_or(-1, |i| i as i32),
        message_at: Some(at(a.message_at)),
        raised_at: Some(at(a.raised_at)),
    };
    let base = format!(
        "/v1/tenants/{}/conversations/{}",
        a.tenant_id, a.conversation_id
    );
    let payload = serde_json::json!({
        "type": "qa.alert",
        "alert_id": a.id,
        "conversation_id": a.conversation_id,
        "merchant_id": a.merchant_id,
        "agent_id": a.agent_id,
        "rule": a.rule,
        "kind": a.kind,
        "severity": a.severity,
        "message_id": a.message_id,
        "message_index": index,
        "excerpt": excerpt,
        "message_at": crate::view::time(a.message_at).to_rfc3339(),
        "raised_at": crate::view::time(a.raised_at).to_rfc3339(),
        "links": {
            "monitor": format!("{base}/monitor"),
            "join": format!("{base}/join"),
            "result": format!("/v1/tenants/{}/qa/conversations/{}", a.tenant_id, a.conversation_id),
        },
    });
    let desk = kefu_proto::session::DeskEvent {
        tenant_id: a.tenant_id.clone(),
        kind: "qa.alert".into(),
        agent_ids: Vec::new(),
        supervisors: true,
        merchant_id: a.merchant_id.clone(),
        conversation_id: a.conversation_id.clone(),
        payload_json: payload.to_string(),
        all_staff: false,
    };
    [
        Envelope::new(
            a.tenant_id.clone(),
            kefu_proto::event_types::QA_ALERT_RAISED,
            raised.encode_to_vec(),
        ),
        Envelope::new(
            a.tenant_id.clone(),
            kefu_proto::event_types::DESK_EVENT,
            desk.encode_to_vec(),
        ),
    ]
}
