//! The session service: customers, conversations and their messages (routing joins it in a
//! later stage).
//!
//! - [`inbound`]: the `session.inbound` consumer (customer message → history → bot → reply).
//! - [`grpc`]: `kefu.session.v1.Session`, tenant-scoped reads.
//! - [`SessionApp`]: wiring over a database, a bus and the bot's gRPC endpoint, shared by the
//!   standalone binary ([`run`]) and `kefu dev`.

pub mod config;
pub mod deliveries;
pub mod desk;
pub mod domain;
pub mod grpc;
pub mod inbound;
mod metrics;
mod run;
pub mod store;
pub mod tenant_rules;
pub mod tickets;

pub use config::SessionConfig;
pub use run::run;

use kefu_worker::queues::spec as queue;

use kefu_bus::Bus;
use kefu_proto::bot::bot_client::BotClient;
use kefu_store::sea_orm::DatabaseConnection;
use kefu_telemetry::grpc::TraceInterceptor;
use kefu_worker::Outbox;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

pub type Bot = BotClient<InterceptedService<Channel, TraceInterceptor>>;

#[derive(Clone)]
pub struct SessionState {
    pub config: Arc<SessionConfig>,
    pub db: DatabaseConnection,
    pub outbox: Outbox,
    pub bot: Bot,
    /// The order-system connector, for customer profiles and handoff context.
    pub orders: kefu_orders::OrderClient,
    /// Tenant rules, read for every batch: cached briefly, dropped when this replica changes them.
    pub rules: RulesCache,
    /// Wakes this replica's routing loop after a change it made.
    pub desk_wake: Arc<tokio::sync::Notify>,
}

/// A short-lived cache of tenant rules in front of the database (changes made by another
/// replica are seen within [`RulesCache::TTL`]).
#[derive(Clone, Default)]
pub struct RulesCache {
    entries: Arc<std::sync::RwLock<RuleEntries>>,
}

type RuleEntries = std::collections::HashMap<
    String,
    (std::time::Instant, crate::store::customers::TenantSettings),
>;

impl RulesCache {
    pub const TTL: Duration = Duration::from_secs(2);

    pub async fn get(
        &self,
        db: &DatabaseConnection,
        tenant: &str,
    ) -> Result<crate::store::customers::TenantSettings, kefu_store::StoreError> {
        if let Some((at, s)) = self.entries.read().expect("rules lock").get(tenant)
            && at.elapsed() < Self::TTL
        {
            return Ok(s.clone());
        }
        let s = crate::store::customers::tenant_settings(db, tenant).await?;
        let mut entries = self.entries.write().expect("rules lock");
        if entries.len() >= 10_000 {
            entries.clear();
        }
        entries.insert(tenant.to_owned(), (std::time::Instant::now(), s.clone()));
        Ok(s)
    }

    pub fn invalidate(&self, tenant: &str) {
        self.entries.write().expect("rules lock").remove(tenant);
    }
}

/// The keys the order system knows a customer by.
pub fn order_keys(identities: &[kefu_proto::events::Identity]) -> kefu_orders::CustomerKeys {
    kefu_orders::CustomerKeys::from_identities(
        identities
            .iter()
            .map(|i| (i.kind.as_str(), i.value.as_str())),
    )
}

pub fn order_summary(o: &kefu_orders::Order) -> kefu_proto::events::OrderSummary {
    kefu_proto::events::OrderSummary {
        order_id: o.order_id.clone(),
        status: o.status.clone(),
        title: o.title(),
        amount_cents: o.amount_cents,
        created_at: Some(kefu_proto::time::to_timestamp(o.created_at)),
    }
}

pub struct SessionApp {
    pub state: SessionState,
    bus: Arc<dyn Bus>,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Store(#[from] kefu_store::StoreError),
    #[error("bot_url {0:?} is not a valid endpoint")]
    BotUrl(String),
}

impl SessionApp {
    pub async fn build(
        config: SessionConfig,
        db: DatabaseConnection,
        bus: Arc<dyn Bus>,
    ) -> Result<Self, BuildError> {
        kefu_store::migration::apply::<crate::store::migration::SessionMigrator>(&db)
            .await
            .map_err(kefu_store::StoreError::Migration)?;
        let endpoint = Endpoint::from_shared(config.bot_url.clone())
            .map_err(|_| BuildError::BotUrl(config.bot_url.clone()))?
            .connect_timeout(Duration::from_secs(2))
            .tcp_nodelay(true);
        // Lazy: the bot may start after us; calls fail (and fall back) until it is up.
        let bot = BotClient::with_interceptor(endpoint.connect_lazy(), TraceInterceptor);
        let state = SessionState {
            orders: kefu_orders::OrderClient::new(&config.orders),
            rules: RulesCache::default(),
            desk_wake: Arc::new(tokio::sync::Notify::new()),
            outbox: Outbox::new(db.clone()),
            config: Arc::new(config),
            db,
            bot,
        };
        Ok(Self { state, bus })
    }

    pub fn grpc(&self) -> kefu_proto::session::session_server::SessionServer<grpc::SessionGrpc> {
        kefu_proto::session::session_server::SessionServer::new(grpc::SessionGrpc {
            state: self.state.clone(),
        })
    }

    pub fn desk_grpc(&self) -> kefu_proto::session::desk_server::DeskServer<desk::grpc::DeskGrpc> {
        kefu_proto::session::desk_server::DeskServer::new(desk::grpc::DeskGrpc {
            state: self.state.clone(),
        })
    }

    /// Runs the outbox relay, the routing loop and the consumers until `shutdown`, then drains
    /// them.
    pub async fn run_workers(
        &self,
        shutdown: CancellationToken,
        ready: kefu_lifecycle::ReadyHandle,
    ) -> Result<(), kefu_bus::BusError> {
        let consumption = kefu_worker::Consumption {
            max_batch: inbound::MAX_BATCH,
            batches_in_flight: self.state.config.concurrency,
        };
        // Tenant rules from config documents, next to the inbound messages.
        let rules_spec = tenant_rules::queue_spec();
        self.bus.declare(&rules_spec).await?;
        let rules = {
            let sub = self.bus.subscribe(rules_spec).await?;
            let (state, stop) = (self.state.clone(), shutdown.clone());
            tokio::spawn(kefu_bus::run_consumer(sub, 1, stop, move |env| {
                tenant_rules::handle(state.clone(), env)
            }))
        };
        // Replies a channel's rules kept from the customer, shown on the desk.
        let deliveries_spec = deliveries::queue_spec();
        self.bus.declare(&deliveries_spec).await?;
        let deliveries = {
            let sub = self.bus.subscribe(deliveries_spec).await?;
            let (state, stop) = (self.state.clone(), shutdown.clone());
            tokio::spawn(kefu_bus::run_consumer(sub, 1, stop, move |env| {
                deliveries::handle(state.clone(), env)
            }))
        };
        // Public replies and status changes of tickets, told to the customer on their channel.
        let tickets_spec = tickets::queue_spec();
        self.bus.declare(&tickets_spec).await?;
        let ticket_news = {
            let sub = self.bus.subscribe(tickets_spec).await?;
            let (state, stop) = (self.state.clone(), shutdown.clone());
            tokio::spawn(kefu_bus::run_consumer(sub, 1, stop, move |env| {
                tickets::handle(state.clone(), env)
            }))
        };
        let routing = tokio::spawn(desk::router::run(self.state.clone(), shutdown.clone()));
        let state = self.state.clone();
        let result = kefu_worker::ServiceLoop::over(
            self.bus.clone(),
            self.state.outbox.clone(),
            kefu_proto::queues::SESSION_INBOUND,
            consumption,
        )
        .run(
            shutdown,
            || ready.set_ready(true),
            move |items| inbound::handle_batch(state.clone(), items),
        )
        .await;
        let _ = rules.await;
        let _ = deliveries.await;
        let _ = ticket_news.await;
        let _ = routing.await;
        result
    }
}
