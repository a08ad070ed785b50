//! Reconciling Channels, Queues, RoutingPolicies and QaPolicies: validate, find the Tenant they name (a
//! missing one is reported on `spec.tenant`), resolve a Channel's Secret, and push the resource
//! through the admin API of the platform (shared tenant) or the tenant's own gateway
//! (dedicated). The finalizer withdraws it: a Queue's or policy's document is deleted, a
//! Channel is disabled (its id stays the tenant's, as the gateway requires).

use crate::context::{Context, Error, FINALIZER};
use crate::status::{changed, merge_conditions, patch_status};
use crate::tenant::{RETRY, admin_for_tenant};
use k8s_openapi::api::core::v1::Secret;
use kefu_crd::admin::kind;
use kefu_crd::{
    Channel, CommonStatus, FieldError, KefuResource, QaPolicy, Queue, RoutingPolicy, Tenant,
    Validate,
};
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::sync::Arc;

/// What the three kinds have in common for reconciliation.
pub trait ConfigResource:
    Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    const KIND: &'static str;
    fn tenant(&self) -> &str;
    fn current_status(&self) -> Option<&CommonStatus>;
    fn check(&self) -> Result<(), Vec<FieldError>>;
    fn resource(&self) -> KefuResource;
}

macro_rules! config_resource {
    ($ty:ty, $kind:literal, $variant:ident) => {
        impl ConfigResource for $ty {
            const KIND: &'static str = $kind;
            fn tenant(&self) -> &str {
                &self.spec.tenant
            }
            fn current_status(&self) -> Option<&CommonStatus> {
                self.status.as_ref()
            }
            fn check(&self) -> Result<(), Vec<FieldError>> {
                self.spec.validate()
            }
            fn resource(&self) -> KefuResource {
                KefuResource::$variant(self.clone())
            }
        }
    };
}

config_resource!(Channel, "Channel", Channel);
config_resource!(Queue, "Queue", Queue);
config_resource!(RoutingPolicy, "RoutingPolicy", RoutingPolicy);
config_resource!(QaPolicy, "QaPolicy", QaPolicy);

pub async fn reconcile<K: ConfigResource>(obj: Arc<K>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = std::time::Instant::now();
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    let result = finalizer(&api, FINALIZER, obj, |event| async {
        match event {
            Finalizer::Apply(o) => apply(&*o, &ctx).await,
            Finalizer::Cleanup(o) => cleanup(&*o, &ctx).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)));
    ctx.metrics
        .reconciled(K::KIND, result.is_ok(), started.elapsed().as_secs_f64());
    result
}

async fn find_tenant<K: ConfigResource>(obj: &K, ctx: &Context) -> Result<Option<Tenant>, Error> {
    let tenants: Api<Tenant> =
        Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    Ok(tenants.get_opt(obj.tenant()).await?)
}

/// The values of a Channel's credential references (by their admin-API names), or why one
/// cannot be had.
async fn channel_secrets(
    channel: &Channel,
    ctx: &Context,
) -> Result<Result<kefu_crd::admin::ChannelSecrets, String>, Error> {
    let secrets: Api<Secret> =
        Api::namespaced(ctx.client.clone(), &channel.namespace().unwrap_or_default());
    let mut values = kefu_crd::admin::ChannelSecrets::new();
    for (name, field, r) in channel.spec.credentials.refs() {
        let Some(secret) = secrets.get_opt(&r.name).await? else {
            return Ok(Err(format!(
                "spec.credentials.{field}: Secret {:?} not found",
                r.name
            )));
        };
        let value = secret.data.as_ref().and_then(|d| d.get(&r.key));
        match value.map(|v| String::from_utf8(v.0.clone())) {
            Some(Ok(s)) => {
                values.insert(name, s);
            }
            Some(Err(_)) => {
                return Ok(Err(format!(
                    "spec.credentials.{field}: key {:?} is not UTF-8",
                    r.key
                )));
            }
            None => {
                return Ok(Err(format!(
                    "spec.credentials.{field}: Secret {:?} has no key {:?}",
                    r.name, r.key
                )));
            }
        }
    }
    Ok(Ok(values))
}

async fn apply<K: ConfigResource>(obj: &K, ctx: &Context) -> Result<Action, Error> {
    let now = ctx.now();
    let generation = obj.meta().generation;
    let old = obj.current_status().cloned().unwrap_or_default();

    let failure: Option<crate::tenant::Failure> = if let Err(errors) = obj.check() {
        Some(crate::tenant::invalid_spec(&errors))
    } else {
        match find_tenant(obj, ctx).await? {
            None => Some((
                "TenantNotFound",
                format!(
                    "spec.tenant: no Tenant {:?} in namespace {:?}",
                    obj.tenant(),
                    obj.namespace().unwrap_or_default()
                ),
                true,
            )),
            Some(tenant) => {
                let resource = obj.resource();
                let secrets = match &resource {
                    KefuResource::Channel(c) => channel_secrets(c, ctx).await?,
                    _ => Ok(Default::default()),
                };
                match secrets {
                    Err(msg) => Some(("SecretNotFound", msg, true)),
                    Ok(secrets) => {
                        match admin_for_tenant(&tenant, ctx)
                            .apply(&resource, &secrets)
                            .await
                        {
                            Ok(()) => None,
                            Err(e) => Some(crate::tenant::admin_failure(&e)),
                        }
                    }
                }
            }
        }
    };
    let ready =
        crate::tenant::ready_condition(&failure, "applied to the platform", generation, now);
    if changed(&old.conditions, &ready) {
        ctx.event(obj, failure.is_some(), &ready.reason, ready.message.clone())
            .await;
    }
    let status = CommonStatus {
        observed_generation: generation,
        conditions: merge_conditions(&old.conditions, vec![ready]),
    };
    patch_status(ctx, obj, &status).await?;
    Ok(match failure {
        Some((_, _, true)) => Action::requeue(RETRY),
        _ => Action::await_change(),
    })
}

async fn cleanup<K: ConfigResource>(obj: &K, ctx: &Context) -> Result<Action, Error> {
    let Some(tenant) = find_tenant(obj, ctx).await? else {
        return Ok(Action::await_change()); // the tenant's deletion took its configuration along
    };
    let admin = admin_for_tenant(&tenant, ctx);
    let name = obj.name_any();
    let result = match obj.resource() {
        KefuResource::Channel(mut c) => {
            c.spec.enabled = false;
            admin.put_channel(&c, &name, &Default::default()).await
        }
        KefuResource::Queue(_) => admin.delete_config(obj.tenant(), kind::QUEUE, &name).await,
        KefuResource::RoutingPolicy(_) => {
            admin
                .delete_config(obj.tenant(), kind::ROUTING_POLICY, &name)
                .await
        }
        KefuResource::QaPolicy(_) => {
            admin
                .delete_config(obj.tenant(), kind::QA_POLICY, &name)
                .await
        }
        KefuResource::Tenant(_) => Ok(()),
    };
    match result {
        Ok(()) => {}
        Err(e) if e.is_transient() => return Err(e.into()),
        Err(e) => {
            tracing::warn!(kind = K::KIND, %name, error = %e, "withdrawal refused; deleting anyway")
        }
    }
    ctx.event(
        obj,
        false,
        "Deleted",
        format!("{} withdrawn from the platform", K::KIND),
    )
    .await;
    Ok(Action::await_change())
}
