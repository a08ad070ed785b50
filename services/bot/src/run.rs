//! The standalone bot process.

use crate::{BotApp, BotConfig, Knowledge};
use anyhow::Context;
use kefu_lifecycle::Readiness;
use tokio_util::sync::CancellationToken;

pub async fn run(config: BotConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    let readiness = Readiness::new();
    let kb_ready = readiness.component("knowledge");
    let knowledge = Knowledge::default();
    for (tenant, faqs) in config.load_knowledge()? {
        tracing::info!(%tenant, entries = faqs.len(), "knowledge base loaded");
        knowledge.set(&tenant, faqs);
    }
    kb_ready.set_ready(true);
    let app = BotApp::new(knowledge);

    let (http_listener, http_addr) = kefu_lifecycle::bind(&config.http_addr)
        .await
        .with_context(|| format!("binding http_addr {}", config.http_addr))?;
    let (grpc_listener, grpc_addr) = kefu_lifecycle::bind(&config.grpc_addr)
        .await
        .with_context(|| format!("binding grpc_addr {}", config.grpc_addr))?;
    let http = tokio::spawn(kefu_lifecycle::serve_http(
        http_listener,
        kefu_lifecycle::admin_router(readiness.clone()),
        shutdown.clone(),
    ));
    let grpc = tokio::spawn(kefu_lifecycle::serve_grpc(
        grpc_listener,
        tonic::service::Routes::new(app.grpc()),
        shutdown.clone(),
    ));
    kefu_lifecycle::announce("bot", &[("http", http_addr), ("grpc", grpc_addr)]);
    http.await??;
    grpc.await??;
    Ok(())
}
