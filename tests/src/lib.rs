//! Test harness for Kefu's end-to-end tests and benchmarks: start the real binaries as separate
//! processes ([`process`]), play a channel (signed requests in [`client`], a webhook receiver in
//! [`webhook`]), collect OpenTelemetry spans ([`otlp`]), and isolate each run on the shared
//! PostgreSQL and RabbitMQ ([`env`]). [`desk`] is the agents' side: the desk API and socket.
//! For the channels: [`providers`] stands in for a provider's servers and records what Kefu
//! sends them; [`peer`] is the provider's side done by independent implementations (wechatpy,
//! twilio).

pub mod chaos;
pub mod client;
pub mod desk;
pub mod distributed;
pub mod env;
pub mod events;
pub mod otlp;
pub mod peer;
pub mod process;
pub mod providers;
pub mod tls;
pub mod webchat;
pub mod webhook;

pub use client::{GatewayClient, Reply, sign};
pub use desk::{DeskClient, DeskSocket, ReplyContent};
pub use env::Isolation;
pub use otlp::OtlpReceiver;
pub use peer::Peer;
pub use process::{Service, bin_path};
pub use providers::ProviderStandIn;
pub use webchat::{ChatSocket, identity_token};
pub use webhook::WebhookReceiver;

use std::future::Future;
use std::time::Duration;

/// Polls `check` until it returns `Some` or `timeout` passes; panics with `what` on timeout.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
