//! The event envelope and its W3C trace-context carrier.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use opentelemetry::propagation::{Extractor, Injector};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// W3C trace context of an event: the `traceparent` and `tracestate` entries.
pub type TraceContext = std::collections::BTreeMap<String, String>;

/// The only trace-context keys carried across the bus.
pub const TRACE_KEYS: [&str; 2] = ["traceparent", "tracestate"];

/// Content type of every payload.
pub const CONTENT_TYPE: &str = "application/x-protobuf";

/// One event travelling over the bus.
///
/// Over AMQP: `event_id` is the `message_id` property, `event_type` is both the
/// routing key and the `type` property, `occurred_at` is the `timestamp`
/// property (seconds) plus the exact `kefu-occurred-at-ms` header,
/// `tenant_id` is the `kefu-tenant` header and each trace-context entry is a
/// header of its own. `occurred_at` is carried with millisecond precision.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope {
    /// UUIDv7; the idempotency key of the event.
    pub event_id: uuid::Uuid,
    /// Tenant the event belongs to.
    pub tenant_id: String,
    /// Dotted event type, e.g. `message.received`; also the routing key.
    pub event_type: String,
    /// When the event happened (millisecond precision on the wire).
    pub occurred_at: DateTime<Utc>,
    /// W3C trace context of the producing span.
    pub trace_context: TraceContext,
    /// Protobuf-encoded body.
    pub payload: Bytes,
}

impl Envelope {
    /// A new event: UUIDv7 id, `occurred_at` = now (truncated to milliseconds,
    /// the precision the wire keeps) and the trace context of the current
    /// tracing span, injected with the global text-map propagator.
    pub fn new(
        tenant_id: impl Into<String>,
        event_type: impl Into<String>,
        payload: impl Into<Bytes>,
    ) -> Self {
        let now = Utc::now();
        let occurred_at = DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now);
        Self {
            event_id: uuid::Uuid::now_v7(),
            tenant_id: tenant_id.into(),
            event_type: event_type.into(),
            occurred_at,
            trace_context: current_trace_context(),
            payload: payload.into(),
        }
    }

    /// The envelope as it comes out of the bus: trace context restricted to
    /// [`TRACE_KEYS`]. Both backends deliver exactly this.
    pub(crate) fn normalized(&self) -> Self {
        let mut envelope = self.clone();
        envelope
            .trace_context
            .retain(|key, _| TRACE_KEYS.contains(&key.as_str()));
        envelope
    }

    /// The OpenTelemetry context this envelope was produced in (extracted with
    /// the global propagator; empty when there is none).
    pub fn parent_context(&self) -> opentelemetry::Context {
        opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.extract(&TraceCarrier(&self.trace_context))
        })
    }
}

/// Injects the current span's OpenTelemetry context into a fresh map.
pub fn current_trace_context() -> TraceContext {
    let cx = tracing::Span::current().context();
    let mut map = TraceContext::new();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&cx, &mut TraceCarrierMut(&mut map));
    });
    map
}

struct TraceCarrier<'a>(&'a TraceContext);

impl Extractor for TraceCarrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

struct TraceCarrierMut<'a>(&'a mut TraceContext);

impl Injector for TraceCarrierMut<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_envelope_has_v7_id_and_millisecond_time() {
        let envelope = Envelope::new("t1", "message.received", &b"x"[..]);
        assert_eq!(envelope.event_id.get_version_num(), 7);
        assert_eq!(envelope.occurred_at.timestamp_subsec_nanos() % 1_000_000, 0);
        assert!(
            envelope.trace_context.is_empty(),
            "no-op propagator injects nothing"
        );
    }

    #[test]
    fn normalized_keeps_only_w3c_keys() {
        let mut envelope = Envelope::new("t1", "a.b", Bytes::new());
        envelope
            .trace_context
            .insert("traceparent".into(), "00-x".into());
        envelope
            .trace_context
            .insert("baggage".into(), "k=v".into());
        let normalized = envelope.normalized();
        assert_eq!(normalized.trace_context.len(), 1);
        assert!(normalized.trace_context.contains_key("traceparent"));
    }
}
