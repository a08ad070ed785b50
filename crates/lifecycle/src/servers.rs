//! A service process's two listeners — HTTP (its API, if any, plus /metrics, /healthz,
//! /readyz) and gRPC (its API plus health) — bound first, served together, announced once.

use crate::{Readiness, admin_router, announce, bind, serve_grpc, serve_http};
use anyhow::Context;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub struct Servers {
    http: TcpListener,
    grpc: TcpListener,
    pub http_addr: SocketAddr,
    pub grpc_addr: SocketAddr,
}

impl Servers {
    /// Binds both addresses (port 0 picks a free port); errors name the setting.
    pub async fn bind(http_addr: &str, grpc_addr: &str) -> anyhow::Result<Self> {
        let (http, http_bound) = bind(http_addr)
            .await
            .with_context(|| format!("binding http_addr {http_addr}"))?;
        let (grpc, grpc_bound) = bind(grpc_addr)
            .await
            .with_context(|| format!("binding grpc_addr {grpc_addr}"))?;
        Ok(Self {
            http,
            grpc,
            http_addr: http_bound,
            grpc_addr: grpc_bound,
        })
    }

    /// Serves `router` (merged with the admin routes) and `routes` until `shutdown`, and
    /// announces `service` on stdout. The handle resolves when both servers have stopped.
    pub fn serve(
        self,
        service: &str,
        router: axum::Router,
        routes: tonic::service::Routes,
        readiness: Readiness,
        shutdown: CancellationToken,
    ) -> JoinHandle<anyhow::Result<()>> {
        let router = router.merge(admin_router(readiness));
        let http = tokio::spawn(serve_http(self.http, router, shutdown.clone()));
        let grpc = tokio::spawn(serve_grpc(self.grpc, routes, shutdown));
        announce(
            service,
            &[("http", self.http_addr), ("grpc", self.grpc_addr)],
        );
        tokio::spawn(async move {
            http.await??;
            grpc.await??;
            Ok(())
        })
    }
}
