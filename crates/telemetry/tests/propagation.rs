//! Trace context survives a "process boundary": two independent subscribers/tracer providers,
//! linked only by the serialised `TraceContext` map.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tracing_subscriber::layer::SubscriberExt;

struct Process {
    exporter: InMemorySpanExporter,
    provider: SdkTracerProvider,
    dispatch: tracing::Dispatch,
}

impl Process {
    fn new(name: &'static str) -> Self {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer(name)));
        Self {
            exporter,
            provider,
            dispatch: tracing::Dispatch::new(subscriber),
        }
    }

    fn run<T>(&self, f: impl FnOnce() -> T) -> T {
        tracing::dispatcher::with_default(&self.dispatch, f)
    }

    fn finished(&self, name: &str) -> SpanData {
        self.provider.force_flush().unwrap();
        self.exporter
            .get_finished_spans()
            .unwrap()
            .into_iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("span {name} was not exported"))
    }
}

#[test]
fn inject_extract_round_trip_keeps_trace_id() {
    kefu_telemetry::init_propagator();
    let client = Process::new("client");
    let server = Process::new("server");

    let (ctx, client_trace_id) = client.run(|| {
        let span = tracing::info_span!("client.call", otel.kind = "client");
        let _entered = span.enter();
        let ctx = kefu_telemetry::inject_current();
        assert_eq!(ctx, kefu_telemetry::inject_span(&span));
        (
            ctx,
            kefu_telemetry::current_trace_id().expect("sampled span"),
        )
    });
    assert!(ctx.contains_key("traceparent"), "{ctx:?}");
    assert!(ctx["traceparent"].contains(&client_trace_id));

    let server_trace_id = server.run(|| {
        let span = tracing::info_span!("server.handle");
        kefu_telemetry::set_parent(&span, &ctx);
        let _entered = span.enter();
        let child = tracing::info_span!("server.child");
        let _child = child.enter();
        kefu_telemetry::current_trace_id().expect("sampled span")
    });
    assert_eq!(server_trace_id, client_trace_id);

    let client_span = client.finished("client.call");
    let server_span = server.finished("server.handle");
    let server_child = server.finished("server.child");
    assert_eq!(
        client_span.span_kind,
        opentelemetry::trace::SpanKind::Client
    );
    assert_eq!(
        server_span.span_context.trace_id(),
        client_span.span_context.trace_id()
    );
    assert_eq!(
        server_span.parent_span_id,
        client_span.span_context.span_id()
    );
    assert!(server_span.parent_span_is_remote);
    assert_eq!(
        server_child.span_context.trace_id(),
        client_span.span_context.trace_id()
    );
    assert_eq!(
        server_child.parent_span_id,
        server_span.span_context.span_id()
    );
}

#[test]
fn grpc_and_http_carriers_link_spans() {
    kefu_telemetry::init_propagator();
    let client = Process::new("client");
    let server = Process::new("server");

    let (metadata, headers) = client.run(|| {
        let span = tracing::info_span!("client.rpc");
        let _entered = span.enter();
        let mut interceptor = kefu_telemetry::grpc::TraceInterceptor;
        let request =
            tonic::service::Interceptor::call(&mut interceptor, tonic::Request::new(())).unwrap();
        let mut headers = http::HeaderMap::new();
        kefu_telemetry::http_trace::inject_headers(&mut headers);
        (request.metadata().clone(), headers)
    });
    assert!(kefu_telemetry::grpc::extract(&metadata).contains_key("traceparent"));

    server.run(|| {
        let mut request = http::Request::builder()
            .uri("http://svc/kefu.session.v1.SessionService/Open")
            .body(())
            .unwrap();
        *request.headers_mut() = metadata.clone().into_headers();
        let span = kefu_telemetry::grpc::server_span(&request);
        drop(span.enter());
        let span =
            kefu_telemetry::http_trace::server_span(&http::Method::POST, "/v1/messages", &headers);
        drop(span.enter());
    });

    let client_span = client.finished("client.rpc");
    let grpc_span = server.finished("kefu.session.v1.SessionService/Open");
    let http_span = server.finished("POST /v1/messages");
    for span in [&grpc_span, &http_span] {
        assert_eq!(
            span.span_context.trace_id(),
            client_span.span_context.trace_id()
        );
        assert_eq!(span.parent_span_id, client_span.span_context.span_id());
        assert_eq!(span.span_kind, opentelemetry::trace::SpanKind::Server);
    }
    let attr = |key: &str| {
        grpc_span
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.to_string())
    };
    assert_eq!(attr("rpc.system").as_deref(), Some("grpc"));
    assert_eq!(
        attr("rpc.service").as_deref(),
        Some("kefu.session.v1.SessionService")
    );
    assert_eq!(attr("rpc.method").as_deref(), Some("Open"));
}

#[test]
fn empty_or_invalid_context_starts_a_new_trace() {
    kefu_telemetry::init_propagator();
    let server = Process::new("server");
    let mut bogus = kefu_telemetry::TraceContext::new();
    bogus.insert("traceparent".into(), "not-a-traceparent".into());
    server.run(|| {
        for ctx in [kefu_telemetry::TraceContext::new(), bogus.clone()] {
            let span = tracing::info_span!("fresh");
            kefu_telemetry::set_parent(&span, &ctx);
            drop(span.enter());
        }
    });
    server.provider.force_flush().unwrap();
    let spans = server.exporter.get_finished_spans().unwrap();
    assert_eq!(spans.len(), 2);
    for span in spans {
        assert_eq!(span.parent_span_id, opentelemetry::trace::SpanId::INVALID);
    }
}
