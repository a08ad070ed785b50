//! `QaPolicy`: what a tenant's conversations are inspected for (quality inspection), how they
//! are scored and which are sampled for human review.
//!
//! The spec *is* the QA policy file format (`demo/qa-policy.yaml`): `rules` of fixed kinds with
//! the tenant's ids, severities and parameters, plus an optional `scorecard` and `review`. The
//! format is a contract older than the CRD, so its fields are snake_case (`max_seconds`), unlike
//! the camelCase of the other kinds; a policy file pasted under `spec:` (with `tenant`) works
//! as it is. `kefu qa check --policy FILE` reads the same type without `tenant`.
//!
//! Validation ([`QaPolicySpec::check_policy`]) names the field of every problem: an unknown kind
//! or severity (from the schema), a parameter a kind needs but lacks, a parameter a kind does
//! not take, a pattern that is not a regular expression, a duplicate id.

use crate::common::CommonStatus;
use crate::validate::FieldError;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "kefu.dev",
    version = "v1alpha1",
    kind = "QaPolicy",
    namespaced,
    status = "CommonStatus",
    shortname = "kqa",
    derive = "PartialEq",
    printcolumn = r#"{"name":"Tenant","type":"string","jsonPath":".spec.tenant"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(deny_unknown_fields)]
pub struct QaPolicySpec {
    /// The tenant whose conversations this policy inspects (one QaPolicy per tenant). Absent
    /// in a plain policy file read by `kefu qa check`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tenant: String,
    /// The rules, each of a fixed kind.
    #[schemars(length(max = 200))]
    pub rules: Vec<QaRule>,
    /// Weighted categories and what a violation costs.
    #[serde(default)]
    pub scorecard: Scorecard,
    /// Which scored conversations go to human review, to whom, and how long agents may appeal.
    #[serde(default)]
    pub review: ReviewRules,
}

/// The fixed vocabulary of rule kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum QaRuleKind {
    /// A message of `role` (the agent by default) contains one of `phrases` (after width,
    /// case and Traditional → Simplified normalisation).
    ForbiddenPhrase,
    /// The agent's first message greets the customer or introduces the agent.
    RequiredGreeting,
    /// The agent's last message closes politely; only judged when the agent closed the
    /// conversation.
    RequiredClosing,
    /// Seconds from the handoff (else the first customer message) to the first agent message.
    FirstResponseTime,
    /// After the first agent message, a customer message not answered within `max_seconds`.
    ResponseTime,
    /// An agent message that is rude, impatient, blaming, sarcastic or dismissive.
    AgentTone,
    /// The customer is angry in the last third and the agent neither apologised nor offered a
    /// concrete solution after it.
    CustomerSentiment,
    /// The agent asks for or reveals a password, verification code, full card or ID number.
    SensitiveData,
    /// A message of `role` matches `pattern` and not `exclude`.
    Regex,
    /// A message of `role` contains at least `min_matches` of `phrases`.
    Keywords,
    /// A message of `role` is similar (≥ `threshold`) to one of the standard `phrases`.
    SimilarPhrase,
    /// The customer waits more than `max_seconds` for the agent (raised while it happens).
    AgentSilence,
    /// The agent sends the same message again.
    RepeatedMessage,
}

impl QaRuleKind {
    pub const ALL: [QaRuleKind; 13] = [
        Self::ForbiddenPhrase,
        Self::RequiredGreeting,
        Self::RequiredClosing,
        Self::FirstResponseTime,
        Self::ResponseTime,
        Self::AgentTone,
        Self::CustomerSentiment,
        Self::SensitiveData,
        Self::Regex,
        Self::Keywords,
        Self::SimilarPhrase,
        Self::AgentSilence,
        Self::RepeatedMessage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ForbiddenPhrase => "forbidden_phrase",
            Self::RequiredGreeting => "required_greeting",
            Self::RequiredClosing => "required_closing",
            Self::FirstResponseTime => "first_response_time",
            Self::ResponseTime => "response_time",
            Self::AgentTone => "agent_tone",
            Self::CustomerSentiment => "customer_sentiment",
            Self::SensitiveData => "sensitive_data",
            Self::Regex => "regex",
            Self::Keywords => "keywords",
            Self::SimilarPhrase => "similar_phrase",
            Self::AgentSilence => "agent_silence",
            Self::RepeatedMessage => "repeated_message",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The parameters the kind takes (besides `id`, `kind`, `severity`, `category`, `points`,
    /// `alert`, `description`), and which of them it needs.
    pub fn parameters(self) -> (&'static [Param], &'static [Param]) {
        use Param::*;
        match self {
            Self::ForbiddenPhrase => (&[Phrases, Role], &[Phrases]),
            Self::RequiredGreeting | Self::RequiredClosing => (&[Phrases], &[]),
            Self::FirstResponseTime | Self::ResponseTime | Self::AgentSilence => {
                (&[MaxSeconds], &[MaxSeconds])
            }
            Self::AgentTone => (&[Threshold, Phrases], &[]),
            Self::CustomerSentiment | Self::SensitiveData => (&[Threshold], &[]),
            Self::Regex => (&[Pattern, Exclude, Role, Mode], &[Pattern]),
            Self::Keywords => (&[Phrases, MinMatches, Role, Mode], &[Phrases]),
            Self::SimilarPhrase => (&[Phrases, Threshold, Role, Mode], &[Phrases]),
            Self::RepeatedMessage => (&[Threshold, MinChars], &[]),
        }
    }

    /// The scorecard category a rule of this kind counts in unless it names one.
    pub fn default_category(self) -> &'static str {
        match self {
            Self::ForbiddenPhrase | Self::AgentTone | Self::RepeatedMessage => "attitude",
            Self::FirstResponseTime | Self::ResponseTime | Self::AgentSilence => "timeliness",
            Self::RequiredGreeting | Self::RequiredClosing => "etiquette",
            Self::CustomerSentiment => "resolution",
            Self::SensitiveData | Self::Regex | Self::Keywords | Self::SimilarPhrase => {
                "compliance"
            }
        }
    }
}

/// A rule parameter, by its field name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    Phrases,
    MaxSeconds,
    Pattern,
    Exclude,
    MinMatches,
    Threshold,
    Role,
    Mode,
    MinChars,
}

impl Param {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Phrases => "phrases",
            Self::MaxSeconds => "max_seconds",
            Self::Pattern => "pattern",
            Self::Exclude => "exclude",
            Self::MinMatches => "min_matches",
            Self::Threshold => "threshold",
            Self::Role => "role",
            Self::Mode => "mode",
            Self::MinChars => "min_chars",
        }
    }
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Minor,
    Major,
    /// Fails the conversation: its score is 0.
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Minor => "minor",
            Self::Major => "major",
            Self::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Minor, Self::Major, Self::Critical]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// Whose messages a rule looks at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    #[default]
    Agent,
    Customer,
    Any,
}

/// `forbid`: a matching message is a violation (judged as it is written). `require`: a
/// conversation in which no message of the role matches is a violation (judged at the end).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Forbid,
    Require,
}

/// One rule. Which parameters apply depends on `kind` ([`QaRuleKind::parameters`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QaRule {
    /// The tenant's name for the rule, reported with each violation.
    #[schemars(regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub id: String,
    pub kind: QaRuleKind,
    pub severity: Severity,
    /// The scorecard category it counts in (default: by kind — attitude, timeliness,
    /// etiquette, resolution or compliance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Points a violation takes off its category (default: by severity, from the scorecard).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 100))]
    pub points: Option<u32>,
    /// Whether a violation found as a message is written is pushed to supervisors as an alert
    /// (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 500))]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 5000))]
    pub phrases: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 86400))]
    pub max_seconds: Option<u32>,
    /// A regular expression (Rust `regex` syntax) matched against the normalised text: half
    /// width, lower case, Simplified script.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1000))]
    pub pattern: Option<String>,
    /// A message that also matches this is not a violation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1000))]
    pub exclude: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub min_matches: Option<u32>,
    /// 0–1: how sure a detector must be (agent_tone, customer_sentiment, sensitive_data) or
    /// how similar two texts must be (similar_phrase, repeated_message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub threshold: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Speaker>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// Messages shorter than this (in characters) are not compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub min_chars: Option<u32>,
}

impl QaRule {
    /// Which parameters are set, so they can be held to the kind's list.
    fn given(&self) -> Vec<Param> {
        let mut p = Vec::new();
        let mut flag = |set: bool, param| {
            if set {
                p.push(param)
            }
        };
        flag(!self.phrases.is_empty(), Param::Phrases);
        flag(self.max_seconds.is_some(), Param::MaxSeconds);
        flag(self.pattern.is_some(), Param::Pattern);
        flag(self.exclude.is_some(), Param::Exclude);
        flag(self.min_matches.is_some(), Param::MinMatches);
        flag(self.threshold.is_some(), Param::Threshold);
        flag(self.role.is_some(), Param::Role);
        flag(self.mode.is_some(), Param::Mode);
        flag(self.min_chars.is_some(), Param::MinChars);
        p
    }

    /// The category the rule counts in.
    pub fn category(&self) -> &str {
        self.category
            .as_deref()
            .unwrap_or_else(|| self.kind.default_category())
    }
}

/// Weighted categories: each starts at 100 and loses the points of its violations (not below
/// 0); the conversation's score is their weighted mean over the categories the policy's rules
/// use. A critical violation fails the conversation (score 0).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scorecard {
    #[serde(default = "default_categories")]
    #[schemars(length(min = 1, max = 32))]
    pub categories: Vec<Category>,
    #[serde(default)]
    pub deductions: Deductions,
}

impl Default for Scorecard {
    fn default() -> Self {
        Self {
            categories: default_categories(),
            deductions: Deductions::default(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Category {
    #[schemars(regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub id: String,
    /// Shown to people (default: the id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[schemars(range(min = 1, max = 1000))]
    pub weight: u32,
}

fn category(id: &str, name: &str, weight: u32) -> Category {
    Category {
        id: id.into(),
        name: Some(name.into()),
        weight,
    }
}

/// Attitude 30, timeliness 20, resolution 20, etiquette 15, compliance 15.
pub fn default_categories() -> Vec<Category> {
    vec![
        category("attitude", "服务态度 Attitude", 30),
        category("timeliness", "响应时效 Timeliness", 20),
        category("resolution", "问题解决 Resolution", 20),
        category("etiquette", "服务规范 Etiquette", 15),
        category("compliance", "合规 Compliance", 15),
    ]
}

/// Points a minor or major violation takes off its category (a critical one fails the whole
/// conversation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Deductions {
    #[serde(default = "default_minor")]
    #[schemars(range(max = 100))]
    pub minor: u32,
    #[serde(default = "default_major")]
    #[schemars(range(max = 100))]
    pub major: u32,
}

fn default_minor() -> u32 {
    10
}
fn default_major() -> u32 {
    25
}

impl Default for Deductions {
    fn default() -> Self {
        Self {
            minor: default_minor(),
            major: default_major(),
        }
    }
}

/// Sampling for human review, reviewers and appeals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRules {
    /// The share of scored conversations sampled at random, in percent.
    #[serde(default)]
    #[schemars(range(min = 0.0, max = 100.0))]
    pub sample_percent: f64,
    /// Every conversation with a critical violation.
    #[serde(default = "yes")]
    pub critical: bool,
    /// Every conversation scoring below this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub below_score: Option<u32>,
    /// Every conversation the customer rated at most this (1–5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 5))]
    pub csat_at_most: Option<u32>,
    /// Agent ids of the reviewers, assigned round-robin; none: every reviewer and supervisor
    /// sees the unassigned reviews.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 200))]
    pub reviewers: Vec<String>,
    /// Days after scoring in which an agent may appeal a result (once).
    #[serde(default = "default_appeal_days")]
    #[schemars(range(min = 0, max = 365))]
    pub appeal_days: u32,
}

fn yes() -> bool {
    true
}
fn default_appeal_days() -> u32 {
    7
}

impl Default for ReviewRules {
    fn default() -> Self {
        Self {
            sample_percent: 0.0,
            critical: true,
            below_score: None,
            csat_at_most: None,
            reviewers: Vec::new(),
            appeal_days: default_appeal_days(),
        }
    }
}

/// Most phrases in one rule.
pub const MAX_PHRASES: usize = 5000;
/// Longest phrase.
pub const MAX_PHRASE_CHARS: usize = 200;
/// Most rules in a policy.
pub const MAX_RULES: usize = 200;
/// Compiled size limit of a rule's regular expressions, so a policy cannot exhaust memory.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Compiles a rule's pattern as the inspection engine does (case is folded before matching).
pub fn compile_pattern(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
}

impl QaPolicySpec {
    /// The policy's own checks (everything but `tenant`), each error with its path under
    /// `prefix` (`spec.` for the resource, empty for a plain policy file).
    pub fn check_policy(&self, prefix: &str) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut push = |path: String, message: String| errors.push(FieldError { path, message });
        if self.rules.is_empty() {
            push(
                format!("{prefix}rules"),
                "must have at least one rule".into(),
            );
        }
        if self.rules.len() > MAX_RULES {
            push(
                format!("{prefix}rules"),
                format!("must have at most {MAX_RULES} rules"),
            );
        }
        let categories: Vec<&str> = self
            .scorecard
            .categories
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        let mut ids = HashSet::new();
        for (i, rule) in self.rules.iter().enumerate() {
            let p = format!("{prefix}rules[{i}]");
            if !crate::common::is_id(&rule.id) {
                push(
                    format!("{p}.id"),
                    "must be 1-64 characters of a-z, 0-9, '-' or '_'".into(),
                );
            } else if !ids.insert(rule.id.as_str()) {
                push(
                    format!("{p}.id"),
                    format!("duplicate rule id {:?}", rule.id),
                );
            }
            let (takes, needs) = rule.kind.parameters();
            let kind = rule.kind.as_str();
            let given = rule.given();
            for param in &given {
                if !takes.contains(param) {
                    let list: Vec<&str> = takes.iter().map(|p| p.as_str()).collect();
                    let takes = if list.is_empty() {
                        "no parameters".to_owned()
                    } else {
                        list.join(", ")
                    };
                    push(
                        format!("{p}.{}", param.as_str()),
                        format!("is not a parameter of {kind} (it takes {takes})"),
                    );
                }
            }
            for param in needs {
                if !given.contains(param) {
                    push(
                        format!("{p}.{}", param.as_str()),
                        format!("is required for {kind}"),
                    );
                }
            }
            if rule.phrases.len() > MAX_PHRASES {
                push(
                    format!("{p}.phrases"),
                    format!("must have at most {MAX_PHRASES} phrases"),
                );
            }
            for (j, phrase) in rule.phrases.iter().enumerate() {
                let n = phrase.trim().chars().count();
                if n == 0 || n > MAX_PHRASE_CHARS {
                    push(
                        format!("{p}.phrases[{j}]"),
                        format!("must be 1-{MAX_PHRASE_CHARS} characters"),
                    );
                }
            }
            for (field, value) in [("pattern", &rule.pattern), ("exclude", &rule.exclude)] {
                if let Some(v) = value
                    && let Err(e) = compile_pattern(v)
                {
                    let reason = e.to_string();
                    let first = reason.lines().last().unwrap_or_default().trim();
                    push(
                        format!("{p}.{field}"),
                        format!("is not a valid regular expression: {first}"),
                    );
                }
            }
            if let Some(s) = rule.max_seconds
                && !(1..=86_400).contains(&s)
            {
                push(format!("{p}.max_seconds"), "must be 1-86400".into());
            }
            if let Some(t) = rule.threshold
                && !(t.is_finite() && (0.0..=1.0).contains(&t))
            {
                push(format!("{p}.threshold"), "must be between 0 and 1".into());
            }
            if let Some(n) = rule.min_matches
                && (n == 0 || n as usize > rule.phrases.len().max(1))
            {
                push(
                    format!("{p}.min_matches"),
                    "must be between 1 and the number of phrases".into(),
                );
            }
            if let Some(n) = rule.min_chars
                && !(1..=1000).contains(&n)
            {
                push(format!("{p}.min_chars"), "must be 1-1000".into());
            }
            if let Some(n) = rule.points
                && n > 100
            {
                push(format!("{p}.points"), "must be 0-100".into());
            }
            if rule
                .description
                .as_ref()
                .is_some_and(|d| d.chars().count() > 500)
            {
                push(
                    format!("{p}.description"),
                    "must be at most 500 characters".into(),
                );
            }
            if !categories.contains(&rule.category()) {
                push(
                    format!("{p}.category"),
                    format!(
                        "{:?} is not a category of the scorecard ({})",
                        rule.category(),
                        categories.join(", ")
                    ),
                );
            }
        }
        let mut seen = HashSet::new();
        for (i, c) in self.scorecard.categories.iter().enumerate() {
            let p = format!("{prefix}scorecard.categories[{i}]");
            if !crate::common::is_id(&c.id) {
                push(
                    format!("{p}.id"),
                    "must be 1-64 characters of a-z, 0-9, '-' or '_'".into(),
                );
            } else if !seen.insert(c.id.as_str()) {
                push(format!("{p}.id"), format!("duplicate category {:?}", c.id));
            }
            if !(1..=1000).contains(&c.weight) {
                push(format!("{p}.weight"), "must be 1-1000".into());
            }
            if c.name.as_ref().is_some_and(|n| n.chars().count() > 200) {
                push(format!("{p}.name"), "must be at most 200 characters".into());
            }
        }
        if self.scorecard.categories.is_empty() {
            push(
                format!("{prefix}scorecard.categories"),
                "must have at least one category".into(),
            );
        }
        let d = &self.scorecard.deductions;
        for (field, v) in [("minor", d.minor), ("major", d.major)] {
            if v > 100 {
                push(
                    format!("{prefix}scorecard.deductions.{field}"),
                    "must be 0-100".into(),
                );
            }
        }
        let r = &self.review;
        if !(r.sample_percent.is_finite() && (0.0..=100.0).contains(&r.sample_percent)) {
            push(
                format!("{prefix}review.sample_percent"),
                "must be between 0 and 100".into(),
            );
        }
        if let Some(s) = r.below_score
            && !(1..=100).contains(&s)
        {
            push(
                format!("{prefix}review.below_score"),
                "must be 1-100".into(),
            );
        }
        if let Some(s) = r.csat_at_most
            && !(1..=5).contains(&s)
        {
            push(format!("{prefix}review.csat_at_most"), "must be 1-5".into());
        }
        if r.appeal_days > 365 {
            push(
                format!("{prefix}review.appeal_days"),
                "must be 0-365".into(),
            );
        }
        if r.reviewers.len() > 200 {
            push(
                format!("{prefix}review.reviewers"),
                "must have at most 200 reviewers".into(),
            );
        }
        for (i, id) in r.reviewers.iter().enumerate() {
            if id.is_empty() || id.chars().count() > 64 {
                push(
                    format!("{prefix}review.reviewers[{i}]"),
                    "must be 1-64 characters".into(),
                );
            }
        }
        errors
    }
}

/// Reads a QA policy: a plain policy file (`rules:` …, as `kefu qa check --policy` takes) or
/// a `QaPolicy` resource (its spec). Every problem is reported with its path.
pub fn parse_policy(text: &str) -> Result<QaPolicySpec, Vec<FieldError>> {
    let value: serde_json::Value = serde_saphyr::from_str(text).map_err(|e| {
        vec![FieldError {
            path: String::new(),
            message: format!("not valid YAML: {e}"),
        }]
    })?;
    let (value, prefix) = match value.get("kind").and_then(|k| k.as_str()) {
        Some("QaPolicy") => (value.get("spec").cloned().unwrap_or_default(), "spec."),
        Some(other) => {
            return Err(vec![FieldError {
                path: "kind".into(),
                message: format!("{other:?} is not a QaPolicy"),
            }]);
        }
        None => (value, ""),
    };
    if !value.is_object() {
        return Err(vec![FieldError {
            path: prefix.trim_end_matches('.').into(),
            message: "must be a mapping with `rules`".into(),
        }]);
    }
    let spec: QaPolicySpec = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let path = crate::document::field_path(&path, &message);
        vec![FieldError {
            path: format!("{prefix}{path}").trim_end_matches('.').to_owned(),
            message,
        }]
    })?;
    let errors = spec.check_policy(prefix);
    if errors.is_empty() {
        Ok(spec)
    } else {
        Err(errors)
    }
}
