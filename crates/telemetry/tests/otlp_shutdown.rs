//! With an unreachable OTLP collector, shutdown must still return in bounded time.

use std::time::{Duration, Instant};

use kefu_telemetry::{TelemetryConfig, TelemetryError};

#[test]
fn otlp_requires_a_runtime() {
    let mut cfg = TelemetryConfig::new("kefu-otlp-test");
    cfg.otlp_endpoint = Some("http://127.0.0.1:1".into());
    let err = kefu_telemetry::init_with_writer(&cfg, std::io::sink).unwrap_err();
    assert!(matches!(err, TelemetryError::NoRuntime), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_with_unreachable_collector_is_bounded() {
    let mut cfg = TelemetryConfig::new("kefu-otlp-test");
    // Nothing listens on port 1.
    cfg.otlp_endpoint = Some("http://127.0.0.1:1".into());
    let guard = loop {
        // Another test of this binary may briefly hold the "initialised" flag.
        match kefu_telemetry::init_with_writer(&cfg, std::io::sink) {
            Err(TelemetryError::AlreadyInitialized) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            other => break other.expect("init with endpoint"),
        }
    };
    for i in 0..10 {
        let span = tracing::info_span!("work", i);
        span.in_scope(|| tracing::info!("doing work"));
    }
    let started = Instant::now();
    tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
}
