//! Gateway: a channel's provider access token (WeChat's, WeCom's, Douyin's), shared by every
//! replica. Fetching a new one is leased, so one replica fetches per expiry and the others
//! wait for it (providers limit fetches, and a new token invalidates the old after a while).
use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "channel_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub channel_id: String,
    pub tenant_id: String,
    /// Empty until the first fetch. Never printed.
    pub token: String,
    pub expires_at: ChronoDateTimeUtc,
    /// The replica fetching a new token, and until when it may (its lease).
    pub lease_owner: String,
    pub lease_until: ChronoDateTimeUtc,
    /// Tokens fetched for this channel so far.
    pub fetches: i64,
    pub updated_at: ChronoDateTimeUtc,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelToken")
            .field("channel_id", &self.channel_id)
            .field("token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("lease_owner", &self.lease_owner)
            .field("lease_until", &self.lease_until)
            .field("fetches", &self.fetches)
            .finish()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
