//! Analytics: a tenant's reporting settings from its Tenant document (`spec.analytics`).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "report_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: String,
    pub time_zone: String,
    pub attribution_window_s: i64,
    pub attribution_rule: String,
    pub short_abandon_s: i64,
    /// The document version applied (older ones change nothing).
    pub version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
