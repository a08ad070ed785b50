//! Process-wide metrics: an OpenTelemetry `MeterProvider` whose reader is the
//! `opentelemetry-prometheus` exporter, registered into one Prometheus [`Registry`].
//!
//! Every series carries the resource's `service.name` as the label `service_name`
//! (`kefu-gateway`, `kefu-session`, …), so dashboards and alerts select and group by service
//! whatever the scrape configuration adds, and a new service shows up without editing them.
//!
//! The provider is installed by [`init`](crate::init) (with the service's resource). If
//! [`meter`] is used before `init` — e.g. in tests or tools — a provider with the default
//! resource is installed on first use instead, so recorded values are never lost.

use std::sync::OnceLock;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use prometheus::{Encoder, Registry, TextEncoder};

use crate::TelemetryError;

/// Name of the global meter returned by [`meter`].
pub const METER_NAME: &str = "kefu";

/// Content type of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

static REGISTRY: OnceLock<Registry> = OnceLock::new();
static PROVIDER: OnceLock<Option<SdkMeterProvider>> = OnceLock::new();

/// The process-wide Prometheus registry the OpenTelemetry exporter writes into. Plain
/// `prometheus` collectors may be registered here too.
pub fn registry() -> &'static Registry {
    REGISTRY.get_or_init(Registry::new)
}

/// Prometheus text exposition of [`registry()`].
pub fn render() -> String {
    ensure_provider();
    let families = registry().gather();
    let mut buf = Vec::new();
    if let Err(err) = TextEncoder::new().encode(&families, &mut buf) {
        tracing::warn!(error = %err, "failed to encode metrics");
    }
    String::from_utf8(buf).unwrap_or_default()
}

/// The global meter named [`METER_NAME`].
pub fn meter() -> opentelemetry::metrics::Meter {
    ensure_provider();
    opentelemetry::global::meter(METER_NAME)
}

/// Installs the global meter provider with `resource`, unless one is already installed.
pub(crate) fn install(resource: Resource) -> Result<(), TelemetryError> {
    let mut error = None;
    PROVIDER.get_or_init(|| match build_provider(resource) {
        Ok(provider) => {
            opentelemetry::global::set_meter_provider(provider.clone());
            Some(provider)
        }
        Err(err) => {
            error = Some(err);
            None
        }
    });
    error.map_or(Ok(()), Err)
}

fn ensure_provider() {
    if PROVIDER.get().is_none()
        && let Err(err) = install(Resource::builder().build())
    {
        tracing::warn!(error = %err, "metrics are disabled");
    }
}

fn build_provider(resource: Resource) -> Result<SdkMeterProvider, TelemetryError> {
    let service_label =
        std::collections::HashSet::from([opentelemetry::Key::from_static_str("service.name")]);
    let exporter = opentelemetry_prometheus::exporter()
        .with_registry(registry().clone())
        .with_resource_selector(service_label)
        .build()
        .map_err(|e| TelemetryError::Metrics(e.to_string()))?;
    Ok(SdkMeterProvider::builder()
        .with_reader(exporter)
        .with_resource(resource)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_recorded_through_meter_is_rendered() {
        let counter = meter()
            .u64_counter("kefu_unit_test_events")
            .with_description("events seen by the unit test")
            .build();
        counter.add(3, &[opentelemetry::KeyValue::new("kind", "demo")]);
        let text = render();
        // The service label: without `init`, the SDK's default `unknown_service:<executable>`.
        let line = text
            .lines()
            .find(|l| l.starts_with("kefu_unit_test_events_total{"))
            .unwrap_or_else(|| panic!("unexpected exposition:\n{text}"));
        assert!(
            line.starts_with(
                "kefu_unit_test_events_total{kind=\"demo\",otel_scope_name=\"kefu\",service_name=\"unknown_service"
            ) && line.ends_with("\"} 3"),
            "unexpected exposition:\n{text}"
        );
        assert!(text.contains("# TYPE kefu_unit_test_events_total counter"));
    }

    #[test]
    fn install_twice_is_fine() {
        install(Resource::builder().build()).unwrap();
        install(Resource::builder().build()).unwrap();
    }
}
