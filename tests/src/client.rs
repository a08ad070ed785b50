//! Talking to the gateway as a channel and as an admin.

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// `sha256=<hex>` of `body` under `secret`, as `X-Kefu-Signature` wants it.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[derive(Clone)]
pub struct GatewayClient {
    pub base: String,
    pub admin_token: String,
    pub http: reqwest::Client,
}

/// Status, headers and JSON body of one response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Asserts the error table's field violation: 422 naming `field`.
    #[track_caller]
    pub fn assert_invalid(&self, field: &str) {
        assert_eq!(
            (self.status, self.body["field"].as_str()),
            (422, Some(field)),
            "{:?}",
            self.body
        );
    }

    /// Reads a response: its status, headers and JSON body (a string when it is not JSON).
    pub async fn from_response(resp: reqwest::Response) -> Reply {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.unwrap_or_default();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
        Reply {
            status,
            headers,
            body,
        }
    }
}

impl GatewayClient {
    pub fn new(base: impl Into<String>, admin_token: impl Into<String>) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Self {
            base: base.into(),
            admin_token: admin_token.into(),
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(256)
                .build()
                .expect("client"),
        }
    }

    async fn reply(resp: reqwest::Response) -> Reply {
        Reply::from_response(resp).await
    }

    /// Posts a raw body with the given signature header (None: no header) and extra headers.
    pub async fn post_raw(
        &self,
        channel: &str,
        body: Vec<u8>,
        signature: Option<String>,
        headers: &[(&str, String)],
    ) -> Reply {
        let mut req = self
            .http
            .post(format!("{}/v1/channels/{channel}/messages", self.base))
            .header("content-type", "application/json")
            .body(body);
        if let Some(sig) = signature {
            req = req.header("x-kefu-signature", sig);
        }
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        Self::reply(req.send().await.expect("gateway reachable")).await
    }

    /// Posts `body` correctly signed with `secret`.
    pub async fn send(
        &self,
        channel: &str,
        secret: &str,
        body: &Value,
        headers: &[(&str, String)],
    ) -> Reply {
        let raw = serde_json::to_vec(body).expect("json");
        let sig = sign(secret, &raw);
        self.post_raw(channel, raw, Some(sig), headers).await
    }

    /// An admin request with the bearer token (and a JSON body when given).
    async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Reply {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.admin_token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        Self::reply(req.send().await.expect("gateway reachable")).await
    }

    pub async fn upsert_tenant(&self, tenant: &str, name: &str) -> Reply {
        self.put(
            &format!("/v1/admin/tenants/{tenant}"),
            json!({ "display_name": name }),
        )
        .await
    }

    pub async fn upsert_channel(
        &self,
        channel: &str,
        tenant: &str,
        secret: &str,
        webhook: &str,
    ) -> Reply {
        self.put(
            &format!("/v1/admin/channels/{channel}"),
            json!({ "tenant_id": tenant, "channel_type": "api", "secret": secret, "webhook_url": webhook }),
        )
        .await
    }

    /// A web chat channel (replies go to the customer's socket).
    pub async fn upsert_web_channel(&self, channel: &str, tenant: &str, secret: &str) -> Reply {
        self.put(
            &format!("/v1/admin/channels/{channel}"),
            json!({ "tenant_id": tenant, "channel_type": "web", "secret": secret, "webhook_url": "" }),
        )
        .await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.admin(reqwest::Method::PUT, path, Some(body)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.admin(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.admin(reqwest::Method::GET, path, None).await
    }
}
