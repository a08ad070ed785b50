//! Gateway configuration: defaults → file → `KEFU_*` environment → flags (see `kefu-config`).

use kefu_config::{ConfigError, Secret, Validate};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct GatewayConfig {
    /// Public HTTP API (channels, admin) plus /metrics, /healthz, /readyz.
    pub http_addr: String,
    pub grpc_addr: String,
    pub database_url: String,
    /// PostgreSQL schema of the gateway's tables.
    pub database_schema: String,
    /// Connections in the PostgreSQL pool (SQLite always uses one).
    pub database_max_connections: u32,
    /// TLS to PostgreSQL (`KEFU_DATABASE_TLS__MODE`, `…__ROOT_CERT`, `…__CLIENT_CERT`,
    /// `…__CLIENT_KEY`).
    pub database_tls: kefu_store::PgTls,
    pub amqp_url: String,
    /// TLS to RabbitMQ for `amqps://` URLs (`KEFU_AMQP_TLS__CA_CERT`, `…__CLIENT_CERT`,
    /// `…__CLIENT_KEY`).
    pub amqp_tls: kefu_bus::AmqpTls,
    /// Prefix of every exchange and queue name on the broker.
    pub bus_prefix: String,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Bearer token of the admin API; empty disables the admin API.
    pub admin_token: Secret,
    pub webhook: WebhookConfig,
    /// Batches of outbound messages handled at once (each up to 64 messages).
    pub delivery_concurrency: usize,
    /// The session service's gRPC endpoint (web chat history, the customer admin API).
    pub session_url: String,
    /// The ticketing service's gRPC endpoint (the tickets API).
    pub ticketing_url: String,
    /// The analytics service's gRPC endpoint (the analytics REST API).
    pub analytics_url: String,
    /// The QA service's gRPC endpoint (the desk API's `/qa` routes).
    pub qa_url: String,
    pub webchat: WebchatConfig,
    /// HS256 key of the desk's agent tokens (`KEFU_AGENT_TOKEN_SECRET`, at least 32 bytes);
    /// empty disables agent sign-in (the admin token still works on the desk API).
    pub agent_token_secret: Secret,
    pub desk: DeskConfig,
}

/// The agents' and supervisors' WebSocket (`/v1/tenants/{t}/desk/ws`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct DeskConfig {
    /// Open desk sockets on this replica; more are refused with 503.
    pub max_connections: usize,
    /// Seconds between pings; a socket silent for three intervals is closed.
    pub ping_interval_s: u64,
    /// Wrong passwords for one login within `login_lockout_s` before it is locked out.
    pub login_max_failures: u32,
    /// How long failures count, and so how long a lockout lasts at most.
    pub login_lockout_s: u64,
}

impl Default for DeskConfig {
    fn default() -> Self {
        Self {
            max_connections: 5_000,
            ping_interval_s: 30,
            login_max_failures: 5,
            login_lockout_s: 900,
        }
    }
}

/// The customer WebSocket of web channels.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct WebchatConfig {
    /// Open sockets on this replica; more are refused with 503.
    pub max_connections: usize,
    /// Messages a socket may send per second (bursts up to twice that).
    pub messages_per_second: u32,
    /// Messages of the customer's history sent when a socket connects.
    pub history: u32,
    /// Seconds between pings; a socket silent for three intervals is closed.
    pub ping_interval_s: u64,
}

impl Default for WebchatConfig {
    fn default() -> Self {
        Self {
            max_connections: 50_000,
            messages_per_second: 5,
            history: 50,
            ping_interval_s: 30,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct WebhookConfig {
    pub timeout_ms: u64,
    /// Attempts before a delivery is marked dead (the first one included).
    pub max_attempts: u32,
    pub backoff_initial_ms: u64,
    pub backoff_max_ms: u64,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            http_addr: "127.0.0.1:8080".into(),
            grpc_addr: "127.0.0.1:50051".into(),
            database_url: "postgres://postgres@127.0.0.1:5432/test".into(),
            database_schema: "gateway".into(),
            database_max_connections: 8,
            database_tls: kefu_store::PgTls::default(),
            amqp_url: "amqp://guest:guest@127.0.0.1:5672/%2f".into(),
            amqp_tls: kefu_bus::AmqpTls::default(),
            bus_prefix: "kefu".into(),
            max_body_bytes: 64 * 1024,
            admin_token: Secret::default(),
            webhook: WebhookConfig::default(),
            delivery_concurrency: 2,
            session_url: "http://127.0.0.1:50052".into(),
            ticketing_url: "http://127.0.0.1:50054".into(),
            analytics_url: "http://127.0.0.1:50056".into(),
            qa_url: "http://127.0.0.1:50055".into(),
            webchat: WebchatConfig::default(),
            agent_token_secret: Secret::default(),
            desk: DeskConfig::default(),
        }
    }
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            timeout_ms: 5_000,
            max_attempts: 10,
            backoff_initial_ms: 1_000,
            backoff_max_ms: 300_000,
        }
    }
}

impl Validate for GatewayConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field: &str, reason: &str| {
            Err(ConfigError::Invalid {
                field: field.into(),
                reason: reason.into(),
            })
        };
        if !(1024..=16 * 1024 * 1024).contains(&self.max_body_bytes) {
            return invalid("max_body_bytes", "must be between 1024 and 16777216");
        }
        if self.webhook.max_attempts == 0 {
            return invalid("webhook.max_attempts", "must be at least 1");
        }
        if self.webhook.timeout_ms == 0 {
            return invalid("webhook.timeout_ms", "must be positive");
        }
        if self.webhook.backoff_initial_ms == 0
            || self.webhook.backoff_max_ms < self.webhook.backoff_initial_ms
        {
            return invalid(
                "webhook.backoff_initial_ms",
                "must be positive and not above webhook.backoff_max_ms",
            );
        }
        if !(self.session_url.starts_with("http://") || self.session_url.starts_with("https://")) {
            return invalid("session_url", "must be an http(s) URL");
        }
        if !(self.ticketing_url.starts_with("http://")
            || self.ticketing_url.starts_with("https://"))
        {
            return invalid("ticketing_url", "must be an http(s) URL");
        }
        if !(self.analytics_url.starts_with("http://")
            || self.analytics_url.starts_with("https://"))
        {
            return invalid("analytics_url", "must be an http(s) URL");
        }
        if !(self.qa_url.starts_with("http://") || self.qa_url.starts_with("https://")) {
            return invalid("qa_url", "must be an http(s) URL");
        }
        if self.webchat.messages_per_second == 0 || self.webchat.ping_interval_s == 0 {
            return invalid(
                "webchat.messages_per_second",
                "webchat rates and intervals must be positive",
            );
        }
        let secret = self.agent_token_secret.expose();
        if !secret.is_empty() && secret.len() < 32 {
            return invalid("agent_token_secret", "must be at least 32 bytes (or empty)");
        }
        if self.desk.max_connections == 0 || self.desk.ping_interval_s == 0 {
            return invalid(
                "desk.max_connections",
                "desk limits and intervals must be positive",
            );
        }
        if self.delivery_concurrency == 0 {
            return invalid("delivery_concurrency", "must be at least 1");
        }
        if !kefu_store::db::valid_schema_name(&self.database_schema) {
            return invalid("database_schema", "lowercase letters, digits and _ only");
        }
        Ok(())
    }
}
