//! The session's own instruments; the consumer, outbox and readiness metrics every service has
//! come from kefu-bus, kefu-worker and kefu-lifecycle.

use opentelemetry::metrics::Histogram;
use std::sync::OnceLock;

/// Buckets of `kefu_session_routing_wait_ms`: seconds to tens of minutes, as customers wait.
const WAIT_BOUNDARIES_MS: [f64; 12] = [
    1_000.0,
    5_000.0,
    10_000.0,
    20_000.0,
    30_000.0,
    60_000.0,
    120_000.0,
    300_000.0,
    600_000.0,
    1_200_000.0,
    1_800_000.0,
    3_600_000.0,
];

/// Records how long an accepted conversation waited, from its handoff to an agent's accept (the
/// `waited_ms` of `conversation.assigned`).
pub fn routing_wait(waited_ms: i64) {
    static WAIT: OnceLock<Histogram<f64>> = OnceLock::new();
    WAIT.get_or_init(|| {
        kefu_telemetry::metrics::meter()
            .f64_histogram("kefu_session_routing_wait_ms")
            .with_description("From handoff to an agent accepting the conversation")
            .with_boundaries(WAIT_BOUNDARIES_MS.to_vec())
            .build()
    })
    .record(waited_ms.max(0) as f64, &[]);
}
