//! Serving gRPC: every service's routes behind the standard gRPC health service, one server span
//! per call (parent taken from the caller's trace context), and a graceful stop.

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;

/// Serves `routes` plus `grpc.health.v1.Health` (overall status SERVING while up) on `listener`
/// until `shutdown`, then lets in-flight calls finish.
pub async fn serve_grpc(
    listener: TcpListener,
    routes: Routes,
    shutdown: CancellationToken,
) -> Result<(), tonic::transport::Error> {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;
    let routes = routes.add_service(health);
    let stop = shutdown.clone();
    let result = tonic::transport::Server::builder()
        .trace_fn(kefu_telemetry::grpc::server_span)
        .tcp_nodelay(true)
        .add_routes(routes)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async move {
            stop.cancelled().await;
        })
        .await;
    reporter
        .set_service_status("", tonic_health::ServingStatus::NotServing)
        .await;
    result
}

/// Prints one JSON line on stdout naming the service and the addresses it bound, e.g.
/// `{"kefu":"ready","service":"gateway","http":"127.0.0.1:8080","grpc":"127.0.0.1:50051"}` —
/// how scripts and tests that start a process on port 0 learn where it listens. Logs go to
/// stderr, so stdout carries only these lines.
pub fn announce(service: &str, addrs: &[(&str, std::net::SocketAddr)]) {
    let mut line = serde_json::Map::new();
    line.insert("kefu".into(), "ready".into());
    line.insert("service".into(), service.into());
    for (name, addr) in addrs {
        line.insert((*name).into(), addr.to_string().into());
    }
    println!("{}", serde_json::Value::Object(line));
    tracing::info!(service, addrs = ?addrs, "listening");
}
