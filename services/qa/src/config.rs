//! QA service configuration: defaults → file → `KEFU_*` environment.

use kefu_config::{ConfigError, Validate};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct QaConfig {
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
    /// Batches of events inspected at once (each up to 100 events).
    pub concurrency: usize,
}

impl Default for QaConfig {
    fn default() -> Self {
        Self {
            http_addr: "127.0.0.1:8084".into(),
            grpc_addr: "127.0.0.1:50055".into(),
            database_url: "postgres://postgres@127.0.0.1:5432/test".into(),
            database_schema: "qa".into(),
            database_max_connections: 8,
            database_tls: kefu_store::PgTls::default(),
            amqp_url: "amqp://guest:guest@127.0.0.1:5672/%2f".into(),
            amqp_tls: kefu_bus::AmqpTls::default(),
            bus_prefix: "kefu".into(),
            concurrency: 2,
        }
    }
}

impl Validate for QaConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field: &str, reason: &str| {
            Err(ConfigError::Invalid {
                field: field.into(),
                reason: reason.into(),
            })
        };
        if self.concurrency == 0 {
            return invalid("concurrency", "must be at least 1");
        }
        if !kefu_store::db::valid_schema_name(&self.database_schema) {
            return invalid("database_schema", "lowercase letters, digits and _ only");
        }
        Ok(())
    }
}
