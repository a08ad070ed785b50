//! Helpers for the services' migrators. Each service owns its tables (and, on PostgreSQL, its
//! own schema) and has its own migrator in its crate. Tables are created from the entity
//! definitions so the two cannot disagree; composite unique keys and lookup indexes are
//! declared by the service.

use crate::entities::{outbox, processed_event};
use sea_orm::{EntityTrait, Schema};
use sea_orm_migration::prelude::*;

/// `CREATE TABLE IF NOT EXISTS` for an entity, plus its single-column indexes.
pub async fn create_entity_table<E: EntityTrait>(
    manager: &SchemaManager<'_>,
    entity: E,
) -> Result<(), DbErr> {
    let schema = Schema::new(manager.get_database_backend());
    manager
        .create_table(
            schema
                .create_table_from_entity(entity)
                .if_not_exists()
                .to_owned(),
        )
        .await?;
    for mut index in schema.create_index_from_entity(entity) {
        manager
            .create_index(index.if_not_exists().to_owned())
            .await?;
    }
    Ok(())
}

/// A named (optionally unique) index over several columns.
pub async fn create_index(
    manager: &SchemaManager<'_>,
    table: &str,
    name: &str,
    columns: &[&str],
    unique: bool,
) -> Result<(), DbErr> {
    let mut index = Index::create();
    index.name(name).table(Alias::new(table)).if_not_exists();
    for c in columns {
        index.col(Alias::new(*c));
    }
    if unique {
        index.unique();
    }
    manager.create_index(index.to_owned()).await
}

/// The tables every service has: its outbox and its processed-event records.
pub async fn create_shared_tables(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    create_entity_table(manager, outbox::Entity).await?;
    create_entity_table(manager, processed_event::Entity).await
}

/// The shared tables' names, for the tests that check which tables a service creates.
pub const SHARED_TABLES: &[&str] = &["outbox", "processed_events"];
