//! The analytics service: every domain event into fact tables, each conversation folded into
//! its state, and the differences it makes to rollups per minute, hour and local day by tenant,
//! merchant, channel, queue, agent and customer tier; a real-time view in memory; reports, hot
//! topics and a correctness check over gRPC (`kefu.analytics.v1.Analytics`), which the gateway's
//! REST API serves. The metrics are defined in `docs/metrics.md`.
//!
//! - [`facts`]: events → facts; [`conversation`]: a conversation's fold and contributions;
//!   [`attendance`]: agents' days; [`rollup`] and [`counters`]: cells and what they count.
//! - [`ingest`]: the `analytics.events` consumer; [`config_events`]: `analytics.config`;
//!   [`sweep`]: what time alone changes (24 h settling, today's attendance, pruning, the
//!   nightly check).
//! - [`orders`]: reported orders and the agent (or the bot) each is attributed to.
//! - [`query`], [`metrics`], [`topics`], [`realtime`], [`check`]: what the API answers.

pub mod attendance;
pub mod check;
pub mod config;
pub mod config_events;
pub mod conversation;
pub mod counters;
pub mod facts;
pub mod grpc;
pub mod ingest;
pub mod metrics;
pub mod orders;
pub mod query;
pub mod realtime;
pub mod rollup;
mod run;
pub mod settings;
pub mod store;
pub mod sweep;
pub mod testing;
pub mod topics;

pub use config::AnalyticsConfig;
pub use run::run;

use kefu_bus::Bus;
use opentelemetry::metrics::{Counter, Histogram};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The service's instruments.
pub struct Metrics {
    pub events: Counter<u64>,
    pub batch_ms: Histogram<f64>,
    /// Conversations rebuilt from the fact tables because a message arrived out of order.
    pub rebuilt: Counter<u64>,
    /// Cells where the correctness check found the rollups differ from the facts.
    pub check_differences: Counter<u64>,
    pub checks: Counter<u64>,
}

impl Metrics {
    fn new() -> Self {
        let meter = kefu_telemetry::metrics::meter();
        Self {
            events: meter
                .u64_counter("kefu_analytics_events")
                .with_description("Domain events folded into facts and rollups")
                .build(),
            batch_ms: meter
                .f64_histogram("kefu_analytics_batch_ms")
                .with_description("Time to fold one batch of events, its transaction included")
                .build(),
            rebuilt: meter
                .u64_counter("kefu_analytics_rebuilt_conversations")
                .with_description(
                    "Conversations rebuilt from their facts (a message arrived out of order)",
                )
                .build(),
            check_differences: meter
                .u64_counter("kefu_analytics_check_differences")
                .with_description(
                    "Rollup values the correctness check found different from the facts",
                )
                .build(),
            checks: meter
                .u64_counter("kefu_analytics_checks")
                .with_description("Correctness checks run (a day recomputed from the facts)")
                .build(),
        }
    }
}

/// Tenants' reporting settings in front of the database, briefly: a change another replica
/// stored is seen within [`SettingsCache::TTL`].
#[derive(Clone, Default)]
pub struct SettingsCache {
    entries: Arc<std::sync::RwLock<HashMap<String, (Instant, settings::Settings)>>>,
}

impl SettingsCache {
    pub const TTL: Duration = Duration::from_secs(2);

    pub async fn get<C: ConnectionTrait>(
        &self,
        db: &C,
        tenant: &str,
    ) -> Result<settings::Settings, DbErr> {
        if let Some((at, s)) = self.entries.read().expect("settings lock").get(tenant)
            && at.elapsed() < Self::TTL
        {
            return Ok(s.clone());
        }
        let s = store::settings(db, tenant).await?;
        let mut entries = self.entries.write().expect("settings lock");
        if entries.len() >= 10_000 {
            entries.clear();
        }
        entries.insert(tenant.to_owned(), (Instant::now(), s.clone()));
        Ok(s)
    }

    pub fn invalidate(&self, tenant: &str) {
        self.entries.write().expect("settings lock").remove(tenant);
    }
}

/// Shared by the consumers, the sweeps and the gRPC service of one replica.
#[derive(Clone)]
pub struct AnalyticsState {
    pub config: Arc<AnalyticsConfig>,
    pub db: DatabaseConnection,
    pub settings: SettingsCache,
    pub realtime: realtime::Realtime,
    pub metrics: Arc<Metrics>,
}

pub struct AnalyticsApp {
    pub state: AnalyticsState,
    bus: Arc<dyn Bus>,
}

impl AnalyticsApp {
    /// Migrates analytics' tables and wires the app; starts nothing.
    pub async fn build(
        config: AnalyticsConfig,
        db: DatabaseConnection,
        bus: Arc<dyn Bus>,
    ) -> Result<Self, kefu_store::StoreError> {
        kefu_store::migration::apply::<store::migration::AnalyticsMigrator>(&db)
            .await
            .map_err(kefu_store::StoreError::Migration)?;
        let state = AnalyticsState {
            config: Arc::new(config),
            realtime: realtime::Realtime::new(db.clone()),
            db,
            settings: SettingsCache::default(),
            metrics: Arc::new(Metrics::new()),
        };
        Ok(Self { state, bus })
    }

    pub fn grpc(
        &self,
    ) -> kefu_proto::analytics::analytics_server::AnalyticsServer<grpc::AnalyticsGrpc> {
        kefu_proto::analytics::analytics_server::AnalyticsServer::new(grpc::AnalyticsGrpc {
            state: self.state.clone(),
        })
    }

    /// Builds the real-time view from the tables, then runs the consumers, the view's refresh
    /// and the sweeps until `shutdown`, then drains them.
    pub async fn run_workers(
        &self,
        shutdown: CancellationToken,
        ready: kefu_lifecycle::ReadyHandle,
    ) -> Result<(), kefu_bus::BusError> {
        if let Err(e) = self.state.realtime.refresh().await {
            tracing::warn!(error = %e, "building the real-time view failed; it is retried");
        }
        let refresh = tokio::spawn(self.state.realtime.clone().run(
            Duration::from_secs(self.state.config.realtime_refresh_s),
            shutdown.clone(),
        ));
        let config_spec = config_events::queue_spec();
        self.bus.declare(&config_spec).await?;
        let config = {
            let sub = self.bus.subscribe(config_spec).await?;
            let (state, stop) = (self.state.clone(), shutdown.clone());
            tokio::spawn(kefu_bus::run_consumer(sub, 1, stop, move |env| {
                config_events::handle(state.clone(), env)
            }))
        };
        let sweeps = tokio::spawn(sweep::run(self.state.clone(), shutdown.clone()));
        let consumption = kefu_worker::Consumption {
            max_batch: ingest::MAX_BATCH,
            batches_in_flight: self.state.config.concurrency,
        };
        let state = self.state.clone();
        // Analytics publishes nothing; the loop's relay has an empty outbox to watch.
        let result = kefu_worker::ServiceLoop::over(
            self.bus.clone(),
            kefu_worker::Outbox::new(self.state.db.clone()),
            kefu_proto::queues::ANALYTICS_EVENTS,
            consumption,
        )
        .run(
            shutdown,
            || ready.set_ready(true),
            move |items| ingest::handle_batch(state.clone(), items),
        )
        .await;
        let _ = config.await;
        let _ = sweeps.await;
        let _ = refresh.await;
        result
    }
}
