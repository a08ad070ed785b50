//! Business hours: a tenant calendar (time zone, working hours per weekday, holidays and
//! make-up workdays) and the two sums the SLA clocks need — the working time between two
//! instants, and the instant a given amount of working time after another. Both are pure and
//! exact to the millisecond; daylight-saving changes are handled by resolving each working
//! interval's local start and end in the calendar's zone.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::collections::BTreeSet;

/// Minutes in a day: an interval may end at 24:00.
pub const DAY_MINUTES: u32 = 24 * 60;

/// How far the sums look ahead for working time before giving up (a calendar with no working
/// time at all).
const HORIZON_DAYS: i64 = 3 * 366;

/// Working time within one local day: `[start, end)` in minutes from local midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interval {
    pub start: u32,
    pub end: u32,
}

impl Interval {
    /// `"09:00"`..`"18:00"`; `"24:00"` is allowed as an end.
    pub fn parse(start: &str, end: &str) -> Result<Interval, String> {
        let s = parse_minute(start)?;
        let e = parse_minute(end)?;
        if s >= e {
            return Err(format!("{start}-{end}: the end must be after the start"));
        }
        if s >= DAY_MINUTES {
            return Err(format!("{start}: a start must be before 24:00"));
        }
        Ok(Interval { start: s, end: e })
    }
}

fn parse_minute(t: &str) -> Result<u32, String> {
    let bad = || format!("{t}: not a time HH:MM");
    let (h, m) = t.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u32 = h.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    if m >= 60 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// A tenant's working calendar.
#[derive(Clone, Debug, PartialEq)]
pub struct Calendar {
    pub zone: Tz,
    /// Monday first; each day's intervals sorted and not overlapping.
    pub week: [Vec<Interval>; 7],
    /// Days off although their weekday is worked (public holidays).
    pub holidays: BTreeSet<NaiveDate>,
    /// Days worked although their weekday is not (make-up workdays, 调休), with the hours of
    /// the first weekday that has any.
    pub workdays: BTreeSet<NaiveDate>,
}

impl Calendar {
    /// Monday to Friday, 09:00–18:00 in `zone`, no holidays.
    pub fn office(zone: Tz) -> Calendar {
        let day = vec![Interval {
            start: 9 * 60,
            end: 18 * 60,
        }];
        Calendar {
            zone,
            week: [
                day.clone(),
                day.clone(),
                day.clone(),
                day.clone(),
                day,
                Vec::new(),
                Vec::new(),
            ],
            holidays: BTreeSet::new(),
            workdays: BTreeSet::new(),
        }
    }

    /// The working intervals of local day `d`.
    pub fn hours_on(&self, d: NaiveDate) -> &[Interval] {
        if self.holidays.contains(&d) {
            return &[];
        }
        if self.workdays.contains(&d) {
            return self
                .week
                .iter()
                .find(|w| !w.is_empty())
                .map_or(&[], Vec::as_slice);
        }
        &self.week[d.weekday().num_days_from_monday() as usize]
    }

    /// Whether the calendar has any working time in an ordinary week.
    pub fn has_hours(&self) -> bool {
        self.week.iter().any(|w| !w.is_empty())
    }

    /// The instant local time `minute` of day `d` is in the calendar's zone. A local time that
    /// does not exist (skipped by a daylight-saving change) is the first instant after the gap;
    /// one that exists twice is the first of the two.
    fn instant(&self, d: NaiveDate, minute: u32) -> DateTime<Utc> {
        let local: NaiveDateTime =
            d.and_hms_opt(0, 0, 0).expect("midnight exists") + Duration::minutes(i64::from(minute));
        resolve(self.zone, local)
    }

    /// Day `d`'s working intervals as instants.
    fn spans(&self, d: NaiveDate) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_ {
        self.hours_on(d)
            .iter()
            .map(move |i| (self.instant(d, i.start), self.instant(d, i.end)))
            .filter(|(s, e)| s < e)
    }

    /// The local date of `t`, less one day: the first day whose intervals can reach past `t`.
    fn first_day(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.zone).date_naive() - Duration::days(1)
    }

    /// Working time in `[from, to)`, in milliseconds (0 when `to` is not after `from`).
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if to <= from {
            return 0;
        }
        let mut total = 0i64;
        let mut d = self.first_day(from);
        let last = to.with_timezone(&self.zone).date_naive() + Duration::days(1);
        while d <= last {
            for (s, e) in self.spans(d) {
                let s = s.max(from);
                let e = e.min(to);
                if e > s {
                    total += (e - s).num_milliseconds();
                }
            }
            d += Duration::days(1);
        }
        total
    }

    /// The instant at which `ms` of working time has passed since `from`; `from` itself for 0.
    /// `None` when the calendar has no working time within three years.
    pub fn add(&self, from: DateTime<Utc>, ms: i64) -> Option<DateTime<Utc>> {
        if ms <= 0 {
            return Some(from);
        }
        let mut remaining = ms;
        let first = self.first_day(from);
        for offset in 0..=HORIZON_DAYS {
            let d = first + Duration::days(offset);
            for (s, e) in self.spans(d) {
                if e <= from {
                    continue;
                }
                let start = s.max(from);
                let available = (e - start).num_milliseconds();
                if remaining <= available {
                    return Some(start + Duration::milliseconds(remaining));
                }
                remaining -= available;
            }
        }
        None
    }
}

/// The UTC instant of `local` in `zone` (see [`Calendar::instant`] for gaps and folds).
fn resolve(zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    use chrono::LocalResult;
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
        LocalResult::None => {
            // Inside a gap: the first local minute after it is the instant the gap ends.
            let mut probe = local;
            for _ in 0..(24 * 60) {
                probe += Duration::minutes(1);
                if let Some(t) = zone.from_local_datetime(&probe).earliest() {
                    return t.with_timezone(&Utc);
                }
            }
            local.and_utc()
        }
    }
}

/// Which clock a target runs on.
#[derive(Clone, Debug, PartialEq)]
pub enum Hours {
    /// Every hour counts.
    Calendar,
    /// Only the calendar's working time counts.
    Business(Box<Calendar>),
}

impl Hours {
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        match self {
            Hours::Calendar => (to - from).num_milliseconds().max(0),
            Hours::Business(c) => c.between(from, to),
        }
    }

    pub fn add(&self, from: DateTime<Utc>, ms: i64) -> Option<DateTime<Utc>> {
        match self {
            Hours::Calendar => Some(from + Duration::milliseconds(ms.max(0))),
            Hours::Business(c) => c.add(from, ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America::New_York, Asia::Shanghai, Europe::Berlin};

    const H: i64 = 3_600_000;
    const M: i64 = 60_000;

    fn at(zone: Tz, s: &str) -> DateTime<Utc> {
        let local = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        zone.from_local_datetime(&local)
            .earliest()
            .unwrap()
            .with_timezone(&Utc)
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// Shanghai office hours with a National Day week off (Oct 1–7, 2026) and two make-up
    /// workdays on a weekend (Sunday Sep 27, Saturday Oct 10).
    fn china_2026() -> Calendar {
        let mut c = Calendar::office(Shanghai);
        for d in 1..=7 {
            c.holidays
                .insert(NaiveDate::from_ymd_opt(2026, 10, d).unwrap());
        }
        c.workdays.insert(date("2026-09-27"));
        c.workdays.insert(date("2026-10-10"));
        c
    }

    #[test]
    fn intervals_parse_and_refuse_what_is_not_a_time() {
        assert_eq!(
            Interval::parse("09:00", "18:00"),
            Ok(Interval {
                start: 540,
                end: 1080
            })
        );
        assert_eq!(Interval::parse("00:00", "24:00").unwrap().end, 1440);
        for (s, e) in [
            ("18:00", "09:00"),
            ("09:00", "09:00"),
            ("9:00", "18:00"),
            ("09:60", "18:00"),
            ("24:00", "24:00"),
            ("09:00", "24:30"),
            ("aa:bb", "18:00"),
            ("25:00", "26:00"),
        ] {
            assert!(Interval::parse(s, e).is_err(), "{s}-{e}");
        }
    }

    #[test]
    fn within_one_working_day() {
        let c = Calendar::office(Shanghai);
        // Wednesday 2026-03-04.
        let from = at(Shanghai, "2026-03-04 10:00");
        assert_eq!(c.add(from, 2 * H), Some(at(Shanghai, "2026-03-04 12:00")));
        assert_eq!(c.between(from, at(Shanghai, "2026-03-04 12:00")), 2 * H);
        // Exactly to the end of the day lands at 18:00, not the next morning.
        assert_eq!(c.add(from, 8 * H), Some(at(Shanghai, "2026-03-04 18:00")));
        assert_eq!(
            c.add(from, 8 * H + 1),
            Some(at(Shanghai, "2026-03-05 09:00") + Duration::milliseconds(1))
        );
        assert_eq!(c.add(from, 0), Some(from));
    }

    #[test]
    fn outside_hours_starts_at_the_next_opening() {
        let c = Calendar::office(Shanghai);
        // Before opening, after closing, at night.
        assert_eq!(
            c.add(at(Shanghai, "2026-03-04 07:30"), 30 * M),
            Some(at(Shanghai, "2026-03-04 09:30"))
        );
        assert_eq!(
            c.add(at(Shanghai, "2026-03-04 19:00"), H),
            Some(at(Shanghai, "2026-03-05 10:00"))
        );
        assert_eq!(
            c.between(
                at(Shanghai, "2026-03-04 18:00"),
                at(Shanghai, "2026-03-05 09:00")
            ),
            0
        );
    }

    #[test]
    fn across_a_weekend() {
        let c = Calendar::office(Shanghai);
        // Friday 2026-03-06 16:00 + 4 h: 2 h Friday, 2 h Monday.
        let from = at(Shanghai, "2026-03-06 16:00");
        let due = at(Shanghai, "2026-03-09 11:00");
        assert_eq!(c.add(from, 4 * H), Some(due));
        assert_eq!(c.between(from, due), 4 * H);
        // Nothing counts on Saturday and Sunday.
        assert_eq!(
            c.between(
                at(Shanghai, "2026-03-07 00:00"),
                at(Shanghai, "2026-03-09 00:00")
            ),
            0
        );
        // A week is 45 working hours.
        assert_eq!(
            c.between(
                at(Shanghai, "2026-03-09 00:00"),
                at(Shanghai, "2026-03-16 00:00")
            ),
            45 * H
        );
    }

    #[test]
    fn across_a_holiday_and_make_up_workdays() {
        let c = china_2026();
        // Wednesday Sep 30, 17:00 + 3 h: 1 h on Sep 30, Oct 1-7 off, Oct 8 (Thu) 09:00-11:00.
        let from = at(Shanghai, "2026-09-30 17:00");
        assert_eq!(c.add(from, 3 * H), Some(at(Shanghai, "2026-10-08 11:00")));
        // Oct 8, 9 worked (18 h), Saturday Oct 10 is a make-up workday (9 h), Sunday Oct 11 is
        // not: 30 h after Oct 8 09:00 is Monday Oct 12 12:00.
        assert_eq!(
            c.add(at(Shanghai, "2026-10-08 09:00"), 30 * H),
            Some(at(Shanghai, "2026-10-12 12:00"))
        );
        // Sunday Sep 27 is worked.
        assert_eq!(
            c.between(
                at(Shanghai, "2026-09-26 00:00"),
                at(Shanghai, "2026-09-28 00:00")
            ),
            9 * H
        );
        // The whole holiday week counts nothing.
        assert_eq!(
            c.between(
                at(Shanghai, "2026-10-01 00:00"),
                at(Shanghai, "2026-10-08 00:00")
            ),
            0
        );
    }

    #[test]
    fn split_days_and_lunch_breaks() {
        let mut c = Calendar::office(Shanghai);
        let day = vec![
            Interval::parse("09:00", "12:00").unwrap(),
            Interval::parse("13:30", "18:00").unwrap(),
        ];
        for i in 0..5 {
            c.week[i] = day.clone();
        }
        let from = at(Shanghai, "2026-03-04 11:00");
        assert_eq!(c.add(from, 2 * H), Some(at(Shanghai, "2026-03-04 14:30")));
        assert_eq!(c.between(from, at(Shanghai, "2026-03-04 14:30")), 2 * H);
        // Starting during lunch.
        assert_eq!(
            c.add(at(Shanghai, "2026-03-04 12:30"), 30 * M),
            Some(at(Shanghai, "2026-03-04 14:00"))
        );
    }

    #[test]
    fn the_zone_decides_the_day() {
        // 09:00-18:00 in Shanghai is 01:00-10:00 UTC.
        let c = Calendar::office(Shanghai);
        let from: DateTime<Utc> = "2026-03-04T00:00:00Z".parse().unwrap();
        assert_eq!(
            c.add(from, H),
            Some("2026-03-04T02:00:00Z".parse().unwrap())
        );
        // Friday 23:00 UTC is Saturday 07:00 in Shanghai: the next opening is Monday.
        let fri: DateTime<Utc> = "2026-03-06T23:00:00Z".parse().unwrap();
        assert_eq!(c.add(fri, H), Some("2026-03-09T02:00:00Z".parse().unwrap()));
        // The same instant in New York is Friday 18:00 (EST): also closed until Monday.
        let ny = Calendar::office(New_York);
        assert_eq!(ny.add(fri, H), Some(at(New_York, "2026-03-09 10:00")));
    }

    #[test]
    fn daylight_saving_changes() {
        // New York springs forward on Sunday 2026-03-08; a 24-hour calendar loses an hour
        // that day and gains one on 2026-11-01.
        let mut c = Calendar::office(New_York);
        let all_day = vec![Interval {
            start: 0,
            end: DAY_MINUTES,
        }];
        c.week = std::array::from_fn(|_| all_day.clone());
        let day = |d: &str| {
            let s = at(New_York, &format!("{d} 00:00"));
            let next = date(d) + Duration::days(1);
            c.between(s, at(New_York, &format!("{next} 00:00")))
        };
        assert_eq!(day("2026-03-07"), 24 * H);
        assert_eq!(day("2026-03-08"), 23 * H);
        assert_eq!(day("2026-11-01"), 25 * H);
        // Office hours keep their local times across the change: Friday 17:00 EST + 2 h is
        // Monday 10:00 EDT.
        let o = Calendar::office(New_York);
        let fri = at(New_York, "2026-03-06 17:00");
        let mon = at(New_York, "2026-03-09 10:00");
        assert_eq!(o.add(fri, 2 * H), Some(mon));
        assert_eq!((mon - fri).num_hours(), 64); // 65 wall-clock hours less the skipped one
        // Berlin: a working interval inside the skipped hour (02:00-03:00 on 2026-03-29).
        let mut b = Calendar::office(Berlin);
        b.week[6] = vec![Interval::parse("01:00", "04:00").unwrap()];
        let sun = date("2026-03-29");
        assert_eq!(
            b.between(
                at(Berlin, "2026-03-29 00:00"),
                at(Berlin, "2026-03-30 00:00")
            ),
            2 * H,
            "{sun}: 01:00-04:00 is two hours that day"
        );
    }

    #[test]
    fn add_and_between_agree_everywhere() {
        // Exhaustive over a fortnight around the holiday, every 20 minutes, with amounts from
        // a minute to three working days: between(from, add(from, x)) == x, and the result is
        // the earliest such instant (one millisecond less is short).
        let c = china_2026();
        let mut from = at(Shanghai, "2026-09-25 00:00");
        let end = at(Shanghai, "2026-10-13 00:00");
        let amounts = [M, 17 * M, H, 3 * H, 9 * H, 9 * H + 1, 20 * H, 27 * H];
        while from < end {
            for &x in &amounts {
                let due = c.add(from, x).unwrap();
                assert_eq!(c.between(from, due), x, "from {from} + {x}");
                assert_eq!(
                    c.between(from, due - Duration::milliseconds(1)),
                    x - 1,
                    "from {from} + {x}: not the earliest"
                );
            }
            from += Duration::minutes(20);
        }
    }

    #[test]
    fn between_is_additive() {
        let c = china_2026();
        let a = at(Shanghai, "2026-09-29 10:17");
        let b = at(Shanghai, "2026-10-09 15:03");
        let mut m = a;
        while m < b {
            assert_eq!(c.between(a, m) + c.between(m, b), c.between(a, b));
            m += Duration::minutes(47);
        }
        assert_eq!(c.between(b, a), 0);
    }

    #[test]
    fn a_calendar_without_hours_has_no_deadline() {
        let mut c = Calendar::office(Shanghai);
        c.week = Default::default();
        assert!(!c.has_hours());
        assert_eq!(c.add(at(Shanghai, "2026-03-04 10:00"), H), None);
        assert_eq!(
            Hours::Calendar.add(at(Shanghai, "2026-03-04 10:00"), H),
            Some(at(Shanghai, "2026-03-04 11:00"))
        );
    }
}
