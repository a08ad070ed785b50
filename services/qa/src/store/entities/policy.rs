//! QA: a tenant's QA policy, as its `qapolicy` config document last said (the spec as JSON).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "qa_policies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: String,
    /// The document's name.
    pub name: String,
    /// The document version applied (older ones change nothing).
    pub version: i64,
    /// The `QaPolicySpec` as JSON; empty when the document was deleted.
    pub spec: String,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
