//! The session's repository contract suite: every body in the modules below runs against a fresh SQLite
//! file and against a fresh PostgreSQL schema ([`kefu_store::testing`]), so both backends keep
//! the same observable behaviour. PostgreSQL comes from `DATABASE_URL`; when it is not
//! reachable the `postgres::*` tests fail (they never skip) saying how to fix it.

#[path = "repository/customers.rs"]
mod customers;
#[path = "repository/desk.rs"]
mod desk;
#[path = "repository/session.rs"]
mod session;
#[path = "repository/support.rs"]
mod support;

kefu_store::contract_suite! {
    session::migrations_create_only_the_sessions_tables,
    desk::concurrent_offers_never_double_assign_or_overfill,
    desk::offers_check_status_and_version,
    desk::routing_leases_are_exclusive_until_expiry,
    desk::routing_documents_keep_the_newest_version,
    desk::desk_reads_are_tenant_scoped,
    session::session_migrations_are_idempotent,
    session::customer_resolution_is_per_channel_and_tenant,
    session::reads_are_tenant_scoped,
    session::open_conversation_is_unique_per_customer_and_channel,
    session::concurrent_open_conversation_yields_one,
    session::messages_are_listed_oldest_first,
    session::messages_are_numbered_densely_under_concurrent_appends,
    session::numbering_migration_numbers_existing_messages,
    customers::a_shared_phone_merges_two_channel_customers_with_their_history,
    customers::unmerge_restores_both_and_is_not_redone_automatically,
    customers::identities_outside_the_merge_rule_do_not_merge,
    customers::merges_never_cross_tenants,
    customers::merging_two_open_conversations_on_one_channel_closes_one,
    customers::a_merge_closes_the_routing_of_the_conversation_it_closes,
    customers::profiles_fill_and_update,
    customers::tenant_settings_default_and_persist,
    customers::contexts_and_handoff_state,
    customers::config_rules_apply_in_version_order,
    customers::bot_states_are_written_together_and_per_tenant,
}
