//! The `ticketing.config` consumer: a Tenant document's `ticketing` block (sub-statuses, SLA
//! policies, the calendar) arrives as `tenant.config_changed` when the tenant's YAML is applied
//! (`kefu apply`, the operator) and applies without a restart to what happens from then on.
//! Versions make it idempotent: an older document changes nothing.

use crate::TicketingState;
use crate::tickets::Error;
use kefu_bus::{Envelope, HandlerError, QueueSpec};
use kefu_crd::document::kind;
use kefu_proto::events::TenantConfigChanged;
use prost::Message as _;

pub fn queue_spec() -> QueueSpec {
    kefu_worker::queues::spec(kefu_proto::queues::TICKETING_CONFIG).with_prefetch(16)
}

pub async fn handle(state: TicketingState, envelope: Envelope) -> Result<(), HandlerError> {
    let event = TenantConfigChanged::decode(envelope.payload.clone())
        .map_err(|e| HandlerError::permanent(format!("undecodable tenant.config_changed: {e}")))?;
    if event.kind != kind::TENANT {
        return Ok(());
    }
    let tenant = envelope.tenant_id.as_str();
    let json = if event.deleted {
        "{}".to_owned()
    } else {
        let spec: kefu_crd::TenantSpec = serde_json::from_str(&event.spec_json).map_err(|e| {
            HandlerError::permanent(format!("tenant.config_changed with a bad spec: {e}"))
        })?;
        serde_json::to_string(&spec.ticketing).expect("the ticketing block serializes")
    };
    let stored = match crate::tickets::put_settings(&state.db, tenant, &json, event.version).await {
        Ok(stored) => stored,
        Err(Error::Invalid(e)) => {
            return Err(HandlerError::permanent(format!(
                "the Tenant's ticketing block is invalid: {e}"
            )));
        }
        Err(e) => return Err(HandlerError::transient(e.to_string())),
    };
    tracing::info!(
        tenant,
        version = event.version,
        stored,
        "ticketing settings from the Tenant document"
    );
    Ok(())
}
