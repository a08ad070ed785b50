//! Rollup cells: a tenant's counters and histograms per time bucket (minute, hour, local day)
//! and dimensions (merchant, channel, queue, agent, customer tier). A batch's contributions are
//! gathered into a [`Delta`] (added and taken back) and applied to the stored cells at once.

use crate::conversation::{Applied, Item};
use crate::counters::{Counter, Hist, Values};
use chrono::{DateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use std::collections::HashMap;

/// How long minute cells are kept (the "today" charts); older ones are pruned.
pub const MINUTE_RETENTION_MS: i64 = 48 * 3600 * 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grain {
    Minute,
    Hour,
    Day,
}

impl Grain {
    pub const ALL: &'static [Grain] = &[Grain::Minute, Grain::Hour, Grain::Day];

    pub fn as_str(self) -> &'static str {
        match self {
            Grain::Minute => "m",
            Grain::Hour => "h",
            Grain::Day => "d",
        }
    }

    pub fn parse(s: &str) -> Option<Grain> {
        Grain::ALL.iter().copied().find(|g| g.as_str() == s)
    }

    /// Whether cells of this grain keep duration histograms (minute cells do not).
    pub fn has_hists(self) -> bool {
        self != Grain::Minute
    }
}

/// The dimensions of a cell; an empty string is "none" (no agent, no queue, …).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Dims {
    pub merchant: String,
    pub channel: String,
    pub queue: String,
    pub agent: String,
    pub tier: String,
}

impl Dims {
    pub const NAMES: &'static [&'static str] = &["merchant", "channel", "queue", "agent", "tier"];

    pub fn get(&self, name: &str) -> &str {
        match name {
            "merchant" => &self.merchant,
            "channel" => &self.channel,
            "queue" => &self.queue,
            "agent" => &self.agent,
            "tier" => &self.tier,
            _ => "",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CellKey {
    pub tenant: String,
    pub grain: Grain,
    /// The bucket's start, milliseconds since the epoch.
    pub bucket: i64,
    pub dims: Dims,
}

/// The start of the bucket of `grain` holding instant `at_ms` in `zone`: minutes and hours
/// as the zone's clock shows them (its offset at that instant), days from local midnight.
pub fn bucket(grain: Grain, at_ms: i64, zone: Tz) -> i64 {
    match grain {
        Grain::Minute => at_ms.div_euclid(60_000) * 60_000,
        Grain::Hour => {
            let offset = offset_ms(at_ms, zone);
            at_ms - (at_ms + offset).rem_euclid(3_600_000)
        }
        Grain::Day => day_start(at_ms, zone),
    }
}

fn offset_ms(at_ms: i64, zone: Tz) -> i64 {
    let utc = DateTime::<Utc>::from_timestamp_millis(at_ms).unwrap_or_default();
    i64::from(
        zone.offset_from_utc_datetime(&utc.naive_utc())
            .fix()
            .local_minus_utc(),
    ) * 1000
}

/// Local midnight of the day holding `at_ms` (the first instant of that local date where
/// midnight does not exist).
pub fn day_start(at_ms: i64, zone: Tz) -> i64 {
    let utc = DateTime::<Utc>::from_timestamp_millis(at_ms).unwrap_or_default();
    let date = utc.with_timezone(&zone).date_naive();
    local_midnight(date, zone)
}

/// The instant local `date` begins in `zone`.
pub fn local_midnight(date: chrono::NaiveDate, zone: Tz) -> i64 {
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight");
    match zone.from_local_datetime(&midnight).earliest() {
        Some(t) => t.timestamp_millis(),
        // Midnight skipped by a clock change: the day starts when the clock resumes.
        None => (1..=180)
            .find_map(|m| {
                zone.from_local_datetime(&(midnight + chrono::Duration::minutes(m)))
                    .earliest()
            })
            .map_or(midnight.and_utc().timestamp_millis(), |t| {
                t.timestamp_millis()
            }),
    }
}

/// Where additions go: the tenant, its reporting time zone, and the time now (minute cells are
/// kept for [`MINUTE_RETENTION_MS`] before it).
#[derive(Clone, Copy, Debug)]
pub struct Ctx<'a> {
    pub tenant: &'a str,
    pub zone: Tz,
    pub now: i64,
}

/// Additions to cells and to the day's labels, summed before they are stored.
#[derive(Default, Debug)]
pub struct Delta {
    pub cells: HashMap<CellKey, Values>,
    pub labels: HashMap<LabelKey, i64>,
}

/// A counted label of a day: an intent, an FAQ hit, a tag, a handoff or closing reason.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LabelKey {
    pub tenant: String,
    pub day: i64,
    pub kind: LabelKind,
    pub label: String,
    pub merchant: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LabelKind {
    Intent,
    Faq,
    Tag,
    HandoffReason,
}

impl LabelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LabelKind::Intent => "intent",
            LabelKind::Faq => "faq",
            LabelKind::Tag => "tag",
            LabelKind::HandoffReason => "handoff_reason",
        }
    }

    pub fn parse(s: &str) -> Option<LabelKind> {
        [
            LabelKind::Intent,
            LabelKind::Faq,
            LabelKind::Tag,
            LabelKind::HandoffReason,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

impl Delta {
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty() && self.labels.is_empty()
    }

    fn cell(&mut self, key: CellKey) -> &mut Values {
        self.cells.entry(key).or_default()
    }

    /// Adds `item` at `at` to the minute (while kept), hour and day cells of `dims`.
    pub fn item(&mut self, ctx: &Ctx<'_>, at: i64, dims: &Dims, item: Item, sign: i64) {
        for &grain in Grain::ALL {
            if grain == Grain::Minute && at < ctx.now - MINUTE_RETENTION_MS {
                continue;
            }
            let key = CellKey {
                tenant: ctx.tenant.to_owned(),
                grain,
                bucket: bucket(grain, at, ctx.zone),
                dims: dims.clone(),
            };
            match item {
                Item::Add(c, v) => {
                    if let Some(&c) = Counter::ALL.get(usize::from(c)) {
                        self.cell(key).add(c, sign * v);
                    }
                }
                Item::Sample(h, ms) => {
                    if grain.has_hists()
                        && let Some(&h) = Hist::ALL.get(usize::from(h))
                    {
                        self.cell(key).sample(h, ms.div_euclid(1000), sign);
                    }
                }
            }
        }
    }

    /// Adds a counter to one day cell (attendance is counted per local day only).
    pub fn day_add(&mut self, tenant: &str, day: i64, dims: &Dims, c: Counter, v: i64) {
        if v == 0 {
            return;
        }
        let key = CellKey {
            tenant: tenant.to_owned(),
            grain: Grain::Day,
            bucket: day,
            dims: dims.clone(),
        };
        self.cell(key).add(c, v);
    }

    /// Adds a counter.
    pub fn add(&mut self, ctx: &Ctx<'_>, at: i64, dims: &Dims, c: Counter, v: i64) {
        self.item(ctx, at, dims, Item::Add(c as u16, v), 1);
    }

    /// Adds (sign 1) or takes back (sign −1) what a conversation contributed, in the time zone
    /// it was applied in.
    pub fn applied(&mut self, tenant: &str, a: &Applied, sign: i64, now: i64) {
        let ctx = Ctx {
            tenant,
            zone: a.zone.parse().unwrap_or(Tz::UTC),
            now,
        };
        for c in &a.items {
            let dims = Dims {
                merchant: a.merchant.clone(),
                channel: a.channel.clone(),
                queue: c.queue.clone(),
                agent: c.agent.clone(),
                tier: a.tier.clone(),
            };
            self.item(&ctx, c.at, &dims, c.item, sign);
        }
    }

    /// Counts `n` of a label on the local day of `at`.
    pub fn label(
        &mut self,
        ctx: &Ctx<'_>,
        at: i64,
        kind: LabelKind,
        label: &str,
        merchant: &str,
        n: i64,
    ) {
        if label.is_empty() {
            return;
        }
        let key = LabelKey {
            tenant: ctx.tenant.to_owned(),
            day: day_start(at, ctx.zone),
            kind,
            label: label.chars().take(64).collect(),
            merchant: merchant.to_owned(),
        };
        *self.labels.entry(key).or_insert(0) += n;
    }

    /// Drops the cells and labels whose additions cancelled out.
    pub fn compact(&mut self) {
        self.cells.retain(|_, v| !v.is_zero());
        self.labels.retain(|_, n| *n != 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::Contribution;

    fn ms(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    #[test]
    fn buckets_follow_the_zones_clock() {
        let sh: Tz = "Asia/Shanghai".parse().unwrap();
        // 23:59:30 on the 11th in Shanghai is 15:59:30 UTC.
        let at = ms("2026-11-11T15:59:30Z");
        assert_eq!(bucket(Grain::Day, at, sh), ms("2026-11-10T16:00:00Z"));
        assert_eq!(bucket(Grain::Hour, at, sh), ms("2026-11-11T15:00:00Z"));
        assert_eq!(bucket(Grain::Minute, at, sh), ms("2026-11-11T15:59:00Z"));
        // One minute later it is the 12th there.
        assert_eq!(
            bucket(Grain::Day, at + 60_000, sh),
            ms("2026-11-11T16:00:00Z")
        );
        // Half-hour zones get half-hour-aligned hours.
        let kolkata: Tz = "Asia/Kolkata".parse().unwrap();
        assert_eq!(
            bucket(Grain::Hour, ms("2026-03-01T10:45:00Z"), kolkata),
            ms("2026-03-01T10:30:00Z")
        );
    }

    #[test]
    fn days_across_a_clock_change_have_their_real_length() {
        let ny: Tz = "America/New_York".parse().unwrap();
        let d = chrono::NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
        let start = local_midnight(d, ny);
        let next = local_midnight(d.succ_opt().unwrap(), ny);
        assert_eq!(next - start, 23 * 3600 * 1000);
    }

    #[test]
    fn a_contribution_taken_back_cancels() {
        let mut d = Delta::default();
        let a = Applied {
            merchant: "m".into(),
            channel: "web".into(),
            tier: String::new(),
            zone: "UTC".into(),
            items: vec![Contribution {
                at: 1_000_000,
                agent: "a".into(),
                queue: "q".into(),
                item: Item::Sample(Hist::Frt as u8, 12_500),
            }],
        };
        d.applied("t", &a, 1, 2_000_000);
        d.applied("t", &a, -1, 2_000_000);
        d.compact();
        assert!(d.is_empty(), "{d:?}");
    }
}
