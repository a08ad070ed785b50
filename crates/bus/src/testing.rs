//! Fixtures for tests that carry envelopes through the bus or the outbox.

use crate::{Envelope, TraceContext};

/// A W3C trace context as the bus carries it (only these keys survive the bus).
pub fn trace_context(n: usize) -> TraceContext {
    TraceContext::from([
        (
            "traceparent".to_owned(),
            format!("00-{:032x}-{:016x}-01", n + 1, n + 7),
        ),
        ("tracestate".to_owned(), format!("kefu=t{n}")),
    ])
}

/// A distinct envelope: the payload and trace context encode `n`.
pub fn envelope(tenant: &str, n: usize) -> Envelope {
    let mut env = Envelope::new(
        tenant,
        "message.received",
        format!("payload-{n}").into_bytes(),
    );
    env.trace_context = trace_context(n);
    env
}
