//! Session: one way of recognising a customer. `(tenant_id, kind, scope, value)` is unique:
//! kind `external` is a channel's user id (scope = channel id); `phone`, `email`,
//! `wechat_unionid`, `member_id` are tenant-wide (scope empty).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "customer_identities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: String,
    #[sea_orm(indexed)]
    pub customer_id: Uuid,
    pub kind: String,
    pub scope: String,
    pub value: String,
    pub created_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
