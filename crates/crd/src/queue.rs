//! `Queue`: where a tenant's (or merchant's) conversations wait for an agent.

use crate::common::CommonStatus;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "kefu.dev",
    version = "v1alpha1",
    kind = "Queue",
    namespaced,
    status = "CommonStatus",
    shortname = "kq",
    derive = "PartialEq",
    printcolumn = r#"{"name":"Tenant","type":"string","jsonPath":".spec.tenant"}"#,
    printcolumn = r#"{"name":"Merchant","type":"string","jsonPath":".spec.merchant"}"#,
    printcolumn = r#"{"name":"SLA %","type":"integer","jsonPath":".spec.sla.targetPercent"}"#,
    printcolumn = r#"{"name":"SLA s","type":"integer","jsonPath":".spec.sla.withinSeconds"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueueSpec {
    #[schemars(regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub tenant: String,
    /// A merchant of the tenant; absent for the platform's own queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub merchant: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skills: Vec<String>,
    /// BCP 47 tags, e.g. `zh-CN`, `en`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<String>,
    pub sla: Sla,
    /// A conversation waiting longer than this leaves the queue (to `overflow`, or a ticket).
    #[schemars(range(min = 1, max = 86400))]
    pub timeout_seconds: u32,
    /// Another Queue (same tenant) that takes conversations this one cannot serve in time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overflow: Option<OverflowTarget>,
}

/// "80% answered within 20 s".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Sla {
    #[schemars(range(min = 1, max = 100))]
    pub target_percent: u32,
    #[schemars(range(min = 1, max = 86400))]
    pub within_seconds: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OverflowTarget {
    #[schemars(regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub queue: String,
}
