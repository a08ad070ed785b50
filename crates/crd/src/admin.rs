//! The gateway's configuration API (`/v1/admin/…`, bearer admin token) as a client: what
//! `kefu apply` sends to a running `kefu dev`, and what the operator sends to the platform in a
//! cluster. Tenants and channels go to their own endpoints; the rest of each spec (merchants,
//! tiers, peak events, queues, routing policies) is stored as a config document per
//! `(tenant, kind, name)`, and the gateway announces each change on the bus.

use crate::document::KefuResource;
use serde::{Deserialize, Serialize};
use std::time::Duration;

pub use crate::document::kind;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("admin API unreachable at {url}: {source}")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The gateway refused the request; `field` names the field at fault when one is.
    #[error("{status} {code}{}: {message}", field.as_ref().map(|f| format!(" ({f})")).unwrap_or_default())]
    Rejected {
        status: u16,
        code: String,
        message: String,
        field: Option<String>,
    },
}

impl AdminError {
    /// Whether retrying later can help (transport failures and server errors).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Rejected { status, .. } => *status >= 500 || *status == 429,
        }
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    field: Option<String>,
}

#[derive(Serialize)]
struct TenantBody<'a> {
    display_name: &'a str,
}

#[derive(Serialize)]
struct ChannelBody<'a> {
    tenant_id: &'a str,
    channel_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a str>,
    webhook_url: &'a str,
    enabled: bool,
    settings: &'a crate::channel::ChannelSettings,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    credentials: std::collections::BTreeMap<&'a str, &'a str>,
}

/// A channel's resolved secrets by their admin-API name (`secret`, `app_secret`, `aes_key`;
/// see [`crate::channel::Credentials::refs`]). One that is missing keeps the stored value.
pub type ChannelSecrets = std::collections::BTreeMap<&'static str, String>;

pub use crate::document::ConfigView;

#[derive(Clone)]
pub struct AdminClient {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl AdminClient {
    /// `base` like `http://127.0.0.1:8080`.
    pub fn new(base: impl Into<String>, token: impl Into<String>) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("kefu-admin/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client configuration is static");
        Self {
            base: base.into().trim_end_matches('/').to_owned(),
            token: token.into(),
            http,
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<Option<serde_json::Value>, AdminError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method, &url).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let transport = |source| AdminError::Transport {
            url: url.clone(),
            source,
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport)?;
        if status.is_success() {
            return Ok(serde_json::from_slice(&bytes).ok());
        }
        let body: ErrorBody = serde_json::from_slice(&bytes).unwrap_or(ErrorBody {
            error: "http_error".into(),
            message: String::from_utf8_lossy(&bytes).into_owned(),
            field: None,
        });
        Err(AdminError::Rejected {
            status: status.as_u16(),
            code: body.error,
            message: body.message,
            field: body.field,
        })
    }

    pub async fn put_tenant(&self, tenant: &str, display_name: &str) -> Result<(), AdminError> {
        self.send(
            reqwest::Method::PUT,
            &format!("/v1/admin/tenants/{tenant}"),
            Some(&TenantBody { display_name }),
        )
        .await
        .map(drop)
    }

    /// A secret missing from `secrets` keeps the stored one (a new channel needs its
    /// `secret`).
    pub async fn put_channel(
        &self,
        channel: &crate::Channel,
        name: &str,
        secrets: &ChannelSecrets,
    ) -> Result<(), AdminError> {
        let spec = &channel.spec;
        let body = ChannelBody {
            tenant_id: &spec.tenant,
            channel_type: spec.channel_type.as_str(),
            secret: secrets.get("secret").map(String::as_str),
            webhook_url: &spec.webhook.url,
            enabled: spec.enabled,
            settings: &spec.settings,
            credentials: secrets
                .iter()
                .filter(|(k, _)| **k != "secret")
                .map(|(k, v)| (*k, v.as_str()))
                .collect(),
        };
        self.send(
            reqwest::Method::PUT,
            &format!("/v1/admin/channels/{name}"),
            Some(&body),
        )
        .await
        .map(drop)
    }

    fn config_path(tenant: &str, kind: &str, name: &str) -> String {
        format!("/v1/admin/tenants/{tenant}/config/{kind}/{name}")
    }

    pub async fn put_config(
        &self,
        tenant: &str,
        kind: &str,
        name: &str,
        spec: &impl Serialize,
    ) -> Result<(), AdminError> {
        self.send(
            reqwest::Method::PUT,
            &Self::config_path(tenant, kind, name),
            Some(spec),
        )
        .await
        .map(drop)
    }

    pub async fn get_config(
        &self,
        tenant: &str,
        kind: &str,
        name: &str,
    ) -> Result<ConfigView, AdminError> {
        let value = self
            .send(
                reqwest::Method::GET,
                &Self::config_path(tenant, kind, name),
                None::<&()>,
            )
            .await?
            .unwrap_or_default();
        serde_json::from_value(value).map_err(|e| AdminError::Rejected {
            status: 200,
            code: "unexpected_body".into(),
            message: e.to_string(),
            field: None,
        })
    }

    /// Removes a config document; one that is already gone is not an error.
    pub async fn delete_config(
        &self,
        tenant: &str,
        kind: &str,
        name: &str,
    ) -> Result<(), AdminError> {
        match self
            .send(
                reqwest::Method::DELETE,
                &Self::config_path(tenant, kind, name),
                None::<&()>,
            )
            .await
        {
            Err(AdminError::Rejected { status: 404, .. }) => Ok(()),
            other => other.map(drop),
        }
    }

    /// Applies one resource: the same calls whether from `kefu apply` or the operator.
    /// `channel_secrets` are the resolved values of a Channel's credential references.
    pub async fn apply(
        &self,
        resource: &KefuResource,
        channel_secrets: &ChannelSecrets,
    ) -> Result<(), AdminError> {
        let name = resource.name();
        match resource {
            KefuResource::Tenant(t) => {
                self.put_tenant(name, &t.spec.display_name).await?;
                self.put_config(name, kind::TENANT, name, &t.spec).await
            }
            KefuResource::Channel(c) => self.put_channel(c, name, channel_secrets).await,
            KefuResource::Queue(q) => {
                self.put_config(&q.spec.tenant, kind::QUEUE, name, &q.spec)
                    .await
            }
            KefuResource::RoutingPolicy(p) => {
                self.put_config(&p.spec.tenant, kind::ROUTING_POLICY, name, &p.spec)
                    .await
            }
            KefuResource::QaPolicy(p) => {
                self.put_config(&p.spec.tenant, kind::QA_POLICY, name, &p.spec)
                    .await
            }
        }
    }
}
