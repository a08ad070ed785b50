//! The session service's tables: customers, identities, conversations, messages, outbox,
//! processed events.
use crate::store::entities::{
    agent, canned_response, conversation, customer, customer_identity, customer_merge, message,
    routing_config, routing_tenant, tenant_settings, work_item,
};
use kefu_store::migration::{
    add_missing_columns, create_entity_table, create_indexes, create_shared_tables, index,
    text_column, unique_index,
};
use sea_orm_migration::prelude::*;

/// The tables the session owns, besides the shared outbox and processed events. Its migrator
/// creates exactly these (a contract test checks), and no other service creates any of them.
pub const TABLES: &[&str] = &[
    "agents",
    "canned_responses",
    "conversations",
    "customer_identities",
    "customer_merges",
    "customers",
    "messages",
    "routing_configs",
    "routing_tenants",
    "tenant_settings",
    "work_items",
];

pub struct SessionMigrator;

#[async_trait::async_trait]
impl MigratorTrait for SessionMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(M0001Initial),
            Box::new(M0002UnifiedCustomer),
            Box::new(M0003Routing),
            Box::new(M0004MessageSequence),
        ]
    }
}

kefu_store::migration! {
    // The name databases already record: the derive named it after its file, which was
    // `session.rs` until the tables moved into the service. Never change a recorded name.
    M0001Initial = "session", |manager| {
        create_entity_table(manager, customer::Entity).await?;
        create_entity_table(manager, customer_identity::Entity).await?;
        create_entity_table(manager, conversation::Entity).await?;
        create_entity_table(manager, message::Entity).await?;
        create_shared_tables(manager).await?;
        create_indexes(
            manager,
            &[
                unique_index(
                    "customer_identities",
                    "ux_identity_key",
                    &["tenant_id", "kind", "scope", "value"],
                ),
                index(
                    "conversations",
                    "ix_conversation_customer_channel",
                    &["tenant_id", "customer_id", "channel_id", "status"],
                ),
                index(
                    "messages",
                    "ix_message_conversation_time",
                    &["conversation_id", "created_at"],
                ),
            ],
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
        Ok(())
    }
}

kefu_store::migration! {
    /// Profiles, merges, tenant rules, handoffs, cards. Tables made by M0001 from today's entities
    /// already have the new columns, so each column is added only where it is missing.
    // Named by hand: the derived name is the module's, which M0001 already has.
    M0002UnifiedCustomer = "session_m0002_unified_customer", |manager| {
        let nullable = |name: &str, kind: fn(&mut ColumnDef) -> &mut ColumnDef| {
            kind(&mut ColumnDef::new(Alias::new(name)))
                .null()
                .to_owned()
        };
        add_missing_columns(
            manager,
            vec![
                ("customers", text_column("tier", "")),
                ("customers", text_column("tags", "[]")),
                ("customers", text_column("region", "")),
                ("customers", text_column("language", "")),
                ("customers", nullable("merged_into", ColumnDef::uuid)),
                ("conversations", text_column("mode", "bot")),
                ("conversations", text_column("bot_state", "")),
                ("conversations", text_column("merchant_id", "")),
                ("conversations", nullable("handoff", ColumnDef::binary)),
                ("messages", text_column("message_type", "text")),
                ("messages", nullable("cards", ColumnDef::binary)),
            ],
        )
        .await?;
        create_entity_table(manager, customer_merge::Entity).await?;
        create_entity_table(manager, tenant_settings::Entity).await?;
        Ok(())
    }
}

kefu_store::migration! {
    /// Routing and the agent desk: agents, work items, canned responses, routing documents and
    /// leases; internal notes on messages.
    M0003Routing = "session_m0003_routing", |manager| {
        add_missing_columns(
            manager,
            vec![
                (
                    "messages",
                    ColumnDef::new(Alias::new("internal"))
                        .boolean()
                        .not_null()
                        .default(false)
                        .to_owned(),
                ),
                ("messages", text_column("agent_id", "")),
            ],
        )
        .await?;
        create_entity_table(manager, agent::Entity).await?;
        create_entity_table(manager, work_item::Entity).await?;
        create_indexes(
            manager,
            &[
                unique_index("agents", "ux_agent_login", &["tenant_id", "login"]),
                index(
                    "work_items",
                    "ix_work_tenant_state",
                    &["tenant_id", "state"],
                ),
                index(
                    "work_items",
                    "ix_work_customer",
                    &["tenant_id", "customer_id"],
                ),
                index(
                    "work_items",
                    "ix_work_agent_state",
                    &["tenant_id", "agent_id", "state"],
                ),
            ],
        )
        .await?;
        create_entity_table(manager, canned_response::Entity).await?;
        create_entity_table(manager, routing_config::Entity).await?;
        create_entity_table(manager, routing_tenant::Entity).await?;
        Ok(())
    }
}

kefu_store::migration! {
    /// Each message's sequence in its conversation (`message.created` carries it), counted on the
    /// conversation row. Existing messages are numbered in the order they were stored.
    // All or nothing on SQLite too (whose migrations run outside a transaction by default).
    M0004MessageSequence = "session_m0004_message_sequence", in_transaction, |manager| {
        let count = |name: &str| {
            ColumnDef::new(Alias::new(name))
                .big_integer()
                .not_null()
                .default(0)
                .to_owned()
        };
        add_missing_columns(
            manager,
            vec![
                ("conversations", count("message_count")),
                ("messages", count("seq")),
            ],
        )
        .await?;
        // Number what is not numbered yet (also after an interrupted run): each conversation's
        // messages in the order they were stored, then each conversation's count. One pass
        // each (UPDATE … FROM: PostgreSQL, SQLite 3.33+).
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE messages SET seq = r.n FROM (SELECT id, ROW_NUMBER() OVER \
             (PARTITION BY conversation_id ORDER BY created_at, id) AS n FROM messages \
             WHERE conversation_id IN (SELECT conversation_id FROM messages WHERE seq = 0)) r \
             WHERE r.id = messages.id AND messages.seq = 0",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE conversations SET message_count = c.n FROM (SELECT conversation_id, \
             MAX(seq) AS n FROM messages GROUP BY conversation_id) c \
             WHERE c.conversation_id = conversations.id AND conversations.message_count < c.n",
        )
        .await?;
        Ok(())
    }
}
