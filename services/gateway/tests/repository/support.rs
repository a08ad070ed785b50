//! Fixtures shared by the contract bodies.

use kefu_gateway::store::migration::GatewayMigrator;
use kefu_store::sea_orm::DatabaseConnection;

pub async fn migrate_gateway(db: &DatabaseConnection) {
    kefu_store::testing::migrate::<GatewayMigrator>(db).await
}

pub use kefu_bus::testing::{envelope, trace_context};
pub use kefu_store::testing::now_ms;
