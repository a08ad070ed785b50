//! Gateway: a tenant configuration document — the validated spec of a Tenant, Queue or
//! RoutingPolicy resource (kefu-crd types, as JSON), keyed by tenant, kind and name.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenant_configs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// The spec as JSON text (portable across SQLite and PostgreSQL).
    #[sea_orm(column_type = "Text")]
    pub spec: String,
    /// 1 on creation, +1 on every change of `spec`.
    pub version: i64,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
