//! The standalone session process (distributed mode).

use crate::{SessionApp, SessionConfig};
use kefu_bus::{Bus, RabbitBus, Topology};
use kefu_lifecycle::{Readiness, Servers};
use kefu_store::DbConfig;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub async fn run(config: SessionConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    let readiness = Readiness::new();
    let (db_ready, bus_ready) = (readiness.component("database"), readiness.component("bus"));
    let workers_ready = readiness.component("consumers");
    let servers = Servers::bind(&config.http_addr, &config.grpc_addr).await?;
    let schema = Some(config.database_schema.as_str());
    let db = kefu_store::connect(&DbConfig {
        max_connections: config.database_max_connections,
        ..DbConfig::new(&config.database_url, schema)
    })
    .await?;
    db_ready.set_ready(true);
    let topology = Topology::new(&config.bus_prefix);
    let bus: Arc<dyn Bus> = Arc::new(RabbitBus::connect(&config.amqp_url, topology).await?);
    bus_ready.set_ready(true);

    let app = SessionApp::build(config, db, bus.clone()).await?;
    let routes = tonic::service::Routes::new(app.grpc()).add_service(app.desk_grpc());
    let servers = servers.serve(
        "session",
        axum::Router::new(),
        routes,
        readiness,
        shutdown.clone(),
    );
    let workers = app.run_workers(shutdown.clone(), workers_ready).await;
    shutdown.cancel();
    servers.await??;
    bus.close().await;
    Ok(workers?)
}
