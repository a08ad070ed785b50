//! The whole `main` of a service binary: configuration, runtime, telemetry, signals, run.

use kefu_config::Validate;
use serde::{Serialize, de::DeserializeOwned};
use std::future::Future;
use tokio_util::sync::CancellationToken;

/// Loads `C` (defaults → file named by `KEFU_CONFIG` → `KEFU_*` environment), starts telemetry
/// as `service`, and runs `run` until SIGTERM/SIGINT. Configuration errors name the field and
/// exit non-zero before anything starts.
pub fn service_main<C, F, Fut>(service: &str, run: F) -> anyhow::Result<()>
where
    C: DeserializeOwned + Serialize + Default + Validate,
    F: FnOnce(C, CancellationToken) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let file = std::env::var_os("KEFU_CONFIG").map(std::path::PathBuf::from);
    let config: C = kefu_config::load(file.as_deref(), kefu_config::figment::Figment::new())?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let telemetry = kefu_telemetry::init(&kefu_telemetry::TelemetryConfig::from_env(service))?;
        let result = run(config, crate::shutdown_on_signals()).await;
        if let Err(e) = &result {
            tracing::error!(error = format!("{e:#}"), "{service} stopped with an error");
        }
        tokio::task::spawn_blocking(move || telemetry.shutdown()).await?;
        result
    })
}
