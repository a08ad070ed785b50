//! The repository contract suite: every body in the modules below runs against a fresh SQLite
//! file and against a fresh PostgreSQL schema, so both backends keep the same observable
//! behaviour.
//!
//! PostgreSQL comes from `DATABASE_URL` (default [`harness::DEFAULT_PG_URL`]). When it is not
//! reachable the `postgres::*` tests fail (they never skip) with a message saying how to fix it.

#[path = "repository/customers.rs"]
mod customers;
#[path = "repository/delivery.rs"]
mod delivery;
#[path = "repository/desk.rs"]
mod desk;
#[path = "repository/gateway.rs"]
mod gateway;
#[path = "repository/harness.rs"]
mod harness;
#[path = "repository/outbox.rs"]
mod outbox;
#[path = "repository/session.rs"]
mod session;
#[path = "repository/support.rs"]
mod support;
#[path = "repository/tenant_config.rs"]
mod tenant_config;

/// For every `module::body`, an `async fn body(db: &DatabaseConnection)`, generates
/// `sqlite::body` and `postgres::body` tests that hand it a fresh, empty database.
macro_rules! contract_suite {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::harness::on_sqlite(|db| Box::pin(crate::$module::$name(db))).await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::harness::on_postgres(|db| Box::pin(crate::$module::$name(db))).await;
                }
            )*
        }
    };
}

contract_suite! {
    desk::concurrent_offers_never_double_assign_or_overfill,
    desk::offers_check_status_and_version,
    desk::routing_leases_are_exclusive_until_expiry,
    desk::routing_documents_keep_the_newest_version,
    desk::desk_reads_are_tenant_scoped,
    gateway::gateway_migrations_are_idempotent,
    gateway::tenant_upsert_creates_then_updates,
    gateway::channel_requires_secret_on_creation,
    gateway::channel_update_without_secret_keeps_it,
    gateway::channel_id_cannot_change_tenant,
    gateway::channel_for_missing_tenant_is_conflict,
    gateway::accept_inbound_stores_message_and_event_once,
    gateway::accept_inbound_reused_id_with_other_body,
    gateway::accept_inbound_ids_are_per_channel,
    delivery::delivery_retries_are_claimed_when_due,
    delivery::dead_delivery_is_never_retried,
    outbox::idempotency_records_once_per_consumer,
    outbox::idempotency_record_rolls_back_with_transaction,
    outbox::relay_publishes_everything_in_order,
    outbox::relay_ignores_rolled_back_events,
    outbox::relay_keeps_rows_when_bus_fails,
    outbox::run_relay_wakes_and_stops,
    outbox::dispatch_publishes_at_once_and_deletes,
    outbox::sweep_publishes_rows_a_crash_left_behind,
    outbox::processed_records_are_pruned_after_retention,
    session::session_migrations_are_idempotent,
    session::customer_resolution_is_per_channel_and_tenant,
    session::reads_are_tenant_scoped,
    session::open_conversation_is_unique_per_customer_and_channel,
    session::concurrent_open_conversation_yields_one,
    session::messages_are_listed_oldest_first,
    customers::a_shared_phone_merges_two_channel_customers_with_their_history,
    customers::unmerge_restores_both_and_is_not_redone_automatically,
    customers::identities_outside_the_merge_rule_do_not_merge,
    customers::merges_never_cross_tenants,
    customers::merging_two_open_conversations_on_one_channel_closes_one,
    customers::profiles_fill_and_update,
    customers::tenant_settings_default_and_persist,
    customers::contexts_and_handoff_state,
    customers::config_rules_apply_in_version_order,
    customers::bot_states_are_written_together_and_per_tenant,
    tenant_config::config_put_versions_and_announces_each_change,
    tenant_config::config_requires_an_existing_tenant,
    tenant_config::config_delete_announces_once_and_list_is_per_tenant,
}
