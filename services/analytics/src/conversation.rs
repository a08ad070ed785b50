//! One conversation's state, folded from its facts, and what it contributes to the rollups.
//!
//! The state is built so the order facts arrive in does not matter: lifecycle facts are a set
//! (sorted by time when derived), the first customer and agent messages are minima, episodes are
//! a union of intervals. Only the reply-time fold needs messages in sequence order; a message
//! that arrives behind one already folded makes the caller rebuild the state from the fact
//! tables ([`ConvState::apply_message`] says so). The contributions are derived from the whole
//! state each time ([`derive`]) and the rollups receive the difference to what was applied
//! before, so a late fact corrects the numbers it changes.

use crate::counters::{Counter, Hist};
use crate::facts::{Kind, LifecycleFact, MessageFact, Sender};
use crate::settings::Settings;
use serde::{Deserialize, Serialize};

/// A customer who writes again within this long after a conversation ended "came back".
pub const RETURN_WINDOW_MS: i64 = 24 * 3600 * 1000;
/// Bot-only activity separated by this much silence is two episodes.
pub const EPISODE_GAP_MS: i64 = RETURN_WINDOW_MS;

/// A value of the conversation's dimensions: the one carried by its earliest fact that has one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reg {
    pub v: String,
    pub at: i64,
}

impl Reg {
    fn offer(&mut self, v: &str, at: i64) {
        if v.is_empty() {
            return;
        }
        if self.v.is_empty() || at < self.at || (at == self.at && v < self.v.as_str()) {
            self.v = v.to_owned();
            self.at = at;
        }
    }
}

/// A lifecycle fact as the state keeps it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Life {
    pub at: i64,
    pub kind: Kind,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub agent: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub other: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub queue: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub value: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// The reply-time fold over the conversation's messages in sequence order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replies {
    pub last_seq: i64,
    /// An agent answered publicly already (the first answer is the first response).
    pub responded: bool,
    /// When the customer's first message not yet answered was written (after the first
    /// response).
    pub pending: Option<i64>,
    /// (at, agent, ms) of each reply.
    pub done: Vec<(i64, String, i64)>,
}

impl Replies {
    fn fold(&mut self, m: &MessageFact) {
        self.last_seq = m.seq;
        if !m.is_public() {
            return;
        }
        let at = m.at.timestamp_millis();
        match m.sender {
            Sender::Agent => {
                if self.responded
                    && let Some(p) = self.pending.take()
                {
                    self.done.push((at, m.agent_id.clone(), (at - p).max(0)));
                }
                self.responded = true;
                self.pending = None;
            }
            Sender::Customer
                if m.is_customer_contact() && self.responded && self.pending.is_none() =>
            {
                self.pending = Some(at);
            }
            _ => {}
        }
    }
}

/// What was applied to the rollups for this conversation, so the next derivation can be
/// applied as a difference.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    pub merchant: String,
    pub channel: String,
    pub tier: String,
    /// The reporting time zone the day buckets were computed in.
    pub zone: String,
    pub items: Vec<Contribution>,
}

/// One addition to the rollups: at an instant, for an agent and a queue (the conversation's
/// merchant, channel and tier go with all of them), a counter or a duration sample.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Contribution {
    pub at: i64,
    pub agent: String,
    pub queue: String,
    pub item: Item,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Item {
    Add(CounterId, i64),
    /// A duration, in milliseconds (histograms keep whole seconds).
    Sample(HistId, i64),
}

/// Counters and histograms by their stable index (the stored state outlives code changes that
/// only append to the lists).
pub type CounterId = u16;
pub type HistId = u8;

fn add(c: Counter, v: i64) -> Item {
    Item::Add(c as CounterId, v)
}

fn sample(h: Hist, ms: i64) -> Item {
    Item::Sample(h as HistId, ms)
}

/// A conversation's folded facts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvState {
    pub customer: String,
    pub merchant: Reg,
    pub channel: Reg,
    pub tier: Reg,
    pub life: Vec<Life>,
    /// The earliest customer message.
    pub first_customer: Option<i64>,
    /// The earliest public agent message: (at, seq, agent).
    pub first_agent: Option<(i64, i64, String)>,
    pub replies: Replies,
    /// Public messages (customer, bot, agent) clustered into episodes by 24 h of silence.
    pub episodes: Vec<(i64, i64)>,
    /// The answer target and short-abandon threshold in force when first needed (seconds).
    pub target_s: Option<i64>,
    pub short_s: Option<i64>,
    pub applied: Applied,
}

impl ConvState {
    fn dims(&mut self, c: &crate::facts::ConvRef, at: i64) {
        if self.customer.is_empty() {
            self.customer = c.customer_id.clone();
        }
        self.merchant.offer(&c.merchant_id, at);
        self.channel.offer(&c.channel, at);
        self.tier.offer(&c.tier, at);
    }

    /// Folds a message; `false` when it is behind one already folded (or the same one): the
    /// state must then be rebuilt from the conversation's facts in sequence order.
    pub fn apply_message(&mut self, m: &MessageFact) -> bool {
        if m.seq <= self.replies.last_seq {
            return false;
        }
        let at = m.at.timestamp_millis();
        self.dims(&m.conv, at);
        if m.sender == Sender::Customer {
            self.first_customer = Some(self.first_customer.map_or(at, |f| f.min(at)));
        }
        if m.sender == Sender::Agent && m.is_public() {
            let candidate = (at, m.seq, m.agent_id.clone());
            if self.first_agent.as_ref().is_none_or(|f| candidate < *f) {
                self.first_agent = Some(candidate);
            }
        }
        if m.is_public() {
            self.episode(at);
        }
        self.replies.fold(m);
        true
    }

    fn episode(&mut self, at: i64) {
        let mut merged = (at, at);
        self.episodes.retain(|&(s, e)| {
            let near = s - EPISODE_GAP_MS < merged.1 && merged.0 < e + EPISODE_GAP_MS;
            if near {
                merged = (merged.0.min(s), merged.1.max(e));
            }
            !near
        });
        // A merge may now reach another episode on the other side.
        loop {
            let before = self.episodes.len();
            self.episodes.retain(|&(s, e)| {
                let near = s - EPISODE_GAP_MS < merged.1 && merged.0 < e + EPISODE_GAP_MS;
                if near {
                    merged = (merged.0.min(s), merged.1.max(e));
                }
                !near
            });
            if self.episodes.len() == before {
                break;
            }
        }
        self.episodes.push(merged);
        self.episodes.sort_unstable();
    }

    /// Adds a lifecycle fact (a set: the same fact twice is kept once).
    pub fn apply_life(&mut self, f: &LifecycleFact) {
        let at = f.at.timestamp_millis();
        self.dims(&f.conv, at);
        let life = Life {
            at,
            kind: f.kind,
            agent: f.agent_id.clone(),
            other: f.other_agent_id.clone(),
            reason: f.reason.clone(),
            queue: f.conv.queue_id.clone(),
            value: f.value,
        };
        if let Err(i) = self.life.binary_search(&life) {
            self.life.insert(i, life);
        }
    }

    /// Forgets the message folds (before a rebuild from the conversation's messages).
    pub fn reset_messages(&mut self) {
        self.first_customer = None;
        self.first_agent = None;
        self.replies = Replies::default();
        self.episodes.clear();
    }

    fn first(&self, kind: Kind) -> Option<&Life> {
        self.life.iter().find(|l| l.kind == kind)
    }

    /// When the bot handed the conversation off.
    pub fn handoff(&self) -> Option<&Life> {
        self.first(Kind::Handoff).or_else(|| {
            self.life
                .iter()
                .find(|l| l.kind == Kind::QueueEntered && l.reason == "handoff")
        })
    }

    /// Whether it is with a person (handed off, or reached an agent).
    pub fn handed_off(&self) -> bool {
        self.handoff().is_some() || self.first(Kind::Assigned).is_some()
    }

    /// Where it waits now, and since when (a re-offer keeps the first entry's time).
    pub fn waiting(&self) -> Option<(String, i64)> {
        let mut waiting = None;
        // The last entry into a queue, kept through an offer that may lapse.
        let mut entered: Option<(String, i64)> = None;
        for l in &self.life {
            match l.kind {
                Kind::QueueEntered => {
                    let since = match &entered {
                        Some((q, s)) if l.reason == "requeued" && *q == l.queue => *s,
                        _ => l.at,
                    };
                    entered = Some((l.queue.clone(), since));
                    waiting = entered.clone();
                }
                Kind::QueueLeft | Kind::Assigned | Kind::Abandoned | Kind::Closed => {
                    waiting = None;
                }
                _ => {}
            }
        }
        waiting
    }

    /// The agents serving it now.
    pub fn serving(&self) -> Vec<String> {
        self.segments()
            .into_iter()
            .filter(|s| s.end.is_none())
            .map(|s| s.agent)
            .collect()
    }

    /// Each agent's time on the conversation: from their accept to their transfer away or the
    /// close.
    pub fn segments(&self) -> Vec<Segment> {
        let mut open: Vec<Segment> = Vec::new();
        let mut done = Vec::new();
        for l in &self.life {
            match l.kind {
                Kind::Assigned
                    if !open.iter().any(|s| s.agent == l.agent) && !l.agent.is_empty() =>
                {
                    open.push(Segment {
                        agent: l.agent.clone(),
                        queue: l.queue.clone(),
                        start: l.at,
                        end: None,
                    });
                }
                Kind::Transferred => {
                    if let Some(i) = open.iter().position(|s| s.agent == l.agent) {
                        let mut s = open.remove(i);
                        s.end = Some(l.at);
                        done.push(s);
                    }
                }
                Kind::Closed => {
                    for mut s in open.drain(..) {
                        s.end = Some(l.at);
                        done.push(s);
                    }
                }
                _ => {}
            }
        }
        done.extend(open);
        done
    }

    /// When it ended for the return check: its close (handed off), or the end of its last
    /// bot-only episode.
    pub fn end(&self) -> Option<i64> {
        if self.handed_off() {
            self.first(Kind::Closed).map(|l| l.at)
        } else {
            self.episodes.last().map(|e| e.1)
        }
    }

    /// The ends the return check needs: the close (handed off) or every bot-only episode's end.
    pub fn ends(&self) -> Vec<i64> {
        if self.handed_off() {
            self.first(Kind::Closed)
                .map(|l| vec![l.at])
                .unwrap_or_default()
        } else {
            self.episodes.iter().map(|e| e.1).collect()
        }
    }

    /// The first and last instants of its activity (for finding it from another conversation's
    /// message).
    pub fn span(&self) -> Option<(i64, i64)> {
        let times = self
            .episodes
            .iter()
            .flat_map(|e| [e.0, e.1])
            .chain(self.life.iter().map(|l| l.at));
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for t in times {
            lo = lo.min(t);
            hi = hi.max(t);
        }
        (lo <= hi).then_some((lo, hi))
    }
}

/// An agent's time on a conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub agent: String,
    pub queue: String,
    pub start: i64,
    pub end: Option<i64>,
}

/// The customer's own messages (text or image) in their other conversations, by time: what
/// "came back" looks at.
pub trait Returns {
    /// Whether the customer wrote in another conversation in `(after, after + 24 h]`.
    fn came_back(&self, after: i64) -> bool;
}

impl Returns for [i64] {
    fn came_back(&self, after: i64) -> bool {
        let i = self.partition_point(|t| *t <= after);
        self.get(i).is_some_and(|t| *t <= after + RETURN_WINDOW_MS)
    }
}

/// What the conversation contributes, given the settings and the time now (FCR and bot
/// containment settle 24 h after their end). Pure: the same state, returns and `now` past every
/// settle time give the same contributions.
pub fn derive(s: &ConvState, now: i64, returns: &[i64]) -> Vec<Contribution> {
    let mut out = Vec::new();
    let mut push = |at: i64, agent: &str, queue: &str, item: Item| {
        out.push(Contribution {
            at,
            agent: agent.to_owned(),
            queue: queue.to_owned(),
            item,
        });
    };
    // Opened: the conversation's first fact of being (opened, or its first customer message).
    let opened = s
        .life
        .iter()
        .find(|l| l.kind == Kind::Opened)
        .map(|l| l.at)
        .into_iter()
        .chain(s.first_customer)
        .min();
    if let Some(at) = opened {
        push(at, "", "", add(Counter::Conversations, 1));
    }
    let handoff = s.handoff().cloned();
    let first_assigned = s.first(Kind::Assigned).cloned();
    let handoff_queue = s
        .life
        .iter()
        .find(|l| l.kind == Kind::QueueEntered && l.reason == "handoff")
        .map(|l| l.queue.clone())
        .unwrap_or_default();
    // The bot's part: a handoff ends it; bot-only episodes settle 24 h after their end.
    if let Some(h) = &handoff {
        push(h.at, "", &handoff_queue, add(Counter::BotConversations, 1));
        push(h.at, "", &handoff_queue, add(Counter::Handoffs, 1));
    } else if first_assigned.is_none() {
        for &(_, end) in &s.episodes {
            if end + RETURN_WINDOW_MS <= now {
                push(end, "", "", add(Counter::BotConversations, 1));
                if !returns.came_back(end) {
                    push(end, "", "", add(Counter::BotContained, 1));
                }
            }
        }
    }
    // Answered: the first accept after the handoff, its wait and the queue's target.
    if let Some(a) = &first_assigned {
        let target_ms = s.target_s.unwrap_or(crate::settings::DEFAULT_TARGET_S) * 1000;
        push(a.at, &a.agent, &a.queue, add(Counter::Answered, 1));
        push(a.at, &a.agent, &a.queue, add(Counter::WaitN, 1));
        push(a.at, &a.agent, &a.queue, add(Counter::WaitMs, a.value));
        push(a.at, &a.agent, &a.queue, sample(Hist::Wait, a.value));
        if a.value <= target_ms {
            push(a.at, &a.agent, &a.queue, add(Counter::AnsweredInTarget, 1));
        }
    }
    // Abandoned: left the queue (closed while waiting) before any agent answered.
    if let Some(ab) = s.first(Kind::Abandoned)
        && first_assigned.as_ref().is_none_or(|a| a.at > ab.at)
    {
        let short_ms = s.short_s.unwrap_or(10) * 1000;
        push(ab.at, "", &ab.queue, add(Counter::Abandoned, 1));
        push(
            ab.at,
            "",
            &ab.queue,
            add(Counter::AbandonedWaitMs, ab.value),
        );
        if ab.value < short_ms {
            push(ab.at, "", &ab.queue, add(Counter::AbandonedShort, 1));
        }
    }
    let answer_queue = first_assigned
        .as_ref()
        .map(|a| a.queue.clone())
        .unwrap_or(handoff_queue);
    // First response: handoff → the first public agent message.
    if let (Some(h), Some((at, _, agent))) = (&handoff, &s.first_agent) {
        let ms = (at - h.at).max(0);
        push(*at, agent, &answer_queue, add(Counter::FrtN, 1));
        push(*at, agent, &answer_queue, add(Counter::FrtMs, ms));
        push(*at, agent, &answer_queue, sample(Hist::Frt, ms));
    }
    for (at, agent, ms) in &s.replies.done {
        push(*at, agent, &answer_queue, add(Counter::ReplyN, 1));
        push(*at, agent, &answer_queue, add(Counter::ReplyMs, *ms));
        push(*at, agent, &answer_queue, sample(Hist::Reply, *ms));
    }
    // Agents' segments: served (first accept), handle time (at the segment's end).
    let mut served = std::collections::HashSet::new();
    for seg in s.segments() {
        if served.insert(seg.agent.clone()) {
            push(seg.start, &seg.agent, &seg.queue, add(Counter::Served, 1));
        }
        if let Some(end) = seg.end {
            let ms = (end - seg.start).max(0);
            push(end, &seg.agent, &seg.queue, add(Counter::HandleN, 1));
            push(end, &seg.agent, &seg.queue, add(Counter::HandleMs, ms));
            push(end, &seg.agent, &seg.queue, sample(Hist::Handle, ms));
        }
    }
    for l in s.life.iter().filter(|l| l.kind == Kind::Transferred) {
        push(l.at, &l.agent, &l.queue, add(Counter::Transfers, 1));
    }
    // Closed (handed off): resolved when an agent or supervisor closed it after an answer;
    // first-contact resolution once 24 h passed without the customer coming back.
    if let Some(c) = s.first(Kind::Closed).filter(|_| s.handed_off()) {
        push(c.at, &c.agent, &c.queue, add(Counter::Closed, 1));
        let resolved = matches!(c.reason.as_str(), "agent_closed" | "supervisor_closed")
            && first_assigned.is_some();
        if resolved {
            push(c.at, &c.agent, &c.queue, add(Counter::Resolved, 1));
            push(c.at, &c.agent, &c.queue, add(Counter::CsatInvited, 1));
            if c.at + RETURN_WINDOW_MS <= now {
                push(c.at, &c.agent, &c.queue, add(Counter::FcrSettled, 1));
                if !returns.came_back(c.at) {
                    push(c.at, &c.agent, &c.queue, add(Counter::Fcr, 1));
                }
            }
        }
    }
    if let Some(r) = s.first(Kind::Rated) {
        push(r.at, &r.agent, &r.queue, add(Counter::CsatN, 1));
        push(r.at, &r.agent, &r.queue, add(Counter::CsatSum, r.value));
        if r.value >= 4 {
            push(r.at, &r.agent, &r.queue, add(Counter::CsatGood, 1));
        }
    }
    out.sort();
    out
}

/// Fixes the thresholds a derivation needs the first time they are needed, from the settings
/// in force then (a later change of a queue's target does not rewrite history).
pub fn pin_thresholds(s: &mut ConvState, settings: &Settings) {
    if s.target_s.is_none()
        && let Some(a) = s.first(Kind::Assigned)
    {
        s.target_s = Some(settings.target_s(&a.queue));
    }
    if s.short_s.is_none() && s.first(Kind::Abandoned).is_some() {
        s.short_s = Some(settings.short_abandon_s);
    }
}

/// When the derivation may change next by the passing of time alone (an episode's end or the
/// close reaching 24 h).
pub fn settles_at(s: &ConvState, now: i64) -> Option<i64> {
    s.ends()
        .into_iter()
        .map(|e| e + RETURN_WINDOW_MS)
        .filter(|t| *t > now)
        .min()
}

#[cfg(test)]
mod tests;
