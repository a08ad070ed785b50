//! SLA clocks: one per target of the ticket's priority (first reply, resolution). A clock
//! counts working time (or every hour) while it runs: it keeps what it has used so far
//! (`elapsed_ms`) and since when it runs (`running_since`), so pausing and resuming never lose
//! or double-count time, and its deadline is always `hours.add(running_since, target -
//! elapsed)`. Pure: the service stores the clocks on the ticket and schedules the timers
//! [`timers`] names.

use crate::calendar::Hours;
use crate::settings::Policy;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub const FIRST_REPLY: &str = "first_reply";
pub const RESOLUTION: &str = "resolution";

/// A timer kind: the warning before a breach, and the breach.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fire {
    Warning,
    Breach,
}

impl Fire {
    pub fn as_str(self) -> &'static str {
        match self {
            Fire::Warning => "sla_warning",
            Fire::Breach => "sla_breached",
        }
    }

    pub fn parse(s: &str) -> Option<Fire> {
        match s {
            "sla_warning" => Some(Fire::Warning),
            "sla_breached" => Some(Fire::Breach),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    /// first_reply | resolution
    pub metric: String,
    pub target_ms: i64,
    pub warn_before_ms: i64,
    /// Time used before `running_since`.
    pub elapsed_ms: i64,
    /// Since when it runs (ms); `None` while paused or once met.
    pub running_since: Option<i64>,
    pub met_at: Option<i64>,
    /// The breach instant while it runs (ms).
    pub due_at: Option<i64>,
    /// The warning instant while it runs and has not warned (ms).
    pub warn_at: Option<i64>,
    pub warned: bool,
    pub breached: bool,
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

impl Clock {
    pub fn running(&self) -> bool {
        self.running_since.is_some()
    }

    /// Time used up to `now`.
    pub fn used(&self, hours: &Hours, now: DateTime<Utc>) -> i64 {
        self.elapsed_ms + self.running_since.map_or(0, |s| hours.between(at(s), now))
    }

    /// Recomputes the deadline and the warning instant of a running clock.
    fn schedule(&mut self, hours: &Hours) {
        let Some(since) = self.running_since else {
            self.due_at = None;
            self.warn_at = None;
            return;
        };
        let left = self.target_ms - self.elapsed_ms;
        self.due_at = hours.add(at(since), left).map(ms);
        self.warn_at = if self.warned || self.warn_before_ms == 0 {
            None
        } else {
            hours
                .add(at(since), (left - self.warn_before_ms).max(0))
                .map(ms)
        };
    }

    fn stop(&mut self, hours: &Hours, now: DateTime<Utc>) {
        if let Some(since) = self.running_since.take() {
            self.elapsed_ms += hours.between(at(since), now);
        }
        self.schedule(hours);
    }
}

/// The clocks of a new ticket with `policy`, running from `now` unless `paused`.
pub fn start(policy: &Policy, hours: &Hours, now: DateTime<Utc>, paused: bool) -> Vec<Clock> {
    let mut clocks = Vec::new();
    for (metric, target) in [
        (FIRST_REPLY, policy.first_reply_ms),
        (RESOLUTION, policy.resolution_ms),
    ] {
        if let Some(target_ms) = target {
            let mut c = Clock {
                metric: metric.to_owned(),
                target_ms,
                warn_before_ms: policy.warn_before_ms.min(target_ms),
                running_since: (!paused).then_some(ms(now)),
                ..Clock::default()
            };
            c.schedule(hours);
            clocks.push(c);
        }
    }
    clocks
}

/// Stops every running clock (a pausing sub-status).
pub fn pause(clocks: &mut [Clock], hours: &Hours, now: DateTime<Utc>) {
    for c in clocks.iter_mut() {
        c.stop(hours, now);
    }
}

/// Starts every clock that is neither running nor met.
pub fn resume(clocks: &mut [Clock], hours: &Hours, now: DateTime<Utc>) {
    for c in clocks.iter_mut() {
        if c.running_since.is_none() && c.met_at.is_none() {
            c.running_since = Some(ms(now));
            c.schedule(hours);
        }
    }
}

/// Marks `metric` met at `now` (stopping it); nothing if it is met already.
pub fn meet(clocks: &mut [Clock], metric: &str, hours: &Hours, now: DateTime<Utc>) -> bool {
    for c in clocks.iter_mut() {
        if c.metric == metric && c.met_at.is_none() {
            c.stop(hours, now);
            c.met_at = Some(ms(now));
            return true;
        }
    }
    false
}

/// Makes `metric` unmet again (a solved ticket reopened): it continues from what it used.
pub fn unmeet(clocks: &mut [Clock], metric: &str) {
    for c in clocks.iter_mut() {
        if c.metric == metric {
            c.met_at = None;
        }
    }
}

/// A new priority's targets: what was used stays; running clocks get new deadlines.
pub fn retarget(
    clocks: &mut [Clock],
    policy: &Policy,
    hours_before: &Hours,
    hours: &Hours,
    now: DateTime<Utc>,
) {
    for c in clocks.iter_mut() {
        let target = match c.metric.as_str() {
            FIRST_REPLY => policy.first_reply_ms,
            _ => policy.resolution_ms,
        };
        let running = c.running();
        // Bank the time used so far on the old clock, then run on the new one.
        c.stop(hours_before, now);
        if let Some(t) = target {
            c.target_ms = t;
        }
        c.warn_before_ms = policy.warn_before_ms.min(c.target_ms);
        if running {
            c.running_since = Some(ms(now));
        }
        c.schedule(hours);
    }
}

/// Records that `fire` of `metric` happened; false when it no longer applies (met, paused,
/// fired already, or the deadline moved past `due_at`).
pub fn fired(clocks: &mut [Clock], metric: &str, fire: Fire, due_at: i64) -> bool {
    for c in clocks.iter_mut() {
        if c.metric != metric || !c.running() || c.met_at.is_some() {
            continue;
        }
        match fire {
            Fire::Warning if !c.warned && c.warn_at == Some(due_at) => {
                c.warned = true;
                c.warn_at = None;
                return true;
            }
            Fire::Breach if !c.breached && c.due_at == Some(due_at) => {
                c.breached = true;
                // A breach also settles the warning.
                c.warned = true;
                c.warn_at = None;
                return true;
            }
            _ => {}
        }
    }
    false
}

/// The timers the clocks want: (kind, metric, due ms), earliest first.
pub fn timers(clocks: &[Clock]) -> Vec<(Fire, String, i64)> {
    let mut out = Vec::new();
    for c in clocks {
        if !c.running() || c.met_at.is_some() {
            continue;
        }
        if let (false, Some(w)) = (c.warned, c.warn_at) {
            out.push((Fire::Warning, c.metric.clone(), w));
        }
        if let (false, Some(d)) = (c.breached, c.due_at) {
            out.push((Fire::Breach, c.metric.clone(), d));
        }
    }
    out.sort_by_key(|(f, _, d)| (*d, *f));
    out
}

/// The earliest deadline of a running, unmet clock.
pub fn next_due(clocks: &[Clock]) -> Option<i64> {
    clocks
        .iter()
        .filter(|c| c.running() && c.met_at.is_none())
        .filter_map(|c| c.due_at)
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Calendar;
    use chrono::{NaiveDateTime, TimeZone};
    use chrono_tz::Asia::Shanghai;

    const H: i64 = 3_600_000;

    fn t(s: &str) -> DateTime<Utc> {
        Shanghai
            .from_local_datetime(&NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap())
            .unwrap()
            .with_timezone(&Utc)
    }

    fn policy() -> Policy {
        Policy {
            first_reply_ms: Some(2 * H),
            resolution_ms: Some(8 * H),
            business_hours: true,
            warn_before_ms: H,
        }
    }

    fn business() -> Hours {
        let mut c = Calendar::office(Shanghai);
        for d in 1..=7 {
            c.holidays
                .insert(chrono::NaiveDate::from_ymd_opt(2026, 10, d).unwrap());
        }
        Hours::Business(Box::new(c))
    }

    fn due(clocks: &[Clock], metric: &str) -> Option<DateTime<Utc>> {
        clocks
            .iter()
            .find(|c| c.metric == metric)
            .and_then(|c| c.due_at)
            .map(at)
    }

    #[test]
    fn a_pause_and_a_resume_across_a_weekend_and_a_holiday() {
        let h = business();
        // Created Tuesday Sep 29 16:00: resolution (8 h) due Wednesday Sep 30 15:00.
        let mut c = start(&policy(), &h, t("2026-09-29 16:00"), false);
        assert_eq!(due(&c, RESOLUTION), Some(t("2026-09-30 15:00")));
        assert_eq!(due(&c, FIRST_REPLY), Some(t("2026-09-29 18:00")));
        // The agent replies at 17:00 (1 h used of the first-reply target).
        assert!(meet(&mut c, FIRST_REPLY, &h, t("2026-09-29 17:00")));
        assert_eq!(due(&c, FIRST_REPLY), None);
        // Pending from Wednesday 10:00 (3 h used: 16-18 Tue, 9-10 Wed): no deadline.
        pause(&mut c, &h, t("2026-09-30 10:00"));
        assert_eq!(due(&c, RESOLUTION), None);
        assert!(timers(&c).is_empty());
        assert_eq!(c[1].elapsed_ms, 3 * H);
        // The customer replies on Saturday Oct 3 (holiday week): the clock resumes, but
        // nothing counts until Thursday Oct 8 09:00; 5 h left → Oct 8 14:00.
        resume(&mut c, &h, t("2026-10-03 11:00"));
        assert_eq!(due(&c, RESOLUTION), Some(t("2026-10-08 14:00")));
        assert_eq!(next_due(&c), Some(t("2026-10-08 14:00").timestamp_millis()));
        // The warning one hour of working time earlier.
        assert_eq!(
            timers(&c),
            vec![
                (
                    Fire::Warning,
                    RESOLUTION.to_owned(),
                    t("2026-10-08 13:00").timestamp_millis()
                ),
                (
                    Fire::Breach,
                    RESOLUTION.to_owned(),
                    t("2026-10-08 14:00").timestamp_millis()
                ),
            ]
        );
        assert_eq!(c[1].used(&h, t("2026-10-08 12:00")), 3 * H + 3 * H);
    }

    #[test]
    fn each_timer_fires_once_and_only_for_the_current_deadline() {
        let h = business();
        let mut c = start(&policy(), &h, t("2026-03-04 09:00"), false);
        let warn = t("2026-03-04 16:00").timestamp_millis();
        let breach = t("2026-03-04 17:00").timestamp_millis();
        assert!(
            !fired(&mut c, RESOLUTION, Fire::Warning, warn - 1),
            "a stale instant"
        );
        assert!(fired(&mut c, RESOLUTION, Fire::Warning, warn));
        assert!(!fired(&mut c, RESOLUTION, Fire::Warning, warn), "twice");
        // A pause and a resume do not warn again but do breach.
        pause(&mut c, &h, t("2026-03-04 16:30"));
        resume(&mut c, &h, t("2026-03-05 09:00"));
        let later = t("2026-03-05 09:30").timestamp_millis();
        assert_eq!(
            timers(&c)
                .into_iter()
                .filter(|(_, m, _)| m == RESOLUTION)
                .collect::<Vec<_>>(),
            vec![(Fire::Breach, RESOLUTION.to_owned(), later)]
        );
        assert!(
            !fired(&mut c, RESOLUTION, Fire::Breach, breach),
            "the old deadline"
        );
        assert!(fired(&mut c, RESOLUTION, Fire::Breach, later));
        assert!(timers(&c).iter().all(|(_, m, _)| m != RESOLUTION));
    }

    #[test]
    fn solved_stops_and_reopening_continues() {
        let h = business();
        let mut c = start(&policy(), &h, t("2026-03-04 09:00"), false);
        meet(&mut c, RESOLUTION, &h, t("2026-03-04 12:00"));
        assert_eq!(c[1].elapsed_ms, 3 * H);
        assert_eq!(c[1].met_at, Some(t("2026-03-04 12:00").timestamp_millis()));
        // Weekend passes; reopened Monday 09:00 with 5 h left.
        unmeet(&mut c, RESOLUTION);
        resume(&mut c, &h, t("2026-03-09 09:00"));
        assert_eq!(due(&c, RESOLUTION), Some(t("2026-03-09 14:00")));
    }

    #[test]
    fn a_new_priority_keeps_the_time_used() {
        let h = business();
        let mut c = start(&policy(), &h, t("2026-03-04 09:00"), false);
        let urgent = Policy {
            first_reply_ms: Some(H / 2),
            resolution_ms: Some(4 * H),
            business_hours: false,
            warn_before_ms: 0,
        };
        // At 10:00 (1 h used) it becomes urgent in calendar hours: 3 h left → 13:00, and the
        // first reply (30 min target) is overdue at once.
        retarget(&mut c, &urgent, &h, &Hours::Calendar, t("2026-03-04 10:00"));
        assert_eq!(due(&c, RESOLUTION), Some(t("2026-03-04 13:00")));
        assert_eq!(due(&c, FIRST_REPLY), Some(t("2026-03-04 10:00")));
        assert!(timers(&c).iter().all(|(f, _, _)| *f == Fire::Breach));
    }

    #[test]
    fn a_ticket_created_paused_starts_on_resume() {
        let h = Hours::Calendar;
        let mut c = start(&policy(), &h, t("2026-03-04 09:00"), true);
        assert!(timers(&c).is_empty());
        resume(&mut c, &h, t("2026-03-04 10:00"));
        assert_eq!(due(&c, FIRST_REPLY), Some(t("2026-03-04 12:00")));
    }
}
