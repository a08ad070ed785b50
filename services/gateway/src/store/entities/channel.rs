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
    /// The type's settings (the Channel resource's `spec.settings`).
    pub settings: Settings,
    /// Further secrets by name (`app_secret`, `aes_key`). Never printed.
    pub credentials: Credentials,
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
            .field("settings", &self.settings)
            .field("credentials", &self.credentials)
            .finish()
    }
}

impl Model {
    /// A further secret by name, empty when not set.
    pub fn credential(&self, name: &str) -> &str {
        self.credentials.0.get(name).map_or("", String::as_str)
    }
}

kefu_store::json_text! {
    /// A channel's per-type settings, as the Channel resource has them.
    pub struct Settings(pub kefu_crd::channel::ChannelSettings);
}

/// A channel's further secrets by name, as JSON text. Its `Debug` names the keys only.
#[derive(Clone, Default, PartialEq, Eq, sea_orm::DeriveValueType)]
#[sea_orm(
    value_type = "String",
    column_type = "Text",
    from_str = "kefu_store::values::from_json",
    to_str = "kefu_store::values::to_json"
)]
pub struct Credentials(pub std::collections::BTreeMap<String, String>);

impl kefu_store::values::JsonText for Credentials {
    type Inner = std::collections::BTreeMap<String, String>;
    fn wrap(inner: Self::Inner) -> Self {
        Credentials(inner)
    }
    fn inner(&self) -> &Self::Inner {
        &self.0
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
