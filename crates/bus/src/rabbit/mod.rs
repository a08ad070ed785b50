//! [`RabbitBus`]: the RabbitMQ backend (lapin).
//!
//! - `connection`: the shared connection, publisher channel and reconnects;
//! - `declare`: exchanges, quorum queues, dead-letter queues and bindings;
//! - `codec`: envelope ⇄ AMQP properties and headers;
//! - `publish`: confirmed publishing with retry;
//! - `subscriber`: consumers that survive reconnects;
//! - `admin`: dead letters, queue depth and test clean-up.

mod acks;
mod admin;
pub mod codec;
mod connection;
mod declare;
mod publish;
mod subscriber;
mod tls;

pub use tls::AmqpTls;

use std::sync::Arc;
use std::time::Duration;

use connection::Connector;

use crate::{Bus, BusError, Envelope, QueueSpec, Subscription, Topology};

/// How long publishing (and subscribing) keeps retrying on a broken
/// connection before giving up.
pub const RETRY_BUDGET: Duration = Duration::from_secs(30);

/// RabbitMQ implementation of [`Bus`]: one connection, a confirm-mode
/// publishing channel, one channel per subscription.
pub struct RabbitBus {
    connector: Arc<Connector>,
    connection_name: String,
}

impl RabbitBus {
    /// Connects (one attempt, so a wrong address fails fast) and declares the
    /// exchanges. The connection is named `kefu-bus/{prefix}/{random}`.
    pub async fn connect(amqp_url: &str, topology: Topology) -> Result<Self, BusError> {
        let name = format!(
            "kefu-bus/{}/{}",
            topology.prefix,
            uuid::Uuid::new_v4().simple()
        );
        Self::connect_named(amqp_url, topology, name).await
    }

    /// Like [`connect`](Self::connect) over TLS with `tls`'s CA and client certificate
    /// (`amqps://` URLs; an empty `tls` is plain [`connect`](Self::connect)).
    pub async fn connect_tls(
        amqp_url: &str,
        topology: Topology,
        tls: &AmqpTls,
    ) -> Result<Self, BusError> {
        let name = format!(
            "kefu-bus/{}/{}",
            topology.prefix,
            uuid::Uuid::new_v4().simple()
        );
        Self::open(amqp_url, topology, name, tls).await
    }

    /// Like [`connect`](Self::connect) with an explicit connection name
    /// (visible in the management UI and `rabbitmqctl list_connections`).
    pub async fn connect_named(
        amqp_url: &str,
        topology: Topology,
        connection_name: impl Into<String>,
    ) -> Result<Self, BusError> {
        Self::open(
            amqp_url,
            topology,
            connection_name.into(),
            &AmqpTls::default(),
        )
        .await
    }

    async fn open(
        amqp_url: &str,
        topology: Topology,
        connection_name: String,
        tls: &AmqpTls,
    ) -> Result<Self, BusError> {
        let connector =
            Connector::connect(amqp_url, connection_name.clone(), topology, tls).await?;
        Ok(Self {
            connector: Arc::new(connector),
            connection_name,
        })
    }

    /// The client-provided connection name.
    pub fn connection_name(&self) -> &str {
        &self.connection_name
    }

    /// The topology this bus uses.
    pub fn topology(&self) -> &Topology {
        self.connector.topology()
    }

    /// Deletes the given logical queues, their dead-letter queues and both
    /// exchanges of this bus's topology (test clean-up; failures are logged).
    pub async fn delete_topology(&self, queues: &[&str]) {
        if let Err(error) = admin::delete_topology(&self.connector, queues).await {
            tracing::warn!(%error, "deleting the test topology failed");
        }
    }
}

impl Drop for RabbitBus {
    /// Stops the subscription pumps; the connection closes once they are gone.
    fn drop(&mut self) {
        self.connector.closed.cancel();
    }
}

#[async_trait::async_trait]
impl Bus for RabbitBus {
    async fn publish(&self, envelope: &Envelope) -> Result<(), BusError> {
        publish::publish(&self.connector, std::slice::from_ref(envelope)).await
    }

    async fn publish_batch(&self, envelopes: &[Envelope]) -> Result<(), BusError> {
        publish::publish(&self.connector, envelopes).await
    }

    async fn declare(&self, spec: &QueueSpec) -> Result<(), BusError> {
        let deadline = tokio::time::Instant::now() + RETRY_BUDGET;
        let live = self.connector.current(Some(deadline)).await?;
        // A channel of its own: a declaration the broker refuses closes the channel.
        let channel = live
            .connection
            .create_channel()
            .await
            .map_err(BusError::protocol("channel.open"))?;
        let declared = declare::queue(&channel, self.connector.topology(), spec).await;
        let _ = channel.close(200, "declared".into()).await;
        declared
    }

    async fn subscribe(&self, spec: QueueSpec) -> Result<Subscription, BusError> {
        subscriber::subscribe(Arc::clone(&self.connector), spec).await
    }

    async fn take_dead_letters(&self, queue: &str, max: usize) -> Result<Vec<Envelope>, BusError> {
        admin::take_dead_letters(&self.connector, queue, max).await
    }

    async fn queue_depth(&self, queue: &str) -> Result<u64, BusError> {
        admin::queue_depth(&self.connector, queue, false).await
    }

    async fn dead_letter_depth(&self, queue: &str) -> Result<u64, BusError> {
        admin::queue_depth(&self.connector, queue, true).await
    }

    async fn close(&self) {
        self.connector.close().await;
    }
}
