//! The standalone QA process (distributed mode): the process shape every service shares
//! ([`kefu_worker::standalone`]) around the QA app.

use crate::{QaApp, QaConfig};
use kefu_worker::standalone::Process;
use tokio_util::sync::CancellationToken;

pub async fn run(config: QaConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    let process = Process::start(&config.process()).await?;
    let app = QaApp::build(config, process.db.clone(), process.bus.clone()).await?;
    let routes = tonic::service::Routes::new(app.grpc());
    let workers = shutdown.clone();
    process
        .serve(axum::Router::new(), routes, shutdown, |ready| async move {
            app.run_workers(workers, ready).await
        })
        .await
}

kefu_worker::process_config!(QaConfig, "qa");
