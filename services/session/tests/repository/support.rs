//! Fixtures shared by the contract bodies.

use kefu_session::store::migration::SessionMigrator;
use kefu_store::sea_orm::DatabaseConnection;

pub async fn migrate_session(db: &DatabaseConnection) {
    kefu_store::testing::migrate::<SessionMigrator>(db).await
}

pub use kefu_store::testing::now_ms;
