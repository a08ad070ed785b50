//! Shared tenants' peak events on the platform's own Deployments. Every shared tenant is served
//! by the same gateway and session, so their floor is the highest any shared tenant's schedule
//! asks for now — `ceil(platform min × trafficMultiplier)` — recomputed by each shared tenant's
//! reconciliation (each comes back at its own next boundary, so every change of the combined
//! schedule is seen). The autoscalers are owned by the Deployments they scale.

use crate::context::{Context, Error, MANAGER};
use crate::desired::{self, COMPONENTS};
use crate::peak::{self, Schedule};
use crate::settings::PlatformScaling;
use crate::tenant::keda_installed;
use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kefu_crd::{Isolation, Tenant, Validate};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde_json::json;

pub const AUTH_NAME: &str = "kefu-platform-rabbitmq";

/// The combined schedule of the shared tenants (those being deleted no longer count).
pub fn combined(
    p: &PlatformScaling,
    tenants: &[Tenant],
    component: &str,
    now: DateTime<Utc>,
) -> Option<Schedule> {
    let d = p.deployments.iter().find(|d| d.component == component)?;
    let shared = tenants.iter().filter(|t| {
        t.spec.isolation == Isolation::Shared
            && t.meta().deletion_timestamp.is_none()
            && t.spec.validate().is_ok()
    });
    Some(peak::combine(
        shared
            .map(|t| peak::schedule_for(&t.spec.peak_events, d.min_replicas, d.max_replicas, now)),
        d.min_replicas,
    ))
}

fn metadata(name: &str, namespace: &str, owners: &[&Deployment]) -> serde_json::Value {
    let owners: Vec<_> = owners.iter().filter_map(|d| d.owner_ref(&())).collect();
    json!({
        "name": name,
        "namespace": namespace,
        "labels": {"app.kubernetes.io/managed-by": desired::MANAGED_BY, "app.kubernetes.io/name": "kefu"},
        "ownerReferences": owners,
    })
}

/// Applies the platform's autoscalers; `None` when platform scaling is not configured.
/// Returns the floor in force (the highest over the platform's Deployments) and the autoscaler.
pub async fn apply(
    ctx: &Context,
    now: DateTime<Utc>,
) -> Result<Option<(Schedule, &'static str)>, Error> {
    let Some(p) = &ctx.settings.platform else {
        return Ok(None);
    };
    let tenants = Api::<Tenant>::all(ctx.client.clone())
        .list(&ListParams::default())
        .await?
        .items;
    let deployments: Api<Deployment> = Api::namespaced(ctx.client.clone(), &p.namespace);
    let mut targets = Vec::new();
    for d in &p.deployments {
        if let Some(found) = deployments.get_opt(&d.name).await? {
            targets.push((d, found));
        }
    }
    let keda = keda_installed(ctx).await?;
    let pp = PatchParams::apply(MANAGER).force();
    let mut overall = Vec::new();
    if keda {
        let owners: Vec<&Deployment> = targets.iter().map(|(_, t)| t).collect();
        let auth = desired::dynamic(
            &desired::trigger_auth_resource(),
            json!({
                "apiVersion": "keda.sh/v1alpha1",
                "kind": "TriggerAuthentication",
                "metadata": metadata(AUTH_NAME, &p.namespace, &owners),
                "spec": {"secretTargetRef": [{"parameter": "host", "name": p.secret_name, "key": "amqp-url"}]},
            }),
        );
        let api: Api<DynamicObject> = Api::namespaced_with(
            ctx.client.clone(),
            &p.namespace,
            &desired::trigger_auth_resource(),
        );
        api.patch(AUTH_NAME, &pp, &Patch::Apply(&auth)).await?;
    }
    for (d, target) in &targets {
        let Some(component) = COMPONENTS.iter().find(|c| c.name == d.component) else {
            continue;
        };
        let Some(sched) = combined(p, &tenants, component.name, now) else {
            continue;
        };
        let meta = metadata(&d.name, &p.namespace, &[target]);
        if keda {
            let so = desired::scaled_object_for(
                meta,
                &d.name,
                component.queue.unwrap_or_default(),
                sched.min_replicas,
                d.max_replicas,
                p.queue_length_per_replica,
                AUTH_NAME,
            );
            let api: Api<DynamicObject> = Api::namespaced_with(
                ctx.client.clone(),
                &p.namespace,
                &desired::scaled_object_resource(),
            );
            api.patch(&d.name, &pp, &Patch::Apply(&so)).await?;
        } else {
            let hpa = desired::hpa_for(meta, &d.name, sched.min_replicas, d.max_replicas);
            let api: Api<HorizontalPodAutoscaler> =
                Api::namespaced(ctx.client.clone(), &p.namespace);
            api.patch(&hpa.name_any(), &pp, &Patch::Apply(&hpa)).await?;
        }
        overall.push(sched);
    }
    let floor = overall.iter().map(|s| s.min_replicas).max().unwrap_or(0);
    let sched = peak::combine(overall, floor);
    Ok(Some((sched, if keda { "keda" } else { "hpa" })))
}
