//! The order-system connector: how Kefu reads a customer's orders and asks the tenant's order
//! system to act on one (urge shipment, invoice, return, …).
//!
//! - [`OrderClient`]: the HTTP client the bot and the session use, with a configurable base URL
//!   and bearer credentials, timeouts and response-size limits.
//! - [`demo`]: a small order system with a few orders per demo customer, served by `kefu dev`
//!   and by tests (it stands in for the tenant's real system at the edge of Kefu).
//!
//! The HTTP contract (all JSON, `Authorization: Bearer <token>` when a token is configured):
//! - `GET  {base}/orders?phone=&member_id=&limit=` → `{"orders": [Order…]}`, newest first
//! - `GET  {base}/orders/{order_id}?phone=&member_id=` → `Order`; 404 when the order does not
//!   exist *or belongs to someone else* (a customer cannot read another's order by its number)
//! - `POST {base}/orders/{order_id}/operations` with `{"operation", "phone", "member_id"}` →
//!   `{"order": Order, "message": "…"}`; 409 `{"error"}` when the order's state forbids it
//! - `GET  {base}/products/{product_id}` → `Product`

pub mod demo;
mod model;

pub use model::*;

use std::time::Duration;

/// Largest response body the client reads.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct OrderSystemConfig {
    /// Base URL of the order system; empty disables look-ups (the bot then says so).
    pub url: String,
    /// Bearer token sent with every call.
    pub token: String,
    pub timeout_ms: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("no order system is configured")]
    NotConfigured,
    #[error("not found")]
    NotFound,
    #[error("refused: {0}")]
    Refused(String),
    #[error("order system unavailable: {0}")]
    Unavailable(String),
}

/// Who is asking: the identities the order system knows a customer by.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomerKeys {
    pub phone: Option<String>,
    pub member_id: Option<String>,
}

impl CustomerKeys {
    /// The keys among a customer's `(kind, value)` identities: the first `phone` and the first
    /// `member_id`.
    pub fn from_identities<'a>(identities: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut keys = Self::default();
        for (kind, value) in identities {
            match kind {
                "phone" if keys.phone.is_none() => keys.phone = Some(value.to_owned()),
                "member_id" if keys.member_id.is_none() => keys.member_id = Some(value.to_owned()),
                _ => {}
            }
        }
        keys
    }

    pub fn is_empty(&self) -> bool {
        self.phone.is_none() && self.member_id.is_none()
    }

    fn query(&self) -> Vec<(&'static str, &str)> {
        let mut q = Vec::new();
        if let Some(p) = &self.phone {
            q.push(("phone", p.as_str()));
        }
        if let Some(m) = &self.member_id {
            q.push(("member_id", m.as_str()));
        }
        q
    }
}

#[derive(Clone)]
pub struct OrderClient {
    base: Option<String>,
    token: String,
    http: reqwest::Client,
}

impl OrderClient {
    pub fn new(config: &OrderSystemConfig) -> Self {
        // One process-wide rustls crypto provider (ring); an error means one is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let timeout = Duration::from_millis(if config.timeout_ms == 0 {
            2_000
        } else {
            config.timeout_ms
        });
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        let base = config.url.trim_end_matches('/');
        Self {
            base: (!base.is_empty()).then(|| base.to_owned()),
            token: config.token.clone(),
            http,
        }
    }

    pub fn is_configured(&self) -> bool {
        self.base.is_some()
    }

    fn url(&self, path: &str) -> Result<String, OrderError> {
        let base = self.base.as_ref().ok_or(OrderError::NotConfigured)?;
        Ok(format!("{base}{path}"))
    }

    fn auth(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        if self.token.is_empty() {
            req
        } else {
            req.bearer_auth(&self.token)
        }
    }

    async fn read<T: serde::de::DeserializeOwned>(
        resp: reqwest::Response,
    ) -> Result<T, OrderError> {
        let status = resp.status();
        if resp
            .content_length()
            .is_some_and(|n| n as usize > MAX_RESPONSE_BYTES)
        {
            return Err(OrderError::Unavailable("response too large".into()));
        }
        let mut body = Vec::new();
        let mut resp = resp;
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| OrderError::Unavailable(e.to_string()))?
        {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(OrderError::Unavailable("response too large".into()));
            }
            body.extend_from_slice(&chunk);
        }
        match status.as_u16() {
            200..=299 => serde_json::from_slice(&body)
                .map_err(|e| OrderError::Unavailable(format!("bad response: {e}"))),
            404 => Err(OrderError::NotFound),
            409 | 422 => {
                let msg = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
                    .unwrap_or_else(|| status.to_string());
                Err(OrderError::Refused(msg))
            }
            _ => Err(OrderError::Unavailable(format!("HTTP {status}"))),
        }
    }

    /// The customer's most recent orders, newest first.
    pub async fn recent_orders(
        &self,
        who: &CustomerKeys,
        limit: usize,
    ) -> Result<Vec<Order>, OrderError> {
        if who.is_empty() {
            return Ok(Vec::new());
        }
        let limit = limit.to_string();
        let mut q = who.query();
        q.push(("limit", &limit));
        let resp = self
            .auth(self.http.get(self.url("/orders")?).query(&q))
            .send()
            .await
            .map_err(|e| OrderError::Unavailable(e.to_string()))?;
        let list: OrderList = Self::read(resp).await?;
        Ok(list.orders)
    }

    /// One of the customer's orders; another customer's order is [`OrderError::NotFound`].
    pub async fn order(&self, who: &CustomerKeys, order_id: &str) -> Result<Order, OrderError> {
        if who.is_empty() || !valid_id(order_id) {
            return Err(OrderError::NotFound);
        }
        let resp = self
            .auth(
                self.http
                    .get(self.url(&format!("/orders/{order_id}"))?)
                    .query(&who.query()),
            )
            .send()
            .await
            .map_err(|e| OrderError::Unavailable(e.to_string()))?;
        Self::read(resp).await
    }

    /// Asks the order system to act on one of the customer's orders.
    pub async fn operate(
        &self,
        who: &CustomerKeys,
        order_id: &str,
        operation: Operation,
    ) -> Result<OperationResult, OrderError> {
        if who.is_empty() || !valid_id(order_id) {
            return Err(OrderError::NotFound);
        }
        let body = OperationRequest {
            operation,
            phone: who.phone.clone(),
            member_id: who.member_id.clone(),
        };
        let resp = self
            .auth(
                self.http
                    .post(self.url(&format!("/orders/{order_id}/operations"))?)
                    .json(&body),
            )
            .send()
            .await
            .map_err(|e| OrderError::Unavailable(e.to_string()))?;
        Self::read(resp).await
    }

    pub async fn product(&self, product_id: &str) -> Result<Product, OrderError> {
        if !valid_id(product_id) {
            return Err(OrderError::NotFound);
        }
        let resp = self
            .auth(self.http.get(self.url(&format!("/products/{product_id}"))?))
            .send()
            .await
            .map_err(|e| OrderError::Unavailable(e.to_string()))?;
        Self::read(resp).await
    }
}

/// Order and product ids travel in URL paths: letters, digits, `-` and `_` only.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
