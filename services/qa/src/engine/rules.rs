//! A policy compiled for inspection: each rule of the spec becomes a [`Check`] with its phrase
//! automata, patterns and thresholds built once, and [`Policy`] runs them.
//!
//! Two moments, one code path:
//! - [`Policy::inspect`] decides what message `i` breaks, given the messages before it — the
//!   real-time path (forbidden phrases, tone, sensitive data, patterns, keywords, similar
//!   phrases, greeting, response times, silence, repeats), plus whether an angry customer
//!   should be flagged now.
//! - [`Policy::finish`] decides what only the whole conversation shows (the closing, unresolved
//!   anger, required phrases, the customer left waiting when it closed).
//!
//! [`Policy::evaluate`] is `inspect` at every message followed by `finish`: what the service
//! finds as messages arrive and what `kefu qa check` finds on a transcript are the same.

use super::detect::cues::CUE_LISTS;
use super::detect::{DETECTORS, Detector, numbers};
use super::phrases::PhraseSet;
use super::score::{Score, Scorecard};
use super::similarity::{Bag, similarity};
use super::transcript::{HANDOFF, Role, Transcript};
use chrono::{DateTime, Utc};
use kefu_crd::FieldError;
use kefu_crd::qa::{Mode, QaPolicySpec, QaRuleKind, ReviewRules, Severity, Speaker};
use regex::Regex;
use std::sync::LazyLock;

/// A rule, ready to run.
#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub kind: QaRuleKind,
    pub severity: Severity,
    pub category: String,
    /// Points a violation takes off its category (unused for critical rules, which fail).
    pub points: u32,
    /// Whether a violation found in real time is pushed to supervisors.
    pub alert: bool,
    check: Check,
}

#[derive(Debug)]
enum Check {
    Phrases {
        set: PhraseSet,
        speaker: Speaker,
    },
    Greeting {
        extra: PhraseSet,
    },
    Closing {
        extra: PhraseSet,
    },
    FirstResponse {
        max_ms: i64,
    },
    ResponseTime {
        max_ms: i64,
    },
    Silence {
        max_ms: i64,
    },
    Tone {
        threshold: f32,
        extra: PhraseSet,
    },
    Sentiment {
        threshold: f32,
    },
    Sensitive {
        threshold: f32,
    },
    Pattern {
        pattern: Regex,
        exclude: Option<Regex>,
        speaker: Speaker,
        mode: Mode,
    },
    Keywords {
        set: PhraseSet,
        min: usize,
        speaker: Speaker,
        mode: Mode,
    },
    Similar {
        phrases: Vec<Bag>,
        threshold: f64,
        speaker: Speaker,
        mode: Mode,
    },
    Repeated {
        threshold: f64,
        min_chars: usize,
    },
}

/// A violation: which rule (its index in [`Policy::rules`]) and which message (index in the
/// transcript; `None` for what the conversation as a whole lacks).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Violation {
    pub rule: usize,
    pub message: Option<usize>,
}

/// What one message brought.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inspection {
    pub violations: Vec<Violation>,
    /// The `customer_sentiment` rule whose detector finds this customer message angry: worth
    /// an alert now, although the violation is only decided when the conversation ends.
    pub angry_customer: Option<usize>,
}

/// A whole conversation's result.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub violations: Vec<Violation>,
    pub score: Score,
}

/// A compiled policy.
#[derive(Debug)]
pub struct Policy {
    pub rules: Vec<Rule>,
    pub scorecard: Scorecard,
    pub review: ReviewRules,
    /// The forbidden-phrase rules' phrases: a message using one is also rude.
    forbidden: Vec<usize>,
}

/// Revealing a password or code: `密码是 abc123`, `your code is 482910`.
static REVEAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(密码|口令|验证码|校验码|动态码|短信码|pin码|pin|password|passcode|passwd|verification code|security code|otp|cvv|cvv2|cvc)\s*(是|为|改成|改为|重置为|设为|:|=|is|was|has been reset to|reset to)\s*[a-z]*\d[a-z0-9]{3,}",
    )
    .expect("a built-in pattern compiles")
});

fn speaks(speaker: Speaker, role: Role) -> bool {
    match speaker {
        Speaker::Agent => role == Role::Agent,
        Speaker::Customer => role == Role::Customer,
        Speaker::Any => role != Role::System,
    }
}

fn threshold(t: Option<f64>, detector: Detector) -> f32 {
    t.map_or(detector.default_threshold(), |t| t as f32)
}

/// Messages of a transcript in terms the timing rules use.
struct Timeline<'a> {
    t: &'a Transcript,
}

impl<'a> Timeline<'a> {
    /// Where the customer starts waiting for a person: the handoff marker, else the first
    /// customer message; and whether that index is itself a customer message.
    fn start(&self) -> Option<(usize, bool)> {
        let msgs = self.t.messages();
        if let Some(h) = msgs.iter().position(|m| m.is_marker(HANDOFF)) {
            return Some((h, false));
        }
        msgs.iter()
            .position(|m| m.role == Role::Customer)
            .map(|c| (c, true))
    }

    fn first_agent_after(&self, from: usize) -> Option<usize> {
        (from..self.t.len()).find(|&j| self.t.get(j).role == Role::Agent)
    }

    fn previous_agent(&self, before: usize) -> Option<usize> {
        (0..before)
            .rev()
            .find(|&j| self.t.get(j).role == Role::Agent)
    }

    /// The first customer message in `from..to` (exclusive).
    fn first_customer(&self, from: usize, to: usize) -> Option<usize> {
        (from..to).find(|&j| self.t.get(j).role == Role::Customer)
    }

    fn gap_ms(&self, a: usize, b: usize) -> i64 {
        (self.t.get(b).at - self.t.get(a).at).num_milliseconds()
    }

    /// The first customer message since the customer started waiting for a person and since
    /// the agent's last message before `to`.
    fn waiting_since(&self, to: usize) -> Option<usize> {
        let (start, is_customer) = self.start()?;
        let from_start = if is_customer { start } else { start + 1 };
        let from_agent = self.previous_agent(to).map_or(0, |p| p + 1);
        self.first_customer(from_start.max(from_agent), to)
    }

    fn closed(&self) -> Option<usize> {
        (0..self.t.len())
            .rev()
            .find(|&j| self.t.get(j).is_marker(super::transcript::CLOSED))
    }
}

impl Policy {
    /// Compiles a checked spec; the errors of [`QaPolicySpec::check_policy`] otherwise.
    pub fn compile(spec: &QaPolicySpec) -> Result<Policy, Vec<FieldError>> {
        let errors = spec.check_policy("");
        if !errors.is_empty() {
            return Err(errors);
        }
        let scorecard = Scorecard::new(&spec.scorecard, spec.rules.iter().map(|r| r.category()));
        let mut rules = Vec::with_capacity(spec.rules.len());
        for (index, r) in spec.rules.iter().enumerate() {
            let speaker = r.role.unwrap_or_default();
            let mode = r.mode.unwrap_or_default();
            let max_ms = i64::from(r.max_seconds.unwrap_or(0)) * 1000;
            let check = match r.kind {
                QaRuleKind::ForbiddenPhrase => Check::Phrases {
                    set: PhraseSet::new(&r.phrases),
                    speaker,
                },
                QaRuleKind::RequiredGreeting => Check::Greeting {
                    extra: PhraseSet::new(&r.phrases),
                },
                QaRuleKind::RequiredClosing => Check::Closing {
                    extra: PhraseSet::new(&r.phrases),
                },
                QaRuleKind::FirstResponseTime => Check::FirstResponse { max_ms },
                QaRuleKind::ResponseTime => Check::ResponseTime { max_ms },
                QaRuleKind::AgentSilence => Check::Silence { max_ms },
                QaRuleKind::AgentTone => Check::Tone {
                    threshold: threshold(r.threshold, Detector::Rude),
                    extra: PhraseSet::new(&r.phrases),
                },
                QaRuleKind::CustomerSentiment => Check::Sentiment {
                    threshold: threshold(r.threshold, Detector::Angry),
                },
                QaRuleKind::SensitiveData => Check::Sensitive {
                    threshold: threshold(r.threshold, Detector::Sensitive),
                },
                QaRuleKind::Regex => Check::Pattern {
                    pattern: kefu_crd::qa::compile_pattern(r.pattern.as_deref().unwrap_or(""))
                        .map_err(|e| vec![field(index, "pattern", e)])?,
                    exclude: r
                        .exclude
                        .as_deref()
                        .map(kefu_crd::qa::compile_pattern)
                        .transpose()
                        .map_err(|e| vec![field(index, "exclude", e)])?,
                    speaker,
                    mode,
                },
                QaRuleKind::Keywords => Check::Keywords {
                    set: PhraseSet::new(&r.phrases),
                    min: r.min_matches.unwrap_or(1) as usize,
                    speaker,
                    mode,
                },
                QaRuleKind::SimilarPhrase => Check::Similar {
                    phrases: r
                        .phrases
                        .iter()
                        .map(|p| Bag::of(&super::text::normalize(p)))
                        .collect(),
                    threshold: r.threshold.unwrap_or(0.6),
                    speaker,
                    mode,
                },
                QaRuleKind::RepeatedMessage => Check::Repeated {
                    threshold: r.threshold.unwrap_or(0.9),
                    min_chars: r.min_chars.unwrap_or(4) as usize,
                },
            };
            let points = match r.severity {
                Severity::Critical => 100,
                Severity::Major => r.points.unwrap_or(spec.scorecard.deductions.major),
                Severity::Minor => r.points.unwrap_or(spec.scorecard.deductions.minor),
            };
            rules.push(Rule {
                id: r.id.clone(),
                kind: r.kind,
                severity: r.severity,
                category: r.category().to_owned(),
                points,
                alert: r.alert.unwrap_or(r.severity >= Severity::Major),
                check,
            });
        }
        let forbidden = rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.kind == QaRuleKind::ForbiddenPhrase)
            .map(|(i, _)| i)
            .collect();
        Ok(Policy {
            rules,
            scorecard,
            review: spec.review.clone(),
            forbidden,
        })
    }

    fn uses_forbidden_phrase(&self, norm: &str) -> bool {
        self.forbidden.iter().any(|&k| match &self.rules[k].check {
            Check::Phrases { set, .. } => set.any(norm),
            _ => false,
        })
    }

    /// What message `i` breaks, given the messages before it (the real-time rules).
    pub fn inspect(&self, t: &Transcript, i: usize) -> Inspection {
        let mut out = Inspection::default();
        let m = t.get(i);
        let tl = Timeline { t };
        for (k, rule) in self.rules.iter().enumerate() {
            let hit = |message| Violation {
                rule: k,
                message: Some(message),
            };
            match &rule.check {
                Check::Phrases { set, speaker } => {
                    if speaks(*speaker, m.role) && set.any(&t.prepared(i).norm) {
                        out.violations.push(hit(i));
                    }
                }
                Check::Greeting { extra } => {
                    if m.role == Role::Agent
                        && tl.previous_agent(i).is_none()
                        && !CUE_LISTS
                            .greeting
                            .found_with(&t.prepared(i).norm, &m.text, extra)
                    {
                        out.violations.push(hit(i));
                    }
                }
                Check::FirstResponse { max_ms } => {
                    if m.role == Role::Agent
                        && let Some((start, _)) = tl.start()
                        && tl.first_agent_after(start) == Some(i)
                        && tl.gap_ms(start, i) > *max_ms
                    {
                        out.violations.push(hit(i));
                    }
                }
                Check::ResponseTime { max_ms } => {
                    if m.role == Role::Agent
                        && let Some(previous) = tl.previous_agent(i)
                        && let Some(c) = tl.first_customer(previous + 1, i)
                        && tl.gap_ms(c, i) > *max_ms
                    {
                        out.violations.push(hit(i));
                    }
                }
                Check::Silence { max_ms } => {
                    if m.role == Role::Agent
                        && let Some(c) = tl.waiting_since(i)
                        && tl.gap_ms(c, i) > *max_ms
                    {
                        out.violations.push(hit(c));
                    }
                }
                Check::Tone { threshold, extra } => {
                    if m.role == Role::Agent {
                        let p = t.prepared(i);
                        let rude = CUE_LISTS.insult.found(&p.norm, &m.text)
                            || extra.any(&p.norm)
                            || self.uses_forbidden_phrase(&p.norm)
                            || DETECTORS.score(Detector::Rude, p) >= *threshold;
                        if rude {
                            out.violations.push(hit(i));
                        }
                    }
                }
                Check::Sentiment { threshold } => {
                    if m.role == Role::Customer
                        && out.angry_customer.is_none()
                        && DETECTORS.score(Detector::Angry, t.prepared(i)) >= *threshold
                    {
                        out.angry_customer = Some(k);
                    }
                }
                Check::Sensitive { threshold } => {
                    if m.role == Role::Agent {
                        let p = t.prepared(i);
                        let sensitive = !numbers::personal_numbers(&p.norm).is_empty()
                            || REVEAL.is_match(&p.norm)
                            || DETECTORS.score(Detector::Sensitive, p) >= *threshold;
                        if sensitive {
                            out.violations.push(hit(i));
                        }
                    }
                }
                Check::Pattern {
                    pattern,
                    exclude,
                    speaker,
                    mode: Mode::Forbid,
                } => {
                    if speaks(*speaker, m.role)
                        && pattern_matches(pattern, exclude, &t.prepared(i).norm)
                    {
                        out.violations.push(hit(i));
                    }
                }
                Check::Keywords {
                    set,
                    min,
                    speaker,
                    mode: Mode::Forbid,
                } => {
                    if speaks(*speaker, m.role) && set.found(&t.prepared(i).norm).len() >= *min {
                        out.violations.push(hit(i));
                    }
                }
                Check::Similar {
                    phrases,
                    threshold,
                    speaker,
                    mode: Mode::Forbid,
                } => {
                    if speaks(*speaker, m.role)
                        && similar_to_any(&t.prepared(i).norm, phrases, *threshold)
                    {
                        out.violations.push(hit(i));
                    }
                }
                Check::Repeated {
                    threshold,
                    min_chars,
                } => {
                    if m.role == Role::Agent && repeats(t, i, *threshold, *min_chars) {
                        out.violations.push(hit(i));
                    }
                }
                Check::Closing { .. }
                | Check::Pattern { .. }
                | Check::Keywords { .. }
                | Check::Similar { .. } => {}
            }
        }
        out
    }

    /// What the whole conversation shows (the conversation rules).
    pub fn finish(&self, t: &Transcript) -> Vec<Violation> {
        let tl = Timeline { t };
        let n = t.len();
        let closed = tl.closed();
        let has_agent = t.messages().iter().any(|m| m.role == Role::Agent);
        let mut out = Vec::new();
        for (k, rule) in self.rules.iter().enumerate() {
            let at = |message| Violation { rule: k, message };
            match &rule.check {
                Check::Closing { extra } => {
                    if let Some(c) = closed
                        && let Some(last) = tl.previous_agent(c)
                        && !CUE_LISTS.closing.found_with(
                            &t.prepared(last).norm,
                            &t.get(last).text,
                            extra,
                        )
                    {
                        out.push(at(Some(last)));
                    }
                }
                Check::ResponseTime { max_ms } => {
                    if let Some(c) = closed
                        && let Some(last) = tl.previous_agent(c)
                        && let Some(waiting) = tl.first_customer(last + 1, c)
                        && tl.gap_ms(waiting, c) > *max_ms
                    {
                        out.push(at(Some(waiting)));
                    }
                }
                Check::Silence { max_ms } => {
                    if let Some(c) = closed
                        && let Some(waiting) = tl.waiting_since(c)
                        && tl.gap_ms(waiting, c) > *max_ms
                    {
                        out.push(at(Some(waiting)));
                    }
                }
                Check::Sentiment { threshold } => {
                    if !has_agent {
                        continue;
                    }
                    // The last customer message in the last third that reads angry, and
                    // whether any agent message after it apologises or offers a remedy.
                    let angry = (0..n).rev().find(|&j| {
                        (j + 1) * 3 > 2 * n
                            && t.get(j).role == Role::Customer
                            && DETECTORS.score(Detector::Angry, t.prepared(j)) >= *threshold
                    });
                    if let Some(j) = angry {
                        let remedied = (j + 1..n)
                            .filter(|&a| t.get(a).role == Role::Agent)
                            .any(|a| remedies(t, a));
                        if !remedied {
                            out.push(at(Some(j)));
                        }
                    }
                }
                Check::Pattern {
                    pattern,
                    exclude,
                    speaker,
                    mode: Mode::Require,
                } => {
                    let said = (0..n).any(|j| {
                        speaks(*speaker, t.get(j).role)
                            && pattern_matches(pattern, exclude, &t.prepared(j).norm)
                    });
                    if !said && (0..n).any(|j| speaks(*speaker, t.get(j).role)) {
                        out.push(at(None));
                    }
                }
                Check::Keywords {
                    set,
                    min,
                    speaker,
                    mode: Mode::Require,
                } => {
                    let mut found: Vec<usize> = (0..n)
                        .filter(|&j| speaks(*speaker, t.get(j).role))
                        .flat_map(|j| set.found(&t.prepared(j).norm))
                        .collect();
                    found.sort_unstable();
                    found.dedup();
                    if found.len() < *min && (0..n).any(|j| speaks(*speaker, t.get(j).role)) {
                        out.push(at(None));
                    }
                }
                Check::Similar {
                    phrases,
                    threshold,
                    speaker,
                    mode: Mode::Require,
                } => {
                    let spoken: Vec<usize> = (0..n)
                        .filter(|&j| speaks(*speaker, t.get(j).role))
                        .collect();
                    if !spoken.is_empty()
                        && !spoken
                            .iter()
                            .any(|&j| similar_to_any(&t.prepared(j).norm, phrases, *threshold))
                    {
                        out.push(at(None));
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// The real-time rules at every message, then the conversation rules; violations in
    /// message order, each once, and the score.
    pub fn evaluate(&self, t: &Transcript) -> Report {
        let mut violations: Vec<Violation> = (0..t.len())
            .flat_map(|i| self.inspect(t, i).violations)
            .chain(self.finish(t))
            .collect();
        violations.sort_by_key(|v| (v.message.unwrap_or(usize::MAX), v.rule));
        violations.dedup();
        let score = self.score(violations.iter().map(|v| v.rule));
        Report { violations, score }
    }

    /// The score of a set of violated rules (by index; a rule once per violation).
    pub fn score(&self, violated: impl IntoIterator<Item = usize>) -> Score {
        self.scorecard.score(violated.into_iter().map(|k| {
            let r = &self.rules[k];
            (r.category.as_str(), r.severity, r.points)
        }))
    }

    /// `agent_silence` violations that have become due at `now` in a conversation still open:
    /// the customer has waited longer than the rule allows and no agent has answered yet.
    pub fn silence_due(&self, t: &Transcript, now: DateTime<Utc>) -> Vec<Violation> {
        let tl = Timeline { t };
        let Some(waiting) = tl.waiting_since(t.len()) else {
            return Vec::new();
        };
        if tl.closed().is_some() {
            return Vec::new();
        }
        let waited = (now - t.get(waiting).at).num_milliseconds();
        self.rules
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r.check, Check::Silence { max_ms } if waited > max_ms))
            .map(|(k, _)| Violation {
                rule: k,
                message: Some(waiting),
            })
            .collect()
    }

    /// The shortest `agent_silence` limit, if the policy has one (how soon a waiting
    /// conversation can become due).
    pub fn shortest_silence(&self) -> Option<std::time::Duration> {
        self.rules
            .iter()
            .filter_map(|r| match r.check {
                Check::Silence { max_ms } => Some(std::time::Duration::from_millis(max_ms as u64)),
                _ => None,
            })
            .min()
    }

    pub fn rule(&self, id: &str) -> Option<(usize, &Rule)> {
        self.rules.iter().enumerate().find(|(_, r)| r.id == id)
    }
}

fn field(index: usize, name: &str, e: regex::Error) -> FieldError {
    FieldError {
        path: format!("rules[{index}].{name}"),
        message: e.to_string(),
    }
}

fn pattern_matches(pattern: &Regex, exclude: &Option<Regex>, norm: &str) -> bool {
    pattern.is_match(norm) && !exclude.as_ref().is_some_and(|x| x.is_match(norm))
}

fn similar_to_any(norm: &str, phrases: &[Bag], threshold: f64) -> bool {
    phrases.iter().any(|p| similarity(norm, p) >= threshold)
}

/// The message without spaces and punctuation, for comparing repeats.
fn compact(norm: &str) -> String {
    norm.chars().filter(|c| c.is_alphanumeric()).collect()
}

fn repeats(t: &Transcript, i: usize, threshold: f64, min_chars: usize) -> bool {
    let this = compact(&t.prepared(i).norm);
    if this.chars().count() < min_chars {
        return false;
    }
    let bag = Bag::of(&t.prepared(i).norm);
    (0..i).filter(|&j| t.get(j).role == Role::Agent).any(|j| {
        let other = &t.prepared(j).norm;
        compact(other) == this || Bag::of(other).dice(&bag) >= threshold
    })
}

/// Whether agent message `a` apologises or offers a concrete remedy.
fn remedies(t: &Transcript, a: usize) -> bool {
    let p = t.prepared(a);
    CUE_LISTS.apology.found(&p.norm, &t.get(a).text)
        || DETECTORS.score(Detector::Remedy, p) >= Detector::Remedy.default_threshold()
}
