//! The analytics service's tables: the append-only facts, each conversation's folded state, the
//! agents' segments, statuses and days, the settings, the rollups and the check runs.

use crate::counters::{Counter, Hist};
use crate::store::entities::{
    agent_day, agent_segment, agent_status, check_run, conversation_state, fact_agent_status,
    fact_conversation, fact_message, fact_order, queue_target, report_settings,
};
use kefu_store::migration::{
    add_missing_columns, create_entity_table, create_indexes, create_shared_tables, index,
};
use sea_orm_migration::prelude::*;

/// The tables analytics owns, besides the shared outbox and processed events.
pub const TABLES: &[&str] = &[
    "agent_days",
    "agent_segments",
    "agent_statuses",
    "check_runs",
    "conversation_states",
    "facts_agent_status",
    "facts_conversation",
    "facts_message",
    "facts_order",
    "queue_targets",
    "report_settings",
    "rollup_labels",
    "rollups",
];

/// The key columns of a rollup cell, in key order.
pub const ROLLUP_KEY: &[&str] = &[
    "tenant_id",
    "grain",
    "bucket",
    "merchant_id",
    "channel",
    "queue_id",
    "agent_id",
    "tier",
];

pub const LABEL_KEY: &[&str] = &["tenant_id", "day", "kind", "label", "merchant_id"];

pub struct AnalyticsMigrator;

#[async_trait::async_trait]
impl MigratorTrait for AnalyticsMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(M0001Initial),
            Box::new(M0002Counters),
            Box::new(M0003Orders),
        ]
    }
}

fn key_columns(table: &mut TableCreateStatement, key: &[&str]) {
    for c in key {
        let mut col = ColumnDef::new(Alias::new(*c));
        if matches!(*c, "bucket" | "day") {
            col.big_integer();
        } else {
            col.string();
        }
        table.col(col.not_null());
    }
    let mut pk = Index::create();
    for c in key {
        pk.col(Alias::new(*c));
    }
    table.primary_key(&mut pk);
}

kefu_store::migration! {
    /// Facts, states, agents, settings, rollups.
    M0001Initial = "analytics_0001_initial", |manager| {
        create_shared_tables(manager).await?;
        create_entity_table(manager, fact_message::Entity).await?;
        create_entity_table(manager, fact_conversation::Entity).await?;
        create_entity_table(manager, fact_agent_status::Entity).await?;
        create_entity_table(manager, conversation_state::Entity).await?;
        create_entity_table(manager, agent_segment::Entity).await?;
        create_entity_table(manager, agent_status::Entity).await?;
        create_entity_table(manager, agent_day::Entity).await?;
        create_entity_table(manager, report_settings::Entity).await?;
        create_entity_table(manager, queue_target::Entity).await?;
        create_entity_table(manager, check_run::Entity).await?;
        let mut rollups = Table::create();
        rollups.table(Alias::new("rollups")).if_not_exists();
        key_columns(&mut rollups, ROLLUP_KEY);
        manager.create_table(rollups.to_owned()).await?;
        let mut labels = Table::create();
        labels.table(Alias::new("rollup_labels")).if_not_exists();
        key_columns(&mut labels, LABEL_KEY);
        labels.col(ColumnDef::new(Alias::new("n")).big_integer().not_null().default(0));
        manager.create_table(labels.to_owned()).await?;
        create_indexes(
            manager,
            &[
                index("facts_message", "ix_fm_conversation", &["tenant_id", "conversation_id", "seq"]),
                index("facts_message", "ix_fm_customer", &["tenant_id", "customer_id", "at"]),
                index("facts_message", "ix_fm_time", &["tenant_id", "at"]),
                index("facts_conversation", "ix_fc_conversation", &["tenant_id", "conversation_id"]),
                index("facts_conversation", "ix_fc_time", &["tenant_id", "at"]),
                index("facts_agent_status", "ix_fa_agent", &["tenant_id", "agent_id", "at"]),
                index("conversation_states", "ix_cs_customer", &["tenant_id", "customer_id", "last_at"]),
                index("conversation_states", "ix_cs_settle", &["settle_at"]),
                index("conversation_states", "ix_cs_waiting", &["waiting_queue"]),
                index("agent_segments", "ix_as_agent", &["tenant_id", "agent_id", "start_at"]),
            ],
        )
        .await
    }
}

kefu_store::migration! {
    /// Every counter and histogram column the rollups lack (all of them on a new table; a
    /// counter added to `Counter` later is added by running this again under a new name).
    M0002Counters = "analytics_0002_counters", |manager| {
        let mut columns: Vec<(&str, ColumnDef)> = Counter::ALL
            .iter()
            .map(|c| {
                (
                    "rollups",
                    ColumnDef::new(Alias::new(c.column()))
                        .big_integer()
                        .not_null()
                        .default(0)
                        .to_owned(),
                )
            })
            .collect();
        columns.extend(Hist::ALL.iter().map(|h| {
            (
                "rollups",
                kefu_store::migration::text_column(h.column(), ""),
            )
        }));
        add_missing_columns(manager, columns).await
    }
}

kefu_store::migration! {
    /// The orders the order system reported, with what their attribution contributed.
    M0003Orders = "analytics_0003_orders", |manager| {
        create_entity_table(manager, fact_order::Entity).await?;
        create_indexes(
            manager,
            &[
                index("facts_order", "ix_fo_customer", &["tenant_id", "customer_id", "placed_at"]),
                index("facts_order", "ix_fo_time", &["tenant_id", "placed_at"]),
            ],
        )
        .await
    }
}
