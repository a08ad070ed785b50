//! The standalone gateway process (distributed mode): PostgreSQL, RabbitMQ, HTTP and gRPC
//! listeners, the workers, and a graceful stop.

use crate::{GatewayApp, GatewayConfig};
use anyhow::Context;
use kefu_bus::{Bus, RabbitBus, Topology};
use kefu_lifecycle::Readiness;
use kefu_store::DbConfig;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub async fn run(config: GatewayConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    let readiness = Readiness::new();
    let db_ready = readiness.component("database");
    let bus_ready = readiness.component("bus");
    let workers_ready = readiness.component("consumers");

    let (http_listener, http_addr) = kefu_lifecycle::bind(&config.http_addr)
        .await
        .with_context(|| format!("binding http_addr {}", config.http_addr))?;
    let (grpc_listener, grpc_addr) = kefu_lifecycle::bind(&config.grpc_addr)
        .await
        .with_context(|| format!("binding grpc_addr {}", config.grpc_addr))?;

    let db = kefu_store::connect(&DbConfig::new(
        &config.database_url,
        Some(&config.database_schema),
    ))
    .await?;
    db_ready.set_ready(true);
    let bus: Arc<dyn Bus> =
        Arc::new(RabbitBus::connect(&config.amqp_url, Topology::new(&config.bus_prefix)).await?);
    bus_ready.set_ready(true);

    let app = GatewayApp::build(config, db, bus.clone()).await?;
    let router = app
        .router()
        .merge(kefu_lifecycle::admin_router(readiness.clone()));
    let http = tokio::spawn(kefu_lifecycle::serve_http(
        http_listener,
        router,
        shutdown.clone(),
    ));
    let grpc = tokio::spawn(kefu_lifecycle::serve_grpc(
        grpc_listener,
        tonic::service::Routes::new(app.grpc()),
        shutdown.clone(),
    ));
    kefu_lifecycle::announce("gateway", &[("http", http_addr), ("grpc", grpc_addr)]);

    let workers = app.run_workers(shutdown.clone(), workers_ready).await;
    if workers.is_err() {
        // Without its consumers the process is useless: stop the listeners too.
        shutdown.cancel();
    }
    http.await??;
    grpc.await??;
    bus.close().await;
    workers?;
    Ok(())
}
