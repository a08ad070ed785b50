//! Installation of the global subscriber, tracer provider, propagator and meter provider.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Layered, SubscriberExt};
use tracing_subscriber::{EnvFilter, Layer, Registry, fmt, reload};

use crate::{TelemetryConfig, TelemetryError, metrics, propagation};

/// Upper bound for flushing and shutting down the tracer provider.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
/// Timeout of a single OTLP export call.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(3);
/// Crates whose own spans must never reach the OTLP exporter (they would trace the exporter
/// itself, creating a feedback loop).
const OTEL_EXCLUDED_TARGETS: &[&str] = &[
    "h2",
    "hyper",
    "hyper_util",
    "tonic",
    "tower",
    "opentelemetry",
];

static INITIALIZED: AtomicBool = AtomicBool::new(false);

type FilterHandle = reload::Handle<EnvFilter, Registry>;
type Base = Layered<reload::Layer<EnvFilter, Registry>, Registry>;

/// Keeps telemetry alive; dropping it (or calling [`shutdown`](Self::shutdown)) flushes pending
/// spans and shuts the tracer provider down, bounded by a few seconds.
#[must_use = "dropping the guard shuts telemetry down"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
    filter: FilterHandle,
}

impl std::fmt::Debug for TelemetryGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetryGuard")
            .field("active", &self.provider.is_some())
            .finish()
    }
}

impl TelemetryGuard {
    /// Flushes pending spans and shuts the tracer provider down (bounded, never hangs).
    pub fn shutdown(mut self) {
        if let Some(provider) = self.provider.take() {
            shutdown_provider(provider);
        }
    }

    /// Replaces the log filter with a new `EnvFilter` directive, e.g. `debug,h2=info`.
    pub fn set_log_filter(&self, directive: &str) -> Result<(), TelemetryError> {
        let filter = parse_filter(directive)?;
        self.filter
            .reload(filter)
            .map_err(|e| TelemetryError::Reload(e.to_string()))
    }

    /// The currently active log filter directive.
    pub fn log_filter(&self) -> Option<String> {
        self.filter.with_current(|f| f.to_string()).ok()
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            shutdown_provider(provider);
        }
    }
}

/// Installs global telemetry with logs written to stderr. See the crate docs.
///
/// A second call in the same process returns [`TelemetryError::AlreadyInitialized`]. When an
/// OTLP endpoint is configured this must be called inside a Tokio runtime.
pub fn init(cfg: &TelemetryConfig) -> Result<TelemetryGuard, TelemetryError> {
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    install(cfg, std::io::stderr, ansi)
}

/// Like [`init`], but logs go to `writer` (tests pass [`std::io::sink`]); ANSI colours are off.
pub fn init_with_writer<W>(
    cfg: &TelemetryConfig,
    writer: W,
) -> Result<TelemetryGuard, TelemetryError>
where
    W: for<'a> fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    install(cfg, writer, false)
}

fn install<W>(
    cfg: &TelemetryConfig,
    writer: W,
    ansi: bool,
) -> Result<TelemetryGuard, TelemetryError>
where
    W: for<'a> fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    // A configuration that cannot work is reported as such, whatever else is installed (and
    // before taking the once-per-process flag).
    if cfg.otlp_endpoint.is_some() && tokio::runtime::Handle::try_current().is_err() {
        return Err(TelemetryError::NoRuntime);
    }
    if INITIALIZED.swap(true, Ordering::SeqCst) {
        return Err(TelemetryError::AlreadyInitialized);
    }
    let result = try_install(cfg, writer, ansi);
    if result.is_err() {
        INITIALIZED.store(false, Ordering::SeqCst);
    }
    result
}

fn try_install<W>(
    cfg: &TelemetryConfig,
    writer: W,
    ansi: bool,
) -> Result<TelemetryGuard, TelemetryError>
where
    W: for<'a> fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    let (filter_layer, filter) = reload::Layer::new(parse_filter(&cfg.log_filter)?);
    let resource = Resource::builder()
        .with_service_name(cfg.service_name.clone())
        .build();
    let provider = build_tracer_provider(cfg, resource.clone())?;
    let tracer = provider.tracer(cfg.service_name.clone());

    let fmt_layer: Box<dyn Layer<Base> + Send + Sync> = if cfg.json_logs {
        fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(writer)
            .boxed()
    } else {
        fmt::layer().with_ansi(ansi).with_writer(writer).boxed()
    };
    let otel_targets = OTEL_EXCLUDED_TARGETS.iter().fold(
        Targets::new().with_default(LevelFilter::TRACE),
        |t, target| t.with_target(*target, LevelFilter::OFF),
    );
    let otel_layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(otel_targets);

    let subscriber = Registry::default()
        .with(filter_layer)
        .with(fmt_layer)
        .with(otel_layer);
    if let Err(err) = tracing::subscriber::set_global_default(subscriber) {
        // Do not leak the batch exporter thread.
        let _ = provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT);
        return Err(TelemetryError::Subscriber(err.to_string()));
    }

    propagation::init_propagator();
    opentelemetry::global::set_tracer_provider(provider.clone());
    metrics::install(resource)?;
    tracing::debug!(
        service = %cfg.service_name,
        otlp_endpoint = cfg.otlp_endpoint.as_deref().unwrap_or("-"),
        "telemetry initialised"
    );
    Ok(TelemetryGuard {
        provider: Some(provider),
        filter,
    })
}

fn parse_filter(directive: &str) -> Result<EnvFilter, TelemetryError> {
    EnvFilter::try_new(directive).map_err(|e| TelemetryError::InvalidFilter {
        directive: directive.to_owned(),
        reason: e.to_string(),
    })
}

/// Spans always get OpenTelemetry contexts (so trace ids propagate and show up in logs even
/// without a collector); they are exported only when an OTLP endpoint is configured.
fn build_tracer_provider(
    cfg: &TelemetryConfig,
    resource: Resource,
) -> Result<SdkTracerProvider, TelemetryError> {
    let mut builder = SdkTracerProvider::builder().with_resource(resource);
    if let Some(endpoint) = &cfg.otlp_endpoint {
        // tonic's lazy channel spawns its worker on the current runtime.
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(TelemetryError::NoRuntime);
        }
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
        builder = builder.with_batch_exporter(exporter);
    }
    Ok(builder.build())
}

/// Runs `force_flush` then `shutdown` on a helper thread and waits at most
/// [`SHUTDOWN_TIMEOUT`] plus a small margin, so a stuck exporter can never hang the process.
fn shutdown_provider(provider: SdkTracerProvider) {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("kefu-telemetry-shutdown".into())
        .spawn(move || {
            let flushed = provider.force_flush();
            let shut = provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT);
            let _ = done_tx.send((flushed, shut));
        });
    if spawned.is_err() {
        eprintln!("kefu-telemetry: could not spawn the shutdown thread; spans may be lost");
        return;
    }
    match done_rx.recv_timeout(SHUTDOWN_TIMEOUT + Duration::from_secs(1)) {
        Ok((Ok(()), Ok(()))) => {}
        Ok((flushed, shut)) => {
            eprintln!(
                "kefu-telemetry: shutdown incomplete (flush: {flushed:?}, shutdown: {shut:?})"
            );
        }
        Err(_) => eprintln!("kefu-telemetry: shutdown timed out; pending spans dropped"),
    }
}
