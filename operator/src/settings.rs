//! The operator's own configuration: the platform it manages (admin API, broker, database,
//! image). Read from flags and environment (the chart fills these from Secrets).

use serde_json::Value;

#[derive(Clone, Debug, clap::Args)]
pub struct Settings {
    /// The platform gateway's HTTP address (shared tenants' configuration goes there).
    #[arg(
        long,
        env = "KEFU_ADMIN_URL",
        default_value = "http://kefu-gateway:8080"
    )]
    pub admin_url: String,
    /// Admin API bearer token (also given to dedicated tenants' gateways).
    #[arg(
        long,
        env = "KEFU_ADMIN_TOKEN",
        hide_env_values = true,
        default_value = ""
    )]
    pub admin_token: String,
    /// Where a dedicated tenant's own gateway serves its admin API (`{tenant}`, `{namespace}`).
    #[arg(
        long,
        env = "KEFU_DEDICATED_ADMIN_URL",
        default_value = "http://kefu-{tenant}-gateway.{namespace}.svc:8080"
    )]
    pub dedicated_admin_url: String,
    /// The broker URL; dedicated tenants get it with their own vhost.
    #[arg(
        long,
        env = "AMQP_URL",
        hide_env_values = true,
        default_value = "amqp://guest:guest@rabbitmq:5672/%2f"
    )]
    pub amqp_url: String,
    /// The database URL dedicated tenants' services use (one schema per tenant and service).
    #[arg(
        long,
        env = "DATABASE_URL",
        hide_env_values = true,
        default_value = "postgres://postgres@postgresql:5432/kefu"
    )]
    pub database_url: String,
    /// RabbitMQ management API, for dedicated tenants' vhosts (`http://host:15672`).
    #[arg(
        long,
        env = "KEFU_RABBITMQ_MANAGEMENT_URL",
        default_value = "http://rabbitmq:15672"
    )]
    pub rabbitmq_management_url: String,
    #[arg(long, env = "KEFU_RABBITMQ_USER", default_value = "guest")]
    pub rabbitmq_user: String,
    #[arg(
        long,
        env = "KEFU_RABBITMQ_PASSWORD",
        hide_env_values = true,
        default_value = "guest"
    )]
    pub rabbitmq_password: String,
    /// The image of dedicated tenants' services (the `kefu` binary: `kefu gateway|session|bot`).
    #[arg(
        long,
        env = "KEFU_IMAGE",
        default_value = "ghcr.io/kefu-dev/kefu:0.1.0"
    )]
    pub image: String,
    /// Container resources of dedicated tenants' services, as JSON.
    #[arg(long, env = "KEFU_TENANT_RESOURCES", value_parser = parse_json, default_value = r#"{"requests":{"cpu":"100m","memory":"128Mi"},"limits":{"memory":"512Mi"}}"#)]
    pub resources: Value,
}

fn parse_json(s: &str) -> Result<Value, String> {
    serde_json::from_str(s).map_err(|e| format!("not JSON: {e}"))
}
