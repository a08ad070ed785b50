//! A service's standalone process (distributed mode), the same for every service: bind both
//! listeners first (a taken port fails before anything connects), connect PostgreSQL (the
//! service's own schema) and RabbitMQ with readiness for each, serve, run the workers, and stop
//! the listeners when the workers end.

use kefu_bus::{Bus, BusError, RabbitBus, Topology};
use kefu_lifecycle::{Readiness, ReadyHandle, Servers};
use kefu_store::DbConfig;
use kefu_store::sea_orm::DatabaseConnection;
use std::future::Future;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// What every service's configuration says about its process.
#[derive(Clone, Debug)]
pub struct ProcessConfig {
    pub service: &'static str,
    pub http_addr: String,
    pub grpc_addr: String,
    pub database_url: String,
    pub database_schema: String,
    pub database_max_connections: u32,
    pub amqp_url: String,
    pub bus_prefix: String,
}

/// A started process: listeners bound, database and bus connected.
pub struct Process {
    pub db: DatabaseConnection,
    pub bus: Arc<dyn Bus>,
    service: &'static str,
    readiness: Readiness,
    servers: Servers,
    workers_ready: ReadyHandle,
}

impl Process {
    pub async fn start(config: &ProcessConfig) -> anyhow::Result<Self> {
        let readiness = Readiness::new();
        let (db_ready, bus_ready) = (readiness.component("database"), readiness.component("bus"));
        let workers_ready = readiness.component("consumers");
        let servers = Servers::bind(&config.http_addr, &config.grpc_addr).await?;
        let db = kefu_store::connect(&DbConfig {
            max_connections: config.database_max_connections,
            ..DbConfig::new(&config.database_url, Some(config.database_schema.as_str()))
        })
        .await?;
        db_ready.set_ready(true);
        let topology = Topology::new(&config.bus_prefix);
        let bus: Arc<dyn Bus> = Arc::new(RabbitBus::connect(&config.amqp_url, topology).await?);
        bus_ready.set_ready(true);
        Ok(Self {
            db,
            bus,
            service: config.service,
            readiness,
            servers,
            workers_ready,
        })
    }

    /// Serves `router` and `routes` and runs `workers` until `shutdown`. Without its consumers
    /// the process is useless: when they stop, the listeners stop too.
    pub async fn serve<F, Fut>(
        self,
        router: axum::Router,
        routes: tonic::service::Routes,
        shutdown: CancellationToken,
        workers: F,
    ) -> anyhow::Result<()>
    where
        F: FnOnce(ReadyHandle) -> Fut,
        Fut: Future<Output = Result<(), BusError>>,
    {
        let servers = self.servers.serve(
            self.service,
            router,
            routes,
            self.readiness,
            shutdown.clone(),
        );
        let result = workers(self.workers_ready).await;
        shutdown.cancel();
        servers.await??;
        self.bus.close().await;
        Ok(result?)
    }
}
