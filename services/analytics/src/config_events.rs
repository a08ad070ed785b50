//! The `analytics.config` consumer: a Tenant document's `analytics` block (reporting time zone,
//! order attribution, short-abandon threshold) and each Queue document's answer target arrive
//! as `tenant.config_changed` when the tenant's YAML is applied (`kefu apply`, the operator) and
//! apply without a restart to what is counted from then on. Versions make it idempotent: an
//! older document changes nothing.

use crate::AnalyticsState;
use crate::settings::Settings;
use kefu_bus::{Envelope, HandlerError, QueueSpec};
use kefu_crd::document::kind;
use kefu_proto::events::TenantConfigChanged;
use prost::Message as _;

pub fn queue_spec() -> QueueSpec {
    kefu_worker::queues::spec(kefu_proto::queues::ANALYTICS_CONFIG).with_prefetch(16)
}

pub async fn handle(state: AnalyticsState, envelope: Envelope) -> Result<(), HandlerError> {
    let event = TenantConfigChanged::decode(envelope.payload.clone())
        .map_err(|e| HandlerError::permanent(format!("undecodable tenant.config_changed: {e}")))?;
    let tenant = envelope.tenant_id.as_str();
    let bad = |e: serde_json::Error| {
        HandlerError::permanent(format!("tenant.config_changed with a bad spec: {e}"))
    };
    let stored = match event.kind.as_str() {
        kind::TENANT => {
            let spec: kefu_crd::TenantSpec = if event.deleted {
                serde_json::from_value(serde_json::json!({"displayName": tenant})).map_err(bad)?
            } else {
                serde_json::from_str(&event.spec_json).map_err(bad)?
            };
            let settings = Settings::default().with_tenant(&spec);
            crate::store::put_settings(&state.db, tenant, &settings, event.version)
                .await
                .map_err(HandlerError::transient)?
        }
        kind::QUEUE => {
            let target = if event.deleted {
                None
            } else {
                let spec: kefu_crd::QueueSpec =
                    serde_json::from_str(&event.spec_json).map_err(bad)?;
                Some(i64::from(spec.sla.within_seconds))
            };
            crate::store::put_target(&state.db, tenant, &event.name, target, event.version)
                .await
                .map_err(HandlerError::transient)?
        }
        _ => return Ok(()),
    };
    state.settings.invalidate(tenant);
    tracing::info!(tenant, kind = %event.kind, name = %event.name, version = event.version, stored, "analytics settings from the config document");
    Ok(())
}
