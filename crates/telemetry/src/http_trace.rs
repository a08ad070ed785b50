//! Trace context propagation for plain HTTP servers (axum) and clients (reqwest, hyper).

use crate::carrier::{HeaderExtractor, HeaderInjector};
use crate::propagation::{extract_with, set_parent_context};

/// Creates an INFO server span for an incoming HTTP request.
///
/// Fields: `otel.name = "{method} {route}"`, `otel.kind = "server"`, `http.request.method`,
/// `http.route`, plus an empty `http.response.status_code` / `otel.status_code` that callers may
/// record. The parent is the remote context from the `traceparent`/`tracestate` headers, if any.
pub fn server_span(method: &http::Method, route: &str, headers: &http::HeaderMap) -> tracing::Span {
    let span = tracing::info_span!(
        "http.server",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        http.request.method = %method,
        http.route = %route,
        http.response.status_code = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    if let Some(parent) = extract_with(&HeaderExtractor(headers)) {
        set_parent_context(&span, parent);
    }
    span
}

/// Injects the current span's trace context into outgoing request headers.
pub fn inject_headers(headers: &mut http::HeaderMap) {
    let cx = tracing_opentelemetry::OpenTelemetrySpanExt::context(&tracing::Span::current());
    if opentelemetry::trace::TraceContextExt::span(&cx)
        .span_context()
        .is_valid()
    {
        opentelemetry::global::get_text_map_propagator(|p| {
            p.inject_context(&cx, &mut HeaderInjector(headers));
        });
    }
}

/// Returns the remote trace context carried by `headers`, as a [`TraceContext`](crate::TraceContext).
pub fn extract_headers(headers: &http::HeaderMap) -> crate::TraceContext {
    crate::propagation::propagation_fields()
        .into_iter()
        .filter_map(|field| {
            let value = headers.get(field.as_str())?.to_str().ok()?.to_owned();
            Some((field, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inject_without_context_leaves_headers_alone() {
        let mut headers = http::HeaderMap::new();
        inject_headers(&mut headers);
        assert!(headers.is_empty());
    }

    #[test]
    fn extract_headers_picks_w3c_keys() {
        crate::init_propagator();
        let mut headers = http::HeaderMap::new();
        headers.insert("tracestate", "k=v".parse().unwrap());
        headers.insert("accept", "*/*".parse().unwrap());
        let ctx = extract_headers(&headers);
        assert_eq!(ctx.get("tracestate").map(String::as_str), Some("k=v"));
        assert_eq!(ctx.len(), 1);
        let _span = server_span(&http::Method::GET, "/v1/chat", &headers);
    }
}
