//! Readiness registry: each component registers itself and flips its own flag.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Shared set of named components and whether each is ready. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Readiness {
    inner: Arc<Mutex<BTreeMap<String, bool>>>,
}

/// Handle a component uses to report its own readiness.
#[derive(Clone, Debug)]
pub struct ReadyHandle {
    name: Arc<str>,
    inner: Arc<Mutex<BTreeMap<String, bool>>>,
}

impl Readiness {
    /// An empty registry (not ready until a component registers and reports ready).
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `name` as not ready and returns its handle. Registering an existing name
    /// resets it to not ready and returns another handle to the same entry.
    pub fn component(&self, name: &str) -> ReadyHandle {
        lock(&self.inner).insert(name.to_owned(), false);
        ReadyHandle {
            name: Arc::from(name),
            inner: Arc::clone(&self.inner),
        }
    }

    /// True when at least one component is registered and all are ready.
    pub fn is_ready(&self) -> bool {
        let map = lock(&self.inner);
        !map.is_empty() && map.values().all(|ready| *ready)
    }

    /// Every component with its state, sorted by name.
    pub fn report(&self) -> Vec<(String, bool)> {
        lock(&self.inner)
            .iter()
            .map(|(name, ready)| (name.clone(), *ready))
            .collect()
    }
}

impl ReadyHandle {
    /// Reports this component as ready (or not). `kefu_ready` shows the state and
    /// `kefu_readiness_changes` counts the changes (readiness flapping alerts on it).
    pub fn set_ready(&self, ready: bool) {
        let previous = lock(&self.inner).insert(self.name.to_string(), ready);
        let component = opentelemetry::KeyValue::new("component", self.name.to_string());
        let metrics = metrics();
        metrics
            .ready
            .record(u64::from(ready), std::slice::from_ref(&component));
        if previous != Some(ready) {
            tracing::info!(component = %self.name, ready, "readiness changed");
            metrics.changes.add(
                1,
                &[
                    component,
                    opentelemetry::KeyValue::new("ready", ready.to_string()),
                ],
            );
        }
    }

    /// The component name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

struct Metrics {
    ready: opentelemetry::metrics::Gauge<u64>,
    changes: opentelemetry::metrics::Counter<u64>,
}

fn metrics() -> &'static Metrics {
    static METRICS: std::sync::OnceLock<Metrics> = std::sync::OnceLock::new();
    METRICS.get_or_init(|| {
        let meter = kefu_telemetry::metrics::meter();
        Metrics {
            ready: meter
                .u64_gauge("kefu_ready")
                .with_description("Whether a component of the process is ready (1) or not (0)")
                .build(),
            changes: meter
                .u64_counter("kefu_readiness_changes")
                .with_description("Readiness changes of a component, by the state it changed to")
                .build(),
        }
    })
}

/// The map stays consistent even if a holder panicked, so poisoning is ignored.
fn lock(inner: &Mutex<BTreeMap<String, bool>>) -> MutexGuard<'_, BTreeMap<String, bool>> {
    inner
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_not_ready() {
        assert!(!Readiness::new().is_ready());
    }

    #[test]
    fn all_components_must_be_ready() {
        let readiness = Readiness::new();
        let db = readiness.component("db");
        let bus = readiness.component("bus");
        assert!(!readiness.is_ready());
        db.set_ready(true);
        assert!(!readiness.is_ready());
        bus.clone().set_ready(true);
        assert!(readiness.is_ready());
        assert_eq!(
            readiness.report(),
            vec![("bus".to_owned(), true), ("db".to_owned(), true)]
        );
        bus.set_ready(false);
        assert!(!readiness.is_ready());
        assert_eq!(bus.name(), "bus");
    }

    #[test]
    fn changes_are_counted_for_the_flapping_alert() {
        let readiness = Readiness::new();
        let handle = readiness.component("flapping_test_bus");
        for ready in [true, true, false, true, false] {
            handle.set_ready(ready);
        }
        let text = kefu_telemetry::metrics::render();
        // The sample of `metric` with all of `labels`, whatever their order.
        let value = |metric: &str, labels: &[&str]| {
            text.lines()
                .find(|l| {
                    l.starts_with(&format!("{metric}{{")) && labels.iter().all(|x| l.contains(x))
                })
                .and_then(|l| l.rsplit(' ').next())
                .unwrap_or_else(|| panic!("no {metric} with {labels:?} in\n{text}"))
                .to_owned()
        };
        let changes = "kefu_readiness_changes_total";
        let component = "component=\"flapping_test_bus\"";
        assert_eq!(value(changes, &[component, "ready=\"true\""]), "2");
        assert_eq!(value(changes, &[component, "ready=\"false\""]), "2");
        assert_eq!(value("kefu_ready", &[component]), "0");
    }

    #[test]
    fn re_registering_resets() {
        let readiness = Readiness::new();
        readiness.component("db").set_ready(true);
        assert!(readiness.is_ready());
        let _again = readiness.component("db");
        assert!(!readiness.is_ready());
    }
}
