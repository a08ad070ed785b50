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
    /// HS256 key of agent tokens, given to dedicated tenants' gateways (tokens name their
    /// tenant, so one key serves every tenant). Empty: their desk sign-in is disabled.
    #[arg(
        long,
        env = "KEFU_AGENT_TOKEN_SECRET",
        hide_env_values = true,
        default_value = ""
    )]
    pub agent_token_secret: String,
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
    /// Scale the platform's Deployments for shared tenants' peak events (JSON, see
    /// [`PlatformScaling`]); absent: shared tenants' events are only reported.
    #[arg(long, env = "KEFU_PLATFORM_AUTOSCALING", value_parser = parse_platform)]
    pub platform: Option<PlatformScaling>,
}

/// The platform's own consuming Deployments, scaled by the operator for `shared` tenants' peak
/// events (the chart fills this in): `{"namespace", "secretName", "queueLengthPerReplica",
/// "deployments": [{"component": "session", "name", "minReplicas", "maxReplicas"}]}`.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlatformScaling {
    pub namespace: String,
    /// The Secret whose `amqp-url` KEDA reads.
    pub secret_name: String,
    #[serde(default = "default_queue_length")]
    pub queue_length_per_replica: u32,
    pub deployments: Vec<PlatformDeployment>,
}

#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlatformDeployment {
    /// `gateway` or `session`: which queue it consumes.
    pub component: String,
    pub name: String,
    pub min_replicas: u32,
    pub max_replicas: u32,
}

fn default_queue_length() -> u32 {
    100
}

fn parse_platform(s: &str) -> Result<PlatformScaling, String> {
    let p: PlatformScaling = serde_json::from_str(s).map_err(|e| format!("not valid: {e}"))?;
    for (i, d) in p.deployments.iter().enumerate() {
        let consumes = crate::desired::COMPONENTS
            .iter()
            .any(|c| c.name == d.component && c.queue.is_some());
        if !consumes {
            return Err(format!(
                "deployments[{i}].component: {:?} consumes no queue (gateway, session, ticketing, analytics or qa)",
                d.component
            ));
        }
        if d.min_replicas == 0 || d.max_replicas < d.min_replicas {
            return Err(format!(
                "deployments[{i}]: need 1 <= minReplicas <= maxReplicas"
            ));
        }
    }
    Ok(p)
}

fn parse_json(s: &str) -> Result<Value, String> {
    serde_json::from_str(s).map_err(|e| format!("not JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_scaling_is_checked_when_read() {
        let ok = r#"{"namespace":"kefu","secretName":"s","deployments":[{"component":"session","name":"kefu-session","minReplicas":2,"maxReplicas":10}]}"#;
        let p = parse_platform(ok).unwrap();
        assert_eq!(
            (p.queue_length_per_replica, p.deployments[0].max_replicas),
            (100, 10)
        );
        let bot = ok.replace("\"session\"", "\"bot\"");
        assert!(
            parse_platform(&bot)
                .unwrap_err()
                .contains("deployments[0].component")
        );
        let bounds = ok.replace("\"maxReplicas\":10", "\"maxReplicas\":1");
        assert!(
            parse_platform(&bounds)
                .unwrap_err()
                .contains("minReplicas <= maxReplicas")
        );
        assert!(
            parse_platform(r#"{"namespace":"k"}"#)
                .unwrap_err()
                .contains("missing field")
        );
    }
}
