//! The session service's tables: customers, identities, conversations, messages, outbox,
//! processed events.
use super::{create_entity_table, create_index};
use crate::entities::{
    conversation, customer, customer_identity, message, outbox, processed_event,
};
use sea_orm_migration::prelude::*;

pub struct SessionMigrator;

#[async_trait::async_trait]
impl MigratorTrait for SessionMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(M0001Initial)]
    }
}

#[derive(DeriveMigrationName)]
struct M0001Initial;

#[async_trait::async_trait]
impl MigrationTrait for M0001Initial {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_entity_table(manager, customer::Entity).await?;
        create_entity_table(manager, customer_identity::Entity).await?;
        create_index(
            manager,
            "customer_identities",
            "ux_identity_key",
            &["tenant_id", "kind", "scope", "value"],
            true,
        )
        .await?;
        create_entity_table(manager, conversation::Entity).await?;
        create_index(
            manager,
            "conversations",
            "ix_conversation_customer_channel",
            &["tenant_id", "customer_id", "channel_id", "status"],
            false,
        )
        .await?;
        // At most one open conversation per customer and channel, even with several replicas
        // (a partial index; PostgreSQL and SQLite share the syntax).
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX IF NOT EXISTS ux_conversation_open \
                 ON conversations (tenant_id, customer_id, channel_id) WHERE status = 'open'",
            )
            .await?;
        create_entity_table(manager, message::Entity).await?;
        create_index(
            manager,
            "messages",
            "ix_message_conversation_time",
            &["conversation_id", "created_at"],
            false,
        )
        .await?;
        create_entity_table(manager, outbox::Entity).await?;
        create_entity_table(manager, processed_event::Entity).await?;
        Ok(())
    }
}
