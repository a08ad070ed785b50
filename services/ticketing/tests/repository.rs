//! The ticketing service's contract suite: every body below runs against a fresh SQLite file
//! and a fresh PostgreSQL schema ([`kefu_store::testing`]), so both backends number, change,
//! scope and time tickets the same way. PostgreSQL comes from `DATABASE_URL`; when it is not
//! reachable the `postgres::*` tests fail (they never skip) saying how to fix it.

#[path = "repository/sla.rs"]
mod sla;
#[path = "repository/support.rs"]
mod support;
#[path = "repository/tickets.rs"]
mod tickets;

kefu_store::contract_suite! {
    tickets::migrations_create_only_ticketing_tables,
    tickets::numbers_are_per_tenant_and_year_and_never_repeat,
    tickets::every_change_is_audited_with_its_events,
    tickets::closed_is_final,
    tickets::a_customer_reply_reopens_and_lands_once,
    tickets::tenant_and_merchant_scope,
    tickets::list_filters_and_cursor_paging,
    tickets::bad_input_names_the_field_and_writes_nothing,
    tickets::a_retried_create_is_one_ticket,
    sla::pending_pauses_and_the_reply_resumes_to_the_exact_breach,
    sla::timers_fire_once_at_their_instant,
    sla::settings_are_checked_and_versioned,
    sla::settings_come_from_the_tenant_document,
}
