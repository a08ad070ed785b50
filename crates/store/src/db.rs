//! Connecting to PostgreSQL or SQLite with the settings each needs.
//!
//! PostgreSQL: every service works in its own schema (created if missing) through the
//! connection's `search_path`. SQLite (the embedded `kefu dev` default): one file per service,
//! WAL journal, and a single pooled connection, because SQLite has one writer at a time and a
//! pool of writers only turns that into `database is locked` errors.

use crate::StoreError;
use sea_orm::sqlx::postgres::{PgConnectOptions, PgSslMode};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct DbConfig {
    pub url: String,
    /// PostgreSQL schema for this service's tables; ignored on SQLite.
    pub schema: Option<String>,
    pub max_connections: u32,
    /// TLS to PostgreSQL; ignored on SQLite.
    pub tls: PgTls,
}

impl DbConfig {
    pub fn new(url: impl Into<String>, schema: Option<&str>) -> Self {
        Self {
            url: url.into(),
            schema: schema.map(str::to_owned),
            max_connections: 16,
            tls: PgTls::default(),
        }
    }
}

/// TLS to PostgreSQL, per service as `KEFU_DATABASE_TLS__MODE`, `…__ROOT_CERT`,
/// `…__CLIENT_CERT`, `…__CLIENT_KEY` (docs/operations.md). Each setting, when given, overrides
/// the URL's `sslmode`, `sslrootcert`, `sslcert` and `sslkey`. rustls with ring does the TLS.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PgTls {
    /// `disable`, `allow`, `prefer` (the URL's default), `require`, `verify-ca` or
    /// `verify-full`.
    pub mode: Option<String>,
    /// PEM file of the CA certificate(s) the server's certificate is verified against.
    pub root_cert: Option<PathBuf>,
    /// PEM files of a client certificate and its key, for `hostssl … cert` authentication.
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
}

impl PgTls {
    /// Checks the settings now (mode spelled right, files readable, certificate and key
    /// together), so a mistake fails at start naming the setting.
    pub fn check(&self) -> Result<Option<PgSslMode>, StoreError> {
        let mode = match &self.mode {
            Some(mode) => Some(PgSslMode::from_str(mode).map_err(|_| {
                StoreError::Config(format!(
                    "database_tls.mode {mode:?}: one of disable, allow, prefer, require, \
                     verify-ca, verify-full"
                ))
            })?),
            None => None,
        };
        for (field, path) in [
            ("root_cert", &self.root_cert),
            ("client_cert", &self.client_cert),
            ("client_key", &self.client_key),
        ] {
            if let Some(path) = path
                && let Err(e) = std::fs::File::open(path)
            {
                return Err(StoreError::Config(format!(
                    "database_tls.{field}: cannot read {}: {e}",
                    path.display()
                )));
            }
        }
        if self.client_cert.is_some() != self.client_key.is_some() {
            return Err(StoreError::Config(
                "database_tls.client_cert and database_tls.client_key go together".into(),
            ));
        }
        Ok(mode)
    }

    fn apply(&self, mode: Option<PgSslMode>, mut opts: PgConnectOptions) -> PgConnectOptions {
        if let Some(mode) = mode {
            opts = opts.ssl_mode(mode);
        }
        if let Some(path) = &self.root_cert {
            opts = opts.ssl_root_cert(path);
        }
        if let Some(path) = &self.client_cert {
            opts = opts.ssl_client_cert(path);
        }
        if let Some(path) = &self.client_key {
            opts = opts.ssl_client_key(path);
        }
        opts
    }
}

/// True for names safe to splice into `CREATE SCHEMA`: lowercase ASCII, digits, `_`.
pub fn valid_schema_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
}

pub use kefu_config::redact_url as redact;

pub async fn connect(cfg: &DbConfig) -> Result<DatabaseConnection, StoreError> {
    let sqlite = cfg.url.starts_with("sqlite:");
    if !sqlite && !cfg.url.starts_with("postgres://") && !cfg.url.starts_with("postgresql://") {
        return Err(StoreError::Config(format!(
            "DATABASE_URL must start with postgres:// or sqlite: (got {})",
            redact(&cfg.url)
        )));
    }
    let mut opts = ConnectOptions::new(cfg.url.clone());
    opts.connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    if sqlite {
        opts.max_connections(1).min_connections(1);
    } else {
        opts.max_connections(cfg.max_connections.max(1));
        let mode = cfg.tls.check()?;
        if cfg.tls != PgTls::default() {
            let tls = cfg.tls.clone();
            opts.map_sqlx_postgres_opts(move |o| tls.apply(mode, o));
        }
        if let Some(schema) = &cfg.schema {
            if !valid_schema_name(schema) {
                return Err(StoreError::Config(format!(
                    "schema {schema:?}: use lowercase letters, digits and _ only"
                )));
            }
            opts.set_schema_search_path(schema.clone());
        }
    }
    let db = Database::connect(opts)
        .await
        .map_err(|source| StoreError::Unreachable {
            url: redact(&cfg.url),
            source,
        })?;
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            db.execute_unprepared("PRAGMA journal_mode=WAL").await?;
            db.execute_unprepared("PRAGMA synchronous=NORMAL").await?;
            db.execute_unprepared("PRAGMA foreign_keys=ON").await?;
        }
        DbBackend::Postgres => {
            if let Some(schema) = &cfg.schema {
                create_schema(&db, schema).await?;
            }
        }
        _ => {}
    }
    Ok(db)
}

async fn create_schema(db: &DatabaseConnection, schema: &str) -> Result<(), StoreError> {
    let sql = format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"");
    // Two replicas starting together can race on the catalog's unique index; the loser retries.
    match db.execute_unprepared(&sql).await {
        Ok(_) => Ok(()),
        Err(_) => {
            db.execute_unprepared(&sql).await?;
            Ok(())
        }
    }
}

/// Drops a PostgreSQL schema and everything in it (test clean-up).
pub async fn drop_schema(db: &DatabaseConnection, schema: &str) -> Result<(), StoreError> {
    if !valid_schema_name(schema) {
        return Err(StoreError::Config(format!("schema {schema:?}")));
    }
    db.execute_unprepared(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_checked() {
        assert!(valid_schema_name("gateway"));
        assert!(valid_schema_name("t_0193_session"));
        assert!(!valid_schema_name("Gateway"));
        assert!(!valid_schema_name("x\"; drop"));
        assert!(!valid_schema_name("1abc"));
        assert!(!valid_schema_name(""));
    }
}
