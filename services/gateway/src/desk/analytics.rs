//! The analytics API for supervisors and admins: reports (JSON or CSV), hot topics, the
//! real-time view and the correctness check, each forwarded to the analytics service's
//! `kefu.analytics.v1.Analytics` after the desk's authentication. The scope is the caller's:
//! the token's tenant, and its merchant for a merchant's staff — never a parameter.
//! The metrics are defined in `docs/metrics.md`.

use super::auth::{Actor, Role};
use super::{DeskErrors, QueryParams, TenantPath};
use crate::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use kefu_proto::analytics as pb;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// Longest accepted `from` / `to` / `date` (an RFC 3339 instant with a zone fits).
const MAX_INSTANT_CHARS: usize = 40;
/// Most comma-separated items in one list parameter (metrics, filter values).
const MAX_LIST: usize = 100;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// Start: an RFC 3339 instant or a local date `YYYY-MM-DD` in the tenant's reporting time
    /// zone (default: six days before `to`'s day).
    pub from: Option<String>,
    /// End (exclusive; a date includes that day; default: now).
    pub to: Option<String>,
    /// minute | hour | day | total (default total).
    pub granularity: Option<String>,
    /// Comma-separated dimensions to group by: agent, queue, channel, merchant, tier.
    pub group_by: Option<String>,
    /// Comma-separated metric names (`docs/metrics.md`); default all.
    pub metrics: Option<String>,
    /// Only these agents (comma-separated ids).
    pub agent: Option<String>,
    /// Only these queues.
    pub queue: Option<String>,
    /// Only these channel types.
    pub channel: Option<String>,
    /// Only these merchants (platform staff; a merchant's staff always see their own).
    pub merchant: Option<String>,
    /// Only these customer tiers.
    pub tier: Option<String>,
    /// json (default) | csv
    pub format: Option<String>,
}

/// One row of a report: the bucket's start (absent for a total), the grouped dimensions and
/// the metrics' values (a rate over nothing is absent).
#[derive(Serialize, ToSchema)]
pub struct ReportRow {
    pub bucket: Option<String>,
    pub dimensions: BTreeMap<String, String>,
    pub values: BTreeMap<String, f64>,
}

#[derive(Serialize, ToSchema)]
pub struct Report {
    /// The tenant's reporting time zone the days and hours are counted in.
    pub time_zone: String,
    /// The version of the metric definitions (`docs/metrics.md`).
    pub definitions_version: String,
    pub from: Option<String>,
    pub to: Option<String>,
    /// The metrics, in report order (a table's columns).
    pub metrics: Vec<String>,
    pub rows: Vec<ReportRow>,
}

fn list(field: &str, v: Option<&String>) -> Result<Vec<String>, ApiError> {
    let Some(v) = v.filter(|v| !v.is_empty()) else {
        return Ok(Vec::new());
    };
    let items: Vec<String> = v.split(',').map(|s| s.trim().to_owned()).collect();
    if items.len() > MAX_LIST {
        return Err(ApiError::field(field, format!("at most {MAX_LIST} items")));
    }
    if let Some(bad) = items
        .iter()
        .find(|i| i.is_empty() || i.chars().count() > 128)
    {
        return Err(ApiError::field(
            field,
            format!(
                "items must be 1-128 characters (got {} characters)",
                bad.chars().count()
            ),
        ));
    }
    Ok(items)
}

fn instant(field: &str, v: Option<&String>) -> Result<String, ApiError> {
    let v = v.cloned().unwrap_or_default();
    if v.chars().count() > MAX_INSTANT_CHARS {
        return Err(ApiError::field(
            field,
            "must be an RFC 3339 instant or a date YYYY-MM-DD",
        ));
    }
    Ok(v)
}

fn scope(actor: &Actor) -> Option<pb::Scope> {
    Some(pb::Scope {
        tenant_id: actor.tenant_id.clone(),
        merchant_id: actor.merchant_id.clone(),
    })
}

fn rfc3339(t: Option<&prost_types::Timestamp>) -> Option<String> {
    t.and_then(kefu_proto::time::from_timestamp)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

impl ReportQuery {
    fn request(&self, actor: &Actor) -> Result<pb::ReportRequest, ApiError> {
        let mut filters = Vec::new();
        for (name, v) in [
            ("agent", &self.agent),
            ("queue", &self.queue),
            ("channel", &self.channel),
            ("merchant", &self.merchant),
            ("tier", &self.tier),
        ] {
            let values = list(name, v.as_ref())?;
            if !values.is_empty() {
                filters.push(pb::Filter {
                    dimension: name.to_owned(),
                    values,
                });
            }
        }
        let granularity = self.granularity.clone().unwrap_or_default();
        if granularity.len() > 16 {
            return Err(ApiError::field(
                "granularity",
                "must be minute, hour, day or total",
            ));
        }
        Ok(pb::ReportRequest {
            scope: scope(actor),
            from: instant("from", self.from.as_ref())?,
            to: instant("to", self.to.as_ref())?,
            granularity,
            group_by: list("group_by", self.group_by.as_ref())?,
            filters,
            metrics: list("metrics", self.metrics.as_ref())?,
        })
    }
}

/// The analytics service's error in the HTTP error table: its field errors name the query
/// parameter (`group_by[1]`, `from`, …).
fn answer<T>(reply: Result<tonic::Response<T>, tonic::Status>) -> Result<T, ApiError> {
    reply.map(tonic::Response::into_inner).map_err(|s| {
        use tonic::Code;
        match s.code() {
            Code::InvalidArgument | Code::OutOfRange => match kefu_proto::desk::field_error(&s) {
                Some(e) => e.into(),
                None => ApiError::field("query", s.message()),
            },
            Code::PermissionDenied => ApiError::Forbidden(s.message().into()),
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
                ApiError::Unavailable("the analytics service")
            }
            _ => ApiError::Internal(format!("analytics: {s}")),
        }
    })
}

/// Metrics over a time range, bucketed and grouped (supervisors; a merchant's staff see their
/// merchant). `format=csv` answers `text/csv`: a header line `bucket,<dimensions…>,<metrics…>`
/// then one line per row (an absent value is an empty cell).
#[utoipa::path(get, path = "/v1/tenants/{tenant_id}/analytics/report", tag = "analytics",
    params(TenantPath, ReportQuery),
    responses((status = 200, description = "The report (JSON, or CSV with format=csv)",
        content((Report = "application/json"), (String = "text/csv"))), DeskErrors),
    security(("bearer" = [])))]
pub async fn report(
    State(state): State<AppState>,
    actor: Actor,
    QueryParams(q): QueryParams<ReportQuery>,
) -> Result<Response, ApiError> {
    actor.require(Role::Supervisor)?;
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(ApiError::field("format", "must be json or csv")),
    };
    let req = q.request(&actor)?;
    let group_by = req.group_by.clone();
    let r = answer(state.analytics.clone().report(req).await)?;
    let report = Report {
        time_zone: r.time_zone,
        definitions_version: r.definitions_version,
        from: rfc3339(r.from.as_ref()),
        to: rfc3339(r.to.as_ref()),
        metrics: r.metrics,
        rows: r
            .rows
            .into_iter()
            .map(|row| ReportRow {
                bucket: rfc3339(row.bucket.as_ref()),
                dimensions: row.dimensions.into_iter().collect(),
                values: row.values.into_iter().collect(),
            })
            .collect(),
    };
    if !csv {
        return Ok(Json(report).into_response());
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"kefu-report.csv\"",
            ),
        ],
        to_csv(&report, &group_by),
    )
        .into_response())
}

/// One CSV cell: quoted when it holds a comma, quote or line break; a text cell a spreadsheet
/// would take for a formula is prefixed with `'`.
fn cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) && s.parse::<f64>().is_err() {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The report as CSV (RFC 4180, CRLF line ends).
pub fn to_csv(r: &Report, group_by: &[String]) -> String {
    let mut out = String::new();
    let header: Vec<String> = std::iter::once("bucket".to_owned())
        .chain(group_by.iter().cloned())
        .chain(r.metrics.iter().cloned())
        .map(|h| cell(&h))
        .collect();
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    for row in &r.rows {
        let mut cells = vec![cell(row.bucket.as_deref().unwrap_or_default())];
        for g in group_by {
            cells.push(cell(row.dimensions.get(g).map_or("", String::as_str)));
        }
        for m in &r.metrics {
            cells.push(row.values.get(m).map_or(String::new(), f64::to_string));
        }
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TopicsQuery {
    /// As in the report; whole local days.
    pub from: Option<String>,
    pub to: Option<String>,
    /// Most entries per list, 1–100 (default 10).
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct Topic {
    pub label: String,
    pub count: u64,
    /// The count over the period of the same length just before.
    pub previous: u64,
    /// One count per local day of the range, oldest first.
    pub daily: Vec<u64>,
}

/// Questions the bot missed, alike in wording.
#[derive(Serialize, ToSchema)]
pub struct MissCluster {
    pub representative: String,
    pub count: u64,
    pub previous: u64,
    pub examples: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct HotTopics {
    pub time_zone: String,
    /// The local days of the range (the `daily` counts' labels).
    pub days: Vec<String>,
    pub intents: Vec<Topic>,
    pub faqs: Vec<Topic>,
    pub tags: Vec<Topic>,
    pub handoff_reasons: Vec<Topic>,
    pub unanswered: Vec<MissCluster>,
}

fn topics(list: Vec<pb::Topic>) -> Vec<Topic> {
    list.into_iter()
        .map(|t| Topic {
            label: t.label,
            count: t.count,
            previous: t.previous,
            daily: t.daily,
        })
        .collect()
}

/// The most frequent intents, FAQ answers, tags and handoff reasons, and the bot's unanswered
/// questions clustered by wording, each against the period before (supervisors).
#[utoipa::path(get, path = "/v1/tenants/{tenant_id}/analytics/hot-topics", tag = "analytics",
    params(TenantPath, TopicsQuery),
    responses((status = 200, body = HotTopics), DeskErrors), security(("bearer" = [])))]
pub async fn hot_topics(
    State(state): State<AppState>,
    actor: Actor,
    QueryParams(q): QueryParams<TopicsQuery>,
) -> Result<Json<HotTopics>, ApiError> {
    actor.require(Role::Supervisor)?;
    let req = pb::HotTopicsRequest {
        scope: scope(&actor),
        from: instant("from", q.from.as_ref())?,
        to: instant("to", q.to.as_ref())?,
        limit: q.limit.unwrap_or(0),
    };
    let r = answer(state.analytics.clone().hot_topics(req).await)?;
    Ok(Json(HotTopics {
        time_zone: r.time_zone,
        days: r.days,
        intents: topics(r.intents),
        faqs: topics(r.faqs),
        tags: topics(r.tags),
        handoff_reasons: topics(r.handoff_reasons),
        unanswered: r
            .unanswered
            .into_iter()
            .map(|c| MissCluster {
                representative: c.representative,
                count: c.count,
                previous: c.previous,
                examples: c.examples,
            })
            .collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct QueueNow {
    pub queue_id: String,
    pub waiting: u32,
    pub longest_wait_ms: i64,
    /// The last 15 minutes.
    pub answered: u32,
    pub answered_in_target: u32,
    pub abandoned_long: u32,
}

#[derive(Serialize, ToSchema)]
pub struct AgentNow {
    pub agent_id: String,
    pub merchant_id: String,
    /// online | busy | away | offline
    pub status: String,
    pub since: Option<String>,
    pub conversations: u32,
}

#[derive(Serialize, ToSchema)]
pub struct RealtimeView {
    pub at: Option<String>,
    pub waiting: u32,
    pub longest_wait_ms: i64,
    /// Over every queue, the last 15 minutes; absent when nothing was answered or abandoned.
    pub service_level_15m: Option<f64>,
    pub agents_by_status: BTreeMap<String, u32>,
    pub queues: Vec<QueueNow>,
    pub agents: Vec<AgentNow>,
}

/// Now: conversations waiting and the longest wait per queue, agents by status, the service
/// level of the last 15 minutes (supervisors).
#[utoipa::path(get, path = "/v1/tenants/{tenant_id}/analytics/realtime", tag = "analytics",
    params(TenantPath), responses((status = 200, body = RealtimeView), DeskErrors),
    security(("bearer" = [])))]
pub async fn realtime(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<Json<RealtimeView>, ApiError> {
    actor.require(Role::Supervisor)?;
    let r = answer(
        state
            .analytics
            .clone()
            .realtime(pb::RealtimeRequest {
                scope: scope(&actor),
            })
            .await,
    )?;
    Ok(Json(RealtimeView {
        at: rfc3339(r.at.as_ref()),
        waiting: r.waiting,
        longest_wait_ms: r.longest_wait_ms,
        service_level_15m: (r.service_level_15m >= 0.0).then_some(r.service_level_15m),
        agents_by_status: r.agents_by_status.into_iter().collect(),
        queues: r
            .queues
            .into_iter()
            .map(|q| QueueNow {
                queue_id: q.queue_id,
                waiting: q.waiting,
                longest_wait_ms: q.longest_wait_ms,
                answered: q.answered,
                answered_in_target: q.answered_in_target,
                abandoned_long: q.abandoned_long,
            })
            .collect(),
        agents: r
            .agents
            .into_iter()
            .map(|a| AgentNow {
                agent_id: a.agent_id,
                merchant_id: a.merchant_id,
                status: a.status,
                since: rfc3339(a.since.as_ref()),
                conversations: a.conversations,
            })
            .collect(),
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CheckQuery {
    /// A local date `YYYY-MM-DD` (default: yesterday).
    pub date: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Difference {
    pub cell: String,
    pub metric: String,
    pub rollup: f64,
    pub recomputed: f64,
}

#[derive(Serialize, ToSchema)]
pub struct CheckResult {
    pub date: String,
    /// Rollup cells compared.
    pub cells: u64,
    /// Where the rollups differ from the facts (empty: they agree).
    pub differences: Vec<Difference>,
}

/// Recomputes one local day of the tenant from the fact tables and compares it with the
/// rollups (platform admins).
#[utoipa::path(post, path = "/v1/tenants/{tenant_id}/analytics/check", tag = "analytics",
    params(TenantPath, CheckQuery), responses((status = 200, body = CheckResult), DeskErrors),
    security(("bearer" = [])))]
pub async fn check(
    State(state): State<AppState>,
    actor: Actor,
    QueryParams(q): QueryParams<CheckQuery>,
) -> Result<Json<CheckResult>, ApiError> {
    actor.require(Role::Admin)?;
    if !actor.merchant_id.is_empty() {
        return Err(ApiError::Forbidden(
            "the check recomputes a whole tenant's day; a merchant's admin cannot run it".into(),
        ));
    }
    let r = answer(
        state
            .analytics
            .clone()
            .check(pb::CheckRequest {
                scope: scope(&actor),
                date: instant("date", q.date.as_ref())?,
            })
            .await,
    )?;
    Ok(Json(CheckResult {
        date: r.date,
        cells: r.cells,
        differences: r
            .differences
            .into_iter()
            .map(|d| Difference {
                cell: d.cell,
                metric: d.metric,
                rollup: d.rollup,
                recomputed: d.recomputed,
            })
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_a_header_and_quotes_what_needs_it() {
        let r = Report {
            time_zone: "Asia/Shanghai".into(),
            definitions_version: "1".into(),
            from: None,
            to: None,
            metrics: vec!["conversations".into(), "csat".into()],
            rows: vec![
                ReportRow {
                    bucket: Some("2025-03-10T16:00:00.000Z".into()),
                    dimensions: [("agent".to_owned(), "a,b".to_owned())].into(),
                    values: [("conversations".to_owned(), 2.0)].into(),
                },
                ReportRow {
                    bucket: None,
                    dimensions: [("agent".to_owned(), "=cmd".to_owned())].into(),
                    values: [("conversations".to_owned(), 1.0), ("csat".to_owned(), 0.5)].into(),
                },
            ],
        };
        assert_eq!(
            to_csv(&r, &["agent".to_owned()]),
            "bucket,agent,conversations,csat\r\n2025-03-10T16:00:00.000Z,\"a,b\",2,\r\n,'=cmd,1,0.5\r\n"
        );
    }

    #[test]
    fn list_parameters_are_bounded() {
        let many = vec!["a"; MAX_LIST + 1].join(",");
        assert!(matches!(
            list("metrics", Some(&many)),
            Err(ApiError::InvalidField { field, .. }) if field == "metrics"
        ));
        assert!(list("agent", Some(&"a,,b".to_owned())).is_err());
        assert_eq!(list("agent", Some(&"a, b".to_owned())).unwrap(), ["a", "b"]);
        assert!(instant("from", Some(&"9".repeat(41))).is_err());
    }
}
