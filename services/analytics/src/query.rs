//! Reports: metrics over a time range, per time bucket and grouped by dimensions, from the
//! rollup cells (counters summed in the database, histograms merged here when a percentile is
//! asked for).

use crate::counters::{Counter, Hist, Values, decode_hist_into};
use crate::metrics::{self, Metric};
use crate::rollup::{Dims, Grain, local_midnight};
use crate::store::rollups::sum_of;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use kefu_proto::desk::FieldError;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr};
use std::collections::BTreeMap;

/// Longest range a report covers, per granularity (days).
const MAX_DAYS_DAY: i64 = 400;
const MAX_DAYS_HOUR: i64 = 93;
/// Most values of one filter.
pub const MAX_FILTER_VALUES: usize = 100;
/// Most rows a report answers with.
pub const MAX_ROWS: usize = 20_000;

/// A time range `[from, to)` in ms, with what the caller asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub from: i64,
    pub to: i64,
}

/// An instant from an RFC 3339 time or a local date (its midnight; `end` takes the next one).
fn instant(field: &str, value: &str, zone: Tz, end: bool) -> Result<i64, FieldError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t.with_timezone(&Utc).timestamp_millis());
    }
    if let Ok(d) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        let d = if end { d.succ_opt().unwrap_or(d) } else { d };
        return Ok(local_midnight(d, zone));
    }
    Err(FieldError::new(
        field,
        "must be an RFC 3339 time (2026-11-11T08:00:00+08:00) or a date (2026-11-11)",
    ))
}

impl Range {
    /// `from`/`to` as the API takes them; empty `to` is now, empty `from` the start of the
    /// local day six days before `to` (a week).
    pub fn parse(from: &str, to: &str, zone: Tz, now: i64) -> Result<Range, FieldError> {
        let to = if to.is_empty() {
            now
        } else {
            instant("to", to, zone, true)?
        };
        let from = if from.is_empty() {
            let d = DateTime::<Utc>::from_timestamp_millis(to - 1)
                .unwrap_or_default()
                .with_timezone(&zone)
                .date_naive();
            local_midnight(d - chrono::Duration::days(6), zone)
        } else {
            instant("from", from, zone, false)?
        };
        if to <= from {
            return Err(FieldError::new("to", "must be after from"));
        }
        Ok(Range { from, to })
    }

    fn days(&self) -> i64 {
        (self.to - self.from) / 86_400_000
    }
}

/// What a report asks for, checked.
#[derive(Clone, Debug)]
pub struct Spec {
    pub tenant: String,
    /// Empty: the whole tenant.
    pub merchant: String,
    pub range: Range,
    /// `None`: the whole range in one row per group.
    pub grain: Option<Grain>,
    pub group_by: Vec<&'static str>,
    pub filters: Vec<(&'static str, Vec<String>)>,
    pub metrics: Vec<&'static Metric>,
}

fn dimension(field: &str, name: &str) -> Result<&'static str, FieldError> {
    Dims::NAMES
        .iter()
        .copied()
        .find(|d| *d == name)
        .ok_or_else(|| {
            FieldError::new(
                field,
                format!(
                    "unknown dimension {name:?}; one of {}",
                    Dims::NAMES.join(", ")
                ),
            )
        })
}

impl Spec {
    /// Checks a request: granularity, dimensions, filters, metrics, the range's length.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        tenant: &str,
        merchant: &str,
        range: Range,
        granularity: &str,
        group_by: &[String],
        filters: &[(String, Vec<String>)],
        metric_names: &[String],
        zone: Tz,
        now: i64,
    ) -> Result<Spec, FieldError> {
        let grain = match granularity {
            "" | "total" => None,
            "minute" => Some(Grain::Minute),
            "hour" => Some(Grain::Hour),
            "day" => Some(Grain::Day),
            _ => {
                return Err(FieldError::new(
                    "granularity",
                    "must be minute, hour, day or total",
                ));
            }
        };
        let days = range.days();
        match grain {
            Some(Grain::Minute) if range.from < now - crate::rollup::MINUTE_RETENTION_MS => {
                return Err(FieldError::new(
                    "from",
                    "minute reports cover the last 48 hours; use hour or day",
                ));
            }
            Some(Grain::Hour) if days > MAX_DAYS_HOUR => {
                return Err(FieldError::new(
                    "from",
                    format!("hour reports cover at most {MAX_DAYS_HOUR} days"),
                ));
            }
            _ if days > MAX_DAYS_DAY => {
                return Err(FieldError::new(
                    "from",
                    format!("reports cover at most {MAX_DAYS_DAY} days"),
                ));
            }
            _ => {}
        }
        let mut dims = Vec::new();
        for (i, g) in group_by.iter().enumerate() {
            let d = dimension(&format!("group_by[{i}]"), g)?;
            if dims.contains(&d) {
                return Err(FieldError::new(format!("group_by[{i}]"), "is listed twice"));
            }
            dims.push(d);
        }
        let mut checked = Vec::new();
        for (name, values) in filters {
            let d = dimension(name, name)?;
            if values.len() > MAX_FILTER_VALUES {
                return Err(FieldError::new(
                    d,
                    format!("at most {MAX_FILTER_VALUES} values"),
                ));
            }
            if let Some(v) = values.iter().find(|v| v.chars().count() > 128) {
                return Err(FieldError::new(
                    d,
                    format!("a value of {} characters is too long", v.chars().count()),
                ));
            }
            checked.push((d, values.clone()));
        }
        let metrics = if metric_names.is_empty() {
            metrics::METRICS.iter().collect()
        } else {
            let mut out = Vec::new();
            for (i, m) in metric_names.iter().enumerate() {
                out.push(metrics::find(m).ok_or_else(|| {
                    FieldError::new(format!("metrics[{i}]"), format!("unknown metric {m:?}"))
                })?);
            }
            out
        };
        let _ = zone;
        Ok(Spec {
            tenant: tenant.to_owned(),
            merchant: merchant.to_owned(),
            range,
            grain,
            group_by: dims,
            filters: checked,
            metrics,
        })
    }

    /// The grain the cells are read at: the asked one, or for a total the coarsest whose
    /// buckets the range's ends fall on.
    pub fn read_grain(&self, zone: Tz) -> Grain {
        if let Some(g) = self.grain {
            return g;
        }
        let on = |g: Grain| {
            crate::rollup::bucket(g, self.range.from, zone) == self.range.from
                && crate::rollup::bucket(g, self.range.to, zone) == self.range.to
        };
        if on(Grain::Day) {
            Grain::Day
        } else if on(Grain::Hour) {
            Grain::Hour
        } else {
            Grain::Minute
        }
    }
}

/// One row of a report.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub bucket: Option<i64>,
    pub dims: Vec<(&'static str, String)>,
    pub values: Vec<(&'static str, f64)>,
}

fn base(spec: &Spec, grain: Grain) -> SelectStatement {
    let mut q = Query::select();
    q.from(Alias::new("rollups"))
        .and_where(Expr::col(Alias::new("tenant_id")).eq(spec.tenant.clone()))
        .and_where(Expr::col(Alias::new("grain")).eq(grain.as_str()))
        .and_where(Expr::col(Alias::new("bucket")).gte(spec.range.from))
        .and_where(Expr::col(Alias::new("bucket")).lt(spec.range.to));
    if !spec.merchant.is_empty() {
        q.and_where(Expr::col(Alias::new("merchant_id")).eq(spec.merchant.clone()));
    }
    for (d, values) in &spec.filters {
        q.and_where(Expr::col(Alias::new(column(d))).is_in(values.iter().cloned()));
    }
    q
}

/// The rollup column of a dimension.
pub fn column(d: &str) -> &'static str {
    match d {
        "merchant" => "merchant_id",
        "queue" => "queue_id",
        "agent" => "agent_id",
        "channel" => "channel",
        _ => "tier",
    }
}

type GroupKey = (Option<i64>, Vec<String>);

/// Runs a report.
pub async fn report<C: ConnectionTrait>(db: &C, spec: &Spec, zone: Tz) -> Result<Vec<Row>, DbErr> {
    let grain = spec.read_grain(zone);
    let bucketed = spec.grain.is_some();
    let mut group_cols: Vec<Alias> = Vec::new();
    if bucketed {
        group_cols.push(Alias::new("bucket"));
    }
    group_cols.extend(spec.group_by.iter().map(|d| Alias::new(column(d))));
    let key_of = |row: &sea_orm::QueryResult| -> Result<GroupKey, DbErr> {
        let bucket = if bucketed {
            Some(row.try_get::<i64>("", "bucket")?)
        } else {
            None
        };
        let dims = spec
            .group_by
            .iter()
            .map(|d| row.try_get::<String>("", column(d)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((bucket, dims))
    };
    let mut groups: BTreeMap<GroupKey, Values> = BTreeMap::new();
    let mut sums = base(spec, grain);
    sums.columns(group_cols.clone());
    for c in Counter::ALL {
        sums.expr_as(sum_of(c.column()), Alias::new(c.column()));
    }
    sums.group_by_columns(group_cols.clone());
    for row in db.query_all(&sums).await? {
        let mut v = Values::new();
        for c in Counter::ALL {
            v.add(*c, row.try_get::<Option<i64>>("", c.column())?.unwrap_or(0));
        }
        groups.insert(key_of(&row)?, v);
        if groups.len() > MAX_ROWS {
            break;
        }
    }
    if grain.has_hists() && spec.metrics.iter().any(|m| m.percentile) {
        let mut hists = base(spec, grain);
        hists.columns(group_cols.clone());
        hists.columns(Hist::ALL.iter().map(|h| Alias::new(h.column())));
        for row in db.query_all(&hists).await? {
            let key = key_of(&row)?;
            let Some(v) = groups.get_mut(&key) else {
                continue;
            };
            for h in Hist::ALL {
                decode_hist_into(
                    &row.try_get::<String>("", h.column())?,
                    &mut v.hists[h.index()],
                );
            }
        }
    }
    Ok(groups
        .into_iter()
        .take(MAX_ROWS)
        .map(|((bucket, dims), v)| Row {
            bucket,
            dims: spec.group_by.iter().copied().zip(dims).collect(),
            values: spec
                .metrics
                .iter()
                .filter(|m| !(m.daily && grain != Grain::Day))
                .filter(|m| !m.percentile || grain.has_hists())
                .filter_map(|m| (m.value)(&v).map(|x| (m.name, x)))
                .collect(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_take_dates_in_the_zone_and_instants() {
        let sh: Tz = "Asia/Shanghai".parse().unwrap();
        let r = Range::parse("2026-11-11", "2026-11-11", sh, 0).unwrap();
        assert_eq!(r.to - r.from, 86_400_000);
        assert_eq!(
            r.from,
            DateTime::parse_from_rfc3339("2026-11-10T16:00:00Z")
                .unwrap()
                .timestamp_millis()
        );
        let i = Range::parse("2026-11-11T00:00:00+08:00", "2026-11-11T12:00:00Z", sh, 0).unwrap();
        assert_eq!(i.from, r.from);
        assert_eq!(
            Range::parse("yesterday", "", sh, 0).unwrap_err().field,
            "from"
        );
        assert_eq!(
            Range::parse("2026-11-12", "2026-11-11T00:00:00Z", sh, 0)
                .unwrap_err()
                .field,
            "to"
        );
    }

    #[test]
    fn a_total_reads_the_coarsest_aligned_grain() {
        let sh: Tz = "Asia/Shanghai".parse().unwrap();
        let now = DateTime::parse_from_rfc3339("2026-11-12T00:00:00Z")
            .unwrap()
            .timestamp_millis();
        let spec = |from: &str, to: &str| {
            Spec::new(
                "t",
                "",
                Range::parse(from, to, sh, now).unwrap(),
                "",
                &[],
                &[],
                &[],
                sh,
                now,
            )
            .unwrap()
        };
        assert_eq!(spec("2026-11-10", "2026-11-11").read_grain(sh), Grain::Day);
        assert_eq!(
            spec("2026-11-11T09:00:00+08:00", "2026-11-11T18:00:00+08:00").read_grain(sh),
            Grain::Hour
        );
        assert_eq!(
            spec("2026-11-11T09:05:00+08:00", "2026-11-11T18:00:00+08:00").read_grain(sh),
            Grain::Minute
        );
        let bad = Spec::new(
            "t",
            "",
            Range::parse("2026-11-10", "", sh, now).unwrap(),
            "week",
            &[],
            &[],
            &[],
            sh,
            now,
        );
        assert_eq!(bad.unwrap_err().field, "granularity");
        let bad = Spec::new(
            "t",
            "",
            Range::parse("2026-11-10", "", sh, now).unwrap(),
            "",
            &["agent".into(), "agent".into()],
            &[],
            &[],
            sh,
            now,
        );
        assert_eq!(bad.unwrap_err().field, "group_by[1]");
    }
}
