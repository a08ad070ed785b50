//! The standalone bot process.

use crate::{BotApp, BotConfig, Knowledge};
use kefu_lifecycle::{Readiness, Servers};
use tokio_util::sync::CancellationToken;

pub async fn run(config: BotConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    let readiness = Readiness::new();
    let kb_ready = readiness.component("knowledge");
    let servers = Servers::bind(&config.http_addr, &config.grpc_addr).await?;
    let knowledge = Knowledge::default();
    for (tenant, faqs) in config.load_knowledge()? {
        tracing::info!(%tenant, entries = faqs.len(), "knowledge base loaded");
        knowledge.set(&tenant, faqs);
    }
    kb_ready.set_ready(true);
    let app = BotApp::with_orders(knowledge, kefu_orders::OrderClient::new(&config.orders));
    let routes = tonic::service::Routes::new(app.grpc());
    servers
        .serve("bot", axum::Router::new(), routes, readiness, shutdown)
        .await?
}
