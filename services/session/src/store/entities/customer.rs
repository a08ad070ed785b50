//! Session: a customer, one per person per tenant, whatever the channel.
use super::values::Strings;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "customers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(indexed)]
    pub tenant_id: String,
    pub display_name: String,
    pub created_at: ChronoDateTimeUtc,
    /// Member tier (e.g. `gold`); empty when unknown.
    pub tier: String,
    pub tags: Strings,
    pub region: String,
    /// zh-Hans | zh-Hant | en; empty when unknown.
    pub language: String,
    /// Set while this customer is merged into another (see `customer_merges`).
    pub merged_into: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
