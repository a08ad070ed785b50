//! Observability plumbing shared by every Kefu service.
//!
//! * [`init`] installs the global `tracing` subscriber (fmt logs on stderr with a reloadable
//!   [`EnvFilter`](tracing_subscriber::EnvFilter), plus a `tracing-opentelemetry` layer), the W3C
//!   TraceContext propagator, an OTLP/gRPC span exporter when an endpoint is configured, and a
//!   global OpenTelemetry `MeterProvider` backed by the Prometheus registry of [`metrics`].
//! * [`inject_span`], [`inject_current`] and [`set_parent`] move trace context across process
//!   boundaries through a plain string map ([`TraceContext`]), e.g. message-bus headers.
//! * [`grpc`] and [`http_trace`] do the same for tonic metadata and HTTP headers.
//!
//! Spans created with `tracing` become OpenTelemetry spans; the special fields `otel.name`,
//! `otel.kind` and `otel.status_code` are honoured by `tracing-opentelemetry`.

mod carrier;
mod config;
pub mod grpc;
pub mod http_trace;
mod init;
pub mod metrics;
mod propagation;

pub use config::TelemetryConfig;
pub use init::{TelemetryGuard, init, init_with_writer};
pub use propagation::{current_trace_id, init_propagator, inject_current, inject_span, set_parent};

/// Serialised trace context, keyed by W3C header names (`traceparent`, `tracestate`).
pub type TraceContext = std::collections::BTreeMap<String, String>;

/// Errors raised while setting up telemetry.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// [`init`] was already called successfully in this process.
    #[error("telemetry is already initialised in this process")]
    AlreadyInitialized,
    /// Another global `tracing` subscriber was installed by someone else.
    #[error("failed to install the global tracing subscriber: {0}")]
    Subscriber(String),
    /// The log filter directive could not be parsed.
    #[error("invalid log filter {directive:?}: {reason}")]
    InvalidFilter {
        /// The rejected directive.
        directive: String,
        /// Parser message.
        reason: String,
    },
    /// The OTLP exporter could not be built.
    #[error("failed to build the OTLP span exporter: {0}")]
    Exporter(String),
    /// The OTLP gRPC exporter needs a Tokio runtime to be running.
    #[error(
        "an OTLP endpoint is configured but no Tokio runtime is running; call init() inside the runtime"
    )]
    NoRuntime,
    /// The Prometheus metrics exporter could not be set up.
    #[error("failed to set up the Prometheus exporter: {0}")]
    Metrics(String),
    /// Reloading the log filter failed (the subscriber is gone).
    #[error("failed to reload the log filter: {0}")]
    Reload(String),
}
