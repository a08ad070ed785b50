//! The gateway's repository contract suite: every body in the modules below runs against a fresh SQLite
//! file and against a fresh PostgreSQL schema ([`kefu_store::testing`]), so both backends keep
//! the same observable behaviour. PostgreSQL comes from `DATABASE_URL`; when it is not
//! reachable the `postgres::*` tests fail (they never skip) saying how to fix it.

#[path = "repository/channel_state.rs"]
mod channel_state;
#[path = "repository/delivery.rs"]
mod delivery;
#[path = "repository/gateway.rs"]
mod gateway;
#[path = "repository/support.rs"]
mod support;
#[path = "repository/tenant_config.rs"]
mod tenant_config;

kefu_store::contract_suite! {
    gateway::migrations_create_only_the_gateways_tables,
    gateway::gateway_migrations_are_idempotent,
    gateway::replicas_migrating_at_once_all_succeed,
    gateway::tenant_upsert_creates_then_updates,
    gateway::channel_requires_secret_on_creation,
    gateway::channel_update_without_secret_keeps_it,
    gateway::channel_id_cannot_change_tenant,
    gateway::channel_for_missing_tenant_is_conflict,
    gateway::accept_inbound_stores_message_and_event_once,
    gateway::accept_inbound_reused_id_with_other_body,
    gateway::accept_inbound_ids_are_per_channel,
    channel_state::one_token_fetch_per_expiry_across_replicas,
    channel_state::window_quota_is_claimed_atomically,
    delivery::delivery_retries_are_claimed_when_due,
    delivery::dead_delivery_is_never_retried,
    tenant_config::config_put_versions_and_announces_each_change,
    tenant_config::config_requires_an_existing_tenant,
    tenant_config::config_delete_announces_once_and_list_is_per_tenant,
}
