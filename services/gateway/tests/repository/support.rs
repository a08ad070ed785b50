//! Fixtures shared by the contract bodies.

use chrono::{DateTime, Utc};
use kefu_gateway::store::migration::GatewayMigrator;
use kefu_store::MigratorTrait;
use kefu_store::sea_orm::DatabaseConnection;

pub async fn migrate_gateway(db: &DatabaseConnection) {
    GatewayMigrator::up(db, None)
        .await
        .expect("gateway migrations");
}

/// Now, truncated to milliseconds so it survives every backend's timestamp precision.
pub fn now_ms() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).expect("valid time")
}

pub use kefu_bus::testing::{envelope, trace_context};
