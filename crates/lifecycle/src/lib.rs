//! Process lifecycle helpers shared by Kefu services.
//!
//! * [`shutdown_on_signals`]: SIGTERM/SIGINT → graceful shutdown token; a second signal exits.
//! * [`Readiness`]/[`ReadyHandle`]: components report whether they can serve traffic.
//! * [`admin_router`]: `/healthz`, `/readyz` and `/metrics` for probes and Prometheus.
//! * [`serve_http`]/[`bind`]: run an axum router with graceful shutdown.

mod grpc;
mod main_fn;
mod readiness;
mod servers;
mod signals;
mod web;

pub use grpc::{announce, serve_grpc};
pub use main_fn::service_main;
pub use readiness::{Readiness, ReadyHandle};
pub use servers::Servers;
pub use signals::{EXIT_CODE_FORCED, shutdown_on_signals};
pub use web::{METRICS_CONTENT_TYPE, admin_router, bind, serve_http};
