//! A tenant's reporting settings: the time zone its days are counted in, the order attribution
//! window and rule, the short-abandon threshold, and its queues' answer targets. They come from
//! the Tenant and Queue documents (`tenant.config_changed`) and apply without a restart.

use chrono_tz::Tz;
use std::collections::HashMap;

/// How an order is attributed when several agents talked with the customer in the window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Rule {
    /// The last agent who wrote to the customer before the order.
    #[default]
    LastAgent,
    /// The first agent who wrote to the customer within the window.
    FirstAgent,
    /// Equal shares for every agent who wrote to the customer within the window.
    Split,
}

impl Rule {
    pub fn parse(s: &str) -> Option<Rule> {
        match s {
            "last_agent" => Some(Rule::LastAgent),
            "first_agent" => Some(Rule::FirstAgent),
            "split" => Some(Rule::Split),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Rule::LastAgent => "last_agent",
            Rule::FirstAgent => "first_agent",
            Rule::Split => "split",
        }
    }
}

/// A queue's answer target when no Queue document names one (seconds).
pub const DEFAULT_TARGET_S: i64 = 20;

#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub zone: Tz,
    /// Orders placed this long after a conversation are attributed to it.
    pub attribution_window_s: i64,
    pub rule: Rule,
    /// A conversation abandoned after waiting less than this is a short abandon (not held
    /// against the service level).
    pub short_abandon_s: i64,
    /// `sla.withinSeconds` of each Queue document, by queue name.
    pub targets: HashMap<String, i64>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            zone: Tz::UTC,
            attribution_window_s: 24 * 3600,
            rule: Rule::LastAgent,
            short_abandon_s: 10,
            targets: HashMap::new(),
        }
    }
}

impl Settings {
    /// The answer target of `queue`, in seconds.
    pub fn target_s(&self, queue: &str) -> i64 {
        self.targets.get(queue).copied().unwrap_or(DEFAULT_TARGET_S)
    }

    /// Settings from a Tenant spec's `analytics` block (queues' targets are kept).
    pub fn with_tenant(&self, spec: &kefu_crd::TenantSpec) -> Settings {
        let a = &spec.analytics;
        Settings {
            zone: a.time_zone.parse().unwrap_or(Tz::UTC),
            attribution_window_s: i64::from(a.attribution_window_hours) * 3600,
            rule: Rule::parse(a.attribution_rule.as_str()).unwrap_or_default(),
            short_abandon_s: i64::from(a.short_abandon_seconds),
            targets: self.targets.clone(),
        }
    }
}
