//! Kefu's persistence: sea-orm entities, per-service migrations and repositories, on PostgreSQL
//! (distributed mode) or SQLite (`kefu dev`) through one code path.
//!
//! - [`db`]: connecting, per-service PostgreSQL schema, SQLite pragmas.
//! - [`entities`]: the tables; [`migration`]: one migrator per service that owns tables.
//! - [`gateway`], [`session`]: each service's repository functions, all tenant-scoped.
//! - [`tenant_config`]: the gateway's tenant configuration documents, changes announced via the
//!   outbox.
//! - [`outbox`]: events written with the state change and relayed to the bus.
//! - [`idempotency`]: processed-event records for idempotent consumers.

pub mod db;
pub mod entities;
mod error;
pub mod gateway;
pub mod idempotency;
pub mod migration;
pub mod outbox;
pub mod session;
pub mod tenant_config;

pub use db::{DbConfig, connect};
pub use error::StoreError;
pub use outbox::Outbox;
pub use sea_orm;
pub use sea_orm_migration::MigratorTrait;
