//! Peak-event schedule math. From `start − preScaleLeadMinutes` until `end`, an event raises the
//! tenant's minimum replicas to `ceil(minReplicas × trafficMultiplier)` (capped at
//! `maxReplicas`); overlapping events take the highest. The operator re-reconciles exactly at the
//! next boundary (`requeue_after`), so nothing polls.

use chrono::{DateTime, Duration, Utc};
use kefu_crd::{PeakEvent, TenantSpec};

/// The minimum in force at an instant, and when it changes next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub min_replicas: u32,
    /// The event (the one with the highest floor) raising the minimum now.
    pub active_event: Option<String>,
    /// The next instant at which `min_replicas` may change.
    pub next_change: Option<DateTime<Utc>>,
}

/// `[start − lead, end)` of each well-formed event, with the floor it imposes.
fn windows(
    events: &[PeakEvent],
    min: u32,
    max: u32,
) -> impl Iterator<Item = (&str, DateTime<Utc>, DateTime<Utc>, u32)> {
    events.iter().filter_map(move |ev| {
        let (start, end) = ev.window().ok()?;
        let from = start - Duration::minutes(i64::from(ev.pre_scale_lead_minutes));
        Some((
            ev.name.as_str(),
            from,
            end,
            peak_floor(min, max, ev.traffic_multiplier),
        ))
    })
}

/// `ceil(min × multiplier)`, within `[min, max]`.
pub fn peak_floor(min: u32, max: u32, multiplier: f64) -> u32 {
    let raised = (f64::from(min) * multiplier).ceil();
    let raised = if raised.is_finite() {
        raised.min(f64::from(u32::MAX)) as u32
    } else {
        min
    };
    raised.clamp(min, max.max(min))
}

/// The tenant's own schedule (its `scaling` bounds).
pub fn schedule_at(spec: &TenantSpec, now: DateTime<Utc>) -> Schedule {
    let s = &spec.scaling;
    schedule_for(&spec.peak_events, s.min_replicas, s.max_replicas, now)
}

/// The schedule `events` impose on a service scaled between `min` and `max`.
pub fn schedule_for(events: &[PeakEvent], min: u32, max: u32, now: DateTime<Utc>) -> Schedule {
    let mut min_replicas = min;
    let mut active_event = None;
    let mut next_change: Option<DateTime<Utc>> = None;
    for (name, from, until, floor) in windows(events, min, max) {
        if from <= now && now < until && floor > min_replicas {
            min_replicas = floor;
            active_event = Some(name.to_owned());
        }
        for boundary in [from, until] {
            if boundary > now && next_change.is_none_or(|n| boundary < n) {
                next_change = Some(boundary);
            }
        }
    }
    Schedule {
        min_replicas,
        active_event,
        next_change,
    }
}

/// Several tenants on one service: the highest floor, the earliest next change.
pub fn combine(schedules: impl IntoIterator<Item = Schedule>, min: u32) -> Schedule {
    let mut out = Schedule {
        min_replicas: min,
        active_event: None,
        next_change: None,
    };
    for s in schedules {
        if s.min_replicas > out.min_replicas {
            out.min_replicas = s.min_replicas;
            out.active_event = s.active_event;
        }
        if let Some(n) = s.next_change
            && out.next_change.is_none_or(|o| n < o)
        {
            out.next_change = Some(n);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kefu_crd::tenant::Scaling;

    fn spec(events: Vec<PeakEvent>) -> TenantSpec {
        TenantSpec {
            display_name: "Shop".into(),
            isolation: Default::default(),
            merchants: vec![],
            member_tiers: vec![],
            peak_events: events,
            knowledge_base: None,
            scaling: Scaling {
                min_replicas: 2,
                max_replicas: 30,
                queue_length_per_replica: 100,
            },
            customers: Default::default(),
            bot: Default::default(),
            analytics: Default::default(),
            ticketing: Default::default(),
        }
    }

    fn event(name: &str, start: &str, end: &str, multiplier: f64, lead: u32) -> PeakEvent {
        PeakEvent {
            name: name.into(),
            start: start.into(),
            end: end.into(),
            time_zone: "Asia/Shanghai".into(),
            traffic_multiplier: multiplier,
            pre_scale_lead_minutes: lead,
        }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn double_11_raises_the_floor_from_lead_time_to_end() {
        // 00:00–04:00 Shanghai = 16:00–20:00 UTC the day before; one hour of lead.
        let s = spec(vec![event(
            "d11",
            "2027-11-11T00:00:00",
            "2027-11-11T04:00:00",
            10.0,
            60,
        )]);
        let before = schedule_at(&s, utc("2027-11-10T12:00:00Z"));
        assert_eq!(before.min_replicas, 2);
        assert_eq!(before.active_event, None);
        assert_eq!(before.next_change, Some(utc("2027-11-10T15:00:00Z")));

        let lead = schedule_at(&s, utc("2027-11-10T15:00:00Z"));
        assert_eq!(lead.min_replicas, 20);
        assert_eq!(lead.active_event.as_deref(), Some("d11"));
        assert_eq!(lead.next_change, Some(utc("2027-11-10T20:00:00Z")));

        let after = schedule_at(&s, utc("2027-11-10T20:00:00Z"));
        assert_eq!((after.min_replicas, after.next_change), (2, None));
    }

    #[test]
    fn overlapping_events_take_the_highest_floor_capped_at_max() {
        let s = spec(vec![
            event(
                "warm-up",
                "2027-11-10T20:00:00",
                "2027-11-11T02:00:00",
                3.0,
                0,
            ),
            event("d11", "2027-11-11T00:00:00", "2027-11-11T01:00:00", 40.0, 0),
        ]);
        let t = schedule_at(&s, utc("2027-11-10T16:30:00Z"));
        assert_eq!(t.min_replicas, 30, "2 × 40 capped at maxReplicas");
        assert_eq!(t.active_event.as_deref(), Some("d11"));
        assert_eq!(t.next_change, Some(utc("2027-11-10T17:00:00Z")));
        let t = schedule_at(&s, utc("2027-11-10T17:30:00Z"));
        assert_eq!(
            (t.min_replicas, t.active_event.as_deref()),
            (6, Some("warm-up"))
        );
    }

    #[test]
    fn floor_is_rounded_up_and_bounded() {
        assert_eq!(peak_floor(3, 100, 1.5), 5);
        assert_eq!(peak_floor(2, 30, 1.0), 2);
        assert_eq!(peak_floor(2, 1, 10.0), 2, "never below min");
        assert_eq!(peak_floor(2, 30, f64::INFINITY), 2);
    }

    #[test]
    fn tenants_sharing_a_service_combine_to_the_highest_floor_and_earliest_change() {
        let d11 = vec![event(
            "d11",
            "2027-11-11T00:00:00",
            "2027-11-11T04:00:00",
            10.0,
            60,
        )];
        let live = vec![event(
            "live",
            "2027-11-10T22:00:00",
            "2027-11-10T23:00:00",
            3.0,
            0,
        )];
        let now = utc("2027-11-10T14:30:00Z"); // 22:30 Shanghai
        let c = combine(
            [
                schedule_for(&d11, 3, 40, now),
                schedule_for(&live, 3, 40, now),
            ],
            3,
        );
        assert_eq!(
            (c.min_replicas, c.active_event.as_deref()),
            (9, Some("live"))
        );
        assert_eq!(c.next_change, Some(utc("2027-11-10T15:00:00Z")));
        assert_eq!(combine([], 3).min_replicas, 3);
    }

    #[test]
    fn malformed_events_are_ignored_by_the_schedule() {
        let s = spec(vec![event(
            "bad",
            "2027-11-11T04:00:00",
            "not-a-time",
            10.0,
            0,
        )]);
        assert_eq!(schedule_at(&s, utc("2027-11-10T20:00:00Z")).min_replicas, 2);
    }
}
