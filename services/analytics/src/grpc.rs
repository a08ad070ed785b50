//! `kefu.analytics.v1.Analytics`: reports, hot topics, the real-time view and the check, each
//! scoped to a tenant (and a merchant when the caller is a merchant's). The gateway authenticates
//! the caller and names the scope; a wrong field is `InvalidArgument` naming it.

use crate::AnalyticsState;
use crate::query::{Range, Spec};
use crate::rollup::Grain;
use chrono::{DateTime, Utc};
use kefu_proto::analytics as pb;
use kefu_proto::analytics::analytics_server::Analytics;
use kefu_proto::desk::{FieldError, invalid};
use kefu_proto::time::to_timestamp;
use tonic::{Request, Response, Status};

pub struct AnalyticsGrpc {
    pub state: AnalyticsState,
}

fn internal(e: impl std::fmt::Display) -> Status {
    tracing::error!(error = %e, "analytics request failed");
    Status::internal("analytics could not answer")
}

fn ts(ms: i64) -> Option<prost_types::Timestamp> {
    DateTime::<Utc>::from_timestamp_millis(ms).map(to_timestamp)
}

/// The scope's tenant and merchant, checked.
fn scope(s: Option<&pb::Scope>) -> Result<(String, String), Status> {
    let s = s.ok_or_else(|| invalid("scope", "is required"))?;
    if !kefu_crd::common::is_id(&s.tenant_id) {
        return Err(invalid(
            "tenant_id",
            "must be 1-64 characters of a-z, 0-9, '-' or '_'",
        ));
    }
    if !s.merchant_id.is_empty() && !kefu_crd::common::is_id(&s.merchant_id) {
        return Err(invalid(
            "merchant_id",
            "must be 1-64 characters of a-z, 0-9, '-' or '_'",
        ));
    }
    Ok((s.tenant_id.clone(), s.merchant_id.clone()))
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

#[tonic::async_trait]
impl Analytics for AnalyticsGrpc {
    async fn report(
        &self,
        req: Request<pb::ReportRequest>,
    ) -> Result<Response<pb::ReportReply>, Status> {
        let req = req.into_inner();
        let (tenant, merchant) = scope(req.scope.as_ref())?;
        let settings = self
            .state
            .settings
            .get(&self.state.db, &tenant)
            .await
            .map_err(internal)?;
        let zone = settings.zone;
        let now = now_ms();
        let range = Range::parse(&req.from, &req.to, zone, now)?;
        let filters: Vec<(String, Vec<String>)> = req
            .filters
            .into_iter()
            .map(|f| (f.dimension, f.values))
            .collect();
        let spec = Spec::new(
            &tenant,
            &merchant,
            range,
            &req.granularity,
            &req.group_by,
            &filters,
            &req.metrics,
            zone,
            now,
        )?;
        if spec.read_grain(zone) == Grain::Minute
            && range.from < now - crate::rollup::MINUTE_RETENTION_MS
        {
            return Err(FieldError::new(
                "from",
                "a range older than 48 hours must start and end on whole hours",
            )
            .into());
        }
        let metrics = spec.metrics.iter().map(|m| m.name.to_owned()).collect();
        let rows = crate::query::report(&self.state.db, &spec, zone)
            .await
            .map_err(internal)?;
        Ok(Response::new(pb::ReportReply {
            time_zone: zone.name().to_owned(),
            definitions_version: crate::metrics::DEFINITIONS_VERSION.to_owned(),
            from: ts(range.from),
            to: ts(range.to),
            metrics,
            rows: rows
                .into_iter()
                .map(|r| pb::ReportRow {
                    bucket: r.bucket.and_then(ts),
                    dimensions: r.dims.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
                    values: r
                        .values
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect(),
                })
                .collect(),
        }))
    }

    async fn hot_topics(
        &self,
        req: Request<pb::HotTopicsRequest>,
    ) -> Result<Response<pb::HotTopicsReply>, Status> {
        let req = req.into_inner();
        let (tenant, merchant) = scope(req.scope.as_ref())?;
        let settings = self
            .state
            .settings
            .get(&self.state.db, &tenant)
            .await
            .map_err(internal)?;
        let zone = settings.zone;
        let now = now_ms();
        let mut range = Range::parse(&req.from, &req.to, zone, now)?;
        // Whole local days: the range's days from the first to the one holding its end.
        range.from = crate::rollup::day_start(range.from, zone);
        let last = crate::rollup::day_start(range.to - 1, zone);
        range.to = crate::attendance::next_day(last, zone);
        if range.to - range.from > 93 * 86_400_000 {
            return Err(invalid("from", "hot topics cover at most 93 days"));
        }
        let limit = match req.limit {
            0 => 10,
            n if n > 100 => return Err(invalid("limit", "must be 1-100")),
            n => n as usize,
        };
        let t = crate::topics::hot_topics(
            &self.state.db,
            &tenant,
            &merchant,
            range.from,
            range.to,
            zone,
            limit,
        )
        .await
        .map_err(internal)?;
        let list = |k: &str| -> Vec<pb::Topic> {
            t.lists
                .get(k)
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|t| pb::Topic {
                    label: t.label,
                    count: t.count,
                    previous: t.previous,
                    daily: t.daily,
                })
                .collect()
        };
        Ok(Response::new(pb::HotTopicsReply {
            time_zone: zone.name().to_owned(),
            intents: list("intent"),
            faqs: list("faq"),
            tags: list("tag"),
            handoff_reasons: list("handoff_reason"),
            unanswered: t
                .unanswered
                .into_iter()
                .map(|c| pb::MissCluster {
                    representative: c.representative,
                    count: c.count,
                    previous: c.previous,
                    examples: c.examples,
                })
                .collect(),
            days: t
                .days
                .iter()
                .map(|d| crate::topics::date_of(*d, zone))
                .collect(),
        }))
    }

    async fn realtime(
        &self,
        req: Request<pb::RealtimeRequest>,
    ) -> Result<Response<pb::RealtimeReply>, Status> {
        let req = req.into_inner();
        let (tenant, merchant) = scope(req.scope.as_ref())?;
        let (view, _) = self.state.realtime.view(&tenant);
        let now = now_ms();
        let snap = view.scoped(&merchant, now);
        let mut reply = pb::RealtimeReply {
            at: ts(now),
            service_level_15m: -1.0,
            ..Default::default()
        };
        let (mut answered, mut in_target, mut long) = (0, 0, 0);
        for (queue, (waiting, longest, a, t, l)) in snap.queues {
            reply.waiting += waiting;
            reply.longest_wait_ms = reply.longest_wait_ms.max(longest);
            answered += a;
            in_target += t;
            long += l;
            reply.queues.push(pb::QueueNow {
                queue_id: queue,
                waiting,
                longest_wait_ms: longest,
                answered: u32::try_from(a).unwrap_or(0),
                answered_in_target: u32::try_from(t).unwrap_or(0),
                abandoned_long: u32::try_from(l).unwrap_or(0),
            });
        }
        if answered + long > 0 {
            reply.service_level_15m = in_target as f64 / (answered + long) as f64;
        }
        for a in snap.agents {
            *reply.agents_by_status.entry(a.status.clone()).or_default() += 1;
            reply.agents.push(pb::AgentNow {
                agent_id: a.agent,
                merchant_id: a.merchant,
                status: a.status,
                since: ts(a.since),
                conversations: a.conversations,
            });
        }
        Ok(Response::new(reply))
    }

    async fn check(
        &self,
        req: Request<pb::CheckRequest>,
    ) -> Result<Response<pb::CheckReply>, Status> {
        let req = req.into_inner();
        let (tenant, merchant) = scope(req.scope.as_ref())?;
        if !merchant.is_empty() {
            return Err(Status::permission_denied(
                "the check recomputes a whole tenant's day; a merchant's staff cannot run it",
            ));
        }
        let settings = self
            .state
            .settings
            .get(&self.state.db, &tenant)
            .await
            .map_err(internal)?;
        let zone = settings.zone;
        let now = now_ms();
        let day = if req.date.is_empty() {
            crate::rollup::day_start(crate::rollup::day_start(now, zone) - 1, zone)
        } else {
            let d = chrono::NaiveDate::parse_from_str(&req.date, "%Y-%m-%d")
                .map_err(|_| invalid("date", "must be a date YYYY-MM-DD"))?;
            crate::rollup::local_midnight(d, zone)
        };
        if day > now {
            return Err(invalid("date", "must not be in the future"));
        }
        let outcome = crate::check::check_day(&self.state.db, &tenant, &settings, day, now)
            .await
            .map_err(internal)?;
        self.state.metrics.checks.add(1, &[]);
        self.state
            .metrics
            .check_differences
            .add(outcome.differences.len() as u64, &[]);
        Ok(Response::new(pb::CheckReply {
            date: crate::topics::date_of(day, zone),
            cells: outcome.cells,
            differences: outcome
                .differences
                .into_iter()
                .map(|d| pb::Difference {
                    cell: d.cell,
                    metric: d.metric,
                    rollup: d.rollup,
                    recomputed: d.recomputed,
                })
                .collect(),
        }))
    }
}
