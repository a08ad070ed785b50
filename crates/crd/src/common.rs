//! Pieces every kind shares: ids, references, and the status block.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The id pattern of tenants, merchants, channels, queues and policies — the same rule as the
/// gateway's admin API (`check_id`), so anything the CRD accepts the gateway accepts.
pub const ID_PATTERN: &str = r"^[a-z0-9_-]{1,64}$";

/// Whether `id` is 1–64 bytes of `a-z`, `0-9`, `-`, `_`.
pub fn is_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// A key in a Secret of the resource's namespace. Outside Kubernetes `kefu apply` resolves it
/// from `KEFU_SECRET_<NAME>__<KEY>` or `<secrets-dir>/<name>/<key>` (see the README).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretKeyRef {
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// A key in a ConfigMap of the resource's namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigMapKeyRef {
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// The status every Kefu resource reports: which generation was last acted on, and conditions
/// (`Ready` at least).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommonStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// The condition types the operator sets.
pub mod condition {
    pub const READY: &str = "Ready";
    /// Tenant only: how autoscaling is done (KEDA, or the HPA fallback).
    pub const AUTOSCALING: &str = "Autoscaling";
}

/// A `Ready` (or other) condition with a stable reason and a human message.
pub fn make_condition(
    type_: &str,
    ok: bool,
    reason: &str,
    message: impl Into<String>,
    generation: Option<i64>,
    now: chrono::DateTime<chrono::Utc>,
) -> Condition {
    Condition {
        type_: type_.to_owned(),
        status: if ok { "True" } else { "False" }.to_owned(),
        reason: reason.to_owned(),
        message: message.into(),
        observed_generation: generation,
        last_transition_time: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::from_second(now.timestamp())
                .unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
        ),
    }
}
