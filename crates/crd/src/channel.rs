//! `Channel`: one way customers reach a tenant. Credentials are only ever Secret references;
//! what a channel type needs besides them (a WeChat AppID, an SMS provider, …) is in
//! `settings`, under the block named after the type.

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
    /// The channel's secrets, by reference.
    pub credentials: Credentials,
    /// Where replies to customers are POSTed. Needed by the types that reply through a webhook
    /// of the tenant's (`api`, `weibo`, `marketplace`); the others reply through the
    /// provider's API or the customer's socket.
    #[serde(default, skip_serializing_if = "Webhook::is_unset")]
    pub webhook: Webhook,
    /// What the type needs besides secrets (see [`ChannelSettings`]).
    #[serde(default, skip_serializing_if = "ChannelSettings::is_empty")]
    pub settings: ChannelSettings,
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
    /// Signed JSON in, signed webhook out (a tenant's own app or bridge).
    Api,
    /// The chat widget's WebSocket.
    Web,
    /// A WeChat Official Account (message push, customer-service message API).
    Wechat,
    /// A WeChat mini-program's customer service (the same push, JSON or XML).
    Miniprogram,
    /// WeChat Customer Service through WeCom (`kf/sync_msg`, `kf/send_msg`).
    Wecom,
    Email,
    /// SMS through Aliyun or Twilio.
    Sms,
    /// Through the API channel's protocol (a tenant's bridge).
    Weibo,
    /// Douyin (TikTok China) enterprise account customer service.
    Douyin,
    /// Through the API channel's protocol (a tenant's bridge).
    Marketplace,
    /// The 400 hotline's call events.
    Voice,
}

impl ChannelType {
    pub const ALL: &[ChannelType] = &[
        Self::Api,
        Self::Web,
        Self::Wechat,
        Self::Miniprogram,
        Self::Wecom,
        Self::Email,
        Self::Sms,
        Self::Weibo,
        Self::Douyin,
        Self::Marketplace,
        Self::Voice,
    ];

    /// The gateway's name for the type.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Web => "web",
            Self::Wechat => "wechat",
            Self::Miniprogram => "miniprogram",
            Self::Wecom => "wecom",
            Self::Email => "email",
            Self::Sms => "sms",
            Self::Weibo => "weibo",
            Self::Douyin => "douyin",
            Self::Marketplace => "marketplace",
            Self::Voice => "voice",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|t| t.as_str() == s)
    }

    /// Whether replies go to `spec.webhook` (the API protocol).
    pub fn needs_webhook(self) -> bool {
        matches!(self, Self::Api | Self::Weibo | Self::Marketplace)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Credentials {
    /// The secret that proves a request is the provider's: the HMAC key of `api`, `web` and
    /// `voice`; the Token of WeChat and WeCom callbacks; Twilio's auth token; Douyin's client
    /// secret; the push token of Aliyun SMS.
    pub secret_ref: SecretKeyRef,
    /// The secret of the provider's API, for replies: WeChat's AppSecret, WeCom's Secret,
    /// Aliyun's AccessKey secret, Douyin's client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_secret_ref: Option<SecretKeyRef>,
    /// WeChat's and WeCom's EncodingAESKey (43 characters), for safe and compatible modes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aes_key_ref: Option<SecretKeyRef>,
}

impl Credentials {
    /// Each reference given: the name the gateway's admin API knows it by (`secret`,
    /// `app_secret`, `aes_key`), its field here (`secretRef`, …) and the reference.
    pub fn refs(&self) -> Vec<(&'static str, &'static str, &SecretKeyRef)> {
        let mut refs = vec![("secret", "secretRef", &self.secret_ref)];
        if let Some(r) = &self.app_secret_ref {
            refs.push((credential::APP_SECRET, "appSecretRef", r));
        }
        if let Some(r) = &self.aes_key_ref {
            refs.push((credential::AES_KEY, "aesKeyRef", r));
        }
        refs
    }
}

/// The names of a channel's further secrets in the gateway's admin API.
pub mod credential {
    pub const APP_SECRET: &str = "app_secret";
    pub const AES_KEY: &str = "aes_key";
    /// The further credentials with their fields in a resource.
    pub const ALL: &[(&str, &str)] = &[(APP_SECRET, "appSecretRef"), (AES_KEY, "aesKeyRef")];
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

/// Per-type settings: the block named after the channel's type (`wechat` also serves
/// `miniprogram`). Blocks of other types are refused, so a typo cannot hide.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChannelSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wechat: Option<WechatSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wecom: Option<WecomSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms: Option<SmsSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub douyin: Option<DouyinSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<VoiceSettings>,
}

impl ChannelSettings {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// The names of the blocks given.
    pub fn blocks(&self) -> Vec<&'static str> {
        [
            ("wechat", self.wechat.is_some()),
            ("wecom", self.wecom.is_some()),
            ("sms", self.sms.is_some()),
            ("douyin", self.douyin.is_some()),
            ("voice", self.voice.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, given)| given.then_some(name))
        .collect()
    }
}

/// How WeChat delivers pushes: the setting of the account's server configuration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WechatMode {
    /// 明文模式: plain XML, checked by `signature` alone.
    Plain,
    /// 兼容模式: both the plain and the encrypted message; Kefu reads the encrypted one.
    Compatible,
    /// 安全模式: AES-256-CBC with the EncodingAESKey, `msg_signature`.
    #[default]
    Safe,
}

/// A WeChat Official Account (`wechat`) or mini-program (`miniprogram`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WechatSettings {
    /// The AppID (`wx` and 16 letters or digits).
    #[schemars(regex(pattern = r"^wx[0-9a-zA-Z]{16}$"))]
    pub app_id: String,
    #[serde(default)]
    pub mode: WechatMode,
    /// The customer-service window after a customer's last message (WeChat's is 48 hours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 48))]
    pub window_hours: Option<u32>,
    /// Messages Kefu may send within one window (default 20 for an account, 5 for a
    /// mini-program).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub quota: Option<u32>,
    /// The passive reply to a new follower (accounts only; encrypted in safe mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 600))]
    pub welcome: Option<String>,
    /// A template message for replies outside the window (accounts only); without one such a
    /// reply is reported to the agent as undeliverable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<WechatTemplate>,
    /// The API's base URL (default `https://api.weixin.qq.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^https?://"))]
    pub api_base: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WechatTemplate {
    #[schemars(length(min = 1, max = 128))]
    pub template_id: String,
    /// The template's field that carries the reply's text (default `content`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub field: Option<String>,
}

/// WeChat Customer Service (微信客服) through WeCom: one customer-service account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WecomSettings {
    /// The WeCom CorpID (`ww…`).
    #[schemars(length(min = 1, max = 64))]
    pub corp_id: String,
    /// The customer-service account (`open_kfid`, `wk…`) this channel serves.
    #[schemars(length(min = 1, max = 64))]
    pub open_kf_id: String,
    /// The window after a customer's last message (WeChat Customer Service's is 48 hours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 48))]
    pub window_hours: Option<u32>,
    /// Messages within one window (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub quota: Option<u32>,
    /// The API's base URL (default `https://qyapi.weixin.qq.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^https?://"))]
    pub api_base: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SmsProvider {
    /// Aliyun SMS (阿里云短信): JSON pushes, `SendSms` with a template.
    Aliyun,
    /// Twilio: form webhooks signed with `X-Twilio-Signature`, the Messages API.
    Twilio,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SmsSettings {
    pub provider: SmsProvider,
    /// The number (Twilio, E.164) or the signature name (Aliyun 签名) replies are sent from.
    #[schemars(length(min = 1, max = 64))]
    pub from: String,
    /// Twilio's Account SID or Aliyun's AccessKey ID.
    #[schemars(length(min = 1, max = 128))]
    pub account: String,
    /// Aliyun: the approved template a reply is sent with (`SMS_…`); its parameter named by
    /// `templateParam` carries the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub template_code: Option<String>,
    /// Aliyun: the template's parameter that carries the reply (default `content`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub template_param: Option<String>,
    /// Twilio: the public URL Twilio posts to (what `X-Twilio-Signature` signs), when a proxy
    /// in front of Kefu changes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^https?://"))]
    pub public_url: Option<String>,
    /// The provider API's base URL (default Aliyun's `https://dysmsapi.aliyuncs.com`,
    /// Twilio's `https://api.twilio.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^https?://"))]
    pub api_base: Option<String>,
}

/// Douyin (抖音) enterprise account customer service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DouyinSettings {
    /// The app's client key (or app id).
    #[schemars(length(min = 1, max = 64))]
    pub client_key: String,
    /// The reply window after a customer's last message (Douyin's is 48 hours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 48))]
    pub window_hours: Option<u32>,
    /// Replies within one window (Douyin allows 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub quota: Option<u32>,
    /// The API's base URL (default `https://open.douyin.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^https?://"))]
    pub api_base: Option<String>,
}

/// The 400 hotline's telephony system posting call events.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VoiceSettings {
    /// The merchant whose hotline this is: its queue takes the callback tasks of missed calls
    /// and voicemails (default: the platform's queue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub merchant: Option<String>,
}
