//! Fixtures shared by the contract bodies.

use chrono::{DateTime, Utc};
use kefu_session::store::migration::SessionMigrator;
use kefu_store::MigratorTrait;
use kefu_store::sea_orm::DatabaseConnection;

pub async fn migrate_session(db: &DatabaseConnection) {
    SessionMigrator::up(db, None)
        .await
        .expect("session migrations");
}

/// Now, truncated to milliseconds so it survives every backend's timestamp precision.
pub fn now_ms() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).expect("valid time")
}
