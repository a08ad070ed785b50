//! One retry policy for the whole system: exponential from `initial`, capped at `max`, with
//! "equal jitter" — each delay is half its exponential step plus a random part of the other
//! half — so that replicas that failed together (a broker restart, a webhook outage) do not
//! retry together. Used by the consumers' requeue delay, the broker reconnect loop, the outbox
//! relay and webhook redelivery.
//!
//! Hand-written over `backon`: the delays are needed both as a function of a persisted attempt
//! count (a delivery's count, a webhook's attempts) and as a loop's state, and backon's jitter
//! adds up to the whole delay again (up to twice the cap). The randomness is `fastrand`.

use std::time::Duration;

/// Exponential backoff with equal jitter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub initial: Duration,
    pub max: Duration,
}

impl Policy {
    pub const fn new(initial: Duration, max: Duration) -> Self {
        Self { initial, max }
    }

    /// The exponential step of `attempt` (1-based): `initial · 2^(attempt−1)`, at most `max`.
    pub fn base(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        self.initial.saturating_mul(1u32 << doublings).min(self.max)
    }

    /// The delay before retry `attempt`: between half of [`Self::base`] and all of it.
    pub fn delay(&self, attempt: u32) -> Duration {
        let base = self.base(attempt);
        let half = base / 2;
        half + (base - half).mul_f64(fastrand::f64())
    }

    /// A loop's backoff: [`Backoff::next_delay`] after each failure, [`Backoff::reset`] after a
    /// success.
    pub fn start(self) -> Backoff {
        Backoff {
            policy: self,
            attempt: 0,
        }
    }
}

/// The state of one retry loop.
#[derive(Clone, Debug)]
pub struct Backoff {
    policy: Policy,
    attempt: u32,
}

impl Backoff {
    pub fn next_delay(&mut self) -> Duration {
        self.attempt = self.attempt.saturating_add(1);
        self.policy.delay(self.attempt)
    }

    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn steps_double_from_initial_and_stop_at_max() {
        let p = Policy::new(50 * MS, 1000 * MS);
        assert_eq!(p.base(1), 50 * MS);
        assert_eq!(p.base(2), 100 * MS);
        assert_eq!(p.base(5), 800 * MS);
        assert_eq!(p.base(6), 1000 * MS);
        assert_eq!(p.base(u32::MAX), 1000 * MS);
        assert_eq!(p.base(0), 50 * MS);
    }

    #[test]
    fn delays_are_jittered_within_the_upper_half_of_each_step() {
        let p = Policy::new(100 * MS, 10_000 * MS);
        let mut seen = std::collections::HashSet::new();
        for attempt in 1..=12 {
            for _ in 0..50 {
                let d = p.delay(attempt);
                let base = p.base(attempt);
                assert!(
                    d >= base / 2 && d <= base,
                    "{d:?} outside {base:?}/2..={base:?}"
                );
                seen.insert(d);
            }
        }
        assert!(
            seen.len() > 100,
            "delays should differ: {} distinct",
            seen.len()
        );
    }

    #[test]
    fn a_loop_grows_until_reset() {
        let mut b = Policy::new(10 * MS, 40 * MS).start();
        let first = b.next_delay();
        assert!(first >= 5 * MS && first <= 10 * MS);
        for _ in 0..10 {
            b.next_delay();
        }
        assert!(b.next_delay() >= 20 * MS, "capped steps stay at the cap");
        b.reset();
        assert!(b.next_delay() <= 10 * MS);
    }
}
