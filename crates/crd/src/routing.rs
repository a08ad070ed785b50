//! `RoutingPolicy`: how a tenant's waiting conversations are ordered and given to agents.

use crate::common::CommonStatus;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "kefu.dev",
    version = "v1alpha1",
    kind = "RoutingPolicy",
    namespaced,
    status = "CommonStatus",
    shortname = "krp",
    derive = "PartialEq",
    printcolumn = r#"{"name":"Tenant","type":"string","jsonPath":".spec.tenant"}"#,
    printcolumn = r#"{"name":"Strategy","type":"string","jsonPath":".spec.strategy"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoutingPolicySpec {
    #[schemars(regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub tenant: String,
    #[serde(default)]
    pub strategy: Strategy,
    #[serde(default)]
    pub weights: PriorityWeights,
    /// An offered conversation not accepted within this is taken back and re-offered.
    #[serde(default = "default_accept")]
    #[schemars(range(min = 1, max = 600))]
    pub accept_timeout_seconds: u32,
    /// After this long in the queue, required skills are relaxed.
    #[serde(default = "default_relax")]
    #[schemars(range(min = 0, max = 86400))]
    pub skill_relaxation_seconds: u32,
    /// Prefer the agent who served the customer last.
    #[serde(default = "yes")]
    pub sticky_agent: bool,
}

fn default_accept() -> u32 {
    30
}
fn default_relax() -> u32 {
    120
}
fn yes() -> bool {
    true
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    #[default]
    LeastLoad,
    RoundRobin,
    LongestIdle,
}

/// Priority = queue base + tier × `tier` + page × `page` + sentiment × `sentiment` + waited
/// seconds × `aging`. Weights are non-negative.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PriorityWeights {
    #[schemars(range(min = 0.0, max = 1000.0))]
    pub tier: f64,
    #[schemars(range(min = 0.0, max = 1000.0))]
    pub page: f64,
    #[schemars(range(min = 0.0, max = 1000.0))]
    pub sentiment: f64,
    #[schemars(range(min = 0.0, max = 1000.0))]
    pub aging: f64,
}

impl Default for PriorityWeights {
    fn default() -> Self {
        Self {
            tier: 1.0,
            page: 1.0,
            sentiment: 1.0,
            aging: 1.0,
        }
    }
}
