//! Fresh databases for the services' contract suites: a temp-file SQLite database, or a
//! PostgreSQL schema of its own that is dropped afterwards even when the body panics.
//!
//! PostgreSQL comes from `DATABASE_URL` (default [`DEFAULT_PG_URL`]). When it is not reachable
//! the `postgres::*` tests fail (they never skip) with a message saying how to fix it.

use crate::{DbConfig, StoreError};
use futures::FutureExt;
use futures::future::BoxFuture;
use sea_orm::DatabaseConnection;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

/// Creates the tables every service has (outbox, processed events) in `db`.
pub async fn create_shared_tables(db: &DatabaseConnection) {
    let manager = sea_orm_migration::SchemaManager::new(db);
    crate::migration::create_shared_tables(&manager)
        .await
        .expect("creating the shared tables");
}

/// Runs a service's migrator on `db` (a contract body's first step).
pub async fn migrate<M: sea_orm_migration::MigratorTrait>(db: &DatabaseConnection) {
    M::up(db, None)
        .await
        .unwrap_or_else(|e| panic!("migrations: {e}"));
}

/// Runs migrator `M` on an empty `db` and checks that it creates exactly `owned` plus the
/// shared tables: each service owns its tables and creates no other's.
pub async fn assert_creates_only<M: sea_orm_migration::MigratorTrait>(
    db: &DatabaseConnection,
    owned: &[&str],
) {
    migrate::<M>(db).await;
    let expected: std::collections::BTreeSet<String> = owned
        .iter()
        .chain(crate::migration::SHARED_TABLES)
        .map(|t| t.to_string())
        .collect();
    assert_eq!(table_names(db).await, expected);
}

/// Now, truncated to milliseconds so it survives every backend's timestamp precision.
pub fn now_ms() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(chrono::Utc::now().timestamp_millis())
        .expect("valid time")
}

/// The tables in `db`'s schema (the current PostgreSQL schema, or the SQLite file), without
/// the migration bookkeeping table.
pub async fn table_names(db: &DatabaseConnection) -> std::collections::BTreeSet<String> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT table_name AS name FROM information_schema.tables \
             WHERE table_schema = current_schema()"
        }
        _ => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    };
    db.query_all_raw(Statement::from_string(backend, sql))
        .await
        .expect("listing tables")
        .iter()
        .map(|row| row.try_get::<String>("", "name").expect("table name"))
        .filter(|name| name != "seaql_migrations")
        .collect()
}

pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub async fn on_sqlite(body: impl for<'a> FnOnce(&'a DatabaseConnection) -> BoxFuture<'a, ()>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("store.db").display()
    );
    let db = crate::connect(&DbConfig::new(url.clone(), None))
        .await
        .unwrap_or_else(|e| panic!("cannot open SQLite database {url}: {e}"));
    body(&db).await;
    let _ = db.close().await;
    // `dir` is removed on drop, also while unwinding.
}

pub async fn on_postgres(body: impl for<'a> FnOnce(&'a DatabaseConnection) -> BoxFuture<'a, ()>) {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_owned());
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let db = match crate::connect(&DbConfig::new(url.clone(), Some(&schema))).await {
        Ok(db) => db,
        Err(e @ StoreError::Unreachable { .. }) => panic!(
            "{e}\nThe postgres::* contract tests need PostgreSQL at {} \
             (DATABASE_URL, default {DEFAULT_PG_URL}): start it (e.g. PostgreSQL 15 on \
             127.0.0.1:5432 with database `test`) or set DATABASE_URL.",
            crate::db::redact(&url)
        ),
        Err(e) => panic!(
            "cannot use PostgreSQL at {} (schema {schema}): {e}\n\
             Start PostgreSQL or set DATABASE_URL to a usable database.",
            crate::db::redact(&url)
        ),
    };
    let outcome = AssertUnwindSafe(body(&db)).catch_unwind().await;
    let cleanup = tokio::time::timeout(
        Duration::from_secs(30),
        crate::db::drop_schema(&db, &schema),
    )
    .await;
    let _ = db.close().await;
    match (outcome, cleanup) {
        (Err(panic), cleanup) => {
            if !matches!(cleanup, Ok(Ok(()))) {
                eprintln!("also failed to drop schema {schema}: {cleanup:?}");
            }
            std::panic::resume_unwind(panic)
        }
        (Ok(()), Ok(Ok(()))) => {}
        (Ok(()), Ok(Err(e))) => panic!("dropping schema {schema} failed: {e}"),
        (Ok(()), Err(_)) => panic!("dropping schema {schema} timed out"),
    }
}

/// For every `module::body`, an `async fn body(db: &DatabaseConnection)`, generates
/// `sqlite::body` and `postgres::body` tests that hand it a fresh, empty database, so both
/// backends keep the same observable behaviour.
#[macro_export]
// `crate::` names the calling test crate on purpose: its bodies live there.
#[allow(clippy::crate_in_macro_def)]
macro_rules! contract_suite {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::testing::on_sqlite(|db| Box::pin(crate::$module::$name(db))).await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::testing::on_postgres(|db| Box::pin(crate::$module::$name(db))).await;
                }
            )*
        }
    };
}
