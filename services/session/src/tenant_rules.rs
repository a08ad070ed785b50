//! The `session.config` consumer: a Tenant's rules (which identifiers merge customers, how many
//! misses before a handoff) and the routing documents (Tenant, Queue, RoutingPolicy) arrive as `tenant.config_changed` when the Tenant YAML is applied
//! (`kefu apply`, the operator) and take effect without a restart. Versions make it idempotent:
//! an event older than the rules in force changes nothing.

use crate::SessionState;
use crate::store::customers::{self, TenantSettings};
use kefu_bus::{Envelope, HandlerError, QueueSpec};
use kefu_proto::events::TenantConfigChanged;
use prost::Message as _;

pub fn queue_spec() -> QueueSpec {
    crate::queue(kefu_proto::queues::SESSION_CONFIG).with_prefetch(16)
}

/// The rules a Tenant spec sets.
pub fn settings_of(tenant_id: &str, spec: &kefu_crd::TenantSpec) -> TenantSettings {
    TenantSettings {
        tenant_id: tenant_id.to_owned(),
        merge_identity_kinds: spec
            .customers
            .merge_identity_kinds
            .iter()
            .map(|k| k.as_str().to_owned())
            .collect(),
        handoff_after_misses: spec.bot.handoff_after_misses,
    }
}

pub async fn handle(state: SessionState, envelope: Envelope) -> Result<(), HandlerError> {
    let event = TenantConfigChanged::decode(envelope.payload.clone()).map_err(|e| {
        HandlerError::Permanent(format!("undecodable tenant.config_changed: {e}").into())
    })?;
    let tenant = envelope.tenant_id.as_str();
    // Routing reads Tenant (tiers, merchants' overflow), Queue and RoutingPolicy documents.
    if kefu_crd::document::kind::ROUTING.contains(&event.kind.as_str()) {
        let spec = (!event.deleted).then_some(event.spec_json.as_str());
        let stored = crate::store::desk::put_routing_config(
            &state.db,
            tenant,
            &event.kind,
            &event.name,
            event.version,
            spec,
        )
        .await
        .map_err(HandlerError::transient)?;
        if stored {
            crate::store::desk::touch(&state.db, tenant)
                .await
                .map_err(HandlerError::transient)?;
            tracing::info!(tenant, kind = %event.kind, name = %event.name, version = event.version, "routing document stored");
        }
    }
    if event.kind != kefu_crd::document::kind::TENANT {
        return Ok(());
    }
    let settings = if event.deleted {
        TenantSettings::defaults(tenant)
    } else {
        let spec: kefu_crd::TenantSpec = serde_json::from_str(&event.spec_json).map_err(|e| {
            HandlerError::Permanent(format!("tenant.config_changed with a bad spec: {e}").into())
        })?;
        settings_of(tenant, &spec)
    };
    let applied = customers::apply_config_settings(&state.db, &settings, event.version)
        .await
        .map_err(HandlerError::transient)?;
    state.rules.invalidate(tenant);
    tracing::info!(
        tenant,
        version = event.version,
        applied,
        "tenant rules from the config document"
    );
    Ok(())
}
