//! Global installation: one test per binary, because the subscriber is process-wide.

use kefu_telemetry::{TelemetryConfig, TelemetryError};

#[test]
fn init_installs_everything_and_second_call_does_not_panic() {
    let mut cfg = TelemetryConfig::new("kefu-test");
    cfg.log_filter = "info".into();
    let guard = kefu_telemetry::init_with_writer(&cfg, std::io::sink).expect("first init");

    // Second call: a clean error, no panic.
    let second = kefu_telemetry::init_with_writer(&cfg, std::io::sink);
    assert!(
        matches!(second, Err(TelemetryError::AlreadyInitialized)),
        "{second:?}"
    );
    assert!(matches!(
        kefu_telemetry::init(&cfg),
        Err(TelemetryError::AlreadyInitialized)
    ));

    // Spans get OpenTelemetry contexts even without an OTLP endpoint.
    let span = tracing::info_span!("request");
    let trace_id = span
        .in_scope(kefu_telemetry::current_trace_id)
        .expect("trace id");
    assert_eq!(trace_id.len(), 32);
    let ctx = kefu_telemetry::inject_span(&span);
    assert!(ctx["traceparent"].contains(&trace_id));

    // The gRPC interceptor carries it to a server span.
    let metadata = span.in_scope(|| {
        let mut interceptor = kefu_telemetry::grpc::TraceInterceptor;
        tonic::service::Interceptor::call(&mut interceptor, tonic::Request::new(()))
            .unwrap()
            .metadata()
            .clone()
    });
    let mut request = http::Request::new(());
    *request.uri_mut() = "/kefu.bot.v1.Bot/Reply".parse().unwrap();
    *request.headers_mut() = metadata.into_headers();
    let server = kefu_telemetry::grpc::server_span(&request);
    assert_eq!(
        server.in_scope(kefu_telemetry::current_trace_id),
        Some(trace_id)
    );

    // Filtered-out spans have no context.
    let debug_span = tracing::debug_span!("hidden");
    assert!(debug_span.is_disabled());
    assert!(
        debug_span
            .in_scope(kefu_telemetry::current_trace_id)
            .is_none()
    );

    // Filter reload.
    guard.set_log_filter("debug").unwrap();
    assert!(!tracing::debug_span!("visible").is_disabled());
    assert_eq!(guard.log_filter().as_deref(), Some("debug"));
    assert!(matches!(
        guard.set_log_filter("[[["),
        Err(TelemetryError::InvalidFilter { .. })
    ));

    // Metrics carry the service resource.
    kefu_telemetry::metrics::meter()
        .u64_counter("kefu_global_test")
        .build()
        .add(1, &[]);
    let text = kefu_telemetry::metrics::render();
    assert!(text.contains("kefu_global_test_total"), "{text}");
    assert!(text.contains("service_name=\"kefu-test\""), "{text}");

    let started = std::time::Instant::now();
    guard.shutdown();
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
}
