//! Kefu's persistence foundation, shared by every service: connections (PostgreSQL in
//! distributed mode, SQLite in `kefu dev`, one code path), the migration helpers, and the two
//! tables every service has in its own schema — the outbox and the processed-event records.
//!
//! Each service owns its other tables: entities, migrations and repositories live in the
//! service's crate (`services/*/src/store`). This crate knows nothing of the bus; the outbox
//! relay and the consumer loop are in `kefu-worker`.
//!
//! - [`db`]: connecting, per-service PostgreSQL schema, SQLite pragmas.
//! - [`entities`]: `outbox` and `processed_events`; [`migration`]: helpers for each service's
//!   migrator and [`migration::create_shared_tables`].
//! - [`idempotency`]: processed-event records for idempotent consumers.
//! - [`scope`]: the tenant filter every query on a tenant's rows starts with.
//! - [`testing`]: a fresh SQLite file or PostgreSQL schema per test (the contract suites).
//! - [`values`]: states and JSON values in text columns ([`text_enum!`], [`json_text!`]).

// The macros name this crate by its path, inside it too.
extern crate self as kefu_store;

pub mod db;
pub mod entities;
mod error;
pub mod idempotency;
pub mod migration;
pub mod scope;
pub mod testing;
pub mod values;

pub use db::{DbConfig, PgTls, connect};
pub use error::StoreError;
pub use scope::Scoped;
pub use sea_orm;
pub use sea_orm_migration::{self, MigratorTrait};
