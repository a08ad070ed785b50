//! The standalone bot process.

use crate::{BotApp, BotConfig, Knowledge};
use kefu_lifecycle::{Readiness, Servers};
use tokio_util::sync::CancellationToken;

pub async fn run(config: BotConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    let readiness = Readiness::new();
    let kb_ready = readiness.component("knowledge");
    let servers = Servers::bind(&config.http_addr, &config.grpc_addr).await?;
    let knowledge = Knowledge::default();
    crate::nlu::warm_up();
    for tenant in config.kb.keys() {
        let started = std::time::Instant::now();
        let engine = crate::reload::load_tenant(&config, tenant)?;
        let entries = engine.len();
        knowledge.set_engine(tenant, engine);
        let index_ms = started.elapsed().as_millis() as u64;
        tracing::info!(%tenant, entries, index_ms, "knowledge base loaded");
    }
    kb_ready.set_ready(true);
    if config.kb_reload_interval_ms > 0 {
        tokio::spawn(crate::reload::watch(
            config.clone(),
            knowledge.clone(),
            std::time::Duration::from_millis(config.kb_reload_interval_ms),
            shutdown.clone(),
        ));
    }
    let app = BotApp::with_orders(knowledge, kefu_orders::OrderClient::new(&config.orders));
    let routes = tonic::service::Routes::new(app.grpc());
    servers
        .serve("bot", axum::Router::new(), routes, readiness, shutdown)
        .await?
}
