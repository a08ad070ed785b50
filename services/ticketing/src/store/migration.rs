//! The ticketing service's tables: tickets, their comments, audit trail and timers, the
//! per-tenant number counters and settings.

use crate::store::entities::{
    ticket, ticket_audit, ticket_comment, ticket_counter, ticket_settings, ticket_timer,
};
use kefu_store::migration::{
    create_entity_table, create_indexes, create_shared_tables, index, unique_index,
};
use sea_orm_migration::prelude::*;

/// The tables ticketing owns, besides the shared outbox and processed events.
pub const TABLES: &[&str] = &[
    "ticket_audit",
    "ticket_comments",
    "ticket_counters",
    "ticket_settings",
    "ticket_timers",
    "tickets",
];

pub struct TicketingMigrator;

#[async_trait::async_trait]
impl MigratorTrait for TicketingMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(M0001Initial)]
    }
}

kefu_store::migration! {
    /// Tickets, comments, audit, counters, settings, timers.
    M0001Initial = "ticketing_0001_initial", |manager| {
        create_shared_tables(manager).await?;
        create_entity_table(manager, ticket::Entity).await?;
        create_entity_table(manager, ticket_comment::Entity).await?;
        create_entity_table(manager, ticket_audit::Entity).await?;
        create_entity_table(manager, ticket_counter::Entity).await?;
        create_entity_table(manager, ticket_settings::Entity).await?;
        create_entity_table(manager, ticket_timer::Entity).await?;
        create_indexes(
            manager,
            &[
                unique_index("tickets", "ux_tickets_number", &["tenant_id", "number"]),
                index("tickets", "ix_tickets_list", &["tenant_id", "merchant_id", "id"]),
                index("tickets", "ix_tickets_status", &["tenant_id", "status", "id"]),
                index("tickets", "ix_tickets_assignee", &["tenant_id", "assignee_id", "id"]),
                index("tickets", "ix_tickets_requester", &["tenant_id", "requester_id", "id"]),
                index("tickets", "ix_tickets_conversation", &["tenant_id", "conversation_id"]),
                index("tickets", "ix_tickets_due", &["tenant_id", "next_due_at"]),
                index("tickets", "ix_tickets_idempotency", &["tenant_id", "idempotency_key"]),
                index("ticket_comments", "ix_ticket_comments", &["tenant_id", "ticket_id", "id"]),
                index("ticket_audit", "ix_ticket_audit", &["tenant_id", "ticket_id", "id"]),
                index("ticket_timers", "ix_ticket_timers_due", &["due_at"]),
                index("ticket_timers", "ix_ticket_timers_ticket", &["ticket_id"]),
            ],
        )
        .await
    }
}
