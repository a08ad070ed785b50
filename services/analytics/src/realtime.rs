//! The real-time view, kept in memory: per tenant, the conversations waiting in each queue and
//! the longest wait, the agents by status with the conversations they serve, and each queue's
//! service level over the last 15 minutes. Built from the tables when the service starts and
//! refreshed from them every few seconds and after every batch this replica folds, so every
//! replica shows what all of them folded. Readers never touch the database.

use crate::counters::Counter;
use crate::rollup::Grain;
use crate::store::entities::{agent_status, conversation_state};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The window of the real-time service level.
pub const SERVICE_LEVEL_WINDOW_MS: i64 = 15 * 60 * 1000;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Waiting {
    pub conversation_id: String,
    pub merchant: String,
    pub queue: String,
    pub since: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentNow {
    pub agent: String,
    pub merchant: String,
    pub status: String,
    pub since: i64,
    pub conversations: u32,
}

/// A queue's last 15 minutes (from the minute cells).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recent {
    pub merchant: String,
    pub queue: String,
    pub answered: i64,
    pub in_target: i64,
    pub abandoned: i64,
    pub abandoned_short: i64,
}

/// One tenant's view.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TenantView {
    pub waiting: Vec<Waiting>,
    pub agents: Vec<AgentNow>,
    pub recent: Vec<Recent>,
}

#[derive(Default)]
struct Inner {
    tenants: HashMap<String, TenantView>,
    at: i64,
}

#[derive(Clone)]
pub struct Realtime {
    db: DatabaseConnection,
    inner: Arc<RwLock<Inner>>,
    wake: Arc<Notify>,
}

impl Realtime {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            inner: Arc::default(),
            wake: Arc::new(Notify::new()),
        }
    }

    /// A tenant's view and when it was taken (ms).
    pub fn view(&self, tenant: &str) -> (TenantView, i64) {
        let inner = self.inner.read().expect("realtime lock");
        (
            inner.tenants.get(tenant).cloned().unwrap_or_default(),
            inner.at,
        )
    }

    /// Asks for a refresh soon (after a batch changed these tenants).
    pub fn touch(&self, tenants: BTreeSet<String>) {
        if !tenants.is_empty() {
            self.wake.notify_one();
        }
    }

    /// Rebuilds the whole view from the tables.
    pub async fn refresh(&self) -> Result<(), DbErr> {
        let now = chrono::Utc::now().timestamp_millis();
        let mut tenants: HashMap<String, TenantView> = HashMap::new();
        let waiting = conversation_state::Entity::find()
            .select_only()
            .column(conversation_state::Column::TenantId)
            .column(conversation_state::Column::ConversationId)
            .column(conversation_state::Column::MerchantId)
            .column(conversation_state::Column::WaitingQueue)
            .column(conversation_state::Column::WaitingSince)
            .filter(conversation_state::Column::WaitingQueue.ne(""))
            .into_tuple::<(String, String, String, String, i64)>()
            .all(&self.db)
            .await?;
        for (tenant, conversation_id, merchant, queue, since) in waiting {
            tenants.entry(tenant).or_default().waiting.push(Waiting {
                conversation_id,
                merchant,
                queue,
                since,
            });
        }
        let serving = conversation_state::Entity::find()
            .select_only()
            .column(conversation_state::Column::TenantId)
            .column(conversation_state::Column::Serving)
            .filter(conversation_state::Column::Serving.ne(""))
            .into_tuple::<(String, String)>()
            .all(&self.db)
            .await?;
        let mut load: HashMap<(String, String), u32> = HashMap::new();
        for (tenant, agents) in serving {
            for a in agents.split(',').filter(|a| !a.is_empty()) {
                *load.entry((tenant.clone(), a.to_owned())).or_default() += 1;
            }
        }
        for s in agent_status::Entity::find().all(&self.db).await? {
            let conversations = load
                .get(&(s.tenant_id.clone(), s.agent_id.clone()))
                .copied()
                .unwrap_or(0);
            tenants
                .entry(s.tenant_id)
                .or_default()
                .agents
                .push(AgentNow {
                    agent: s.agent_id,
                    merchant: s.merchant_id,
                    status: s.status,
                    since: s.since,
                    conversations,
                });
        }
        for r in recent(&self.db, now).await? {
            let (tenant, recent) = r;
            tenants.entry(tenant).or_default().recent.push(recent);
        }
        let mut inner = self.inner.write().expect("realtime lock");
        inner.tenants = tenants;
        inner.at = now;
        Ok(())
    }

    /// Refreshes every `every`, and soon after a [`touch`](Self::touch), until `shutdown`.
    pub async fn run(self, every: Duration, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
                _ = self.wake.notified() => {
                    // Let a burst of batches settle into one refresh.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            if let Err(e) = self.refresh().await {
                tracing::warn!(error = %e, "refreshing the real-time view failed");
            }
        }
    }
}

/// Each tenant's queues over the last 15 minutes, from the minute cells.
async fn recent<C: ConnectionTrait>(db: &C, now: i64) -> Result<Vec<(String, Recent)>, DbErr> {
    let from = (now - SERVICE_LEVEL_WINDOW_MS).div_euclid(60_000) * 60_000;
    let sum = |c: Counter| crate::store::rollups::sum_of(c.column());
    let q = Query::select()
        .columns([
            Alias::new("tenant_id"),
            Alias::new("merchant_id"),
            Alias::new("queue_id"),
        ])
        .expr_as(sum(Counter::Answered), Alias::new("answered"))
        .expr_as(sum(Counter::AnsweredInTarget), Alias::new("in_target"))
        .expr_as(sum(Counter::Abandoned), Alias::new("abandoned"))
        .expr_as(sum(Counter::AbandonedShort), Alias::new("abandoned_short"))
        .from(Alias::new("rollups"))
        .and_where(Expr::col(Alias::new("grain")).eq(Grain::Minute.as_str()))
        .and_where(Expr::col(Alias::new("bucket")).gte(from))
        .and_where(Expr::col(Alias::new("queue_id")).ne(""))
        .group_by_columns([
            Alias::new("tenant_id"),
            Alias::new("merchant_id"),
            Alias::new("queue_id"),
        ])
        .to_owned();
    let mut out = Vec::new();
    for row in db.query_all(&q).await? {
        let n = |c: &str| row.try_get::<i64>("", c);
        out.push((
            row.try_get::<String>("", "tenant_id")?,
            Recent {
                merchant: row.try_get("", "merchant_id")?,
                queue: row.try_get("", "queue_id")?,
                answered: n("answered")?,
                in_target: n("in_target")?,
                abandoned: n("abandoned")?,
                abandoned_short: n("abandoned_short")?,
            },
        ));
    }
    Ok(out)
}

/// What one scope (a tenant, or one of its merchants) sees now.
pub struct Snapshot {
    pub at: i64,
    /// queue → (waiting, longest wait ms, answered, in target, abandoned after the threshold).
    pub queues: BTreeMap<String, (u32, i64, i64, i64, i64)>,
    pub agents: Vec<AgentNow>,
}

impl TenantView {
    /// The view of `merchant` (empty: the whole tenant) at `now`.
    pub fn scoped(&self, merchant: &str, now: i64) -> Snapshot {
        let mine = |m: &str| merchant.is_empty() || m == merchant;
        let mut queues: BTreeMap<String, (u32, i64, i64, i64, i64)> = BTreeMap::new();
        for w in self.waiting.iter().filter(|w| mine(&w.merchant)) {
            let q = queues.entry(w.queue.clone()).or_default();
            q.0 += 1;
            q.1 = std::cmp::max(q.1, now - w.since);
        }
        for r in self.recent.iter().filter(|r| mine(&r.merchant)) {
            let q = queues.entry(r.queue.clone()).or_default();
            q.2 += r.answered;
            q.3 += r.in_target;
            q.4 += r.abandoned - r.abandoned_short;
        }
        let mut agents: Vec<AgentNow> = self
            .agents
            .iter()
            .filter(|a| mine(&a.merchant))
            .cloned()
            .collect();
        agents.sort_by(|a, b| a.agent.cmp(&b.agent));
        Snapshot {
            at: now,
            queues,
            agents,
        }
    }
}
