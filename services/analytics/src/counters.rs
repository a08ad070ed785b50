//! What a rollup cell counts: additive counters (one column each) and the duration histograms
//! the percentiles come from. Every metric of `docs/metrics.md` is a formula over these
//! ([`crate::metrics`]). Adding a counter is adding a line here: the migrator adds the columns a
//! table lacks, the upsert and the queries take the list from here.

use std::collections::BTreeMap;

macro_rules! counters {
    ($($(#[$doc:meta])* $variant:ident = $column:literal),+ $(,)?) => {
        /// An additive counter of a rollup cell.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Counter {
            $($(#[$doc])* $variant),+
        }

        impl Counter {
            /// Every counter, in column order.
            pub const ALL: &'static [Counter] = &[$(Counter::$variant),+];

            /// The column (and the name reports use for the raw count).
            pub fn column(self) -> &'static str {
                match self {
                    $(Counter::$variant => $column),+
                }
            }
        }
    };
}

counters! {
    /// Conversations opened (a customer's first message on a channel): consultations.
    Conversations = "conversations",
    /// Messages by sender (workload); internal notes and whispers are not counted.
    CustomerMessages = "customer_messages",
    BotMessages = "bot_messages",
    AgentMessages = "agent_messages",
    /// The bot's answers that were misses (suggestions or fallback without a handoff).
    BotMisses = "bot_misses",
    /// Bot phases that ended: a handoff, or a bot-only conversation's settled episode.
    BotConversations = "bot_conversations",
    /// Settled bot-only episodes the customer did not come back from within 24 h.
    BotContained = "bot_contained",
    Handoffs = "handoffs",
    /// First accepts after a handoff, and those within the queue's target.
    Answered = "answered",
    AnsweredInTarget = "answered_in_target",
    /// Queue wait of answered conversations (handoff → first accept).
    WaitN = "wait_n",
    WaitMs = "wait_ms",
    /// Conversations closed while waiting, never answered; short: waited less than the threshold.
    Abandoned = "abandoned",
    AbandonedShort = "abandoned_short",
    AbandonedWaitMs = "abandoned_wait_ms",
    /// First response (handoff → the first agent message).
    FrtN = "frt_n",
    FrtMs = "frt_ms",
    /// Replies after the first response (the customer's waiting message → the agent's answer).
    ReplyN = "reply_n",
    ReplyMs = "reply_ms",
    /// Agents' segments on conversations (accept → transfer away or close).
    HandleN = "handle_n",
    HandleMs = "handle_ms",
    /// Conversations an agent took part in (the agent's first accept of it).
    Served = "served",
    Transfers = "transfers",
    /// Handed-off conversations closed; resolved: closed by an agent or supervisor after an answer.
    Closed = "closed",
    Resolved = "resolved",
    /// Resolved conversations 24 h after their close, and those the customer did not come back from.
    FcrSettled = "fcr_settled",
    Fcr = "fcr",
    /// CSAT: resolved conversations (each is invited to rate), ratings, their sum, 4–5 stars.
    CsatInvited = "csat_invited",
    CsatN = "csat_n",
    CsatSum = "csat_sum",
    CsatGood = "csat_good",
    /// Agents' time online (online or busy), away, and online with at least one conversation.
    OnlineMs = "online_ms",
    AwayMs = "away_ms",
    BusyMs = "busy_ms",
    /// Orders attributed (thousandths of an order: a split shares one), their amount and the
    /// paid part, in cents; the bot's share separately too.
    OrdersMilli = "orders_milli",
    RevenueCents = "revenue_cents",
    PaidCents = "paid_cents",
    BotOrdersMilli = "bot_orders_milli",
}

/// A duration whose percentiles are reported: a histogram of whole seconds per cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Hist {
    Frt,
    Reply,
    Handle,
    Wait,
}

impl Hist {
    pub const ALL: &'static [Hist] = &[Hist::Frt, Hist::Reply, Hist::Handle, Hist::Wait];

    pub fn column(self) -> &'static str {
        match self {
            Hist::Frt => "hist_frt",
            Hist::Reply => "hist_reply",
            Hist::Handle => "hist_handle",
            Hist::Wait => "hist_wait",
        }
    }

    /// The metric name prefix in reports (`frt_median_s`, …).
    pub fn metric(self) -> &'static str {
        match self {
            Hist::Frt => "frt",
            Hist::Reply => "reply",
            Hist::Handle => "handle",
            Hist::Wait => "wait",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Whole seconds → how many samples.
pub type Histogram = BTreeMap<i64, i64>;

/// The values of one rollup cell.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Values {
    pub counters: Vec<i64>,
    pub hists: [Histogram; 4],
}

impl Values {
    pub fn new() -> Self {
        Self {
            counters: vec![0; Counter::ALL.len()],
            hists: Default::default(),
        }
    }

    pub fn get(&self, c: Counter) -> i64 {
        self.counters.get(c as usize).copied().unwrap_or(0)
    }

    pub fn add(&mut self, c: Counter, v: i64) {
        if self.counters.len() < Counter::ALL.len() {
            self.counters.resize(Counter::ALL.len(), 0);
        }
        self.counters[c as usize] += v;
    }

    /// Adds `n` samples of `seconds` (negative `n` takes them away).
    pub fn sample(&mut self, h: Hist, seconds: i64, n: i64) {
        let slot = self.hists[h.index()].entry(seconds).or_insert(0);
        *slot += n;
        if *slot == 0 {
            self.hists[h.index()].remove(&seconds);
        }
    }

    pub fn merge(&mut self, other: &Values) {
        for (i, v) in other.counters.iter().enumerate() {
            if *v != 0 {
                self.add(Counter::ALL[i], *v);
            }
        }
        for h in Hist::ALL {
            for (s, n) in &other.hists[h.index()] {
                self.sample(*h, *s, *n);
            }
        }
    }

    pub fn is_zero(&self) -> bool {
        self.counters.iter().all(|v| *v == 0) && self.hists.iter().all(|h| h.is_empty())
    }
}

/// A histogram as stored: `seconds:count` pairs, comma-separated, ascending.
pub fn encode_hist(h: &Histogram) -> String {
    let mut out = String::with_capacity(h.len() * 6);
    for (i, (s, n)) in h.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&s.to_string());
        out.push(':');
        out.push_str(&n.to_string());
    }
    out
}

/// Reads what [`encode_hist`] wrote into `into` (adding); malformed pairs are skipped.
pub fn decode_hist_into(text: &str, into: &mut Histogram) {
    for pair in text.split(',').filter(|p| !p.is_empty()) {
        if let Some((s, n)) = pair.split_once(':')
            && let (Ok(s), Ok(n)) = (s.parse::<i64>(), n.parse::<i64>())
        {
            let slot = into.entry(s).or_insert(0);
            *slot += n;
            if *slot == 0 {
                into.remove(&s);
            }
        }
    }
}

/// The `q`-quantile (0 < q ≤ 1) of a histogram, nearest rank: the smallest value with at
/// least `ceil(q × n)` samples at or below it. `None` when empty.
pub fn quantile(h: &Histogram, q: f64) -> Option<i64> {
    let n: i64 = h.values().sum();
    if n <= 0 {
        return None;
    }
    let rank = ((q * n as f64).ceil() as i64).clamp(1, n);
    let mut seen = 0;
    for (s, c) in h {
        seen += c;
        if seen >= rank {
            return Some(*s);
        }
    }
    h.keys().next_back().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_round_trip_and_cancel() {
        let mut v = Values::new();
        v.sample(Hist::Frt, 30, 2);
        v.sample(Hist::Frt, 5, 1);
        let text = encode_hist(&v.hists[0]);
        assert_eq!(text, "5:1,30:2");
        let mut back = Histogram::new();
        decode_hist_into(&text, &mut back);
        assert_eq!(back, v.hists[0]);
        v.sample(Hist::Frt, 5, -1);
        assert_eq!(encode_hist(&v.hists[0]), "30:2");
    }

    #[test]
    fn nearest_rank_quantiles() {
        let h: Histogram = [(10, 1), (20, 1), (30, 1), (40, 1)].into();
        assert_eq!(quantile(&h, 0.5), Some(20));
        assert_eq!(quantile(&h, 0.9), Some(40));
        let one: Histogram = [(7, 1)].into();
        assert_eq!(quantile(&one, 0.5), Some(7));
        assert_eq!(quantile(&Histogram::new(), 0.5), None);
    }
}
