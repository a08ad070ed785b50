//! The gateway's tables: tenants, channels, inbound messages (dedupe), deliveries, outbox,
//! processed events.
use crate::store::entities::{
    channel, channel_contact, channel_cursor, channel_token, delivery, inbound_message, tenant,
    tenant_config,
};
use kefu_store::migration::{
    add_missing_columns, create_entity_table, create_indexes, create_shared_tables, text_column,
    unique_index,
};
use sea_orm_migration::prelude::*;

/// The tables the gateway owns, besides the shared outbox and processed events. Its migrator
/// creates exactly these (a contract test checks), and no other service creates any of them.
pub const TABLES: &[&str] = &[
    "channel_contacts",
    "channel_cursors",
    "channel_tokens",
    "channels",
    "deliveries",
    "inbound_messages",
    "tenant_configs",
    "tenants",
];

pub struct GatewayMigrator;

#[async_trait::async_trait]
impl MigratorTrait for GatewayMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(M0001Initial),
            Box::new(M0002TenantConfigs),
            Box::new(M0003ChannelSettings),
            Box::new(M0004ChannelState),
            Box::new(M0005ChannelCursors),
        ]
    }
}

kefu_store::migration! {
    // The name databases already record: the derive named it after its file, which was
    // `gateway.rs` until the tables moved into the service. Never change a recorded name.
    M0001Initial = "gateway", |manager| {
        create_entity_table(manager, tenant::Entity).await?;
        create_entity_table(manager, channel::Entity).await?;
        create_entity_table(manager, inbound_message::Entity).await?;
        create_entity_table(manager, delivery::Entity).await?;
        create_shared_tables(manager).await?;
        create_indexes(
            manager,
            &[unique_index(
                "inbound_messages",
                "ux_inbound_channel_external",
                // The selective column first (see `processed_event`): a batch's dedupe lookup
                // reads only its own ids, also before the table has statistics.
                &["external_message_id", "channel_id"],
            )],
        )
        .await?;
        Ok(())
    }
}

kefu_store::migration! {
    /// Tenant configuration documents (`kefu apply`, the operator).
    // Named by hand: the derive names a migration after its file, which the first one already is.
    M0002TenantConfigs = "gateway_0002_tenant_configs", |manager| {
        create_entity_table(manager, tenant_config::Entity).await
    }
}

kefu_store::migration! {
    /// Channels of every type: their settings and further secrets.
    M0003ChannelSettings = "gateway_0003_channel_settings", |manager| {
        add_missing_columns(
            manager,
            vec![
                ("channels", text_column("settings", "{}")),
                ("channels", text_column("credentials", "{}")),
            ],
        )
        .await
    }
}

kefu_store::migration! {
    /// Provider access tokens and customers' service windows, shared by the replicas.
    M0004ChannelState = "gateway_0004_channel_state", |manager| {
        create_entity_table(manager, channel_token::Entity).await?;
        create_entity_table(manager, channel_contact::Entity).await
    }
}

kefu_store::migration! {
    /// Cursors of the channels Kefu pulls messages from (WeChat Customer Service).
    M0005ChannelCursors = "gateway_0005_channel_cursors", |manager| {
        create_entity_table(manager, channel_cursor::Entity).await
    }
}
