//! Session: one merge of two customers, kept so that it can be undone: which identities and
//! conversations moved from the absorbed customer to the survivor.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "customer_merges")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(indexed)]
    pub tenant_id: String,
    pub survivor_id: Uuid,
    #[sea_orm(indexed)]
    pub absorbed_id: Uuid,
    /// manual | identity:<kind>
    pub cause: String,
    /// JSON array of the identity ids that moved.
    pub identity_ids: String,
    /// JSON array of the conversation ids that moved.
    pub conversation_ids: String,
    pub merged_at: ChronoDateTimeUtc,
    pub unmerged_at: Option<ChronoDateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
