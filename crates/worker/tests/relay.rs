//! The outbox relay and idempotency contract suite: every body in the modules below runs against a fresh SQLite
//! file and against a fresh PostgreSQL schema ([`kefu_store::testing`]), so both backends keep
//! the same observable behaviour. PostgreSQL comes from `DATABASE_URL`; when it is not
//! reachable the `postgres::*` tests fail (they never skip) saying how to fix it.

#[path = "relay/outbox.rs"]
mod outbox;
#[path = "relay/support.rs"]
mod support;

kefu_store::contract_suite! {
    outbox::idempotency_records_once_per_consumer,
    outbox::idempotency_record_rolls_back_with_transaction,
    outbox::idempotency_claims_only_new_events,
    outbox::relay_publishes_everything_in_order,
    outbox::relay_ignores_rolled_back_events,
    outbox::relay_keeps_rows_when_bus_fails,
    outbox::run_relay_wakes_and_stops,
    outbox::dispatch_publishes_at_once_and_deletes,
    outbox::sweep_publishes_rows_a_crash_left_behind,
    outbox::processed_records_are_pruned_after_retention,
    outbox::published_events_are_counted_by_type,
}
