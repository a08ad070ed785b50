//! The metrics reports show, each a formula over a cell's (or a group of cells') counters and
//! histograms, exactly as `docs/metrics.md` defines them. A changed definition is a new version
//! ([`DEFINITIONS_VERSION`]) and a note in that document.

use crate::counters::{Counter as C, Hist, Values, quantile};

/// The version of `docs/metrics.md` these formulas implement.
pub const DEFINITIONS_VERSION: &str = "1";

/// A metric: its name, and its value over summed counters (`None`: nothing to divide by).
#[derive(Debug)]
pub struct Metric {
    pub name: &'static str,
    pub value: fn(&Values) -> Option<f64>,
    /// Needs the duration histograms (a percentile).
    pub percentile: bool,
    /// Counted per local day only (attendance): absent from minute and hour reports.
    pub daily: bool,
}

fn n(v: &Values, c: C) -> f64 {
    v.get(c) as f64
}

fn ratio(num: f64, den: f64) -> Option<f64> {
    (den > 0.0).then(|| num / den)
}

fn mean_s(v: &Values, sum_ms: C, count: C) -> Option<f64> {
    ratio(n(v, sum_ms) / 1000.0, n(v, count))
}

fn q(v: &Values, h: Hist, p: f64) -> Option<f64> {
    quantile(&v.hists[h.index()], p).map(|s| s as f64)
}

macro_rules! metric {
    ($name:literal, $f:expr) => {
        Metric {
            name: $name,
            value: $f,
            percentile: false,
            daily: false,
        }
    };
    ($name:literal, $f:expr, percentile) => {
        Metric {
            name: $name,
            value: $f,
            percentile: true,
            daily: false,
        }
    };
    ($name:literal, $f:expr, daily) => {
        Metric {
            name: $name,
            value: $f,
            percentile: false,
            daily: true,
        }
    };
}

/// Every metric, in the order reports list them.
pub const METRICS: &[Metric] = &[
    metric!("conversations", |v| Some(n(v, C::Conversations))),
    metric!("customer_messages", |v| Some(n(v, C::CustomerMessages))),
    metric!("bot_messages", |v| Some(n(v, C::BotMessages))),
    metric!("agent_messages", |v| Some(n(v, C::AgentMessages))),
    metric!("bot_misses", |v| Some(n(v, C::BotMisses))),
    metric!("bot_miss_rate", |v| ratio(
        n(v, C::BotMisses),
        n(v, C::BotMessages)
    )),
    metric!("handoffs", |v| Some(n(v, C::Handoffs))),
    metric!("handoff_rate", |v| ratio(
        n(v, C::Handoffs),
        n(v, C::Conversations)
    )),
    metric!("bot_conversations", |v| Some(n(v, C::BotConversations))),
    metric!("bot_contained", |v| Some(n(v, C::BotContained))),
    metric!("bot_containment_rate", |v| ratio(
        n(v, C::BotContained),
        n(v, C::BotConversations)
    )),
    metric!("answered", |v| Some(n(v, C::Answered))),
    metric!("answered_in_target", |v| Some(n(v, C::AnsweredInTarget))),
    metric!("abandoned", |v| Some(n(v, C::Abandoned))),
    metric!("abandoned_short", |v| Some(n(v, C::AbandonedShort))),
    metric!("abandoned_long", |v| Some(
        n(v, C::Abandoned) - n(v, C::AbandonedShort)
    )),
    metric!("abandonment_rate", |v| ratio(
        n(v, C::Abandoned),
        n(v, C::Answered) + n(v, C::Abandoned)
    )),
    metric!("abandoned_wait_mean_s", |v| mean_s(
        v,
        C::AbandonedWaitMs,
        C::Abandoned
    )),
    metric!("service_level", |v| ratio(
        n(v, C::AnsweredInTarget),
        n(v, C::Answered) + n(v, C::Abandoned) - n(v, C::AbandonedShort)
    )),
    metric!("wait_mean_s", |v| mean_s(v, C::WaitMs, C::WaitN)),
    metric!("wait_median_s", |v| q(v, Hist::Wait, 0.5), percentile),
    metric!("wait_p90_s", |v| q(v, Hist::Wait, 0.9), percentile),
    metric!("first_responses", |v| Some(n(v, C::FrtN))),
    metric!("frt_mean_s", |v| mean_s(v, C::FrtMs, C::FrtN)),
    metric!("frt_median_s", |v| q(v, Hist::Frt, 0.5), percentile),
    metric!("frt_p90_s", |v| q(v, Hist::Frt, 0.9), percentile),
    metric!("replies", |v| Some(n(v, C::ReplyN))),
    metric!("reply_mean_s", |v| mean_s(v, C::ReplyMs, C::ReplyN)),
    metric!("reply_median_s", |v| q(v, Hist::Reply, 0.5), percentile),
    metric!("reply_p90_s", |v| q(v, Hist::Reply, 0.9), percentile),
    metric!("handled", |v| Some(n(v, C::HandleN))),
    metric!("handle_mean_s", |v| mean_s(v, C::HandleMs, C::HandleN)),
    metric!("handle_median_s", |v| q(v, Hist::Handle, 0.5), percentile),
    metric!("handle_p90_s", |v| q(v, Hist::Handle, 0.9), percentile),
    metric!("served", |v| Some(n(v, C::Served))),
    metric!("transfers", |v| Some(n(v, C::Transfers))),
    metric!("closed", |v| Some(n(v, C::Closed))),
    metric!("resolved", |v| Some(n(v, C::Resolved))),
    metric!("resolution_rate", |v| ratio(
        n(v, C::Resolved),
        n(v, C::Closed)
    )),
    metric!("fcr_settled", |v| Some(n(v, C::FcrSettled))),
    metric!("fcr", |v| Some(n(v, C::Fcr))),
    metric!("fcr_rate", |v| ratio(n(v, C::Fcr), n(v, C::FcrSettled))),
    metric!("csat_invited", |v| Some(n(v, C::CsatInvited))),
    metric!("csat_ratings", |v| Some(n(v, C::CsatN))),
    metric!("csat", |v| ratio(n(v, C::CsatGood), n(v, C::CsatN))),
    metric!("csat_average", |v| ratio(n(v, C::CsatSum), n(v, C::CsatN))),
    metric!("csat_response_rate", |v| ratio(
        n(v, C::CsatN),
        n(v, C::CsatInvited)
    )),
    metric!("online_s", |v| Some(n(v, C::OnlineMs) / 1000.0), daily),
    metric!("away_s", |v| Some(n(v, C::AwayMs) / 1000.0), daily),
    metric!("busy_s", |v| Some(n(v, C::BusyMs) / 1000.0), daily),
    metric!(
        "occupancy",
        |v| ratio(n(v, C::BusyMs), n(v, C::OnlineMs)),
        daily
    ),
    metric!("orders", |v| Some(n(v, C::OrdersMilli) / 1000.0)),
    metric!("bot_orders", |v| Some(n(v, C::BotOrdersMilli) / 1000.0)),
    metric!("revenue", |v| Some(n(v, C::RevenueCents) / 100.0)),
    metric!("paid_amount", |v| Some(n(v, C::PaidCents) / 100.0)),
    metric!("conversion_rate", |v| ratio(
        n(v, C::OrdersMilli) / 1000.0,
        n(v, C::Conversations)
    )),
    metric!("served_conversion_rate", |v| ratio(
        n(v, C::OrdersMilli) / 1000.0,
        n(v, C::Served)
    )),
    metric!("revenue_per_conversation", |v| ratio(
        n(v, C::RevenueCents) / 100.0,
        n(v, C::Conversations)
    )),
    metric!("revenue_per_served", |v| ratio(
        n(v, C::RevenueCents) / 100.0,
        n(v, C::Served)
    )),
];

pub fn find(name: &str) -> Option<&'static Metric> {
    METRICS.iter().find(|m| m.name == name)
}
