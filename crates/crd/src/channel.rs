//! `Channel`: one way customers reach a tenant. Credentials are only ever a Secret reference.

use crate::common::{CommonStatus, SecretKeyRef};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "kefu.dev",
    version = "v1alpha1",
    kind = "Channel",
    namespaced,
    status = "CommonStatus",
    shortname = "kch",
    derive = "PartialEq",
    printcolumn = r#"{"name":"Tenant","type":"string","jsonPath":".spec.tenant"}"#,
    printcolumn = r#"{"name":"Type","type":"string","jsonPath":".spec.type"}"#,
    printcolumn = r#"{"name":"Enabled","type":"boolean","jsonPath":".spec.enabled"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChannelSpec {
    /// The owning Tenant (same namespace).
    #[schemars(regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub tenant: String,
    #[serde(rename = "type")]
    pub channel_type: ChannelType,
    /// The signing secret (HMAC of inbound bodies and outbound webhooks).
    pub credentials: Credentials,
    /// Where replies to customers are POSTed. Not needed by `web` channels, whose replies go to
    /// the customer's chat socket.
    #[serde(default, skip_serializing_if = "Webhook::is_unset")]
    pub webhook: Webhook,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// The channel kinds the gateway knows. An unknown type is a schema error, not a silent no-op.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChannelType {
    Api,
    Web,
    Wechat,
    Email,
    Sms,
    Weibo,
    Douyin,
    Marketplace,
    Voice,
}

impl ChannelType {
    /// The gateway's name for the type.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Web => "web",
            Self::Wechat => "wechat",
            Self::Email => "email",
            Self::Sms => "sms",
            Self::Weibo => "weibo",
            Self::Douyin => "douyin",
            Self::Marketplace => "marketplace",
            Self::Voice => "voice",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Credentials {
    pub secret_ref: SecretKeyRef,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Webhook {
    /// `http(s)://…`, at most 2048 bytes.
    #[schemars(length(min = 8, max = 2048), regex(pattern = r"^https?://"))]
    pub url: String,
    /// Per-attempt timeout of a delivery POST.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 60))]
    pub timeout_seconds: Option<u32>,
}

impl Webhook {
    /// No webhook given (a `web` channel).
    pub fn is_unset(&self) -> bool {
        self.url.is_empty() && self.timeout_seconds.is_none()
    }
}
