//! Prometheus metrics (through the workspace's OpenTelemetry meter, served on `/metrics`).

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Gauge, Histogram};

pub struct Metrics {
    reconciles: Counter<u64>,
    duration: Histogram<f64>,
    min_replicas: Gauge<u64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let meter = kefu_telemetry::metrics::meter();
        Self {
            reconciles: meter
                .u64_counter("kefu_operator_reconciliations")
                .with_description("Reconciliations by kind and outcome")
                .build(),
            duration: meter
                .f64_histogram("kefu_operator_reconcile_duration_seconds")
                .with_description("Time spent in one reconciliation")
                .build(),
            min_replicas: meter
                .u64_gauge("kefu_operator_min_replicas")
                .with_description(
                    "Minimum replicas in force per dedicated tenant (peak events raise it)",
                )
                .build(),
        }
    }

    pub fn reconciled(&self, kind: &'static str, ok: bool, seconds: f64) {
        let outcome = if ok { "ok" } else { "error" };
        let attrs = [
            KeyValue::new("kind", kind),
            KeyValue::new("outcome", outcome),
        ];
        self.reconciles.add(1, &attrs);
        self.duration.record(seconds, &attrs[..1]);
    }

    pub fn min_replicas(&self, tenant: &str, value: u32) {
        self.min_replicas.record(
            u64::from(value),
            &[KeyValue::new("tenant", tenant.to_owned())],
        );
    }
}
