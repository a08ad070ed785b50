//! Sign-in lockout: after `max_failures` wrong passwords for one login of one tenant within
//! `lockout`, that login is refused (429 with `Retry-After`) until the oldest of those failures
//! is `lockout` old — without asking the session, so a guessing run costs no password hashing.
//! Unknown logins count alike, so a lockout says nothing about whether a login exists. A right
//! password clears the login's failures.
//!
//! Kept per gateway replica, in memory (bounded): N replicas allow at most N × `max_failures`
//! guesses per window, and a restart forgets. What is held is the tenant and login, never the
//! password.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most logins tracked at once; past it, logins whose failures have all expired are dropped
/// first, then the least recently failed.
const MAX_TRACKED: usize = 100_000;

pub struct Lockout {
    max_failures: usize,
    window: Duration,
    failures: Mutex<HashMap<(String, String), VecDeque<Instant>>>,
}

impl Lockout {
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self {
            max_failures: max_failures.max(1) as usize,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn key(tenant: &str, login: &str) -> (String, String) {
        (tenant.to_owned(), login.to_lowercase())
    }

    /// How long the login stays locked, if it is.
    pub fn locked_for(&self, tenant: &str, login: &str, now: Instant) -> Option<Duration> {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let key = Self::key(tenant, login);
        let times = map.get_mut(&key)?;
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            times.pop_front();
        }
        if times.is_empty() {
            map.remove(&key);
            return None;
        }
        (times.len() >= self.max_failures)
            .then(|| self.window.saturating_sub(now.duration_since(times[0])))
    }

    /// A wrong password (or unknown login).
    pub fn failed(&self, tenant: &str, login: &str, now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_TRACKED {
            let window = self.window;
            map.retain(|_, t| {
                t.back()
                    .is_some_and(|last| now.duration_since(*last) < window)
            });
            if map.len() >= MAX_TRACKED
                && let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, t)| t.back().copied())
                    .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        let times = map.entry(Self::key(tenant, login)).or_default();
        times.push_back(now);
        while times.len() > self.max_failures {
            times.pop_front();
        }
    }

    /// A right password: the login starts afresh.
    pub fn succeeded(&self, tenant: &str, login: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&Self::key(tenant, login));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_the_failures_and_unlocks_when_the_oldest_expires() {
        let l = Lockout::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(l.locked_for("t", "lin", t0), None, "before failure {i}");
            l.failed("t", "lin", t0 + Duration::from_secs(i * 10));
        }
        let at = t0 + Duration::from_secs(25);
        assert_eq!(l.locked_for("t", "LIN", at), Some(Duration::from_secs(35)));
        // Another login, and the same login of another tenant, are not locked.
        assert_eq!(l.locked_for("t", "chen", at), None);
        assert_eq!(l.locked_for("other", "lin", at), None);
        // Once the first failure is a window old, two remain: unlocked, one guess left.
        let later = t0 + Duration::from_secs(61);
        assert_eq!(l.locked_for("t", "lin", later), None);
        l.failed("t", "lin", later);
        assert!(l.locked_for("t", "lin", later).is_some());
    }

    #[test]
    fn a_right_password_clears_the_failures() {
        let l = Lockout::new(2, Duration::from_secs(60));
        let now = Instant::now();
        l.failed("t", "lin", now);
        l.succeeded("t", "lin");
        l.failed("t", "lin", now);
        assert_eq!(l.locked_for("t", "lin", now), None);
    }

    #[test]
    fn the_map_stays_bounded() {
        let l = Lockout::new(5, Duration::from_secs(60));
        let now = Instant::now();
        for i in 0..MAX_TRACKED + 10 {
            l.failed("t", &format!("u{i}"), now);
        }
        assert!(l.failures.lock().unwrap().len() <= MAX_TRACKED);
    }
}
