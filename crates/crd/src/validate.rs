//! Validation beyond the schema, shared by the operator, `kefu validate` and `kefu apply`.
//! Every error names the field path (`spec.peakEvents[0].end`), as the apiserver does for the
//! schema and CEL rules, so a user sees the same kind of message everywhere.

use crate::channel::ChannelSpec;
use crate::common::is_id;
use crate::qa::QaPolicySpec;
use crate::queue::QueueSpec;
use crate::routing::RoutingPolicySpec;
use crate::tenant::{PeakEvent, TenantSpec};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use std::collections::HashSet;
use std::fmt;

/// One problem, at one field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Collects errors under a path prefix.
#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            path: path.into(),
            message: message.into(),
        });
    }

    fn id(&mut self, path: impl Into<String>, id: &str) {
        if !is_id(id) {
            self.push(path, "must be 1-64 characters of a-z, 0-9, '-' or '_'");
        }
    }

    fn text(&mut self, path: impl Into<String>, value: &str, max: usize) {
        if value.trim().is_empty() || value.chars().count() > max {
            self.push(path, format!("must be 1-{max} characters"));
        }
    }

    fn weight(&mut self, path: impl Into<String>, value: f64) {
        if !value.is_finite() || !(0.0..=1000.0).contains(&value) {
            self.push(path, "must be between 0 and 1000");
        }
    }
}

/// Checks a spec; `Ok` or every problem found, each with its path from the resource root.
pub trait Validate {
    fn validate(&self) -> Result<(), Vec<FieldError>>;
}

fn finish(errors: Errors) -> Result<(), Vec<FieldError>> {
    if errors.0.is_empty() {
        Ok(())
    } else {
        Err(errors.0)
    }
}

/// Parses a peak event's local `YYYY-MM-DDTHH:MM:SS` in its time zone.
pub fn local_instant(value: &str, zone: &str) -> Result<DateTime<Utc>, String> {
    let tz: chrono_tz::Tz = zone
        .parse()
        .map_err(|_| format!("unknown time zone {zone:?}"))?;
    let naive = NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S")
        .map_err(|_| format!("{value:?} is not a YYYY-MM-DDTHH:MM:SS local time"))?;
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| format!("{value} does not exist in {zone} (a daylight-saving gap)"))
}

impl PeakEvent {
    /// The event's `[start, end)` in UTC.
    pub fn window(&self) -> Result<(DateTime<Utc>, DateTime<Utc>), String> {
        Ok((
            local_instant(&self.start, &self.time_zone)?,
            local_instant(&self.end, &self.time_zone)?,
        ))
    }
}

impl Validate for TenantSpec {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut e = Errors::default();
        e.text("spec.displayName", &self.display_name, 200);
        let mut ids = HashSet::new();
        for (i, m) in self.merchants.iter().enumerate() {
            let p = format!("spec.merchants[{i}]");
            e.id(format!("{p}.id"), &m.id);
            if !ids.insert(&m.id) {
                e.push(
                    format!("{p}.id"),
                    format!("duplicate merchant id {:?}", m.id),
                );
            }
            e.text(format!("{p}.name"), &m.name, 200);
            if m.wait_threshold_seconds == 0 || m.wait_threshold_seconds > 86_400 {
                e.push(
                    format!("{p}.waitThresholdSeconds"),
                    "must be 1-86400 seconds",
                );
            }
        }
        let mut tiers = HashSet::new();
        for (i, t) in self.member_tiers.iter().enumerate() {
            let p = format!("spec.memberTiers[{i}]");
            e.id(format!("{p}.name"), &t.name);
            if !tiers.insert(&t.name) {
                e.push(format!("{p}.name"), format!("duplicate tier {:?}", t.name));
            }
            if t.priority_weight > 1000 {
                e.push(format!("{p}.priorityWeight"), "must be 0-1000");
            }
        }
        let mut events = HashSet::new();
        for (i, ev) in self.peak_events.iter().enumerate() {
            let p = format!("spec.peakEvents[{i}]");
            e.id(format!("{p}.name"), &ev.name);
            if !events.insert(&ev.name) {
                e.push(
                    format!("{p}.name"),
                    format!("duplicate event {:?}", ev.name),
                );
            }
            if ev.time_zone.parse::<chrono_tz::Tz>().is_err() {
                e.push(
                    format!("{p}.timeZone"),
                    format!("unknown time zone {:?}", ev.time_zone),
                );
            }
            let start = local_instant(&ev.start, &ev.time_zone);
            let end = local_instant(&ev.end, &ev.time_zone);
            if let Err(m) = &start
                && !m.starts_with("unknown time zone")
            {
                e.push(format!("{p}.start"), m.clone());
            }
            if let Err(m) = &end
                && !m.starts_with("unknown time zone")
            {
                e.push(format!("{p}.end"), m.clone());
            }
            if let (Ok(s), Ok(t)) = (start, end)
                && t <= s
            {
                e.push(format!("{p}.end"), "end must be after start");
            }
            if !ev.traffic_multiplier.is_finite() || !(1.0..=100.0).contains(&ev.traffic_multiplier)
            {
                e.push(
                    format!("{p}.trafficMultiplier"),
                    "must be between 1 and 100",
                );
            }
            if ev.pre_scale_lead_minutes > 1440 {
                e.push(format!("{p}.preScaleLeadMinutes"), "must be 0-1440");
            }
        }
        let s = &self.scaling;
        if s.min_replicas == 0 || s.min_replicas > 1000 {
            e.push("spec.scaling.minReplicas", "must be 1-1000");
        }
        if s.max_replicas < s.min_replicas || s.max_replicas > 1000 {
            e.push(
                "spec.scaling.maxReplicas",
                "must be at least minReplicas and at most 1000",
            );
        }
        if s.queue_length_per_replica == 0 || s.queue_length_per_replica > 100_000 {
            e.push("spec.scaling.queueLengthPerReplica", "must be 1-100000");
        }
        if !(1..=100).contains(&self.bot.handoff_after_misses) {
            e.push("spec.bot.handoffAfterMisses", "must be 1-100");
        }
        let a = &self.analytics;
        if a.time_zone.parse::<chrono_tz::Tz>().is_err() {
            e.push(
                "spec.analytics.timeZone",
                format!("unknown time zone {:?}", a.time_zone),
            );
        }
        if !(1..=720).contains(&a.attribution_window_hours) {
            e.push("spec.analytics.attributionWindowHours", "must be 1-720");
        }
        if a.short_abandon_seconds > 3600 {
            e.push("spec.analytics.shortAbandonSeconds", "must be 0-3600");
        }
        if let Err(errors) = ticketing_rules(&self.ticketing) {
            for (field, reason) in errors {
                e.push(field, reason);
            }
        }
        let kinds = &self.customers.merge_identity_kinds;
        for (i, k) in kinds.iter().enumerate() {
            if kinds[..i].contains(k) {
                e.push(
                    format!("spec.customers.mergeIdentityKinds[{i}]"),
                    format!("{} is listed twice", k.as_str()),
                );
            }
        }
        finish(e)
    }
}

impl Validate for ChannelSpec {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut e = Errors::default();
        e.id("spec.tenant", &self.tenant);
        for (_, field, r) in self.credentials.refs() {
            if r.name.is_empty() {
                e.push(
                    format!("spec.credentials.{field}.name"),
                    "must not be empty",
                );
            }
            if r.key.is_empty() {
                e.push(format!("spec.credentials.{field}.key"), "must not be empty");
            }
        }
        let url = &self.webhook.url;
        let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
        let needed = self.channel_type.needs_webhook() || !url.is_empty();
        if needed && (!scheme_ok || url.len() > 2048 || url.contains(char::is_whitespace)) {
            e.push(
                "spec.webhook.url",
                "must be an http(s) URL of at most 2048 bytes",
            );
        }
        if let Some(t) = self.webhook.timeout_seconds
            && !(1..=60).contains(&t)
        {
            e.push("spec.webhook.timeoutSeconds", "must be 1-60");
        }
        e.0.extend(channel_settings(
            self.channel_type,
            &self.settings,
            "spec.settings",
        ));
        let given: Vec<&str> = self
            .credentials
            .refs()
            .iter()
            .map(|(name, _, _)| *name)
            .collect();
        for name in required_credentials(self.channel_type, &self.settings) {
            if !given.contains(&name) {
                let field = crate::channel::credential::ALL
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map_or(name, |(_, f)| *f);
                e.push(
                    format!("spec.credentials.{field}"),
                    format!("is required by a {} channel", self.channel_type.as_str()),
                );
            }
        }
        finish(e)
    }
}

/// The further credentials (`app_secret`, `aes_key`) a channel of `t` with `settings` needs.
pub fn required_credentials(
    t: crate::ChannelType,
    settings: &crate::channel::ChannelSettings,
) -> Vec<&'static str> {
    use crate::ChannelType::*;
    use crate::channel::credential::{AES_KEY, APP_SECRET};
    use crate::channel::{SmsProvider, WechatMode};
    match t {
        Wechat | Miniprogram => {
            let mode = settings.wechat.as_ref().map(|w| w.mode).unwrap_or_default();
            if mode == WechatMode::Plain {
                vec![APP_SECRET]
            } else {
                vec![APP_SECRET, AES_KEY]
            }
        }
        // WeCom callbacks are always encrypted.
        Wecom => vec![APP_SECRET, AES_KEY],
        Sms if settings
            .sms
            .as_ref()
            .is_some_and(|s| s.provider == SmsProvider::Aliyun) =>
        {
            vec![APP_SECRET]
        }
        Douyin => vec![APP_SECRET],
        _ => Vec::new(),
    }
}

/// Checks a channel's per-type settings: the block its type needs is there, no other block
/// is, and the block's values are in range. Paths start with `prefix` (`spec.settings` in a
/// resource, `settings` in the gateway's admin API).
pub fn channel_settings(
    t: crate::ChannelType,
    s: &crate::channel::ChannelSettings,
    prefix: &str,
) -> Vec<FieldError> {
    use crate::ChannelType::*;
    let mut e = Errors::default();
    let own: Option<&str> = match t {
        Wechat | Miniprogram => Some("wechat"),
        Wecom => Some("wecom"),
        Sms => Some("sms"),
        Douyin => Some("douyin"),
        Voice => Some("voice"),
        Api | Web | Email | Weibo | Marketplace => None,
    };
    for block in s.blocks() {
        if Some(block) != own {
            e.push(
                format!("{prefix}.{block}"),
                format!("is not a setting of a {} channel", t.as_str()),
            );
        }
    }
    let required = matches!(t, Wechat | Miniprogram | Wecom | Sms | Douyin);
    if required
        && let Some(block) = own
        && !s.blocks().contains(&block)
    {
        e.push(
            format!("{prefix}.{block}"),
            format!("is required by a {} channel", t.as_str()),
        );
    }
    let url = |e: &mut Errors, path: String, v: &Option<String>| {
        if let Some(u) = v
            && (!(u.starts_with("https://") || u.starts_with("http://"))
                || u.len() > 2048
                || u.contains(char::is_whitespace))
        {
            e.push(path, "must be an http(s) URL of at most 2048 bytes");
        }
    };
    let range = |e: &mut Errors, path: String, v: Option<u32>, lo: u32, hi: u32| {
        if let Some(v) = v
            && !(lo..=hi).contains(&v)
        {
            e.push(path, format!("must be {lo}-{hi}"));
        }
    };
    let token = |e: &mut Errors, path: String, v: &str, max: usize| {
        if v.is_empty()
            || v.len() > max
            || !v
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.+@".contains(&b))
        {
            e.push(
                path,
                format!("must be 1-{max} letters, digits or - _ . + @"),
            );
        }
    };
    if let Some(w) = &s.wechat {
        let p = format!("{prefix}.wechat");
        let app_id_ok = w.app_id.len() == 18
            && w.app_id.starts_with("wx")
            && w.app_id[2..].bytes().all(|b| b.is_ascii_alphanumeric());
        if !app_id_ok {
            e.push(format!("{p}.appId"), "must be wx and 16 letters or digits");
        }
        range(&mut e, format!("{p}.windowHours"), w.window_hours, 1, 48);
        range(&mut e, format!("{p}.quota"), w.quota, 1, 100);
        url(&mut e, format!("{p}.apiBase"), &w.api_base);
        if let Some(welcome) = &w.welcome {
            if t == Miniprogram {
                e.push(format!("{p}.welcome"), "mini-programs have no follow event");
            }
            e.text(format!("{p}.welcome"), welcome, 600);
        }
        if let Some(tpl) = &w.template {
            if t == Miniprogram {
                e.push(
                    format!("{p}.template"),
                    "mini-programs have no template messages",
                );
            }
            token(
                &mut e,
                format!("{p}.template.templateId"),
                &tpl.template_id,
                128,
            );
            if let Some(f) = &tpl.field {
                token(&mut e, format!("{p}.template.field"), f, 64);
            }
        }
    }
    if let Some(w) = &s.wecom {
        let p = format!("{prefix}.wecom");
        token(&mut e, format!("{p}.corpId"), &w.corp_id, 64);
        token(&mut e, format!("{p}.openKfId"), &w.open_kf_id, 64);
        range(&mut e, format!("{p}.windowHours"), w.window_hours, 1, 48);
        range(&mut e, format!("{p}.quota"), w.quota, 1, 100);
        url(&mut e, format!("{p}.apiBase"), &w.api_base);
    }
    if let Some(sms) = &s.sms {
        let p = format!("{prefix}.sms");
        if sms.from.trim().is_empty() || sms.from.chars().count() > 64 {
            e.push(format!("{p}.from"), "must be 1-64 characters");
        }
        token(&mut e, format!("{p}.account"), &sms.account, 128);
        use crate::channel::SmsProvider;
        match sms.provider {
            SmsProvider::Aliyun => match &sms.template_code {
                Some(code) => token(&mut e, format!("{p}.templateCode"), code, 64),
                None => e.push(
                    format!("{p}.templateCode"),
                    "is required by Aliyun (replies are sent with an approved template)",
                ),
            },
            SmsProvider::Twilio => {
                if sms.template_code.is_some() {
                    e.push(format!("{p}.templateCode"), "is an Aliyun setting");
                }
            }
        }
        if let Some(param) = &sms.template_param {
            token(&mut e, format!("{p}.templateParam"), param, 64);
        }
        url(&mut e, format!("{p}.publicUrl"), &sms.public_url);
        url(&mut e, format!("{p}.apiBase"), &sms.api_base);
    }
    if let Some(d) = &s.douyin {
        let p = format!("{prefix}.douyin");
        token(&mut e, format!("{p}.clientKey"), &d.client_key, 64);
        range(&mut e, format!("{p}.windowHours"), d.window_hours, 1, 48);
        range(&mut e, format!("{p}.quota"), d.quota, 1, 100);
        url(&mut e, format!("{p}.apiBase"), &d.api_base);
    }
    if let Some(v) = &s.voice
        && let Some(m) = &v.merchant
    {
        e.id(format!("{prefix}.voice.merchant"), m);
    }
    e.0
}

impl Validate for QueueSpec {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut e = Errors::default();
        e.id("spec.tenant", &self.tenant);
        if let Some(m) = &self.merchant {
            e.id("spec.merchant", m);
        }
        for (i, s) in self.skills.iter().enumerate() {
            e.text(format!("spec.skills[{i}]"), s, 64);
        }
        for (i, l) in self.languages.iter().enumerate() {
            let ok = !l.is_empty()
                && l.len() <= 35
                && l.split('-').all(|part| {
                    !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric())
                });
            if !ok {
                e.push(
                    format!("spec.languages[{i}]"),
                    format!("{l:?} is not a BCP 47 language tag"),
                );
            }
        }
        if !(1..=100).contains(&self.sla.target_percent) {
            e.push("spec.sla.targetPercent", "must be 1-100");
        }
        if !(1..=86_400).contains(&self.sla.within_seconds) {
            e.push("spec.sla.withinSeconds", "must be 1-86400");
        }
        if !(1..=86_400).contains(&self.timeout_seconds) {
            e.push("spec.timeoutSeconds", "must be 1-86400");
        }
        if let Some(o) = &self.overflow {
            e.id("spec.overflow.queue", &o.queue);
        }
        finish(e)
    }
}

impl Validate for RoutingPolicySpec {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut e = Errors::default();
        e.id("spec.tenant", &self.tenant);
        let w = &self.weights;
        e.weight("spec.weights.tier", w.tier);
        e.weight("spec.weights.page", w.page);
        e.weight("spec.weights.sentiment", w.sentiment);
        e.weight("spec.weights.aging", w.aging);
        if !(1..=600).contains(&self.accept_timeout_seconds) {
            e.push("spec.acceptTimeoutSeconds", "must be 1-600");
        }
        if self.skill_relaxation_seconds > 86_400 {
            e.push("spec.skillRelaxationSeconds", "must be 0-86400");
        }
        finish(e)
    }
}

impl Validate for QaPolicySpec {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut e = Errors::default();
        e.id("spec.tenant", &self.tenant);
        e.0.extend(self.check_policy("spec."));
        finish(e)
    }
}

/// The checks of a Tenant's `ticketing` block (the ticketing service checks the same again).
fn ticketing_rules(t: &crate::tenant::TicketingRules) -> Result<(), Vec<(String, String)>> {
    let mut e: Vec<(String, String)> = Vec::new();
    let at = |s: &str| format!("spec.ticketing.{s}");
    for (i, s) in t.sub_statuses.iter().enumerate() {
        if t.sub_statuses[..i].iter().any(|o| o.name == s.name) {
            e.push((
                at(&format!("subStatuses[{i}].name")),
                format!("{} is listed twice", s.name),
            ));
        }
    }
    for (i, p) in t.sla_policies.iter().enumerate() {
        if t.sla_policies[..i].iter().any(|o| o.priority == p.priority) {
            e.push((
                at(&format!("slaPolicies[{i}].priority")),
                "has a policy already".into(),
            ));
        }
    }
    if let Some(c) = &t.calendar {
        if c.time_zone.parse::<chrono_tz::Tz>().is_err() {
            e.push((
                at("calendar.timeZone"),
                format!("unknown time zone {:?}", c.time_zone),
            ));
        }
        const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let minute = |t: &str| -> Option<u32> {
            let (h, m) = t.split_once(':')?;
            if h.len() != 2 || m.len() != 2 {
                return None;
            }
            let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
            (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
        };
        for (day, spans) in &c.hours {
            if !DAYS.contains(&day.as_str()) {
                e.push((
                    at(&format!("calendar.hours.{day}")),
                    "days are mon, tue, wed, thu, fri, sat, sun".into(),
                ));
                continue;
            }
            let mut list = Vec::new();
            for (j, span) in spans.iter().enumerate() {
                let parsed = span
                    .split_once('-')
                    .and_then(|(s, e)| Some((minute(s.trim())?, minute(e.trim())?)))
                    .filter(|(s, e)| s < e);
                match parsed {
                    Some(p) => list.push(p),
                    None => e.push((
                        at(&format!("calendar.hours.{day}[{j}]")),
                        "must be HH:MM-HH:MM with the end after the start".into(),
                    )),
                }
            }
            list.sort_unstable();
            if list.windows(2).any(|w| w[0].1 > w[1].0) {
                e.push((
                    at(&format!("calendar.hours.{day}")),
                    "intervals must not overlap".into(),
                ));
            }
        }
        let business = t.sla_policies.is_empty() || t.sla_policies.iter().any(|p| p.business_hours);
        if business && !c.hours.is_empty() && c.hours.values().all(Vec::is_empty) {
            e.push((
                at("calendar.hours"),
                "business-hours policies need working hours on at least one weekday".into(),
            ));
        }
        for (name, list) in [("holidays", &c.holidays), ("workdays", &c.workdays)] {
            for (i, d) in list.iter().enumerate() {
                if chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err() {
                    e.push((
                        at(&format!("calendar.{name}[{i}]")),
                        "must be a date YYYY-MM-DD".into(),
                    ));
                }
            }
        }
        if let Some(d) = c.workdays.iter().find(|d| c.holidays.contains(d)) {
            e.push((at("calendar.workdays"), format!("{d} is also a holiday")));
        }
    }
    if e.is_empty() { Ok(()) } else { Err(e) }
}
