//! The standalone gateway process (distributed mode): the process shape every service shares
//! ([`kefu_worker::standalone`]) around the gateway's app.

use crate::{GatewayApp, GatewayConfig};
use kefu_worker::standalone::{Process, ProcessConfig};
use tokio_util::sync::CancellationToken;

pub async fn run(config: GatewayConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    let process = Process::start(&config.process()).await?;
    let app = GatewayApp::build(config, process.db.clone(), process.bus.clone()).await?;
    let routes = tonic::service::Routes::new(app.grpc());
    let workers = shutdown.clone();
    process
        .serve(app.router(), routes, shutdown, |ready| async move {
            app.run_workers(workers, ready).await
        })
        .await
}

impl GatewayConfig {
    pub fn process(&self) -> ProcessConfig {
        ProcessConfig {
            service: "gateway",
            http_addr: self.http_addr.clone(),
            grpc_addr: self.grpc_addr.clone(),
            database_url: self.database_url.clone(),
            database_schema: self.database_schema.clone(),
            database_max_connections: self.database_max_connections,
            amqp_url: self.amqp_url.clone(),
            bus_prefix: self.bus_prefix.clone(),
        }
    }
}
