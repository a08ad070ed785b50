//! A tenant's ticketing settings: the sub-statuses under each status category (and whether
//! each pauses the SLA clocks), the SLA policy of each priority (first reply and resolution
//! targets, in business or calendar hours, and how long before a breach it warns), and the
//! working calendar. Stored as one JSON document per tenant (camelCase, as in a tenant's YAML);
//! a tenant without one gets [`Settings::default`].

use crate::calendar::{Calendar, Hours, Interval};
use crate::store::entities::ticket::{Priority, Status};
use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The settings document as written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Document {
    pub sub_statuses: Vec<SubStatusDoc>,
    pub sla_policies: Vec<PolicyDoc>,
    pub calendar: Option<CalendarDoc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubStatusDoc {
    /// 1-64 characters of a-z, 0-9, '-' or '_'.
    pub name: String,
    /// new | open | pending | on_hold | solved | closed
    pub category: String,
    #[serde(default)]
    pub pauses_sla: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyDoc {
    /// urgent | high | normal | low
    pub priority: String,
    #[serde(default)]
    pub first_reply_minutes: Option<u32>,
    #[serde(default)]
    pub resolution_minutes: Option<u32>,
    /// Counted in the calendar's working hours (default) or in every hour.
    #[serde(default = "yes")]
    pub business_hours: bool,
    /// How long before a breach the warning fires (0: no warning).
    #[serde(default)]
    pub warn_before_minutes: u32,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CalendarDoc {
    /// An IANA time zone, e.g. Asia/Shanghai.
    pub time_zone: String,
    /// Working hours per weekday: `mon`..`sun` → `["09:00-12:00", "13:30-18:00"]`.
    #[serde(default)]
    pub hours: std::collections::BTreeMap<String, Vec<String>>,
    /// Days off (YYYY-MM-DD).
    #[serde(default)]
    pub holidays: Vec<String>,
    /// Make-up workdays on days otherwise off (YYYY-MM-DD).
    #[serde(default)]
    pub workdays: Vec<String>,
}

/// A settings field that is wrong, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    pub field: String,
    pub reason: String,
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Invalid {
    Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

/// A sub-status as the service uses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubStatus {
    pub name: String,
    pub category: Status,
    pub pauses_sla: bool,
}

/// One priority's targets.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub first_reply_ms: Option<i64>,
    pub resolution_ms: Option<i64>,
    pub business_hours: bool,
    pub warn_before_ms: i64,
}

/// The checked settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub sub_statuses: Vec<SubStatus>,
    /// By priority, in `Priority::ALL` order.
    pub policies: Vec<(Priority, Policy)>,
    pub calendar: Calendar,
}

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MINUTE_MS: i64 = 60_000;
/// The longest target: a year.
const MAX_TARGET_MINUTES: u32 = 366 * 24 * 60;

impl Default for Settings {
    fn default() -> Self {
        Settings::from_document(&Document::default()).expect("the default settings are valid")
    }
}

impl Settings {
    /// Checks `doc`; the defaults fill in what it leaves out: one sub-status per category named
    /// after it (pending and on_hold pause the SLA), the policies below, and office hours
    /// (Mon–Fri 09:00–18:00, Asia/Shanghai).
    pub fn from_document(doc: &Document) -> Result<Settings, Invalid> {
        let mut sub_statuses: Vec<SubStatus> = Vec::new();
        let mut names = BTreeSet::new();
        for (i, s) in doc.sub_statuses.iter().enumerate() {
            let at = |f: &str| format!("subStatuses[{i}].{f}");
            if !kefu_crd::common::is_id(&s.name) {
                return Err(invalid(
                    at("name"),
                    "must be 1-64 characters of a-z, 0-9, '-' or '_'",
                ));
            }
            if !names.insert(s.name.clone()) {
                return Err(invalid(at("name"), "is used twice"));
            }
            let category = Status::parse(&s.category).ok_or_else(|| {
                invalid(
                    at("category"),
                    "must be new, open, pending, on_hold, solved or closed",
                )
            })?;
            sub_statuses.push(SubStatus {
                name: s.name.clone(),
                category,
                pauses_sla: s.pauses_sla,
            });
        }
        // Every category has at least its default sub-status.
        for c in Status::ALL {
            if !sub_statuses.iter().any(|s| s.category == *c) {
                if names.contains(c.as_str()) {
                    return Err(invalid(
                        "subStatuses",
                        format!("{c} has no sub-status (its name is used under another)"),
                    ));
                }
                sub_statuses.push(SubStatus {
                    name: c.as_str().to_owned(),
                    category: *c,
                    pauses_sla: matches!(c, Status::Pending | Status::OnHold),
                });
            }
        }
        let mut policies: Vec<(Priority, Policy)> = Priority::ALL
            .iter()
            .map(|p| (*p, default_policy(*p)))
            .collect();
        let mut seen = BTreeSet::new();
        for (i, p) in doc.sla_policies.iter().enumerate() {
            let at = |f: &str| format!("slaPolicies[{i}].{f}");
            let priority = Priority::parse(&p.priority)
                .ok_or_else(|| invalid(at("priority"), "must be urgent, high, normal or low"))?;
            if !seen.insert(priority.as_str()) {
                return Err(invalid(at("priority"), "has a policy already"));
            }
            let minutes = |v: Option<u32>, f: &str| -> Result<Option<i64>, Invalid> {
                match v {
                    None => Ok(None),
                    Some(m) if m == 0 || m > MAX_TARGET_MINUTES => {
                        Err(invalid(at(f), "must be 1-527040 minutes"))
                    }
                    Some(m) => Ok(Some(i64::from(m) * MINUTE_MS)),
                }
            };
            let first_reply_ms = minutes(p.first_reply_minutes, "firstReplyMinutes")?;
            let resolution_ms = minutes(p.resolution_minutes, "resolutionMinutes")?;
            if p.warn_before_minutes > MAX_TARGET_MINUTES {
                return Err(invalid(at("warnBeforeMinutes"), "must be 0-527040 minutes"));
            }
            let slot = policies
                .iter_mut()
                .find(|(q, _)| *q == priority)
                .expect("every priority has a slot");
            slot.1 = Policy {
                first_reply_ms,
                resolution_ms,
                business_hours: p.business_hours,
                warn_before_ms: i64::from(p.warn_before_minutes) * MINUTE_MS,
            };
        }
        let calendar = match &doc.calendar {
            None => Calendar::office(chrono_tz::Asia::Shanghai),
            Some(c) => calendar(c)?,
        };
        let business = policies.iter().any(|(_, p)| p.business_hours);
        if business && !calendar.has_hours() {
            return Err(invalid(
                "calendar.hours",
                "business-hours policies need working hours on at least one weekday",
            ));
        }
        Ok(Settings {
            sub_statuses,
            policies,
            calendar,
        })
    }

    /// The sub-status named `name`.
    pub fn sub_status(&self, name: &str) -> Option<&SubStatus> {
        self.sub_statuses.iter().find(|s| s.name == name)
    }

    /// The first sub-status of `category` (its default).
    pub fn default_sub_status(&self, category: Status) -> &SubStatus {
        self.sub_statuses
            .iter()
            .find(|s| s.category == category)
            .expect("every category has a sub-status")
    }

    pub fn policy(&self, priority: Priority) -> &Policy {
        &self
            .policies
            .iter()
            .find(|(p, _)| *p == priority)
            .expect("every priority has a policy")
            .1
    }

    /// The clock `priority`'s targets run on.
    pub fn hours(&self, priority: Priority) -> Hours {
        if self.policy(priority).business_hours {
            Hours::Business(Box::new(self.calendar.clone()))
        } else {
            Hours::Calendar
        }
    }

    /// The time zone of ticket numbers' years.
    pub fn zone(&self) -> Tz {
        self.calendar.zone
    }
}

fn default_policy(p: Priority) -> Policy {
    let (first, resolution) = match p {
        Priority::Urgent => (30, 4 * 60),
        Priority::High => (60, 8 * 60),
        Priority::Normal => (4 * 60, 24 * 60),
        Priority::Low => (8 * 60, 48 * 60),
    };
    Policy {
        first_reply_ms: Some(first * MINUTE_MS),
        resolution_ms: Some(resolution * MINUTE_MS),
        business_hours: true,
        warn_before_ms: 0,
    }
}

fn calendar(doc: &CalendarDoc) -> Result<Calendar, Invalid> {
    let zone: Tz = doc
        .time_zone
        .parse()
        .map_err(|_| invalid("calendar.timeZone", "must be an IANA time zone"))?;
    let mut cal = Calendar::office(zone);
    if !doc.hours.is_empty() {
        cal.week = Default::default();
    }
    for (day, spans) in &doc.hours {
        let Some(i) = WEEKDAYS.iter().position(|d| d == day) else {
            return Err(invalid(
                format!("calendar.hours.{day}"),
                "days are mon, tue, wed, thu, fri, sat, sun",
            ));
        };
        let mut list: Vec<Interval> = Vec::with_capacity(spans.len());
        for (j, span) in spans.iter().enumerate() {
            let field = format!("calendar.hours.{day}[{j}]");
            let (s, e) = span
                .split_once('-')
                .ok_or_else(|| invalid(&field, "must be HH:MM-HH:MM"))?;
            let interval = Interval::parse(s.trim(), e.trim()).map_err(|r| invalid(&field, r))?;
            list.push(interval);
        }
        list.sort_by_key(|i| i.start);
        if list.windows(2).any(|w| w[0].end > w[1].start) {
            return Err(invalid(
                format!("calendar.hours.{day}"),
                "intervals must not overlap",
            ));
        }
        cal.week[i] = list;
    }
    let dates = |list: &[String], f: &str| -> Result<BTreeSet<NaiveDate>, Invalid> {
        if list.len() > 1000 {
            return Err(invalid(format!("calendar.{f}"), "at most 1000 dates"));
        }
        list.iter()
            .enumerate()
            .map(|(i, d)| {
                NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .map_err(|_| invalid(format!("calendar.{f}[{i}]"), "must be a date YYYY-MM-DD"))
            })
            .collect()
    };
    cal.holidays = dates(&doc.holidays, "holidays")?;
    cal.workdays = dates(&doc.workdays, "workdays")?;
    if let Some(d) = cal.holidays.intersection(&cal.workdays).next() {
        return Err(invalid(
            "calendar.workdays",
            format!("{d} is also a holiday"),
        ));
    }
    Ok(cal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Settings, Invalid> {
        let doc: Document = serde_json::from_str(json).unwrap();
        Settings::from_document(&doc)
    }

    #[test]
    fn defaults_fill_every_category_and_priority() {
        let s = Settings::default();
        for c in Status::ALL {
            assert_eq!(s.default_sub_status(*c).name, c.as_str());
        }
        assert!(s.sub_status("pending").unwrap().pauses_sla);
        assert!(!s.sub_status("open").unwrap().pauses_sla);
        assert_eq!(
            s.policy(Priority::Urgent).first_reply_ms,
            Some(30 * MINUTE_MS)
        );
        assert_eq!(s.zone(), chrono_tz::Asia::Shanghai);
    }

    #[test]
    fn a_document_is_read() {
        let s = parse(
            r#"{"subStatuses":[{"name":"waiting-parts","category":"on_hold","pausesSla":false},
                {"name":"awaiting-customer","category":"pending","pausesSla":true}],
               "slaPolicies":[{"priority":"high","firstReplyMinutes":15,"resolutionMinutes":120,"warnBeforeMinutes":10,"businessHours":false}],
               "calendar":{"timeZone":"Europe/Berlin","hours":{"mon":["08:00-12:00","13:00-17:00"]},"holidays":["2026-12-25"],"workdays":["2026-12-27"]}}"#,
        )
        .unwrap();
        assert!(!s.sub_status("waiting-parts").unwrap().pauses_sla);
        assert_eq!(s.default_sub_status(Status::OnHold).name, "waiting-parts");
        assert_eq!(s.default_sub_status(Status::Open).name, "open");
        let high = s.policy(Priority::High);
        assert_eq!(
            (high.first_reply_ms, high.warn_before_ms),
            (Some(15 * MINUTE_MS), 10 * MINUTE_MS)
        );
        assert_eq!(s.hours(Priority::High), Hours::Calendar);
        assert!(matches!(s.hours(Priority::Low), Hours::Business(_)));
        assert_eq!(s.calendar.week[0].len(), 2);
        assert!(s.calendar.week[1].is_empty());
        assert_eq!(s.calendar.holidays.len(), 1);
    }

    #[test]
    fn wrong_fields_are_named() {
        let cases = [
            (
                r#"{"subStatuses":[{"name":"A","category":"open"}]}"#,
                "subStatuses[0].name",
            ),
            (
                r#"{"subStatuses":[{"name":"x","category":"later"}]}"#,
                "subStatuses[0].category",
            ),
            (
                r#"{"subStatuses":[{"name":"x","category":"open"},{"name":"x","category":"new"}]}"#,
                "subStatuses[1].name",
            ),
            (
                r#"{"slaPolicies":[{"priority":"p1"}]}"#,
                "slaPolicies[0].priority",
            ),
            (
                r#"{"slaPolicies":[{"priority":"low","firstReplyMinutes":0}]}"#,
                "slaPolicies[0].firstReplyMinutes",
            ),
            (
                r#"{"slaPolicies":[{"priority":"low"},{"priority":"low"}]}"#,
                "slaPolicies[1].priority",
            ),
            (
                r#"{"calendar":{"timeZone":"Mars/Olympus"}}"#,
                "calendar.timeZone",
            ),
            (
                r#"{"calendar":{"timeZone":"UTC","hours":{"monday":["09:00-18:00"]}}}"#,
                "calendar.hours.monday",
            ),
            (
                r#"{"calendar":{"timeZone":"UTC","hours":{"mon":["09:00"]}}}"#,
                "calendar.hours.mon[0]",
            ),
            (
                r#"{"calendar":{"timeZone":"UTC","hours":{"mon":["09:00-12:00","11:00-13:00"]}}}"#,
                "calendar.hours.mon",
            ),
            (
                r#"{"calendar":{"timeZone":"UTC","holidays":["2026-13-01"]}}"#,
                "calendar.holidays[0]",
            ),
            (
                r#"{"calendar":{"timeZone":"UTC","holidays":["2026-10-01"],"workdays":["2026-10-01"]}}"#,
                "calendar.workdays",
            ),
            (
                r#"{"calendar":{"timeZone":"UTC","hours":{"sat":[]}}}"#,
                "calendar.hours",
            ),
        ];
        for (json, field) in cases {
            assert_eq!(parse(json).unwrap_err().field, field, "{json}");
        }
    }
}
