//! Graceful shutdown of `serve_http`.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use kefu_lifecycle::{bind, serve_http};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test]
async fn bind_port_zero_reports_actual_address() {
    let (listener, addr) = bind("127.0.0.1:0").await.unwrap();
    assert_ne!(addr.port(), 0);
    assert_eq!(listener.local_addr().unwrap(), addr);
    assert!(bind("not an address").await.is_err());
}

#[tokio::test]
async fn cancel_waits_for_in_flight_requests() {
    let router = Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(400)).await;
            "slow done"
        }),
    );
    let (listener, addr) = bind("127.0.0.1:0").await.unwrap();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(serve_http(listener, router, shutdown.clone()));

    let in_flight = tokio::spawn(http_get(addr, "/slow"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    shutdown.cancel();

    let response = tokio::time::timeout(Duration::from_secs(5), in_flight)
        .await
        .expect("in-flight request finished")
        .unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("slow done"), "{response}");

    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("server stopped after cancel")
        .unwrap()
        .unwrap();
    assert!(TcpStream::connect(addr).await.is_err(), "listener closed");
}

#[tokio::test]
async fn serves_admin_router_until_cancelled() {
    let (listener, addr) = bind("127.0.0.1:0").await.unwrap();
    let shutdown = CancellationToken::new();
    let readiness = kefu_lifecycle::Readiness::new();
    let server = tokio::spawn(serve_http(
        listener,
        kefu_lifecycle::admin_router(readiness),
        shutdown.clone(),
    ));
    let response = http_get(addr, "/healthz").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
