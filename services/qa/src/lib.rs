//! The QA service: every conversation inspected, in real time and after it closes, scored,
//! sampled for human review, with alerts to supervisors and appeals for agents.
//!
//! - [`engine`]: the inspection engine (pure): policy → rules, message-by-message and
//!   whole-conversation evaluation, scoring. The service and `kefu qa check` share it.
//! - [`events`]: the domain events QA reads; [`inspect`]: the `qa.events` consumer (items,
//!   real-time findings, alerts as `qa.alert_raised` and a supervisors' `desk.event`);
//!   [`scoring`]: a conversation's result at close, scored again on request or after review;
//!   [`view`]: the stored items as the engine's transcript; [`silence`]: the sweep that alerts
//!   on a customer left waiting.
//! - [`policies`]: the `qa.config` consumer and the compiled policies per tenant.
//! - [`grpc`]: `kefu.qa.v1.Qa` (results, agents' days, re-scoring, reviews, appeals), which the
//!   gateway's desk REST API serves.
//! - [`cli`]: `kefu qa check` and `kefu qa eval`.

pub mod cli;
pub mod config;
pub mod engine;
pub mod events;
pub mod grpc;
pub mod inspect;
pub mod policies;
mod run;
pub mod scoring;
pub mod silence;
pub mod store;
pub mod view;

pub use config::QaConfig;
pub use policies::{CompiledPolicy, PolicyCache};
pub use run::run;

use kefu_bus::Bus;
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram};
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The service's instruments.
pub struct Metrics {
    /// Messages the real-time rules inspected.
    pub inspected: Counter<u64>,
    /// Violations found, by rule kind and severity, and whether in real time.
    pub violations: Counter<u64>,
    /// From a message's time to its alert being raised.
    pub alert_latency_ms: Histogram<f64>,
}

impl Metrics {
    fn new() -> Self {
        let meter = kefu_telemetry::metrics::meter();
        Self {
            inspected: meter
                .u64_counter("kefu_qa_messages_inspected")
                .with_description("Messages the real-time QA rules inspected")
                .build(),
            violations: meter
                .u64_counter("kefu_qa_violations")
                .with_description("QA violations found, by rule kind, severity and moment")
                .build(),
            alert_latency_ms: meter
                .f64_histogram("kefu_qa_alert_latency_ms")
                .with_description("From a message's time to the QA alert it raised")
                .build(),
        }
    }

    pub fn violation(&self, rule: &engine::Rule, realtime: bool) {
        self.violations.add(
            1,
            &[
                KeyValue::new("kind", rule.kind.as_str()),
                KeyValue::new("severity", rule.severity.as_str()),
                KeyValue::new("moment", if realtime { "realtime" } else { "close" }),
            ],
        );
    }
}

/// Shared by the consumers and the gRPC service of one replica.
#[derive(Clone)]
pub struct QaState {
    pub config: Arc<QaConfig>,
    pub db: DatabaseConnection,
    pub outbox: kefu_worker::Outbox,
    pub policies: PolicyCache,
    pub metrics: Arc<Metrics>,
}

impl QaState {
    /// The state over a migrated database.
    pub fn new(config: QaConfig, db: DatabaseConnection) -> Self {
        Self {
            config: Arc::new(config),
            outbox: kefu_worker::Outbox::new(db.clone()),
            db,
            policies: PolicyCache::default(),
            metrics: Arc::new(Metrics::new()),
        }
    }
}

pub struct QaApp {
    pub state: QaState,
    bus: Arc<dyn Bus>,
}

impl QaApp {
    /// Migrates QA's tables, loads the engine's models and wires the app; starts nothing.
    pub async fn build(
        config: QaConfig,
        db: DatabaseConnection,
        bus: Arc<dyn Bus>,
    ) -> Result<Self, kefu_store::StoreError> {
        kefu_store::migration::apply::<store::migration::QaMigrator>(&db)
            .await
            .map_err(kefu_store::StoreError::Migration)?;
        // The classifiers and dictionaries, before the first message waits for them.
        let _ = tokio::task::spawn_blocking(engine::warm_up).await;
        Ok(Self {
            state: QaState::new(config, db),
            bus,
        })
    }

    pub fn grpc(&self) -> kefu_proto::qa::qa_server::QaServer<grpc::QaGrpc> {
        kefu_proto::qa::qa_server::QaServer::new(grpc::QaGrpc {
            state: self.state.clone(),
        })
    }

    /// Runs the policy consumer, the silence sweep and the events consumer (with the outbox
    /// relay) until `shutdown`, then drains them.
    pub async fn run_workers(
        &self,
        shutdown: CancellationToken,
        ready: kefu_lifecycle::ReadyHandle,
    ) -> Result<(), kefu_bus::BusError> {
        let config_spec = policies::queue_spec();
        self.bus.declare(&config_spec).await?;
        let config = {
            let sub = self.bus.subscribe(config_spec).await?;
            let (state, stop) = (self.state.clone(), shutdown.clone());
            tokio::spawn(kefu_bus::run_consumer(sub, 1, stop, move |env| {
                policies::handle(state.clone(), env)
            }))
        };
        let silence = tokio::spawn(silence::run(self.state.clone(), shutdown.clone()));
        let consumption = kefu_worker::Consumption {
            max_batch: inspect::MAX_BATCH,
            batches_in_flight: self.state.config.concurrency,
        };
        let state = self.state.clone();
        let result = kefu_worker::ServiceLoop::over(
            self.bus.clone(),
            self.state.outbox.clone(),
            kefu_proto::queues::QA_EVENTS,
            consumption,
        )
        .run(
            shutdown,
            || ready.set_ready(true),
            move |items| inspect::handle_batch(state.clone(), items),
        )
        .await;
        let _ = config.await;
        let _ = silence.await;
        result
    }
}
