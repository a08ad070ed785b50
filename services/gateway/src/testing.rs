//! A real gateway for other crates' tests (`kefu apply`, the operator's reconciler): SQLite in
//! a folder of the test's, an in-process bus, the HTTP API on a loopback port.

use crate::{GatewayApp, GatewayConfig};
use kefu_bus::{Bus, InProcessBus, Topology};
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub struct LoopbackGateway {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// The gateway's database, to check what a request stored.
    pub db: DatabaseConnection,
    /// The server; it ends once `stop` is cancelled.
    pub server: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Starts a gateway whose admin API takes `admin_token`, storing into `dir/gateway.db`.
pub async fn on_loopback(
    dir: &std::path::Path,
    admin_token: &str,
    stop: CancellationToken,
) -> LoopbackGateway {
    let url = format!("sqlite://{}?mode=rwc", dir.join("gateway.db").display());
    let db = kefu_store::connect(&kefu_store::DbConfig::new(url, None))
        .await
        .expect("the test gateway's SQLite database");
    let config = GatewayConfig {
        admin_token: kefu_config::Secret::new(admin_token.to_owned()),
        ..GatewayConfig::default()
    };
    let bus: Arc<dyn Bus> = Arc::new(InProcessBus::new(Topology::new("kefu")));
    let app = GatewayApp::build(config, db.clone(), bus)
        .await
        .expect("the test gateway");
    let (listener, addr) = kefu_lifecycle::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let server = tokio::spawn(kefu_lifecycle::serve_http(listener, app.router(), stop));
    LoopbackGateway {
        url: format!("http://{addr}"),
        db,
        server,
    }
}
