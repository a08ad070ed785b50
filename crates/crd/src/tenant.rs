//! `Tenant`: a platform (brand or marketplace) with its merchants, member tiers, isolation,
//! scheduled peak events and bot knowledge base. The resource's name is the tenant id.

use crate::common::{CommonStatus, ConfigMapKeyRef};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Local date-times in peak events: `YYYY-MM-DDTHH:MM:SS`, no offset (the event's `timeZone`
/// gives it). One fixed width, so the CRD's CEL rule can compare them as strings.
pub const LOCAL_TIME_PATTERN: &str = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$";

#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "kefu.dev",
    version = "v1alpha1",
    kind = "Tenant",
    namespaced,
    status = "TenantStatus",
    shortname = "kt",
    derive = "PartialEq",
    printcolumn = r#"{"name":"Display Name","type":"string","jsonPath":".spec.displayName"}"#,
    printcolumn = r#"{"name":"Isolation","type":"string","jsonPath":".spec.isolation"}"#,
    printcolumn = r#"{"name":"Min Replicas","type":"integer","jsonPath":".status.minReplicas"}"#,
    printcolumn = r#"{"name":"Peak","type":"string","jsonPath":".status.activePeakEvent"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantSpec {
    #[schemars(length(min = 1, max = 200))]
    pub display_name: String,
    #[serde(default)]
    pub isolation: Isolation,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merchants: Vec<Merchant>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub member_tiers: Vec<MemberTier>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peak_events: Vec<PeakEvent>,
    /// The bot's FAQ knowledge base (JSON lines) in a ConfigMap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knowledge_base: Option<KnowledgeBaseRef>,
    /// Replica bounds and the queue depth one replica is sized for.
    #[serde(default)]
    pub scaling: Scaling,
    /// How one person is recognised across channels.
    #[serde(default)]
    pub customers: CustomerRules,
    /// When the bot hands a conversation to a person.
    #[serde(default)]
    pub bot: BotRules,
    /// How the tenant's numbers are counted: reporting time zone, order attribution.
    #[serde(default)]
    pub analytics: AnalyticsRules,
    /// Tickets: sub-statuses, SLA policies per priority, the business calendar.
    #[serde(default, skip_serializing_if = "TicketingRules::is_default")]
    pub ticketing: TicketingRules,
}

/// How analytics counts the tenant's numbers (docs/metrics.md). Changes apply without a restart
/// to what is counted from then on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnalyticsRules {
    /// IANA time zone the reports' days and hours are counted in, e.g. `Asia/Shanghai`.
    #[serde(default = "default_time_zone")]
    #[schemars(length(min = 1, max = 64))]
    pub time_zone: String,
    /// An order placed this long after a conversation is attributed to it.
    #[serde(default = "default_attribution_window")]
    #[schemars(range(min = 1, max = 720))]
    pub attribution_window_hours: u32,
    /// Which agent an order is attributed to when several talked with the customer.
    #[serde(default)]
    pub attribution_rule: AttributionRule,
    /// Conversations abandoned after waiting less than this are short abandons (not held
    /// against the service level).
    #[serde(default = "default_short_abandon")]
    #[schemars(range(max = 3600))]
    pub short_abandon_seconds: u32,
}

fn default_attribution_window() -> u32 {
    24
}

fn default_short_abandon() -> u32 {
    10
}

impl Default for AnalyticsRules {
    fn default() -> Self {
        Self {
            time_zone: default_time_zone(),
            attribution_window_hours: default_attribution_window(),
            attribution_rule: AttributionRule::default(),
            short_abandon_seconds: default_short_abandon(),
        }
    }
}

/// The tenant's ticketing settings (the ticketing service; README "Tickets"). Changes apply
/// without a restart to what happens from then on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TicketingRules {
    /// Sub-statuses under the status categories; each category without one gets one named
    /// after it (pending and on_hold pause the SLA).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    pub sub_statuses: Vec<TicketSubStatus>,
    /// SLA targets per priority; a priority without a policy keeps the defaults.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 4))]
    pub sla_policies: Vec<SlaPolicy>,
    /// The working calendar business-hours targets count in (default Mon–Fri 09:00–18:00,
    /// Asia/Shanghai).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<BusinessCalendar>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketCategory {
    New,
    Open,
    Pending,
    OnHold,
    Solved,
    Closed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TicketPriority {
    Urgent,
    High,
    Normal,
    Low,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TicketSubStatus {
    #[schemars(regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub name: String,
    pub category: TicketCategory,
    /// Whether a ticket in this sub-status stops its SLA clocks.
    #[serde(default)]
    pub pauses_sla: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SlaPolicy {
    pub priority: TicketPriority,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 527040))]
    pub first_reply_minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 527040))]
    pub resolution_minutes: Option<u32>,
    /// Counted in the calendar's working hours (default) or in every hour.
    #[serde(default = "yes")]
    pub business_hours: bool,
    /// How long (in the same hours) before a breach the warning fires; 0: no warning.
    #[serde(default)]
    #[schemars(range(max = 527040))]
    pub warn_before_minutes: u32,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BusinessCalendar {
    /// IANA time zone, e.g. `Asia/Shanghai`.
    #[schemars(length(min = 1, max = 64))]
    pub time_zone: String,
    /// Working hours per weekday (`mon` … `sun`): `["09:00-12:00", "13:30-18:00"]`. Days not
    /// listed are off; empty: Mon–Fri 09:00–18:00.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub hours: std::collections::BTreeMap<String, Vec<String>>,
    /// Days off (`YYYY-MM-DD`), e.g. the public holidays.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1000))]
    pub holidays: Vec<String>,
    /// Days worked although their weekday is off (`YYYY-MM-DD`, make-up workdays).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1000))]
    pub workdays: Vec<String>,
}

impl TicketingRules {
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// `lastAgent`: the last agent who wrote to the customer before the order; `firstAgent`: the
/// first within the window; `split`: equal shares for every agent within the window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum AttributionRule {
    #[default]
    LastAgent,
    FirstAgent,
    Split,
}

impl AttributionRule {
    /// The name analytics and its API use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LastAgent => "last_agent",
            Self::FirstAgent => "first_agent",
            Self::Split => "split",
        }
    }
}

/// Identity kinds a channel can vouch for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    Phone,
    Email,
    MemberId,
    WechatOpenid,
    WechatUnionid,
}

impl IdentityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Phone => "phone",
            Self::Email => "email",
            Self::MemberId => "member_id",
            Self::WechatOpenid => "wechat_openid",
            Self::WechatUnionid => "wechat_unionid",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomerRules {
    /// Two customers who claim the same identifier of one of these kinds are merged
    /// automatically (the one who held it first survives).
    #[serde(default = "default_merge_kinds")]
    pub merge_identity_kinds: Vec<IdentityKind>,
}

fn default_merge_kinds() -> Vec<IdentityKind> {
    vec![
        IdentityKind::Phone,
        IdentityKind::MemberId,
        IdentityKind::WechatUnionid,
    ]
}

impl Default for CustomerRules {
    fn default() -> Self {
        Self {
            merge_identity_kinds: default_merge_kinds(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BotRules {
    /// Consecutive messages the bot cannot answer before a person takes over.
    #[serde(default = "default_misses")]
    #[schemars(range(min = 1, max = 100))]
    pub handoff_after_misses: u32,
}

fn default_misses() -> u32 {
    3
}

impl Default for BotRules {
    fn default() -> Self {
        Self {
            handoff_after_misses: default_misses(),
        }
    }
}

/// `shared`: served by the platform's deployments. `dedicated`: its own gateway, session and bot
/// Deployments and its own RabbitMQ vhost, in the tenant's namespace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Isolation {
    #[default]
    Shared,
    Dedicated,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Merchant {
    #[schemars(regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub id: String,
    #[schemars(length(min = 1, max = 200))]
    pub name: String,
    /// When the merchant's queue overflows to the platform's queues.
    #[serde(default)]
    pub overflow: OverflowMode,
    /// For `busy`: a conversation waiting longer than this overflows.
    #[serde(default = "default_wait_threshold")]
    pub wait_threshold_seconds: u32,
}

fn default_wait_threshold() -> u32 {
    60
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OverflowMode {
    #[default]
    Never,
    Always,
    Busy,
    Offline,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MemberTier {
    #[schemars(regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub name: String,
    /// Added to a waiting conversation's priority.
    #[schemars(range(min = 0, max = 1000))]
    pub priority_weight: u32,
}

/// A scheduled surge (Double 11, 618, a live-stream sale): replicas are raised from
/// `start − preScaleLeadMinutes` to `end`, by `trafficMultiplier`, then restored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[x_kube(validation = Rule::new("self.end > self.start").message("end must be after start").field_path(".end"))]
pub struct PeakEvent {
    #[schemars(regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub name: String,
    /// Local time in `timeZone`, `YYYY-MM-DDTHH:MM:SS`.
    #[schemars(regex(pattern = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$"))]
    pub start: String,
    #[schemars(regex(pattern = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$"))]
    pub end: String,
    /// IANA time zone, e.g. `Asia/Shanghai`.
    #[serde(default = "default_time_zone")]
    #[schemars(length(min = 1, max = 64))]
    pub time_zone: String,
    /// Expected traffic relative to normal; minimum replicas are multiplied by it.
    #[schemars(range(min = 1.0, max = 100.0))]
    pub traffic_multiplier: f64,
    /// How long before `start` the extra replicas are started.
    #[serde(default = "default_lead")]
    #[schemars(range(max = 1440))]
    pub pre_scale_lead_minutes: u32,
}

fn default_time_zone() -> String {
    "UTC".into()
}

fn default_lead() -> u32 {
    30
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KnowledgeBaseRef {
    pub config_map_ref: ConfigMapKeyRef,
}

/// Autoscaling bounds of the consuming services (session, gateway delivery) for this tenant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[x_kube(validation = Rule::new("self.maxReplicas >= self.minReplicas").message("maxReplicas must be at least minReplicas").field_path(".maxReplicas"))]
pub struct Scaling {
    #[serde(default = "default_min")]
    #[schemars(range(min = 1, max = 1000))]
    pub min_replicas: u32,
    #[serde(default = "default_max")]
    #[schemars(range(min = 1, max = 1000))]
    pub max_replicas: u32,
    /// Ready messages per replica the autoscaler aims for (KEDA `QueueLength`).
    #[serde(default = "default_queue_per_replica")]
    #[schemars(range(min = 1, max = 100000))]
    pub queue_length_per_replica: u32,
}

fn default_min() -> u32 {
    2
}
fn default_max() -> u32 {
    20
}
fn default_queue_per_replica() -> u32 {
    100
}

impl Default for Scaling {
    fn default() -> Self {
        Self {
            min_replicas: default_min(),
            max_replicas: default_max(),
            queue_length_per_replica: default_queue_per_replica(),
        }
    }
}

/// What the operator last did for the tenant: conditions (`Ready`, `Autoscaling`), the minimum
/// replicas in force and the peak event behind it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantStatus {
    #[serde(flatten)]
    pub common: CommonStatus,
    /// `keda` or `hpa` (fallback when KEDA's CRD is absent); dedicated tenants only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaler: Option<String>,
    /// The minimum replicas in force (raised during a peak event); for a shared tenant, that of
    /// the platform's deployments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_replicas: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_peak_event: Option<String>,
    /// When the minimum changes next (RFC 3339), if a peak event is ahead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_scale_change: Option<String>,
}
