//! Fresh databases for the contract suite: a temp-file SQLite database, or a PostgreSQL schema
//! of its own that is dropped afterwards even when the body panics.

use futures::FutureExt;
use futures::future::BoxFuture;
use kefu_store::sea_orm::DatabaseConnection;
use kefu_store::{DbConfig, StoreError};
use std::panic::AssertUnwindSafe;
use std::time::Duration;

pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub async fn on_sqlite(body: impl for<'a> FnOnce(&'a DatabaseConnection) -> BoxFuture<'a, ()>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("store.db").display()
    );
    let db = kefu_store::connect(&DbConfig::new(url.clone(), None))
        .await
        .unwrap_or_else(|e| panic!("cannot open SQLite database {url}: {e}"));
    body(&db).await;
    let _ = db.close().await;
    // `dir` is removed on drop, also while unwinding.
}

pub async fn on_postgres(body: impl for<'a> FnOnce(&'a DatabaseConnection) -> BoxFuture<'a, ()>) {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_owned());
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let db = match kefu_store::connect(&DbConfig::new(url.clone(), Some(&schema))).await {
        Ok(db) => db,
        Err(e @ StoreError::Unreachable { .. }) => panic!(
            "{e}\nThe postgres::* contract tests need PostgreSQL at {} \
             (DATABASE_URL, default {DEFAULT_PG_URL}): start it (e.g. PostgreSQL 15 on \
             127.0.0.1:5432 with database `test`) or set DATABASE_URL.",
            kefu_store::db::redact(&url)
        ),
        Err(e) => panic!(
            "cannot use PostgreSQL at {} (schema {schema}): {e}\n\
             Start PostgreSQL or set DATABASE_URL to a usable database.",
            kefu_store::db::redact(&url)
        ),
    };
    let outcome = AssertUnwindSafe(body(&db)).catch_unwind().await;
    let cleanup = tokio::time::timeout(
        Duration::from_secs(30),
        kefu_store::db::drop_schema(&db, &schema),
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
