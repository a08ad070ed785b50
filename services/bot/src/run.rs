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
    for (tenant, faqs) in config.load_knowledge()? {
        let started = std::time::Instant::now();
        let entries = faqs.len();
        let engine = match config.lexicon(&tenant)? {
            Some(lexicon) => crate::Engine::with_lexicon(faqs, std::sync::Arc::new(lexicon)),
            None => crate::Engine::new(faqs),
        };
        knowledge.set_engine(&tenant, engine);
        let index_ms = started.elapsed().as_millis() as u64;
        tracing::info!(%tenant, entries, index_ms, "knowledge base loaded");
    }
    kb_ready.set_ready(true);
    let app = BotApp::with_orders(knowledge, kefu_orders::OrderClient::new(&config.orders));
    let routes = tonic::service::Routes::new(app.grpc());
    servers
        .serve("bot", axum::Router::new(), routes, readiness, shutdown)
        .await?
}
