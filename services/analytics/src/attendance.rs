//! Agents' attendance and occupancy per local day: time online (online or busy), away, and
//! online with at least one conversation. Recomputed from the status facts and the agents'
//! segments whenever either changes for that day, and applied to the day cells as a difference
//! to what was applied before (`agent_days`).

use crate::counters::Counter;
use crate::rollup::{Delta, Dims, day_start, local_midnight};
use crate::store::entities::{agent_day, agent_segment, fact_agent_status};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use kefu_store::Scoped;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    QueryOrder,
};
use std::collections::{BTreeSet, HashMap};

/// How far back the status an agent had at a day's start is looked for.
const STATUS_LOOKBACK_MS: i64 = 7 * 24 * 3600 * 1000;

/// Statuses that count as online (attendance) and the away status.
pub fn is_online(status: &str) -> bool {
    matches!(status, "online" | "busy")
}

/// The local day after the one starting at `day` (its start).
pub fn next_day(day: i64, zone: Tz) -> i64 {
    let date = DateTime::<Utc>::from_timestamp_millis(day)
        .unwrap_or_default()
        .with_timezone(&zone)
        .date_naive();
    local_midnight(date.succ_opt().unwrap_or(date), zone)
}

/// The local days `[from, to]` touches (their starts).
pub fn days_between(from: i64, to: i64, zone: Tz) -> Vec<i64> {
    let mut out = Vec::new();
    let mut d = day_start(from, zone);
    while d <= to && out.len() < 400 {
        out.push(d);
        d = next_day(d, zone);
    }
    out
}

/// Total length of a union of intervals.
fn measure(mut iv: Vec<(i64, i64)>) -> i64 {
    iv.retain(|(a, b)| b > a);
    iv.sort_unstable();
    let mut total = 0;
    let mut cur: Option<(i64, i64)> = None;
    for (a, b) in iv {
        match &mut cur {
            Some((_, e)) if a <= *e => *e = (*e).max(b),
            _ => {
                if let Some((s, e)) = cur {
                    total += e - s;
                }
                cur = Some((a, b));
            }
        }
    }
    if let Some((s, e)) = cur {
        total += e - s;
    }
    total
}

/// The intersection of two sets of intervals (each a union).
fn intersect(a: &[(i64, i64)], b: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    for (a0, a1) in a {
        for (b0, b1) in b {
            let (s, e) = ((*a0).max(*b0), (*a1).min(*b1));
            if e > s {
                out.push((s, e));
            }
        }
    }
    out
}

/// One agent-day's figures.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DayFigures {
    pub merchant: String,
    pub online_ms: i64,
    pub away_ms: i64,
    pub busy_ms: i64,
}

/// The figures of the day `[d0, d1)` (clipped at `now`) from the agent's status changes in time
/// order (`(at, to_status, merchant)`, with the last one before `d0` if any) and its segments.
pub fn figures(
    statuses: &[(i64, String, String)],
    segments: &[(i64, Option<i64>)],
    d0: i64,
    d1: i64,
    now: i64,
) -> DayFigures {
    let end = d1.min(now);
    let mut f = DayFigures::default();
    if end <= d0 {
        return f;
    }
    let mut online = Vec::new();
    let mut away = Vec::new();
    let mut current: Option<(i64, &str)> = None;
    let close = |from: i64,
                 to: i64,
                 status: &str,
                 online: &mut Vec<(i64, i64)>,
                 away: &mut Vec<(i64, i64)>| {
        let (s, e) = (from.max(d0), to.min(end));
        if e > s {
            if is_online(status) {
                online.push((s, e));
            } else if status == "away" {
                away.push((s, e));
            }
        }
    };
    for (at, status, merchant) in statuses {
        if *at >= end {
            break;
        }
        if !merchant.is_empty() {
            f.merchant = merchant.clone();
        }
        if let Some((since, st)) = current {
            close(since, *at, st, &mut online, &mut away);
        }
        current = Some((*at, status.as_str()));
    }
    if let Some((since, st)) = current {
        close(since, end, st, &mut online, &mut away);
    }
    let busy: Vec<(i64, i64)> = segments
        .iter()
        .map(|(s, e)| ((*s).max(d0), e.unwrap_or(now).min(end)))
        .filter(|(s, e)| e > s)
        .collect();
    f.online_ms = measure(online.clone());
    f.away_ms = measure(away);
    f.busy_ms = measure(intersect(&online, &busy));
    f
}

/// The figures of these (agent, day start) pairs of `tenant`, from the facts.
async fn compute<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    zone: Tz,
    wanted: &BTreeSet<(String, i64)>,
    now: i64,
) -> Result<Vec<((String, i64), DayFigures)>, DbErr> {
    let agents: Vec<String> = wanted
        .iter()
        .map(|(a, _)| a.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let from = wanted.iter().map(|(_, d)| *d).min().unwrap_or(0);
    let to = wanted
        .iter()
        .map(|(_, d)| next_day(*d, zone))
        .max()
        .unwrap_or(0);
    let mut statuses: HashMap<String, Vec<(i64, String, String)>> = HashMap::new();
    for r in fact_agent_status::Entity::of_tenant(tenant)
        .filter(fact_agent_status::Column::AgentId.is_in(agents.iter().cloned()))
        .filter(fact_agent_status::Column::At.lt(to))
        .filter(fact_agent_status::Column::At.gte(from - STATUS_LOOKBACK_MS))
        .order_by_asc(fact_agent_status::Column::At)
        .all(db)
        .await?
    {
        statuses
            .entry(r.agent_id)
            .or_default()
            .push((r.at, r.to_status, r.merchant_id));
    }
    let mut segments: HashMap<String, Vec<(i64, Option<i64>)>> = HashMap::new();
    for s in agent_segment::Entity::of_tenant(tenant)
        .filter(agent_segment::Column::AgentId.is_in(agents.iter().cloned()))
        .filter(agent_segment::Column::StartAt.lt(to))
        .filter(
            Condition::any()
                .add(agent_segment::Column::EndAt.is_null())
                .add(agent_segment::Column::EndAt.gt(from)),
        )
        .all(db)
        .await?
    {
        segments
            .entry(s.agent_id)
            .or_default()
            .push((s.start_at, s.end_at));
    }
    Ok(wanted
        .iter()
        .map(|(agent, d0)| {
            let f = figures(
                statuses.get(agent).map_or(&[][..], |v| v),
                segments.get(agent).map_or(&[][..], |v| v),
                *d0,
                next_day(*d0, zone),
                now,
            );
            ((agent.clone(), *d0), f)
        })
        .collect())
}

fn add_figures(delta: &mut Delta, tenant: &str, agent: &str, day: i64, f: &DayFigures, sign: i64) {
    let dims = Dims {
        agent: agent.to_owned(),
        merchant: f.merchant.clone(),
        ..Dims::default()
    };
    delta.day_add(tenant, day, &dims, Counter::OnlineMs, sign * f.online_ms);
    delta.day_add(tenant, day, &dims, Counter::AwayMs, sign * f.away_ms);
    delta.day_add(tenant, day, &dims, Counter::BusyMs, sign * f.busy_ms);
}

/// Adds the figures of these (agent, day) pairs, computed from the facts, to `delta` (the
/// correctness check).
pub async fn figures_into<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    zone: Tz,
    wanted: &BTreeSet<(String, i64)>,
    now: i64,
    delta: &mut Delta,
) -> Result<(), DbErr> {
    if wanted.is_empty() {
        return Ok(());
    }
    for ((agent, day), f) in compute(db, tenant, zone, wanted, now).await? {
        add_figures(delta, tenant, &agent, day, &f, 1);
    }
    Ok(())
}

/// Recomputes these (agent, day start) pairs of `tenant` and adds the differences to what was
/// applied before to `delta`.
pub async fn recompute<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    zone: Tz,
    wanted: &BTreeSet<(String, i64)>,
    now: i64,
    delta: &mut Delta,
) -> Result<(), DbErr> {
    if wanted.is_empty() {
        return Ok(());
    }
    let fresh = compute(db, tenant, zone, wanted, now).await?;
    let agents: Vec<String> = wanted
        .iter()
        .map(|(a, _)| a.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let from = wanted.iter().map(|(_, d)| *d).min().unwrap_or(0);
    let to = wanted.iter().map(|(_, d)| *d).max().unwrap_or(0);
    let mut stored: HashMap<(String, i64), agent_day::Model> = HashMap::new();
    for r in agent_day::Entity::of_tenant(tenant)
        .filter(agent_day::Column::AgentId.is_in(agents))
        .filter(agent_day::Column::Day.between(from, to))
        .all(db)
        .await?
    {
        stored.insert((r.agent_id.clone(), r.day), r);
    }
    let mut rows = Vec::new();
    for ((agent, d0), f) in fresh {
        if let Some(o) = stored.get(&(agent.clone(), d0)) {
            let old = DayFigures {
                merchant: o.merchant_id.clone(),
                online_ms: o.online_ms,
                away_ms: o.away_ms,
                busy_ms: o.busy_ms,
            };
            if old == f {
                continue;
            }
            add_figures(delta, tenant, &agent, o.day, &old, -1);
        }
        add_figures(delta, tenant, &agent, d0, &f, 1);
        rows.push(agent_day::ActiveModel {
            tenant_id: Set(tenant.to_owned()),
            agent_id: Set(agent),
            day: Set(d0),
            zone: Set(zone.name().to_owned()),
            merchant_id: Set(f.merchant),
            online_ms: Set(f.online_ms),
            away_ms: Set(f.away_ms),
            busy_ms: Set(f.busy_ms),
        });
    }
    for chunk in rows.chunks(300) {
        agent_day::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([
                    agent_day::Column::TenantId,
                    agent_day::Column::AgentId,
                    agent_day::Column::Day,
                ])
                .update_columns([
                    agent_day::Column::Zone,
                    agent_day::Column::MerchantId,
                    agent_day::Column::OnlineMs,
                    agent_day::Column::AwayMs,
                    agent_day::Column::BusyMs,
                ])
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(at: i64, s: &str) -> (i64, String, String) {
        (at, s.to_owned(), String::new())
    }

    #[test]
    fn online_away_and_busy_within_the_day() {
        let h = 3_600_000;
        // Online from 1h before the day (carried in), away 10:00–11:00, offline at 18:00.
        let statuses = [
            st(-h, "online"),
            st(10 * h, "away"),
            st(11 * h, "busy"),
            st(18 * h, "offline"),
        ];
        // Conversations 9:00–10:30 and 17:00–19:00 (beyond offline).
        let segs = [(9 * h, Some(10 * h + h / 2)), (17 * h, Some(19 * h))];
        let f = figures(&statuses, &segs, 0, 24 * h, 100 * h);
        assert_eq!(f.online_ms, 17 * h);
        assert_eq!(f.away_ms, h);
        // 9:00–10:00 online with a conversation, 17:00–18:00 too.
        assert_eq!(f.busy_ms, 2 * h);
    }

    #[test]
    fn today_is_counted_until_now() {
        let h = 3_600_000;
        let f = figures(&[st(8 * h, "online")], &[(9 * h, None)], 0, 24 * h, 12 * h);
        assert_eq!(f.online_ms, 4 * h);
        assert_eq!(f.busy_ms, 3 * h);
    }
}
