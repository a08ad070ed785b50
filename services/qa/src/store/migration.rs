//! The QA service's tables: policies, conversations with their items (messages and markers),
//! findings, alerts, agents' days and review assignments.

use crate::store::entities::{agent_day, alert, conversation, finding, item, policy, review};
use kefu_store::migration::{create_entity_table, create_indexes, create_shared_tables, index};
use sea_orm_migration::prelude::*;

/// The tables QA owns, besides the shared outbox and processed events.
pub const TABLES: &[&str] = &[
    "qa_agent_days",
    "qa_alerts",
    "qa_conversations",
    "qa_findings",
    "qa_items",
    "qa_policies",
    "qa_reviews",
];

pub struct QaMigrator;

#[async_trait::async_trait]
impl MigratorTrait for QaMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(M0001Initial)]
    }
}

kefu_store::migration! {
    /// Every QA table.
    M0001Initial = "qa_0001_initial", |manager| {
        create_shared_tables(manager).await?;
        create_entity_table(manager, policy::Entity).await?;
        create_entity_table(manager, conversation::Entity).await?;
        create_entity_table(manager, item::Entity).await?;
        create_entity_table(manager, finding::Entity).await?;
        create_entity_table(manager, alert::Entity).await?;
        create_entity_table(manager, agent_day::Entity).await?;
        create_entity_table(manager, review::Entity).await?;
        create_indexes(
            manager,
            &[
                index("qa_findings", "ix_qf_conversation", &["tenant_id", "conversation_id"]),
                index("qa_findings", "ix_qf_rule", &["tenant_id", "rule", "status"]),
                index("qa_conversations", "ix_qc_closed", &["tenant_id", "day"]),
                index("qa_conversations", "ix_qc_agent", &["tenant_id", "agent_id", "day"]),
                index("qa_alerts", "ix_qa_time", &["tenant_id", "raised_at"]),
                index("qa_reviews", "ix_qr_reviewer", &["tenant_id", "reviewer_id", "status"]),
                index("qa_reviews", "ix_qr_conversation", &["tenant_id", "conversation_id"]),
            ],
        )
        .await
    }
}
