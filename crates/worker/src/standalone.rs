//! A service's standalone process (distributed mode), the same for every service: bind both
//! listeners first (a taken port fails before anything connects), connect PostgreSQL (the
//! service's own schema) and RabbitMQ with readiness for each, serve, run the workers, and stop
//! the listeners when the workers end.

pub use kefu_bus::AmqpTls;
use kefu_bus::{Bus, BusError, RabbitBus, Topology};
use kefu_lifecycle::{Readiness, ReadyHandle, Servers};
use kefu_store::sea_orm::DatabaseConnection;
pub use kefu_store::{DbConfig, PgTls};
use std::future::Future;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// What every service's configuration says about its process.
#[derive(Clone, Debug)]
pub struct ProcessConfig {
    pub service: &'static str,
    /// Where the HTTP listener (its API, /metrics, /healthz, /readyz) and the gRPC listener bind.
    pub listen: (String, String),
    /// PostgreSQL: URL, the service's schema, pool size.
    pub db: DbConfig,
    /// RabbitMQ: URL and the prefix of exchanges and queues.
    pub bus: (String, String),
    /// TLS to RabbitMQ (`amqps://` URLs): CA and client certificate.
    pub bus_tls: AmqpTls,
}

/// `impl $config { pub fn process(&self) -> ProcessConfig }` for a service configuration with
/// the usual fields (`http_addr`, `grpc_addr`, `database_url`, `database_schema`,
/// `database_max_connections`, `database_tls`, `amqp_url`, `amqp_tls`, `bus_prefix`).
#[macro_export]
macro_rules! process_config {
    ($config:ty, $service:literal) => {
        impl $config {
            pub fn process(&self) -> $crate::standalone::ProcessConfig {
                $crate::standalone::ProcessConfig {
                    service: $service,
                    listen: (self.http_addr.clone(), self.grpc_addr.clone()),
                    db: $crate::standalone::DbConfig {
                        max_connections: self.database_max_connections,
                        tls: self.database_tls.clone(),
                        ..$crate::standalone::DbConfig::new(
                            &self.database_url,
                            Some(&self.database_schema),
                        )
                    },
                    bus: (self.amqp_url.clone(), self.bus_prefix.clone()),
                    bus_tls: self.amqp_tls.clone(),
                }
            }
        }
    };
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
        let (http_addr, grpc_addr) = &config.listen;
        let servers = Servers::bind(http_addr, grpc_addr).await?;
        let db = kefu_store::connect(&config.db).await?;
        db_ready.set_ready(true);
        let (amqp_url, prefix) = &config.bus;
        let bus: Arc<dyn Bus> = Arc::new(
            RabbitBus::connect_tls(amqp_url, Topology::new(prefix), &config.bus_tls).await?,
        );
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
