//! Connecting to PostgreSQL or SQLite with the settings each needs.
//!
//! PostgreSQL: every service works in its own schema (created if missing) through the
//! connection's `search_path`. SQLite (the embedded `kefu dev` default): one file per service,
//! WAL journal, and a single pooled connection, because SQLite has one writer at a time and a
//! pool of writers only turns that into `database is locked` errors.

use crate::StoreError;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct DbConfig {
    pub url: String,
    /// PostgreSQL schema for this service's tables; ignored on SQLite.
    pub schema: Option<String>,
    pub max_connections: u32,
}

impl DbConfig {
    pub fn new(url: impl Into<String>, schema: Option<&str>) -> Self {
        Self {
            url: url.into(),
            schema: schema.map(str::to_owned),
            max_connections: 16,
        }
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
