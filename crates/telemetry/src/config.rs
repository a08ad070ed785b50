//! Telemetry settings, usually read from the environment.

/// Settings for [`init`](crate::init).
#[derive(Clone, Debug)]
pub struct TelemetryConfig {
    /// Value of the `service.name` resource attribute.
    pub service_name: String,
    /// `EnvFilter` directive, e.g. `info,kefu_gateway=debug`.
    pub log_filter: String,
    /// Emit logs as JSON lines instead of human-readable text.
    pub json_logs: bool,
    /// OTLP/gRPC collector endpoint, e.g. `http://otel-collector:4317`. No span export when `None`.
    pub otlp_endpoint: Option<String>,
}

impl TelemetryConfig {
    /// Reads `RUST_LOG` (default `info`), `KEFU_LOG_JSON` (`1`/`true` enables JSON logs) and
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` (empty means unset).
    pub fn from_env(service_name: &str) -> Self {
        Self::from_lookup(service_name, |key| std::env::var(key).ok())
    }

    /// Same as [`from_env`](Self::from_env) but reads variables through `lookup` (handy for tests).
    pub fn from_lookup(service_name: &str, lookup: impl Fn(&str) -> Option<String>) -> Self {
        let non_empty = |key: &str| {
            lookup(key)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let json_logs = non_empty("KEFU_LOG_JSON")
            .map(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
            .unwrap_or(false);
        Self {
            service_name: service_name.to_owned(),
            log_filter: non_empty("RUST_LOG").unwrap_or_else(|| "info".to_owned()),
            json_logs,
            otlp_endpoint: non_empty("OTEL_EXPORTER_OTLP_ENDPOINT"),
        }
    }

    /// A config with the given service name, filter `info`, text logs and no OTLP export.
    pub fn new(service_name: &str) -> Self {
        Self::from_lookup(service_name, |_| None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_without_env() {
        let cfg = TelemetryConfig::new("svc");
        assert_eq!(cfg.service_name, "svc");
        assert_eq!(cfg.log_filter, "info");
        assert!(!cfg.json_logs);
        assert!(cfg.otlp_endpoint.is_none());
    }

    #[test]
    fn reads_variables() {
        let cfg = TelemetryConfig::from_lookup("svc", |k| match k {
            "RUST_LOG" => Some("debug".into()),
            "KEFU_LOG_JSON" => Some("1".into()),
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://collector:4317".into()),
            _ => None,
        });
        assert_eq!(cfg.log_filter, "debug");
        assert!(cfg.json_logs);
        assert_eq!(cfg.otlp_endpoint.as_deref(), Some("http://collector:4317"));

        let cfg = TelemetryConfig::from_lookup("svc", |k| {
            (k == "OTEL_EXPORTER_OTLP_ENDPOINT").then(|| "  ".to_owned())
        });
        assert!(cfg.otlp_endpoint.is_none());
    }
}
