//! Analytics: the last correctness check of each day (recomputed from the facts, compared with
//! the rollups).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "check_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: String,
    /// The local day's start (ms).
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: i64,
    pub checked_at: i64,
    pub cells: i64,
    /// The differences found (JSON list); `[]` when none.
    pub differences: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
