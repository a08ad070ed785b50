//! The Double 11 simulation: a traffic curve (a 10× surge at midnight, held for two hours,
//! easing off over two more) replayed through the operator's scaling decisions — the peak
//! schedule of [`crate::peak`] and the ScaledObject it emits (KEDA `QueueLength` on the
//! session's queue, executed by the HPA with its default behaviour) — once with the peak event
//! in the Tenant and once without. Reports replica-minutes (cost), the peak queue depth, the
//! longest wait, and the minutes during which ready capacity was below the arrival rate.
//!
//! Model (per 15 s step, KEDA's polling interval): messages arrive at the curve's rate and are
//! served at `per_replica_rate` by each *ready* replica; the rest wait in the queue. The HPA
//! wants `ceil(queue / queueLengthPerReplica)` replicas, bounded by the schedule's minimum and
//! `maxReplicas`; it scales up by at most max(100 %, 4 pods) per step and down only to the
//! highest recommendation of the last 5 minutes. A new pod is ready after `startup_seconds`.

use crate::peak;
use chrono::{DateTime, Duration, TimeZone, Utc};
use kefu_crd::tenant::{PeakEvent, Scaling};
use kefu_crd::{Isolation, TenantSpec};
use std::collections::VecDeque;

#[derive(Clone, Debug, clap::Args)]
pub struct SimArgs {
    /// Normal arrival rate, messages per second.
    #[arg(long, default_value_t = 50.0)]
    pub base_rate: f64,
    /// The surge, as a multiple of the normal rate (also the event's trafficMultiplier).
    #[arg(long, default_value_t = 10.0)]
    pub surge: f64,
    /// Messages per second one replica serves.
    #[arg(long, default_value_t = 30.0)]
    pub per_replica_rate: f64,
    /// Seconds from a scale-up decision to a ready pod.
    #[arg(long, default_value_t = 60)]
    pub startup_seconds: i64,
    /// The event's preScaleLeadMinutes.
    #[arg(long, default_value_t = 60)]
    pub lead_minutes: u32,
    #[arg(long, default_value_t = 2)]
    pub min_replicas: u32,
    #[arg(long, default_value_t = 30)]
    pub max_replicas: u32,
    #[arg(long, default_value_t = 100)]
    pub queue_length_per_replica: u32,
}

impl Default for SimArgs {
    fn default() -> Self {
        Self {
            base_rate: 50.0,
            surge: 10.0,
            per_replica_rate: 30.0,
            startup_seconds: 60,
            lead_minutes: 60,
            min_replicas: 2,
            max_replicas: 30,
            queue_length_per_replica: 100,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub replica_minutes: f64,
    pub peak_queue: f64,
    pub max_wait_seconds: f64,
    pub under_provisioned_minutes: f64,
    pub peak_replicas: u32,
}

const STEP: i64 = 15;

/// Midnight of 11 November in Shanghai, in UTC.
fn midnight() -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(2027, 11, 11, 0, 0, 0)
        .single()
        .expect("unambiguous")
        .with_timezone(&Utc)
}

/// Arrivals per second at `t`: normal until midnight, a 5-minute ramp to `surge`×, held two
/// hours, easing linearly back to normal by 04:00 (Shanghai).
pub fn traffic(args: &SimArgs, t: DateTime<Utc>) -> f64 {
    let m = (t - midnight()).num_seconds() as f64 / 60.0;
    let factor = if m < 0.0 {
        1.0
    } else if m < 5.0 {
        1.0 + (args.surge - 1.0) * m / 5.0
    } else if m < 120.0 {
        args.surge
    } else if m < 240.0 {
        args.surge - (args.surge - 1.0) * (m - 120.0) / 120.0
    } else {
        1.0
    };
    args.base_rate * factor
}

pub fn tenant(args: &SimArgs, with_event: bool) -> TenantSpec {
    TenantSpec {
        display_name: "Double 11".into(),
        isolation: Isolation::Dedicated,
        merchants: vec![],
        member_tiers: vec![],
        peak_events: if with_event {
            vec![PeakEvent {
                name: "double-11".into(),
                start: "2027-11-11T00:00:00".into(),
                end: "2027-11-11T04:00:00".into(),
                time_zone: "Asia/Shanghai".into(),
                traffic_multiplier: args.surge,
                pre_scale_lead_minutes: args.lead_minutes,
            }]
        } else {
            vec![]
        },
        knowledge_base: None,
        scaling: Scaling {
            min_replicas: args.min_replicas,
            max_replicas: args.max_replicas,
            queue_length_per_replica: args.queue_length_per_replica,
        },
        customers: Default::default(),
        bot: Default::default(),
        analytics: Default::default(),
        ticketing: Default::default(),
    }
}

/// Runs 20:00 on the 10th to 08:00 on the 11th (Shanghai).
pub fn simulate(args: &SimArgs, with_event: bool) -> Outcome {
    let spec = tenant(args, with_event);
    let (start, end) = (
        midnight() - Duration::hours(4),
        midnight() + Duration::hours(8),
    );
    let initial = spec.scaling.min_replicas;
    let mut ready = initial;
    let mut starting: VecDeque<(DateTime<Utc>, u32)> = VecDeque::new();
    let mut recommendations: VecDeque<u32> = VecDeque::new();
    let mut queue = 0.0_f64;
    let mut out = Outcome {
        replica_minutes: 0.0,
        peak_queue: 0.0,
        max_wait_seconds: 0.0,
        under_provisioned_minutes: 0.0,
        peak_replicas: initial,
    };
    let mut t = start;
    while t < end {
        while starting.front().is_some_and(|(at, _)| *at <= t) {
            ready += starting.pop_front().map_or(0, |(_, n)| n);
        }
        let pending: u32 = starting.iter().map(|(_, n)| n).sum();
        let total = ready + pending;

        // The autoscaler's decision with the floor the operator set for this instant.
        let floor = peak::schedule_at(&spec, t).min_replicas;
        let wanted = ((queue / f64::from(spec.scaling.queue_length_per_replica)).ceil() as u32)
            .clamp(floor, spec.scaling.max_replicas.max(floor));
        recommendations.push_back(wanted);
        if recommendations.len() > (300 / STEP) as usize {
            recommendations.pop_front();
        }
        let stabilized = recommendations
            .iter()
            .copied()
            .max()
            .unwrap_or(wanted)
            .max(floor);
        if wanted > total {
            let step_limit = total.max(4);
            let add = (wanted - total).min(step_limit);
            starting.push_back((t + Duration::seconds(args.startup_seconds), add));
        } else if stabilized < total {
            // Scale down: pods still starting go first, then ready ones.
            let mut remove = total - stabilized;
            while remove > 0 {
                match starting.back_mut() {
                    Some((_, n)) if *n > remove => {
                        *n -= remove;
                        remove = 0;
                    }
                    Some((_, n)) => {
                        remove -= *n;
                        starting.pop_back();
                    }
                    None => {
                        ready -= remove.min(ready.saturating_sub(1));
                        remove = 0;
                    }
                }
            }
        }

        let arrivals = traffic(args, t);
        let capacity = f64::from(ready) * args.per_replica_rate;
        queue = (queue + (arrivals - capacity) * STEP as f64).max(0.0);
        if capacity < arrivals {
            out.under_provisioned_minutes += STEP as f64 / 60.0;
        }
        let replicas: u32 = ready + starting.iter().map(|(_, n)| n).sum::<u32>();
        out.replica_minutes += f64::from(replicas) * STEP as f64 / 60.0;
        out.peak_replicas = out.peak_replicas.max(replicas);
        out.peak_queue = out.peak_queue.max(queue);
        if capacity > 0.0 {
            out.max_wait_seconds = out.max_wait_seconds.max(queue / capacity);
        }
        t += Duration::seconds(STEP);
    }
    out
}

fn line(label: &str, o: &Outcome) -> String {
    format!(
        "{label:<16} replica_minutes={:.0} peak_replicas={} peak_queue={:.0} max_wait_s={:.0} under_provisioned_min={:.1}",
        o.replica_minutes,
        o.peak_replicas,
        o.peak_queue,
        o.max_wait_seconds,
        o.under_provisioned_minutes
    )
}

pub fn main(args: &SimArgs) {
    println!(
        "Double 11: {} msg/s normal, {}x surge at 00:00 Asia/Shanghai for 2 h, easing off by 04:00; \
         {} msg/s per replica, pods ready {} s after scale-up; replicas {}..{}, queueLength {} per replica; \
         simulated 20:00-08:00 in {} s steps",
        args.base_rate,
        args.surge,
        args.per_replica_rate,
        args.startup_seconds,
        args.min_replicas,
        args.max_replicas,
        args.queue_length_per_replica,
        STEP
    );
    let with = simulate(args, true);
    let without = simulate(args, false);
    println!("{}", line("with_peak_event", &with));
    println!("{}", line("reactive_only", &without));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_curve_surges_tenfold_at_midnight_and_recovers() {
        let a = SimArgs::default();
        assert_eq!(traffic(&a, midnight() - Duration::minutes(1)), 50.0);
        assert_eq!(traffic(&a, midnight() + Duration::minutes(60)), 500.0);
        assert_eq!(traffic(&a, midnight() + Duration::minutes(180)), 275.0);
        assert_eq!(traffic(&a, midnight() + Duration::hours(5)), 50.0);
    }

    #[test]
    fn the_peak_event_removes_under_provisioning_at_a_bounded_cost() {
        let a = SimArgs::default();
        let with = simulate(&a, true);
        let without = simulate(&a, false);
        assert!(without.under_provisioned_minutes > 5.0, "{without:?}");
        assert!(without.peak_queue > 10_000.0, "{without:?}");
        assert_eq!(with.under_provisioned_minutes, 0.0, "{with:?}");
        assert!(with.peak_queue < 100.0, "{with:?}");
        assert_eq!(with.peak_replicas, 20, "the floor: 2 × 10");
        assert_eq!(
            without.peak_replicas, 30,
            "the backlog drives the reactive path to max"
        );
        // Here pre-scaling is even cheaper: the reactive path overshoots to drain its backlog.
        assert!(
            with.replica_minutes < without.replica_minutes,
            "{with:?} vs {without:?}"
        );
    }

    #[test]
    fn without_a_surge_nothing_is_under_provisioned() {
        let a = SimArgs {
            surge: 1.0,
            ..SimArgs::default()
        };
        let o = simulate(&a, false);
        assert_eq!(o.under_provisioned_minutes, 0.0);
        assert_eq!(o.peak_replicas, 2);
    }
}
