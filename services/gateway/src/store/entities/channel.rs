//! Gateway: a channel through which a tenant's customers write (API, web chat, WeChat, …).
use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "channels")]
pub struct Model {
    /// Globally unique: it appears alone in public URLs.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(indexed)]
    pub tenant_id: String,
    pub channel_type: String,
    /// HMAC-SHA256 key for inbound verification and outbound signing. Never printed.
    pub secret: String,
    pub webhook_url: String,
    pub enabled: bool,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("id", &self.id)
            .field("tenant_id", &self.tenant_id)
            .field("channel_type", &self.channel_type)
            .field("secret", &"[redacted]")
            .field("webhook_url", &self.webhook_url)
            .field("enabled", &self.enabled)
            .finish()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
