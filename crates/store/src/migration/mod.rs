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

/// A named index over several columns, declared by a service next to the entity it serves.
pub struct IndexSpec<'a> {
    pub table: &'a str,
    pub name: &'a str,
    pub columns: &'a [&'a str],
    pub unique: bool,
}

/// A lookup index over `columns` of `table`.
pub const fn index<'a>(table: &'a str, name: &'a str, columns: &'a [&'a str]) -> IndexSpec<'a> {
    IndexSpec {
        table,
        name,
        columns,
        unique: false,
    }
}

/// A unique key over `columns` of `table`.
pub const fn unique_index<'a>(
    table: &'a str,
    name: &'a str,
    columns: &'a [&'a str],
) -> IndexSpec<'a> {
    IndexSpec {
        unique: true,
        ..index(table, name, columns)
    }
}

/// `CREATE [UNIQUE] INDEX IF NOT EXISTS` for each of `specs`, in order.
pub async fn create_indexes(
    manager: &SchemaManager<'_>,
    specs: &[IndexSpec<'_>],
) -> Result<(), DbErr> {
    for spec in specs {
        let mut index = Index::create();
        index
            .name(spec.name)
            .table(Alias::new(spec.table))
            .if_not_exists();
        for c in spec.columns {
            index.col(Alias::new(*c));
        }
        if spec.unique {
            index.unique();
        }
        manager.create_index(index.to_owned()).await?;
    }
    Ok(())
}

/// Adds each `(table, column)` whose table does not have the column yet, so a migration that
/// adds columns also runs on tables an older migration made from today's entities (which
/// already have them), and again after an interrupted run.
pub async fn add_missing_columns(
    manager: &SchemaManager<'_>,
    columns: Vec<(&str, ColumnDef)>,
) -> Result<(), DbErr> {
    for (table, mut column) in columns {
        let name = column.get_column_name();
        if !manager.has_column(table, &name).await? {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(table))
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
    }
    Ok(())
}

/// A `NOT NULL` text column with a default, the shape most added columns take.
pub fn text_column(name: &str, default: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .string()
        .not_null()
        .default(default)
        .to_owned()
}

/// The tables every service has: its outbox and its processed-event records.
pub async fn create_shared_tables(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    create_entity_table(manager, outbox::Entity).await?;
    create_entity_table(manager, processed_event::Entity).await
}

/// The shared tables' names, for the tests that check which tables a service creates.
pub const SHARED_TABLES: &[&str] = &["outbox", "processed_events"];

/// Applies `M`'s pending migrations in one transaction, so a failed step leaves nothing
/// half-made and migrators starting together run one after the other: on PostgreSQL the
/// transaction first takes an advisory lock on the schema (replicas would otherwise race on
/// `CREATE TABLE IF NOT EXISTS`, which PostgreSQL can fail with a duplicate `pg_type` row, and
/// on recording a migration); SQLite's one connection is held by the transaction.
pub async fn apply<M: MigratorTrait>(db: &sea_orm::DatabaseConnection) -> Result<(), DbErr> {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let txn = db.begin().await?;
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        txn.execute_unprepared(
            "SELECT pg_advisory_xact_lock(hashtext('kefu.migrate.' || current_schema()))",
        )
        .await?;
    }
    M::up(&txn, None).await?;
    txn.commit().await
}

/// A migration: the name databases record for it (never change a released one), optionally
/// `in_transaction` (SQLite runs migrations outside one unless asked), and its `up` steps.
/// Migrations only add; there is no `down`.
///
/// ```ignore
/// kefu_store::migration! {
///     /// Tenant configuration documents.
///     M0002TenantConfigs = "gateway_0002_tenant_configs", |manager| {
///         create_entity_table(manager, tenant_config::Entity).await
///     }
/// }
/// ```
#[macro_export]
macro_rules! migration {
    ($(#[$meta:meta])* $name:ident = $recorded:literal $(, $in_transaction:ident)?, |$manager:ident| $body:block) => {
        $(#[$meta])*
        struct $name;

        impl $crate::sea_orm_migration::MigrationName for $name {
            fn name(&self) -> &str {
                $recorded
            }
        }

        #[$crate::sea_orm_migration::async_trait::async_trait]
        impl $crate::sea_orm_migration::MigrationTrait for $name {
            $($crate::migration!(@$in_transaction);)?

            async fn up(
                &self,
                $manager: &$crate::sea_orm_migration::SchemaManager,
            ) -> Result<(), $crate::sea_orm_migration::DbErr> $body
        }
    };
    (@in_transaction) => {
        fn use_transaction(&self) -> Option<bool> {
            Some(true)
        }
    };
}
