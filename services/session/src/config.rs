//! Session service configuration: defaults → file → `KEFU_*` environment → flags.

use kefu_config::{ConfigError, Validate};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionConfig {
    /// /metrics, /healthz, /readyz.
    pub http_addr: String,
    pub grpc_addr: String,
    pub database_url: String,
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
    pub bus_prefix: String,
    /// The bot service's gRPC endpoint, e.g. http://127.0.0.1:50053.
    pub bot_url: String,
    /// How long the bot may take before the customer gets the fallback answer.
    pub bot_timeout_ms: u64,
    /// Batches of inbound messages processed at once (each up to 64 messages).
    pub concurrency: usize,
    /// The order-system connector (`KEFU_ORDERS__URL`, `KEFU_ORDERS__TOKEN`): recent orders
    /// in customer profiles and handoffs.
    pub orders: kefu_orders::OrderSystemConfig,
    /// Whether one replica at a time decides for a tenant (a lease). Without it every replica
    /// decides for every tenant at once; the database still keeps assignments correct, at the
    /// cost of refused offers (`KEFU_ROUTING_LEASE=false`, used to test exactly that).
    pub routing_lease: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            http_addr: "127.0.0.1:8081".into(),
            grpc_addr: "127.0.0.1:50052".into(),
            database_url: "postgres://postgres@127.0.0.1:5432/test".into(),
            database_schema: "session".into(),
            database_max_connections: 8,
            database_tls: kefu_store::PgTls::default(),
            amqp_url: "amqp://guest:guest@127.0.0.1:5672/%2f".into(),
            amqp_tls: kefu_bus::AmqpTls::default(),
            bus_prefix: "kefu".into(),
            bot_url: "http://127.0.0.1:50053".into(),
            bot_timeout_ms: 2_000,
            concurrency: 2,
            orders: kefu_orders::OrderSystemConfig::default(),
            routing_lease: true,
        }
    }
}

impl Validate for SessionConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field: &str, reason: &str| {
            Err(ConfigError::Invalid {
                field: field.into(),
                reason: reason.into(),
            })
        };
        if !(self.bot_url.starts_with("http://") || self.bot_url.starts_with("https://")) {
            return invalid("bot_url", "must be an http:// or https:// URL");
        }
        if self.bot_timeout_ms == 0 {
            return invalid("bot_timeout_ms", "must be positive");
        }
        if self.concurrency == 0 {
            return invalid("concurrency", "must be at least 1");
        }
        if !kefu_store::db::valid_schema_name(&self.database_schema) {
            return invalid("database_schema", "lowercase letters, digits and _ only");
        }
        Ok(())
    }
}
