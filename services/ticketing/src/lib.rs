//! The ticketing service: tickets with a per-tenant number (`T-2026-000123`), status categories
//! and the tenant's sub-statuses (each saying whether it pauses the SLA), priority, group,
//! assignee, tags, the unified customer as requester, the merchant, the linked conversation;
//! public replies and internal comments; an audit row for every change with its actor; SLA
//! clocks per priority in business or calendar hours, fired by durable timers. gRPC
//! (`kefu.ticketing.v1.Ticketing`), which the gateway's REST API serves; domain events through
//! the outbox (docs/events.md).
//!
//! - [`calendar`]: business-hours arithmetic; [`sla`]: the clocks; [`settings`]: sub-statuses,
//!   policies, the calendar.
//! - [`tickets`]: every change in one transaction with its audit, timers and events.
//! - [`inbound`]: the `ticketing.events` consumer (a customer's reply reopens the ticket);
//!   [`config_events`]: `ticketing.config` (the Tenant document's `ticketing` block);
//!   [`timers`]: the poller that fires SLA warnings and breaches at their instant, once.
//! - [`grpc`]: the API.

pub mod calendar;
pub mod config;
pub mod config_events;
pub mod events;
pub mod grpc;
pub mod inbound;
mod run;
pub mod settings;
pub mod sla;
pub mod store;
pub mod tickets;
pub mod timers;

pub use config::TicketingConfig;
pub use run::run;

use kefu_bus::Bus;
use kefu_proto::session::session_client::SessionClient;
use kefu_telemetry::grpc::TraceInterceptor;
use kefu_worker::Outbox;
use opentelemetry::metrics::{Counter, Histogram};
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

/// The service's instruments.
pub struct Metrics {
    /// Tickets created, by priority.
    pub created: Counter<u64>,
    /// Status changes, by the status entered.
    pub status_changes: Counter<u64>,
    /// SLA warnings and breaches fired, by kind and metric.
    pub sla_events: Counter<u64>,
    /// How late each timer fired (ms past its instant).
    pub timer_lag_ms: Histogram<f64>,
}

impl Metrics {
    fn new() -> Self {
        let meter = kefu_telemetry::metrics::meter();
        Self {
            created: meter
                .u64_counter("kefu_ticketing_tickets_created")
                .with_description("Tickets created, by priority")
                .build(),
            status_changes: meter
                .u64_counter("kefu_ticketing_status_changes")
                .with_description("Ticket status changes, by the status entered")
                .build(),
            sla_events: meter
                .u64_counter("kefu_ticketing_sla_events")
                .with_description("SLA warnings and breaches fired, by kind and metric")
                .build(),
            timer_lag_ms: meter
                .f64_histogram("kefu_ticketing_timer_lag_ms")
                .with_description("How long after its instant each SLA timer fired")
                .build(),
        }
    }
}

pub type Session = SessionClient<InterceptedService<Channel, TraceInterceptor>>;

/// Shared by the consumer, the timer poller and the gRPC service of one replica.
#[derive(Clone)]
pub struct TicketingState {
    pub config: Arc<TicketingConfig>,
    pub db: DatabaseConnection,
    pub outbox: Outbox,
    pub session: Session,
    /// Wakes the timer poller: a change here scheduled a timer.
    pub timers_changed: Arc<Notify>,
    pub metrics: Arc<Metrics>,
}

impl TicketingState {
    /// Hands committed events to the relay and lets the poller see new timers.
    pub fn committed(&self, events: Vec<kefu_bus::Envelope>) {
        if !events.is_empty() {
            self.outbox.dispatch(events);
        }
        self.timers_changed.notify_one();
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Store(#[from] kefu_store::StoreError),
    #[error("session_url {0:?} is not a URL")]
    SessionUrl(String),
}

pub struct TicketingApp {
    pub state: TicketingState,
    bus: Arc<dyn Bus>,
}

impl TicketingApp {
    /// Migrates ticketing's tables and wires the app; starts nothing.
    pub async fn build(
        config: TicketingConfig,
        db: DatabaseConnection,
        bus: Arc<dyn Bus>,
    ) -> Result<Self, BuildError> {
        kefu_store::migration::apply::<store::migration::TicketingMigrator>(&db)
            .await
            .map_err(kefu_store::StoreError::Migration)?;
        let endpoint = Endpoint::from_shared(config.session_url.clone())
            .map_err(|_| BuildError::SessionUrl(config.session_url.clone()))?
            .connect_timeout(Duration::from_secs(2))
            .tcp_nodelay(true);
        // Lazy: the session may start after us.
        let session = SessionClient::with_interceptor(endpoint.connect_lazy(), TraceInterceptor);
        let state = TicketingState {
            outbox: Outbox::new(db.clone()),
            config: Arc::new(config),
            db,
            session,
            timers_changed: Arc::new(Notify::new()),
            metrics: Arc::new(Metrics::new()),
        };
        Ok(Self { state, bus })
    }

    pub fn grpc(
        &self,
    ) -> kefu_proto::ticketing::ticketing_server::TicketingServer<grpc::TicketingGrpc> {
        kefu_proto::ticketing::ticketing_server::TicketingServer::new(grpc::TicketingGrpc {
            state: self.state.clone(),
        })
    }

    /// Runs the consumer (with the outbox relay) and the timer poller until `shutdown`, then
    /// drains them.
    pub async fn run_workers(
        &self,
        shutdown: CancellationToken,
        ready: kefu_lifecycle::ReadyHandle,
    ) -> Result<(), kefu_bus::BusError> {
        let poller = tokio::spawn(timers::run(self.state.clone(), shutdown.clone()));
        // The Tenant documents' ticketing blocks.
        let config_spec = config_events::queue_spec();
        self.bus.declare(&config_spec).await?;
        let config = {
            let sub = self.bus.subscribe(config_spec).await?;
            let (state, stop) = (self.state.clone(), shutdown.clone());
            tokio::spawn(kefu_bus::run_consumer(sub, 1, stop, move |env| {
                config_events::handle(state.clone(), env)
            }))
        };
        let consumption = kefu_worker::Consumption {
            max_batch: inbound::MAX_BATCH,
            batches_in_flight: self.state.config.concurrency,
        };
        let state = self.state.clone();
        let result = kefu_worker::ServiceLoop::over(
            self.bus.clone(),
            self.state.outbox.clone(),
            kefu_proto::queues::TICKETING_EVENTS,
            consumption,
        )
        .run(
            shutdown,
            || ready.set_ready(true),
            move |items| inbound::handle_batch(state.clone(), items),
        )
        .await;
        let _ = config.await;
        let _ = poller.await;
        result
    }
}
