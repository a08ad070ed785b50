//! Session: per-tenant customer and bot rules.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenant_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: String,
    /// Comma-separated identity kinds that merge customers automatically.
    pub merge_identity_kinds: String,
    pub handoff_after_misses: i32,
    pub updated_at: ChronoDateTimeUtc,
    /// Version of the Tenant config document these rules came from (0: set by the API).
    pub config_version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
