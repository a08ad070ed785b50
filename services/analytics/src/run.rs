//! The standalone analytics process (distributed mode): the process shape every service shares
//! ([`kefu_worker::standalone`]) around the analytics app.

use crate::{AnalyticsApp, AnalyticsConfig};
use kefu_worker::standalone::Process;
use tokio_util::sync::CancellationToken;

pub async fn run(config: AnalyticsConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    let process = Process::start(&config.process()).await?;
    let app = AnalyticsApp::build(config, process.db.clone(), process.bus.clone()).await?;
    let routes = tonic::service::Routes::new(app.grpc());
    let workers = shutdown.clone();
    process
        .serve(axum::Router::new(), routes, shutdown, |ready| async move {
            app.run_workers(workers, ready).await
        })
        .await
}

kefu_worker::process_config!(AnalyticsConfig, "analytics");
