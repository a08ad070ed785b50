//! The analytics service's contract suite: every body below runs against a fresh SQLite file and
//! a fresh PostgreSQL schema ([`kefu_store::testing`]), so both backends fold the same events
//! into the same numbers. PostgreSQL comes from `DATABASE_URL`; when it is not reachable the
//! `postgres::*` tests fail (they never skip) saying how to fix it.

#[path = "repository/folding.rs"]
mod folding;
#[path = "repository/support.rs"]
mod support;

kefu_store::contract_suite! {
    folding::migrations_create_only_analytics_tables,
    folding::a_script_folds_into_the_numbers_computed_by_hand,
    folding::replays_and_arrival_order_change_nothing,
    folding::the_check_agrees_and_finds_a_tampered_cell,
    folding::settings_follow_the_config_documents_by_version,
    folding::reports_are_tenant_and_merchant_scoped,
    folding::orders_go_to_the_last_agent_the_bot_or_nobody,
}
