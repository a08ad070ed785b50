//! End to end: `tracing` spans reach an (in-process, fake) OTLP/gRPC collector with the service
//! resource and correct parent/child links.

use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;

#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<ExportTraceServiceRequest>>>);

#[async_trait::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_are_exported_over_otlp_grpc() {
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );

    let mut cfg = kefu_telemetry::TelemetryConfig::new("kefu-otlp-export");
    cfg.otlp_endpoint = Some(format!("http://{addr}"));
    let guard = kefu_telemetry::init_with_writer(&cfg, std::io::sink).unwrap();

    let mut request = http::Request::new(());
    *request.uri_mut() = "/kefu.session.v1.SessionService/Open".parse().unwrap();
    let server = kefu_telemetry::grpc::server_span(&request);
    server.in_scope(|| {
        let child = tracing::info_span!("db.query", otel.kind = "client");
        child.in_scope(|| tracing::info!("querying"));
    });
    drop(server);

    tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .unwrap();

    let requests = collector.0.lock().unwrap().clone();
    let resource_spans: Vec<_> = requests.iter().flat_map(|r| &r.resource_spans).collect();
    let service_name = resource_spans
        .iter()
        .filter_map(|rs| rs.resource.as_ref())
        .flat_map(|r| &r.attributes)
        .find(|kv| kv.key == "service.name")
        .and_then(|kv| kv.value.as_ref()?.value.clone());
    assert_eq!(
        service_name,
        Some(Value::StringValue("kefu-otlp-export".into()))
    );

    let spans: Vec<_> = resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
        .collect();
    let find = |name: &str| {
        spans
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("span {name} not exported: {spans:#?}"))
    };
    let parent = find("kefu.session.v1.SessionService/Open");
    let child = find("db.query");
    assert_eq!(child.trace_id, parent.trace_id);
    assert_eq!(child.parent_span_id, parent.span_id);
    assert!(parent.parent_span_id.is_empty());
    // SpanKind: SERVER = 2, CLIENT = 3.
    assert_eq!(parent.kind, 2);
    assert_eq!(child.kind, 3);
}
