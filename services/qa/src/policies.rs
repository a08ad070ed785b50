//! Tenants' QA policies: the `qa.config` consumer stores each `qapolicy` config document
//! version (older versions change nothing), and [`PolicyCache`] compiles the stored policy once
//! per version; a change stored by any replica applies within [`PolicyCache::TTL`], without a
//! restart.

use crate::QaState;
use crate::engine::Policy;
use kefu_bus::{Envelope, HandlerError, QueueSpec};
use kefu_crd::document::kind;
use kefu_proto::events::TenantConfigChanged;
use prost::Message as _;
use sea_orm::{ConnectionTrait, DbErr};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// A tenant's policy, compiled, with the document version it came from.
#[derive(Debug)]
pub struct CompiledPolicy {
    pub version: i64,
    pub policy: Policy,
}

type Entry = (Instant, i64, Option<Arc<CompiledPolicy>>);

#[derive(Clone, Default)]
pub struct PolicyCache {
    entries: Arc<RwLock<HashMap<String, Entry>>>,
}

impl PolicyCache {
    pub const TTL: Duration = Duration::from_secs(2);

    /// The tenant's policy; `None` when it has none (nothing is inspected then).
    pub async fn get<C: ConnectionTrait>(
        &self,
        db: &C,
        tenant: &str,
    ) -> Result<Option<Arc<CompiledPolicy>>, DbErr> {
        if let Some((at, _, p)) = self.entries.read().expect("policy lock").get(tenant)
            && at.elapsed() < Self::TTL
        {
            return Ok(p.clone());
        }
        let stored = crate::store::policy(db, tenant).await?;
        let version = stored.as_ref().map_or(0, |s| s.version);
        let cached = self
            .entries
            .read()
            .expect("policy lock")
            .get(tenant)
            .filter(|(_, v, _)| *v == version)
            .map(|(_, _, p)| p.clone());
        let compiled = match (cached, stored) {
            (Some(p), _) => p,
            (None, Some(s)) if !s.spec.is_empty() => compile(tenant, &s.spec, s.version),
            (None, _) => None,
        };
        let mut entries = self.entries.write().expect("policy lock");
        if entries.len() >= 10_000 {
            entries.clear();
        }
        entries.insert(
            tenant.to_owned(),
            (Instant::now(), version, compiled.clone()),
        );
        Ok(compiled)
    }

    pub fn invalidate(&self, tenant: &str) {
        self.entries.write().expect("policy lock").remove(tenant);
    }
}

fn compile(tenant: &str, spec: &str, version: i64) -> Option<Arc<CompiledPolicy>> {
    let spec: kefu_crd::QaPolicySpec = match serde_json::from_str(spec) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(tenant, error = %e, "the stored QA policy does not read; not inspecting");
            return None;
        }
    };
    match Policy::compile(&spec) {
        Ok(policy) => Some(Arc::new(CompiledPolicy { version, policy })),
        Err(errors) => {
            let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
            tracing::error!(tenant, errors = %errors.join("; "), "the stored QA policy does not compile; not inspecting");
            None
        }
    }
}

pub fn queue_spec() -> QueueSpec {
    kefu_worker::queues::spec(kefu_proto::queues::QA_CONFIG).with_prefetch(16)
}

/// One `tenant.config_changed`: a `qapolicy` document stored (or emptied when deleted).
pub async fn handle(state: QaState, envelope: Envelope) -> Result<(), HandlerError> {
    let event = TenantConfigChanged::decode(envelope.payload.clone())
        .map_err(|e| HandlerError::permanent(format!("undecodable tenant.config_changed: {e}")))?;
    if event.kind != kind::QA_POLICY {
        return Ok(());
    }
    let tenant = envelope.tenant_id.as_str();
    let spec = if event.deleted {
        String::new()
    } else {
        let parsed: kefu_crd::QaPolicySpec = serde_json::from_str(&event.spec_json)
            .map_err(|e| HandlerError::permanent(format!("qapolicy with a bad spec: {e}")))?;
        Policy::compile(&parsed).map_err(|errors| {
            let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
            HandlerError::permanent(format!("qapolicy does not compile: {}", errors.join("; ")))
        })?;
        event.spec_json.clone()
    };
    let stored = crate::store::put_policy(
        &state.db,
        tenant,
        &event.name,
        event.version,
        &spec,
        crate::scoring::now_ms(),
    )
    .await
    .map_err(HandlerError::transient)?;
    state.policies.invalidate(tenant);
    tracing::info!(tenant, name = %event.name, version = event.version, stored, "QA policy from the config document");
    Ok(())
}
