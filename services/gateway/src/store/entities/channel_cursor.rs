//! Gateway: where a channel that is pulled from (WeChat Customer Service's `kf/sync_msg`) has
//! read up to, shared by the replicas. One pull at a time holds the lease; a callback that
//! comes while another pull runs sets `pending`, and that pull reads again before it lets go,
//! so nothing that was announced is left unread.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "channel_cursors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub channel_id: String,
    pub tenant_id: String,
    /// The provider's cursor after the last message stored; empty before the first pull.
    pub cursor: String,
    /// A callback announced messages after the running pull began.
    pub pending: bool,
    pub lease_owner: String,
    pub lease_until: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
