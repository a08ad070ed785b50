//! Fixtures shared by the contract bodies.

use chrono::{DateTime, Utc};
use kefu_bus::{Envelope, TraceContext};
use kefu_gateway::store::migration::GatewayMigrator;
use kefu_store::MigratorTrait;
use kefu_store::sea_orm::DatabaseConnection;

pub async fn migrate_gateway(db: &DatabaseConnection) {
    GatewayMigrator::up(db, None)
        .await
        .expect("gateway migrations");
}

/// Now, truncated to milliseconds so it survives every backend's timestamp precision.
pub fn now_ms() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).expect("valid time")
}

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
