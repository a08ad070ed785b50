//! The operator process: `/healthz`, `/readyz`, `/metrics`; leader election; then one
//! Controller per kind, each also watching what it owns, until a signal or lost leadership.

use crate::config::{self, ConfigResource};
use crate::context::{Context, Error, system_clock};
use crate::settings::Settings;
use crate::tenant;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use kefu_crd::{Channel, QaPolicy, Queue, RoutingPolicy, Tenant};
use kube::api::Api;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, Resource};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub settings: Settings,
    /// Where /healthz, /readyz and /metrics are served.
    #[arg(long, env = "KEFU_HTTP_ADDR", default_value = "0.0.0.0:8080")]
    pub http: String,
    /// Namespace of the leader-election Lease (the operator's own).
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    pub namespace: String,
    /// This replica's identity in the Lease.
    #[arg(long, env = "POD_NAME", default_value = "kefu-operator-local")]
    pub identity: String,
    /// Watch only this namespace (default: all).
    #[arg(long, env = "KEFU_WATCH_NAMESPACE")]
    pub watch_namespace: Option<String>,
}

fn error_policy<K>(_obj: Arc<K>, error: &Error, _ctx: Arc<Context>) -> Action {
    tracing::warn!(error = %error, "reconciliation failed; retrying");
    Action::requeue(Duration::from_secs(15))
}

fn api<K>(client: &Client, ns: &Option<String>) -> Api<K>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
{
    match ns {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

async fn drive<K: ConfigResource>(
    client: Client,
    ns: Option<String>,
    ctx: Arc<Context>,
    stop: CancellationToken,
) {
    Controller::new(
        api::<K>(&client, &ns),
        watcher::Config::default().any_semantic(),
    )
    .graceful_shutdown_on(async move { stop.cancelled().await })
    .run(config::reconcile::<K>, error_policy, ctx)
    .for_each(|r| async move {
        if let Err(e) = r {
            tracing::debug!(error = %e, "controller");
        }
    })
    .await;
}

pub async fn run(args: RunArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
    let client = Client::try_default().await?;
    let readiness = kefu_lifecycle::Readiness::new();
    let ready = readiness.component("controllers");
    let (listener, addr) = kefu_lifecycle::bind(&args.http).await?;
    let http = tokio::spawn(kefu_lifecycle::serve_http(
        listener,
        kefu_lifecycle::admin_router(readiness),
        shutdown.clone(),
    ));
    kefu_lifecycle::announce("operator", &[("http", addr)]);

    let elector = crate::leader::Elector::new(
        Api::<Lease>::namespaced(client.clone(), &args.namespace),
        "kefu-operator",
        &args.identity,
        Duration::from_secs(15),
    );
    let Some(lost) = elector.lead(Duration::from_secs(5), shutdown.clone()).await else {
        let _ = http.await;
        return Ok(());
    };
    ready.set_ready(true);
    let ctx = Arc::new(Context::new(client.clone(), args.settings, system_clock()));
    let ns = args.watch_namespace;
    let stop = lost.clone();
    let tenants = Controller::new(
        api::<Tenant>(&client, &ns),
        watcher::Config::default().any_semantic(),
    )
    .owns(
        api::<Deployment>(&client, &ns),
        watcher::Config::default().labels("app.kubernetes.io/managed-by=kefu-operator"),
    )
    .graceful_shutdown_on(async move { stop.cancelled().await })
    .run(tenant::reconcile, error_policy, ctx.clone())
    .for_each(|r| async move {
        if let Err(e) = r {
            tracing::debug!(error = %e, "tenant controller");
        }
    });
    tokio::join!(
        tenants,
        drive::<Channel>(client.clone(), ns.clone(), ctx.clone(), lost.clone()),
        drive::<Queue>(client.clone(), ns.clone(), ctx.clone(), lost.clone()),
        drive::<RoutingPolicy>(client.clone(), ns.clone(), ctx.clone(), lost.clone()),
        drive::<QaPolicy>(client.clone(), ns.clone(), ctx.clone(), lost.clone()),
    );
    let leadership_lost = lost.is_cancelled() && !shutdown.is_cancelled();
    shutdown.cancel();
    let _ = http.await;
    if leadership_lost {
        anyhow::bail!("leadership lost; restarting as a candidate");
    }
    Ok(())
}
