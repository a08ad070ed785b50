//! Trace context propagation for tonic clients and servers.
//!
//! ```ignore
//! // client
//! let client = FooClient::with_interceptor(channel, kefu_telemetry::grpc::TraceInterceptor);
//! // server
//! Server::builder().trace_fn(kefu_telemetry::grpc::server_span).add_service(svc);
//! ```

use crate::TraceContext;
use crate::carrier::{HeaderExtractor, MetadataExtractor, MetadataInjector};
use crate::propagation::{extract_with, propagation_fields, set_parent_context};

/// tonic client interceptor injecting the current span's trace context into request metadata.
#[derive(Clone, Copy, Debug, Default)]
pub struct TraceInterceptor;

impl tonic::service::Interceptor for TraceInterceptor {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        inject_metadata(request.metadata_mut());
        Ok(request)
    }
}

/// Injects the current span's trace context into `metadata`.
pub fn inject_metadata(metadata: &mut tonic::metadata::MetadataMap) {
    let cx = tracing_opentelemetry::OpenTelemetrySpanExt::context(&tracing::Span::current());
    if opentelemetry::trace::TraceContextExt::span(&cx)
        .span_context()
        .is_valid()
    {
        opentelemetry::global::get_text_map_propagator(|p| {
            p.inject_context(&cx, &mut MetadataInjector(metadata));
        });
    }
}

/// Copies the propagation entries (`traceparent`, `tracestate`) out of request metadata.
pub fn extract(metadata: &tonic::metadata::MetadataMap) -> TraceContext {
    let extractor = MetadataExtractor(metadata);
    propagation_fields()
        .into_iter()
        .filter_map(|field| {
            let value = opentelemetry::propagation::Extractor::get(&extractor, &field)?.to_owned();
            Some((field, value))
        })
        .collect()
}

/// Span factory for `tonic::transport::Server::builder().trace_fn(server_span)`.
///
/// Creates an INFO span named after the gRPC path (`otel.name`), with `rpc.system = "grpc"`,
/// `rpc.service`, `rpc.method` and `otel.kind = "server"`, whose parent is the remote context
/// found in the request headers (if any).
pub fn server_span(request: &http::Request<()>) -> tracing::Span {
    let path = request.uri().path();
    let (service, method) = split_path(path);
    let span = tracing::info_span!(
        "grpc.server",
        otel.name = %path.trim_start_matches('/'),
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.service = %service,
        rpc.method = %method,
        otel.status_code = tracing::field::Empty,
    );
    if let Some(parent) = extract_with(&HeaderExtractor(request.headers())) {
        set_parent_context(&span, parent);
    }
    span
}

/// Splits `/package.Service/Method` into (`package.Service`, `Method`).
fn split_path(path: &str) -> (&str, &str) {
    let trimmed = path.trim_start_matches('/');
    match trimmed.rsplit_once('/') {
        Some((service, method)) => (service, method),
        None => (trimmed, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_grpc_paths() {
        assert_eq!(
            split_path("/kefu.session.v1.SessionService/Open"),
            ("kefu.session.v1.SessionService", "Open")
        );
        assert_eq!(split_path("/weird"), ("weird", ""));
        assert_eq!(split_path(""), ("", ""));
    }

    #[test]
    fn extract_reads_w3c_keys_only() {
        crate::init_propagator();
        let mut md = tonic::metadata::MetadataMap::new();
        md.insert(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
                .parse()
                .unwrap(),
        );
        md.insert("x-other", "1".parse().unwrap());
        let ctx = extract(&md);
        assert_eq!(ctx.len(), 1);
        assert!(ctx.contains_key("traceparent"));
    }

    #[test]
    fn interceptor_without_context_is_a_no_op() {
        let mut interceptor = TraceInterceptor;
        let req = tonic::service::Interceptor::call(&mut interceptor, tonic::Request::new(()))
            .expect("interceptor never fails");
        assert!(req.metadata().is_empty());
    }

    #[test]
    fn server_span_without_subscriber_does_not_panic() {
        let req = http::Request::builder()
            .uri("http://localhost/kefu.bot.v1.Bot/Reply")
            .header(
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            )
            .body(())
            .unwrap();
        let _span = server_span(&req);
    }
}
