//! Reconciling a Tenant: validate, apply its dedicated resources (vhost, Secret, Deployments,
//! Services, autoscalers sized by the peak schedule), push its configuration through the admin
//! API, report status, and come back exactly when the peak schedule next changes. On deletion
//! the finalizer removes the tenant's configuration and broker vhost.

use crate::context::{Context, Error, FINALIZER, MANAGER};
use crate::desired::{self, COMPONENTS};
use crate::peak::{self, Schedule};
use crate::rabbitmq::BrokerError;
use crate::status::{changed, merge_conditions, patch_status};
use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kefu_crd::admin::{AdminClient, AdminError};
use kefu_crd::common::{condition, make_condition};
use kefu_crd::{Isolation, KefuResource, Tenant, TenantStatus, Validate};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

/// How soon a failed step is retried.
pub const RETRY: Duration = Duration::from_secs(30);
pub const KEDA_CRD: &str = "scaledobjects.keda.sh";

pub async fn reconcile(tenant: Arc<Tenant>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = std::time::Instant::now();
    let ns = tenant.namespace().unwrap_or_default();
    let api: Api<Tenant> = Api::namespaced(ctx.client.clone(), &ns);
    let result = finalizer(&api, FINALIZER, tenant, |event| async {
        match event {
            Finalizer::Apply(t) => apply(&t, &ctx).await,
            Finalizer::Cleanup(t) => cleanup(&t, &ctx).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)));
    ctx.metrics
        .reconciled("Tenant", result.is_ok(), started.elapsed().as_secs_f64());
    result
}

async fn ssa<K>(ctx: &Context, ns: &str, obj: &K) -> Result<(), Error>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + Serialize
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    apply_patch(Api::<K>::namespaced(ctx.client.clone(), ns), obj).await
}

/// Server-side apply as the operator's field manager, taking over conflicting fields.
async fn apply_patch<K>(api: Api<K>, obj: &K) -> Result<(), Error>
where
    K: Resource + Clone + Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let params = PatchParams::apply(MANAGER).force();
    api.patch(&obj.name_any(), &params, &Patch::Apply(obj))
        .await?;
    Ok(())
}

async fn ssa_dynamic(ctx: &Context, ns: &str, obj: &DynamicObject) -> Result<(), Error> {
    let resource = obj
        .types
        .as_ref()
        .map(|t| {
            if t.kind == "ScaledObject" {
                desired::scaled_object_resource()
            } else {
                desired::trigger_auth_resource()
            }
        })
        .unwrap_or_else(desired::scaled_object_resource);
    apply_patch(Api::namespaced_with(ctx.client.clone(), ns, &resource), obj).await
}

/// Whether KEDA's ScaledObject CRD is installed.
pub async fn keda_installed(ctx: &Context) -> Result<bool, Error> {
    let crds: Api<CustomResourceDefinition> = Api::all(ctx.client.clone());
    Ok(crds.get_opt(KEDA_CRD).await?.is_some())
}

/// The tenant's own Deployments, Services, Secret and autoscalers; returns the autoscaler used.
async fn apply_dedicated(
    tenant: &Tenant,
    ctx: &Context,
    sched: &Schedule,
) -> Result<&'static str, Error> {
    let ns = tenant.namespace().unwrap_or_default();
    ssa(ctx, &ns, &desired::secret(tenant, &ctx.settings)).await?;
    for c in COMPONENTS {
        ssa::<Deployment>(ctx, &ns, &desired::deployment(tenant, c, &ctx.settings)).await?;
        ssa::<Service>(ctx, &ns, &desired::service(tenant, c)).await?;
    }
    if keda_installed(ctx).await? {
        ssa_dynamic(ctx, &ns, &desired::trigger_authentication(tenant)).await?;
        for c in COMPONENTS {
            if let Some(so) = desired::scaled_object(tenant, c, sched.min_replicas) {
                ssa_dynamic(ctx, &ns, &so).await?;
            }
        }
        Ok("keda")
    } else {
        for c in COMPONENTS {
            if let Some(hpa) = desired::hpa(tenant, c, sched.min_replicas) {
                ssa::<HorizontalPodAutoscaler>(ctx, &ns, &hpa).await?;
            }
        }
        Ok("hpa")
    }
}

/// The admin API a tenant's configuration goes to: the platform's, or its own gateway's.
pub fn admin_for_tenant(tenant: &Tenant, ctx: &Context) -> AdminClient {
    match tenant.spec.isolation {
        Isolation::Shared => ctx.admin.clone(),
        Isolation::Dedicated => AdminClient::new(
            desired::admin_url(
                &ctx.settings.dedicated_admin_url,
                &tenant.name_any(),
                &tenant.namespace().unwrap_or_default(),
            ),
            &ctx.settings.admin_token,
        ),
    }
}

/// One failed step: `(reason, message, retry)`.
pub(crate) type Failure = (&'static str, String, bool);

/// The Ready condition: `Configured` with `configured` as its message, or the failure.
pub(crate) fn ready_condition(
    failure: &Option<Failure>,
    configured: impl Into<String>,
    generation: Option<i64>,
    now: DateTime<Utc>,
) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
    match failure {
        None => make_condition(
            condition::READY,
            true,
            "Configured",
            configured,
            generation,
            now,
        ),
        Some((reason, msg, _)) => make_condition(
            condition::READY,
            false,
            reason,
            msg.clone(),
            generation,
            now,
        ),
    }
}

/// A spec that failed validation, with every error in one message.
pub(crate) fn invalid_spec(errors: &[impl ToString]) -> Failure {
    let msg = errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    ("InvalidSpec", msg, false)
}

pub(crate) fn admin_failure(e: &AdminError) -> Failure {
    let reason = if e.is_transient() {
        "AdminUnavailable"
    } else {
        "ConfigRejected"
    };
    (reason, e.to_string(), e.is_transient())
}

async fn apply(tenant: &Tenant, ctx: &Context) -> Result<Action, Error> {
    let now = ctx.now();
    let name = tenant.name_any();
    let generation = tenant.metadata.generation;
    let old = tenant.status.clone().unwrap_or_default();
    let valid = tenant.spec.validate();
    // An invalid spec schedules nothing: its peak events may be the invalid part.
    let sched = match valid {
        Ok(()) => peak::schedule_at(&tenant.spec, now),
        Err(_) => Schedule {
            min_replicas: tenant.spec.scaling.min_replicas,
            active_event: None,
            next_change: None,
        },
    };
    let mut status = TenantStatus {
        min_replicas: i32::try_from(sched.min_replicas).ok(),
        active_peak_event: sched.active_event.clone(),
        next_scale_change: sched.next_change.map(|t| t.to_rfc3339()),
        ..TenantStatus::default()
    };
    let mut conditions = Vec::new();

    let failure: Option<Failure> = if let Err(errors) = valid {
        Some(invalid_spec(&errors))
    } else {
        let mut failure = None;
        if tenant.spec.isolation == Isolation::Shared
            && let Some((platform, autoscaler)) = crate::platform::apply(ctx, now).await?
        {
            status.autoscaler = Some(autoscaler.into());
            status.min_replicas = i32::try_from(platform.min_replicas).ok();
            conditions.push(make_condition(
                condition::AUTOSCALING,
                autoscaler == "keda",
                if autoscaler == "keda" {
                    "PlatformKeda"
                } else {
                    "KedaMissing"
                },
                format!(
                    "the platform's deployments scale for all shared tenants ({}); min {} replicas",
                    if autoscaler == "keda" {
                        "KEDA on queue depth"
                    } else {
                        "KEDA absent: CPU HPA"
                    },
                    platform.min_replicas
                ),
                generation,
                now,
            ));
        }
        if tenant.spec.isolation == Isolation::Dedicated {
            let vhost = desired::vhost(&name);
            match ctx.broker.ensure_vhost(&vhost).await {
                Err(e) => failure = Some(("BrokerUnavailable", e.to_string(), true)),
                Ok(()) => {
                    let autoscaler = apply_dedicated(tenant, ctx, &sched).await?;
                    status.autoscaler = Some(autoscaler.into());
                    ctx.metrics.min_replicas(&name, sched.min_replicas);
                    conditions.push(if autoscaler == "keda" {
                        make_condition(condition::AUTOSCALING, true, "Keda", format!("KEDA scales on queue depth; min {} replicas", sched.min_replicas), generation, now)
                    } else {
                        make_condition(condition::AUTOSCALING, false, "KedaMissing", format!("KEDA's ScaledObject CRD is absent: fell back to a CPU HPA; min {} replicas", sched.min_replicas), generation, now)
                    });
                }
            }
        }
        if failure.is_none()
            && let Err(e) = admin_for_tenant(tenant, ctx)
                .apply(&KefuResource::Tenant(tenant.clone()), &Default::default())
                .await
        {
            failure = Some(admin_failure(&e));
        }
        failure
    };

    let ready = ready_condition(
        &failure,
        configured_message(tenant, &sched),
        generation,
        now,
    );
    if changed(&old.common.conditions, &ready) {
        ctx.event(
            tenant,
            failure.is_some(),
            &ready.reason,
            ready.message.clone(),
        )
        .await;
    }
    if old.active_peak_event != sched.active_event {
        let note = match &sched.active_event {
            Some(ev) => format!(
                "peak event {ev}: minimum raised to {} replicas",
                sched.min_replicas
            ),
            None => format!("peak over: minimum back to {} replicas", sched.min_replicas),
        };
        ctx.event(tenant, false, "PeakScaling", note).await;
    }
    conditions.insert(0, ready);
    status.common.conditions = merge_conditions(&old.common.conditions, conditions);
    status.common.observed_generation = generation;
    patch_status(ctx, tenant, &status).await?;

    Ok(next_action(&failure, sched.next_change, now))
}

fn configured_message(tenant: &Tenant, sched: &Schedule) -> String {
    match (&tenant.spec.isolation, &sched.active_event) {
        (Isolation::Shared, _) => "configuration applied to the platform".into(),
        (Isolation::Dedicated, Some(ev)) => {
            format!("dedicated services running; peak event {ev} in force")
        }
        (Isolation::Dedicated, None) => "dedicated services running".into(),
    }
}

/// Back exactly at the next schedule boundary, sooner when a step should be retried.
pub fn next_action(
    failure: &Option<Failure>,
    next_change: Option<chrono::DateTime<Utc>>,
    now: chrono::DateTime<Utc>,
) -> Action {
    let until_change = next_change.map(|t| (t - now).to_std().unwrap_or(Duration::ZERO));
    let retry = failure.as_ref().filter(|f| f.2).map(|_| RETRY);
    match (until_change, retry) {
        (Some(a), Some(b)) => Action::requeue(a.min(b)),
        (Some(d), None) | (None, Some(d)) => Action::requeue(d),
        (None, None) => Action::await_change(),
    }
}

async fn cleanup(tenant: &Tenant, ctx: &Context) -> Result<Action, Error> {
    let name = tenant.name_any();
    if tenant.spec.isolation == Isolation::Dedicated {
        // Deployments and Services go with their owner; the broker's vhost does not.
        match ctx.broker.delete_vhost(&desired::vhost(&name)).await {
            Ok(()) => {}
            Err(BrokerError::Unreachable(e)) => {
                // A broker that is gone took the vhost with it; don't block deletion on it.
                ctx.event(
                    tenant,
                    true,
                    "BrokerGone",
                    format!("vhost not deleted, broker unreachable: {e}"),
                )
                .await;
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        match ctx
            .admin
            .delete_config(&name, kefu_crd::admin::kind::TENANT, &name)
            .await
        {
            Ok(()) => {}
            Err(e) if e.is_transient() => return Err(e.into()),
            Err(e) => tracing::warn!(tenant = %name, error = %e, "tenant config not removed"),
        }
        // Its peak events no longer hold the platform's floor up.
        crate::platform::apply(ctx, ctx.now()).await?;
    }
    ctx.event(
        tenant,
        false,
        "Deleted",
        "tenant configuration and broker vhost removed".into(),
    )
    .await;
    Ok(Action::await_change())
}
