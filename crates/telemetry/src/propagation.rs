//! Moving trace context in and out of `tracing` spans through the global propagator.

use std::sync::Once;

use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::TraceContext;
use crate::carrier::{MapCarrier, MapExtractor};

/// Installs the W3C TraceContext propagator as the global text map propagator.
///
/// Idempotent; [`init`](crate::init) calls it. Useful on its own for tools and tests that build
/// their own subscriber.
pub fn init_propagator() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    });
}

/// Serialises the OpenTelemetry context of `span` (`traceparent`, `tracestate`) with the global
/// propagator. Empty when the span has no OpenTelemetry context (no otel layer, disabled span).
pub fn inject_span(span: &tracing::Span) -> TraceContext {
    inject_context(&span.context())
}

/// [`inject_span`] of [`tracing::Span::current()`].
pub fn inject_current() -> TraceContext {
    inject_span(&tracing::Span::current())
}

/// Makes `span` a child of the remote context carried by `ctx`.
///
/// No-op when `ctx` holds no valid remote context, when the span is disabled or already
/// started, or when no OpenTelemetry layer is installed. Call it right after creating the span,
/// before entering it.
pub fn set_parent(span: &tracing::Span, ctx: &TraceContext) {
    if let Some(parent) = extract_context(ctx) {
        set_parent_context(span, parent);
    }
}

/// Hex trace id (32 lowercase characters) of the current span, `None` when the current span is
/// not sampled or no OpenTelemetry layer is installed.
pub fn current_trace_id() -> Option<String> {
    let cx = tracing::Span::current().context();
    let span = cx.span();
    let sc = span.span_context();
    (sc.is_valid() && sc.is_sampled()).then(|| sc.trace_id().to_string())
}

pub(crate) fn inject_context(cx: &opentelemetry::Context) -> TraceContext {
    let mut map = TraceContext::new();
    if cx.span().span_context().is_valid() {
        opentelemetry::global::get_text_map_propagator(|p| {
            p.inject_context(cx, &mut MapCarrier(&mut map));
        });
    }
    map
}

/// Extracts a remote context; `None` when it carries no valid span context.
pub(crate) fn extract_context(ctx: &TraceContext) -> Option<opentelemetry::Context> {
    if ctx.is_empty() {
        return None;
    }
    extract_with(&MapExtractor(ctx))
}

pub(crate) fn extract_with(
    extractor: &dyn opentelemetry::propagation::Extractor,
) -> Option<opentelemetry::Context> {
    let cx = opentelemetry::global::get_text_map_propagator(|p| p.extract(extractor));
    cx.span().span_context().is_valid().then_some(cx)
}

pub(crate) fn set_parent_context(span: &tracing::Span, parent: opentelemetry::Context) {
    if let Err(err) = span.set_parent(parent) {
        tracing::trace!(error = %err, "could not set the remote parent of a span");
    }
}

/// Keys written by the global propagator (`traceparent`, `tracestate` for W3C).
pub(crate) fn propagation_fields() -> Vec<String> {
    opentelemetry::global::get_text_map_propagator(|p| p.fields().map(str::to_owned).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_otel_layer_nothing_is_injected() {
        init_propagator();
        let span = tracing::info_span!("no_layer");
        assert!(inject_span(&span).is_empty());
        assert!(current_trace_id().is_none());
    }

    #[test]
    fn invalid_context_is_ignored() {
        init_propagator();
        let mut ctx = TraceContext::new();
        assert!(extract_context(&ctx).is_none());
        ctx.insert("traceparent".into(), "garbage".into());
        assert!(extract_context(&ctx).is_none());
        ctx.insert(
            "traceparent".into(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
        );
        let cx = extract_context(&ctx).expect("valid context");
        assert_eq!(
            cx.span().span_context().trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        // setting a parent on a span without an otel layer must not panic
        set_parent(&tracing::info_span!("orphan"), &ctx);
    }

    #[test]
    fn fields_are_w3c() {
        init_propagator();
        let fields = propagation_fields();
        assert!(fields.iter().any(|f| f == "traceparent"));
    }
}
