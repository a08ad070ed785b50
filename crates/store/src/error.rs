use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database not reachable at {url}: {source} — start it or set DATABASE_URL")]
    Unreachable {
        url: String,
        #[source]
        source: sea_orm::DbErr,
    },
    #[error("invalid database configuration: {0}")]
    Config(String),
    #[error("migration failed: {0}")]
    Migration(#[source] sea_orm::DbErr),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("corrupt row in {table}: {reason}")]
    Corrupt { table: &'static str, reason: String },
    #[error(transparent)]
    Bus(#[from] kefu_bus::BusError),
}
