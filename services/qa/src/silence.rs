//! The customer left waiting: an `agent_silence` violation becomes due with time alone, when no
//! message arrives to inspect. Every few seconds the sweep looks at the open conversations an
//! agent serves and, where the customer has waited longer than the rule allows, records the
//! finding and alerts the supervisors (once per waiting message, like every alert).

use crate::QaState;
use crate::inspect::record;
use crate::store;
use crate::view::View;
use chrono::{DateTime, Utc};
use sea_orm::{DbErr, TransactionTrait};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the sweep runs.
pub const INTERVAL: Duration = Duration::from_secs(5);
/// Most conversations one sweep looks at.
pub const MAX_PER_SWEEP: u64 = 2_000;

/// One sweep at `now`; returns how many conversations got a silence finding.
pub async fn sweep_once(state: &QaState, now: DateTime<Utc>) -> Result<usize, DbErr> {
    let db = &state.db;
    let mut due = 0;
    for candidate in store::open_assigned(db, MAX_PER_SWEEP).await? {
        let tenant = candidate.tenant_id.clone();
        let Some(policy) = state.policies.get(db, &tenant).await? else {
            continue;
        };
        if policy.policy.shortest_silence().is_none() {
            continue;
        }
        let txn = db.begin().await?;
        let refs = [store::ConvRef {
            conversation_id: candidate.conversation_id.clone(),
            ..Default::default()
        }];
        store::lock_conversations(&txn, &tenant, &refs).await?;
        let Some(conv) = store::conversation(&txn, &tenant, &candidate.conversation_id).await?
        else {
            continue;
        };
        if conv.status != store::entities::values::ConversationStatus::Open {
            continue;
        }
        let view = View::build(store::items(&txn, &tenant, &conv.conversation_id).await?);
        let violations = policy.policy.silence_due(&view.transcript, now);
        if violations.is_empty() {
            txn.commit().await?;
            continue;
        }
        let mut out = Vec::new();
        record(
            state,
            &txn,
            &conv,
            &policy,
            &view,
            &violations,
            None,
            &mut out,
        )
        .await?;
        kefu_worker::outbox::enqueue_many(&txn, &out).await?;
        txn.commit().await?;
        state.outbox.dispatch(out);
        due += 1;
    }
    Ok(due)
}

/// Sweeps every [`INTERVAL`] until `shutdown`.
pub async fn run(state: QaState, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(INTERVAL) => {}
        }
        if let Err(e) = sweep_once(&state, Utc::now()).await {
            tracing::warn!(error = %e, "the QA silence sweep failed; it runs again");
        }
    }
}
