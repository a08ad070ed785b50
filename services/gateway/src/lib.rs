//! The gateway: Kefu's only service reachable from outside.
//!
//! - [`channels`]: one adapter per channel type (API, web chat, …), in one table: a provider's
//!   call verified and normalised, then accepted by [`inbound`] → `message.received` (via the
//!   outbox).
//! - [`delivery`]: `message.to_send` → the channel's adapter, with retries and dead-marking.
//! - [`admin`] (REST) and [`grpc`]: tenant and channel configuration; [`tenant_config`]: the
//!   rest of a tenant's configuration (kefu-crd specs), announced on the bus when it changes.
//! - [`desk`]: the agents', supervisors' and admins' API (REST, a WebSocket, `/openapi.json`),
//!   proxied to the session's `Desk` service, and the consumer of desk events for its sockets.
//! - [`web`]: the browser front ends (chat widget, agents' workbench, supervisors' board).
//! - [`signature`]: HMAC-SHA256; [`error`]: the error table.
//! - [`GatewayApp`]: everything wired over a database and a bus, used alike by the standalone
//!   binary ([`run`]) and by `kefu dev`.

pub mod admin;
pub mod cards;
pub mod channels;
pub mod config;
pub mod content;
pub mod customers;
pub mod delivery;
pub mod desk;
pub mod error;
pub mod fanout;
pub mod grpc;
pub mod heartbeat;
pub mod identity_token;
pub mod inbound;
pub mod openapi;
pub mod routes;
mod run;
pub mod signature;
pub mod sockets;
pub mod store;
pub mod strict_json;
pub mod tenant_config;
pub mod testing;
pub mod web;
pub mod writer;

pub use config::GatewayConfig;
pub use run::run;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use kefu_bus::Bus;
use kefu_store::sea_orm::DatabaseConnection;
use kefu_worker::Outbox;
use opentelemetry::metrics::{Counter, Histogram};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub struct Metrics {
    pub inbound: Counter<u64>,
    pub deliveries: Counter<u64>,
    pub e2e_latency_ms: Histogram<f64>,
}

impl Metrics {
    fn new() -> Self {
        let meter = kefu_telemetry::metrics::meter();
        Self {
            inbound: meter
                .u64_counter("kefu_gateway_inbound_messages")
                .with_description("Inbound channel messages by outcome")
                .build(),
            deliveries: meter
                .u64_counter("kefu_gateway_deliveries")
                .with_description("Outbound webhook delivery attempts by outcome")
                .build(),
            e2e_latency_ms: meter
                .f64_histogram("kefu_gateway_e2e_latency_ms")
                .with_description("Inbound accepted to reply delivered")
                .build(),
        }
    }
}

/// Shared by every handler and consumer of one gateway.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<GatewayConfig>,
    pub db: DatabaseConnection,
    pub outbox: Outbox,
    /// Group commit of inbound messages.
    pub inbound: writer::InboundWriter,
    pub channels: channels::ChannelCache,
    pub http: reqwest::Client,
    pub metrics: Arc<Metrics>,
    /// The session service (web chat history, the customer admin API).
    pub session: Session,
    /// Open web chat sockets of this replica.
    pub sockets: channels::web::Sockets,
    /// For ephemeral signals (typing, read) that are not worth storing.
    pub bus: Arc<dyn Bus>,
    /// The session's desk service (agents, routing work, supervision).
    pub desk: Desk,
    /// Open desk sockets (agents, supervisors) of this replica.
    pub desk_sockets: desk::socket::DeskSockets,
    /// Sign-in failures per login (`desk::lockout`).
    pub lockout: Arc<desk::lockout::Lockout>,
    /// Providers' access tokens, shared with the other replicas through the database.
    pub tokens: channels::token::Tokens,
    /// The QA service (results, scores, reviews, appeals).
    pub qa: Qa,
    /// This replica's id: names its transient queue ([`fanout`]).
    pub replica_id: String,
}

pub type Session = kefu_proto::session::session_client::SessionClient<
    tonic::service::interceptor::InterceptedService<
        tonic::transport::Channel,
        kefu_telemetry::grpc::TraceInterceptor,
    >,
>;

pub type Desk = kefu_proto::session::desk_client::DeskClient<
    tonic::service::interceptor::InterceptedService<
        tonic::transport::Channel,
        kefu_telemetry::grpc::TraceInterceptor,
    >,
>;

pub type Qa = kefu_proto::qa::qa_client::QaClient<
    tonic::service::interceptor::InterceptedService<
        tonic::transport::Channel,
        kefu_telemetry::grpc::TraceInterceptor,
    >,
>;

pub struct GatewayApp {
    pub state: AppState,
    bus: Arc<dyn Bus>,
}

impl GatewayApp {
    /// Migrates the gateway's tables and wires the app; starts nothing.
    pub async fn build(
        config: GatewayConfig,
        db: DatabaseConnection,
        bus: Arc<dyn Bus>,
    ) -> Result<Self, kefu_store::StoreError> {
        kefu_store::migration::apply::<crate::store::migration::GatewayMigrator>(&db)
            .await
            .map_err(kefu_store::StoreError::Migration)?;
        let http = channels::client(Duration::from_millis(config.webhook.timeout_ms));
        let outbox = Outbox::new(db.clone());
        let endpoint = tonic::transport::Endpoint::from_shared(config.session_url.clone())
            .map_err(|_| {
                kefu_store::StoreError::Config(format!(
                    "session_url {:?} is not a valid endpoint",
                    config.session_url
                ))
            })?
            .connect_timeout(Duration::from_secs(2))
            .tcp_nodelay(true);
        // Lazy: the session may start after us; calls fail until it is up. Both clients share
        // one channel (HTTP/2 connection) to the session.
        let channel = endpoint.connect_lazy();
        let session = kefu_proto::session::session_client::SessionClient::with_interceptor(
            channel.clone(),
            kefu_telemetry::grpc::TraceInterceptor,
        );
        let desk = kefu_proto::session::desk_client::DeskClient::with_interceptor(
            channel,
            kefu_telemetry::grpc::TraceInterceptor,
        );
        let qa_endpoint = tonic::transport::Endpoint::from_shared(config.qa_url.clone())
            .map_err(|_| {
                kefu_store::StoreError::Config(format!(
                    "qa_url {:?} is not a valid endpoint",
                    config.qa_url
                ))
            })?
            .connect_timeout(Duration::from_secs(2))
            .tcp_nodelay(true);
        // Lazy like the session's: QA may start later; its routes answer 503 until it is up.
        let qa = kefu_proto::qa::qa_client::QaClient::with_interceptor(
            qa_endpoint.connect_lazy(),
            kefu_telemetry::grpc::TraceInterceptor,
        );
        let lockout = Arc::new(desk::lockout::Lockout::new(
            config.desk.login_max_failures,
            Duration::from_secs(config.desk.login_lockout_s),
        ));
        let state = AppState {
            lockout,
            inbound: writer::InboundWriter::spawn(db.clone(), outbox.clone()),
            outbox,
            channels: channels::ChannelCache::new(db.clone()),
            config: Arc::new(config),
            db,
            http,
            metrics: Arc::new(Metrics::new()),
            session,
            sockets: channels::web::Sockets::default(),
            bus: bus.clone(),
            desk,
            desk_sockets: desk::socket::DeskSockets::default(),
            tokens: channels::token::Tokens::default(),
            qa,
            replica_id: uuid::Uuid::now_v7().simple().to_string(),
        };
        Ok(Self { state, bus })
    }

    /// Public routes: the channel endpoint, the admin API, the desk API and the web front ends.
    pub fn router(&self) -> Router {
        Router::new()
            .merge(desk::routes().router)
            .merge(routes::platform().router)
            .merge(web::routes())
            .fallback(error::no_route)
            .method_not_allowed_fallback(error::no_method)
            .layer(DefaultBodyLimit::max(self.state.config.max_body_bytes))
            .layer(axum::middleware::map_response(error::json_errors))
            // A server span on every route, named `"{method} {route}"` after the matched route
            // (never the raw path, so ids do not multiply span names), continuing the caller's
            // W3C trace context, with the response status recorded.
            .layer(
                tower_http::trace::TraceLayer::new_for_http()
                    .make_span_with(|req: &axum::http::Request<axum::body::Body>| {
                        let route = req
                            .extensions()
                            .get::<axum::extract::MatchedPath>()
                            .map_or("{unmatched}", |p| p.as_str());
                        kefu_telemetry::http_trace::server_span(req.method(), route, req.headers())
                    })
                    .on_response(
                        |res: &axum::http::Response<axum::body::Body>,
                         _: Duration,
                         span: &tracing::Span| {
                            span.record("http.response.status_code", res.status().as_u16());
                            if res.status().is_server_error() {
                                span.record("otel.status_code", "ERROR");
                            }
                        },
                    ),
            )
            .with_state(self.state.clone())
    }

    pub fn grpc(
        &self,
    ) -> tonic::service::interceptor::InterceptedService<
        kefu_proto::gateway::gateway_server::GatewayServer<grpc::GatewayGrpc>,
        grpc::AdminAuth,
    > {
        let auth = grpc::AdminAuth {
            token: self.state.config.admin_token.expose().into(),
        };
        kefu_proto::gateway::gateway_server::GatewayServer::with_interceptor(
            grpc::GatewayGrpc {
                state: self.state.clone(),
            },
            auth,
        )
    }

    /// Runs the outbox relay, the outbound consumer, the retry worker and the desk events'
    /// consumer until `shutdown`, then drains them. Returns once all have stopped; when one of
    /// the consumers cannot start, the others are stopped too.
    pub async fn run_workers(
        &self,
        shutdown: CancellationToken,
        ready: kefu_lifecycle::ReadyHandle,
    ) -> Result<(), kefu_bus::BusError> {
        let consumption = kefu_worker::Consumption {
            max_batch: delivery::MAX_BATCH,
            batches_in_flight: self.state.config.delivery_concurrency,
        };
        // The retry worker stops with the consumer, also when the consumer fails to start.
        let stop = shutdown.child_token();
        let retries = tokio::spawn(delivery::run_retries(self.state.clone(), stop.clone()));
        // The sockets' queue is subscribed before the replica reports ready.
        let fanout = match fanout::subscribe(&self.state).await {
            Ok(start) => start(stop.clone()),
            Err(e) => {
                stop.cancel();
                let _ = retries.await;
                return Err(e);
            }
        };
        let state = self.state.clone();
        let result = kefu_worker::ServiceLoop::over(
            self.bus.clone(),
            self.state.outbox.clone(),
            kefu_proto::queues::GATEWAY_OUTBOUND,
            consumption,
        )
        .run(
            stop.clone(),
            || ready.set_ready(true),
            move |items| delivery::handle_batch(state.clone(), items),
        )
        .await;
        stop.cancel();
        let _ = retries.await;
        if let Err(e) = fanout.await
            && e.is_panic()
        {
            std::panic::resume_unwind(e.into_panic());
        }
        result
    }
}
