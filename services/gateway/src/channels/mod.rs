//! Channels: one folder per channel type, each an [`Adapter`] — inbound verify, parse and
//! normalise to the content model; outbound render and send, within the provider's window and
//! quota — registered in [`ADAPTERS`]. The gateway routes a provider's call on
//! `/v1/channels/{channel_id}/messages` (any method) to the adapter of the channel's type
//! ([`receive`]), and every outgoing message to the same adapter's [`Adapter::send`]
//! (`delivery.rs`). A new channel type is a new folder plus a line in [`ADAPTERS`]; see
//! ARCHITECTURE.md, "How to add a channel".
//!
//! - [`api`]: signed JSON in, signed webhook out (also `weibo` and `marketplace`, bridged by
//!   the tenant); [`web`]: the chat widget's WebSocket.
//! - [`cache`]: the channel configuration cache every inbound call reads.

pub mod api;
pub mod cache;
pub mod cursor;
pub mod media;
pub mod render;
pub mod token;
pub mod web;
pub mod wechat;
pub mod wecom;
pub mod window;

pub use cache::ChannelCache;

use crate::AppState;
use crate::error::ApiError;
use crate::store::entities::channel;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use kefu_proto::events::MessageToSend;
use std::time::Duration;

/// What one channel type does at the edge.
#[async_trait::async_trait]
pub trait Adapter: Send + Sync {
    /// The `channel_type` it serves (a name of `kefu_crd::ChannelType`).
    fn channel_type(&self) -> &'static str;

    /// Whether replies go to the channel's `webhook_url` (which must then be given).
    fn needs_webhook(&self) -> bool {
        false
    }

    /// Checks what the type needs of a channel's configuration beyond the settings' schema
    /// (which `kefu_crd::validate::channel_settings` checks for every type): the form of its
    /// credentials, given by their admin-API names (`app_secret`, `aes_key`).
    fn check(
        &self,
        _credentials: &std::collections::BTreeMap<String, String>,
    ) -> Result<(), ApiError> {
        Ok(())
    }

    /// A provider's call on the channel's endpoint, the channel found and enabled and the body
    /// read within the size limit. Verifies, normalises and submits
    /// ([`crate::inbound::submit`]), and answers as the provider expects.
    async fn receive(&self, state: &AppState, channel: &channel::Model, req: Inbound) -> Answer;

    /// A customer's media the provider holds (see [`media`]), fetched for an agent.
    async fn media(
        &self,
        _state: &AppState,
        _channel: &channel::Model,
        media_id: &str,
    ) -> Result<Response, ApiError> {
        Err(ApiError::NotFound {
            what: "media",
            id: media_id.chars().take(64).collect(),
        })
    }

    /// Sends one outgoing message (`attempt` counts from 1); the delivery worker records the
    /// outcome and retries.
    async fn send(
        &self,
        state: &AppState,
        channel: &channel::Model,
        message: &MessageToSend,
        attempt: u32,
    ) -> Outcome;
}

/// Every channel type the gateway serves.
pub static ADAPTERS: &[&dyn Adapter] = &[
    &api::Api("api"),
    &web::Web,
    &wechat::Wechat { mini: false },
    &wechat::Wechat { mini: true },
    &wecom::Wecom,
    &api::Api("weibo"),
    &api::Api("marketplace"),
];

/// The adapter of a channel type.
pub fn adapter(channel_type: &str) -> Option<&'static dyn Adapter> {
    ADAPTERS
        .iter()
        .copied()
        .find(|a| a.channel_type() == channel_type)
}

/// The channel types with an adapter, in table order.
pub fn types() -> Vec<&'static str> {
    ADAPTERS.iter().map(|a| a.channel_type()).collect()
}

/// A provider's call as the adapter sees it.
pub struct Inbound {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    /// The raw body (within `max_body_bytes`).
    pub body: Bytes,
}

impl Inbound {
    /// A query parameter, percent-decoded.
    pub fn query(&self, name: &str) -> Option<String> {
        let q = self.uri.query()?;
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The adapter's answer to the provider, with the outcome the inbound metric counts
/// (`accepted`, `duplicate`, `verified`, or the error code).
pub struct Answer {
    pub response: Response,
    pub outcome: &'static str,
}

impl Answer {
    pub fn new(response: impl IntoResponse, outcome: &'static str) -> Self {
        Self {
            response: response.into_response(),
            outcome,
        }
    }

    /// An error in the gateway's error table (status and JSON body).
    pub fn error(e: ApiError) -> Self {
        let outcome = e.code();
        Self::new(e, outcome)
    }
}

/// `/v1/channels/{channel_id}/messages`, any method: the body read within the limit, the
/// channel found and enabled, then its adapter answers.
#[utoipa::path(method(get, post), path = "/v1/channels/{channel_id}/messages", tag = "channels",
    params(("channel_id" = String, Path, description = "The channel")),
    request_body(content = String, description = "As the channel's type has it: the API channel's signed JSON (`X-Kefu-Signature`), a WeChat push (XML or JSON, signed in the query), …", content_type = "application/json"),
    responses(
        (status = 202, description = "Accepted: stored before this answer", body = Object),
        (status = 200, description = "The provider's expected answer (`success`, a URL check's `echostr`, a passive reply)", content_type = "text/plain", body = String),
        crate::openapi::ChannelErrors,
    ))]
pub async fn receive(
    State(state): State<AppState>,
    Path(channel_id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (answer, channel_type) = match find(&state, &channel_id, body).await {
        Ok((channel, body, adapter)) => {
            let req = Inbound {
                method,
                uri,
                headers,
                body,
            };
            (
                adapter.receive(&state, &channel, req).await,
                adapter.channel_type(),
            )
        }
        Err(e) => (Answer::error(e), ""),
    };
    state.metrics.inbound.add(
        1,
        &[
            opentelemetry::KeyValue::new("outcome", answer.outcome),
            opentelemetry::KeyValue::new("channel_type", channel_type),
        ],
    );
    answer.response
}

async fn find(
    state: &AppState,
    channel_id: &str,
    body: Result<Bytes, BytesRejection>,
) -> Result<(std::sync::Arc<channel::Model>, Bytes, &'static dyn Adapter), ApiError> {
    let body = body.map_err(|rej| ApiError::unreadable_body(rej, state.config.max_body_bytes))?;
    if channel_id.is_empty() || channel_id.len() > crate::content::MAX_ID_LEN {
        return Err(ApiError::UnknownChannel(
            channel_id.chars().take(64).collect(),
        ));
    }
    let channel = state
        .channels
        .get(channel_id)
        .await?
        .ok_or_else(|| ApiError::UnknownChannel(channel_id.to_owned()))?;
    if !channel.enabled {
        return Err(ApiError::ChannelDisabled(channel_id.to_owned()));
    }
    let adapter =
        adapter(&channel.channel_type).ok_or(ApiError::NotConfigured("this channel's type"))?;
    Ok((channel, body, adapter))
}

/// How an attempt ended.
#[derive(Debug)]
pub enum Outcome {
    Delivered,
    /// Worth another attempt later (timeouts, connection errors, 408, 429, 5xx).
    Retry(String),
    /// The receiver refused it for good (other 4xx) or the URL is unusable.
    Reject(String),
    /// The provider's rules do not let it through: the customer's window has closed or its
    /// quota is spent (`reason`: `window_closed`, `quota_exhausted`), or the channel cannot
    /// carry replies (`not_supported`). Not retried; reported to the agent
    /// (`message.undeliverable`).
    Undeliverable {
        reason: &'static str,
        detail: String,
    },
}

pub fn client(timeout: Duration) -> reqwest::Client {
    // One process-wide rustls crypto provider (ring); ignoring the error means one is installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .pool_idle_timeout(Duration::from_secs(60))
        // A redirect would turn the POST into a body-less GET that "succeeds": refuse them.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("kefu-gateway/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the HTTP client configuration is static")
}

/// Delay before attempt `attempt + 1`: exponential from `initial`, capped at `max`, jittered
/// (the system's one retry policy, [`kefu_bus::backoff`]).
pub fn backoff(attempt: u32, initial: Duration, max: Duration) -> Duration {
    kefu_bus::backoff::Policy::new(initial, max).delay(attempt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let (i, m) = (Duration::from_secs(1), Duration::from_secs(10));
        for (attempt, step) in [(1, 1), (2, 2), (4, 8), (5, 10), (500, 10)] {
            let d = backoff(attempt, i, m);
            let step = Duration::from_secs(step);
            assert!(
                d >= step / 2 && d <= step,
                "attempt {attempt}: {d:?}, step {step:?}"
            );
        }
    }
}
