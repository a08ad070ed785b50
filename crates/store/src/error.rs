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
    #[error("{0} not found")]
    NotFound(String),
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("corrupt row in {table}: {reason}")]
    Corrupt { table: &'static str, reason: String },
}

impl StoreError {
    /// Whether another writer got there first (a unique key already taken): retrying the
    /// work row by row can succeed, unlike with an unreachable database.
    pub fn is_conflict(&self) -> bool {
        match self {
            StoreError::Conflict(_) => true,
            StoreError::Db(e) | StoreError::Migration(e) => matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ),
            _ => false,
        }
    }
}
