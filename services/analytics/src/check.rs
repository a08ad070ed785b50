//! The correctness check: one local day of a tenant recomputed from the fact tables alone — every
//! conversation with a fact that day folded afresh, every message counted again, every agent's
//! attendance recomputed — and compared, cell by cell, with the day cells the incremental
//! rollups hold. A difference is a metric (`kefu_analytics_check_differences`) and a log line.

use crate::attendance;
use crate::conversation::{self, Applied, ConvState, RETURN_WINDOW_MS};
use crate::counters::{Counter, Hist, Values};
use crate::rollup::{CellKey, Delta, Grain};
use crate::settings::Settings;
use crate::store::entities::{agent_day, check_run, fact_conversation, fact_message};
use crate::store::{self, rollups};
use kefu_store::Scoped;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
};
use std::collections::{BTreeSet, HashMap};

/// One value that differs.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Difference {
    pub cell: String,
    pub metric: String,
    pub rollup: f64,
    pub recomputed: f64,
}

#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub day: i64,
    pub cells: u64,
    pub differences: Vec<Difference>,
}

fn describe(k: &CellKey) -> String {
    format!(
        "{}/{}/{} merchant={} channel={} queue={} agent={} tier={}",
        k.tenant,
        k.grain.as_str(),
        k.bucket,
        k.dims.merchant,
        k.dims.channel,
        k.dims.queue,
        k.dims.agent,
        k.dims.tier
    )
}

/// The day cells of `[d0, d1)` recomputed from the facts.
pub async fn recompute_day<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    settings: &Settings,
    d0: i64,
    d1: i64,
    now: i64,
) -> Result<HashMap<CellKey, Values>, DbErr> {
    let zone = settings.zone;
    let mut delta = Delta::default();
    // Messages: the counts that depend on nothing else.
    let messages = fact_message::Entity::of_tenant(tenant)
        .filter(fact_message::Column::At.gte(d0))
        .filter(fact_message::Column::At.lt(d1))
        .all(db)
        .await?;
    let mut conversations: BTreeSet<String> = BTreeSet::new();
    for m in messages {
        conversations.insert(m.conversation_id.clone());
        let m = store::facts::message_of(m);
        crate::ingest::message_counts(tenant, settings, &m, now, &mut delta);
    }
    let ids: Vec<String> = fact_conversation::Entity::of_tenant(tenant)
        .select_only()
        .column(fact_conversation::Column::ConversationId)
        .filter(fact_conversation::Column::At.gte(d0))
        .filter(fact_conversation::Column::At.lt(d1))
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    conversations.extend(ids);
    // Conversations: folded afresh from their facts, with the thresholds they were pinned to.
    let ids: Vec<String> = conversations.into_iter().collect();
    let stored = store::load_states_unlocked(db, tenant, &ids).await?;
    let mut states = Vec::with_capacity(ids.len());
    for id in &ids {
        let (messages, lifecycle) = store::facts::of_conversation(db, tenant, id).await?;
        let mut st = ConvState::default();
        for m in &messages {
            st.apply_message(m);
        }
        for l in &lifecycle {
            st.apply_life(l);
        }
        let pinned = stored.get(id);
        st.target_s = pinned.and_then(|p| p.target_s);
        st.short_s = pinned.and_then(|p| p.short_s);
        conversation::pin_thresholds(&mut st, settings);
        states.push((id.clone(), st));
    }
    let customers: Vec<String> = states
        .iter()
        .map(|(_, s)| s.customer.clone())
        .filter(|c| !c.is_empty())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let contacts = store::facts::customer_contacts(
        db,
        tenant,
        &customers,
        d0 - 2 * RETURN_WINDOW_MS,
        d1 + 2 * RETURN_WINDOW_MS,
    )
    .await?;
    for (id, st) in &states {
        let returns: Vec<i64> = contacts
            .get(&st.customer)
            .map(|v| v.iter().filter(|(_, c)| c != id).map(|(t, _)| *t).collect())
            .unwrap_or_default();
        let applied = Applied {
            merchant: st.merchant.v.clone(),
            channel: st.channel.v.clone(),
            tier: st.tier.v.clone(),
            zone: zone.name().to_owned(),
            items: conversation::derive(st, now, &returns),
        };
        delta.applied(tenant, &applied, 1, now);
    }
    // Orders placed that day, attributed afresh.
    crate::orders::recompute(db, tenant, settings, d0, d1, now, &mut delta).await?;
    // Attendance: the agents with a status or a segment that day, recomputed.
    let agents: BTreeSet<String> = agent_day::Entity::of_tenant(tenant)
        .filter(agent_day::Column::Day.eq(d0))
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.agent_id)
        .collect();
    let mut fresh = Delta::default();
    let wanted: BTreeSet<(String, i64)> = agents.into_iter().map(|a| (a, d0)).collect();
    attendance::figures_into(db, tenant, zone, &wanted, now, &mut fresh).await?;
    for (k, v) in fresh.cells {
        delta.cells.entry(k).or_insert_with(Values::new).merge(&v);
    }
    Ok(delta
        .cells
        .into_iter()
        .filter(|(k, v)| k.grain == Grain::Day && k.bucket == d0 && !v.is_zero())
        .collect())
}

/// The stored day cells of `d0`.
async fn stored_day<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    d0: i64,
) -> Result<HashMap<CellKey, Values>, DbErr> {
    let q = Query::select()
        .columns(rollups::all_columns())
        .from(Alias::new("rollups"))
        .and_where(Expr::col(Alias::new("tenant_id")).eq(tenant))
        .and_where(Expr::col(Alias::new("grain")).eq(Grain::Day.as_str()))
        .and_where(Expr::col(Alias::new("bucket")).eq(d0))
        .to_owned();
    let mut out = HashMap::new();
    for row in db.query_all(&q).await? {
        let (k, v) = rollups::read_cell(&row)?;
        if !v.is_zero() {
            out.insert(k, v);
        }
    }
    Ok(out)
}

/// Every value of two cells that differs.
pub fn compare(k: &CellKey, stored: &Values, fresh: &Values, out: &mut Vec<Difference>) {
    for c in Counter::ALL {
        let (a, b) = (stored.get(*c), fresh.get(*c));
        if a != b {
            out.push(Difference {
                cell: describe(k),
                metric: c.column().to_owned(),
                rollup: a as f64,
                recomputed: b as f64,
            });
        }
    }
    for h in Hist::ALL {
        let (a, b) = (&stored.hists[h.index()], &fresh.hists[h.index()]);
        if a != b {
            out.push(Difference {
                cell: describe(k),
                metric: h.column().to_owned(),
                rollup: a.values().sum::<i64>() as f64,
                recomputed: b.values().sum::<i64>() as f64,
            });
        }
    }
}

/// Checks the local day starting at `d0`; records the run.
pub async fn check_day<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    settings: &Settings,
    d0: i64,
    now: i64,
) -> Result<Outcome, DbErr> {
    let d1 = attendance::next_day(d0, settings.zone);
    let fresh = recompute_day(db, tenant, settings, d0, d1, now).await?;
    let stored = stored_day(db, tenant, d0).await?;
    let keys: BTreeSet<&CellKey> = fresh.keys().chain(stored.keys()).collect();
    let empty = Values::new();
    let mut differences = Vec::new();
    for k in &keys {
        compare(
            k,
            stored.get(*k).unwrap_or(&empty),
            fresh.get(*k).unwrap_or(&empty),
            &mut differences,
        );
    }
    for d in &differences {
        tracing::warn!(tenant, cell = %d.cell, metric = %d.metric, rollup = d.rollup, recomputed = d.recomputed, "analytics check: the rollups differ from the facts");
    }
    check_run::Entity::insert(check_run::ActiveModel {
        tenant_id: Set(tenant.to_owned()),
        day: Set(d0),
        checked_at: Set(now),
        cells: Set(keys.len() as i64),
        differences: Set(serde_json::to_string(&differences).unwrap_or_else(|_| "[]".into())),
    })
    .on_conflict(
        OnConflict::columns([check_run::Column::TenantId, check_run::Column::Day])
            .update_columns([
                check_run::Column::CheckedAt,
                check_run::Column::Cells,
                check_run::Column::Differences,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(Outcome {
        day: d0,
        cells: keys.len() as u64,
        differences,
    })
}

/// Whether the day starting at `d0` was checked already.
pub async fn checked<C: ConnectionTrait>(db: &C, tenant: &str, d0: i64) -> Result<bool, DbErr> {
    Ok(
        check_run::Entity::in_tenant(tenant, (tenant.to_owned(), d0))
            .one(db)
            .await?
            .is_some(),
    )
}

/// The tenants with facts since `since` (ms).
pub async fn active_tenants<C: ConnectionTrait>(db: &C, since: i64) -> Result<Vec<String>, DbErr> {
    let q = Query::select()
        .distinct()
        .column(Alias::new("tenant_id"))
        .from(Alias::new("rollups"))
        .and_where(Expr::col(Alias::new("grain")).eq(Grain::Day.as_str()))
        .and_where(Expr::col(Alias::new("bucket")).gte(since))
        .to_owned();
    db.query_all(&q)
        .await?
        .iter()
        .map(|r| r.try_get::<String>("", "tenant_id"))
        .collect()
}
