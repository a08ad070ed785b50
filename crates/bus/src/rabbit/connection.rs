//! One shared AMQP connection with a confirm-mode publishing channel, re-opened
//! with exponential back-off whenever it breaks.

use crate::backoff::Policy;
use std::sync::Arc;
use std::time::Duration;

use lapin::options::ConfirmSelectOptions;
use lapin::tcp::OwnedTLSConfig;
use lapin::{Channel, Connection, ConnectionProperties, DefaultConnectionBuilder};

use super::tls::AmqpTls;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::declare;
use crate::{BusError, Topology};

/// How long `Connector::close` waits for the broker.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(3);

/// First reconnect delay; doubled per failed attempt up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// Longest pause between reconnect attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(3);
/// Longest single connection attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A usable connection and its publishing channel.
#[derive(Clone)]
pub(crate) struct Live {
    pub(crate) connection: Arc<Connection>,
    pub(crate) publisher: Channel,
    /// Bumped on every reconnect, so stale handles can be recognized.
    pub(crate) generation: u64,
}

impl Live {
    fn healthy(&self) -> bool {
        self.connection.status().connected() && self.publisher.status().connected()
    }
}

/// Owner of the connection; cheap to share behind an `Arc`.
pub(crate) struct Connector {
    url: String,
    /// Empty for `amqp://`; for `amqps://`, the CA and client certificate (if any).
    tls: OwnedTLSConfig,
    connection_name: String,
    topology: Topology,
    live: Mutex<Option<Live>>,
    generation: std::sync::atomic::AtomicU64,
    pub(crate) closed: CancellationToken,
}

impl Connector {
    /// Connects once (no retry), so a wrong address fails fast.
    pub(crate) async fn connect(
        url: &str,
        connection_name: String,
        topology: Topology,
        tls: &AmqpTls,
    ) -> Result<Self, BusError> {
        let connector = Self {
            tls: tls.load(url)?,
            url: url.to_owned(),
            connection_name,
            topology,
            live: Mutex::new(None),
            generation: 0.into(),
            closed: CancellationToken::new(),
        };
        let live = tokio::time::timeout(CONNECT_TIMEOUT, connector.open())
            .await
            .map_err(|_| BusError::Connection {
                url: redact(url),
                reason: format!("no connection within {CONNECT_TIMEOUT:?}"),
            })??;
        *connector.live.lock().await = Some(live);
        Ok(connector)
    }

    /// The broker address without credentials, for messages.
    pub(crate) fn display_url(&self) -> String {
        redact(&self.url)
    }

    pub(crate) fn topology(&self) -> &Topology {
        &self.topology
    }

    /// The current healthy connection, reconnecting (with back-off) if needed.
    /// Gives up at `deadline` (never, if `None`) or when the bus is closed.
    /// The lock is held for single attempts only, never across back-off
    /// pauses, so a subscription waiting forever cannot starve a publisher
    /// with a deadline.
    pub(crate) async fn current(&self, deadline: Option<Instant>) -> Result<Live, BusError> {
        let mut backoff = Policy::new(MIN_BACKOFF, MAX_BACKOFF).start();
        let mut delay = backoff.next_delay();
        loop {
            if self.closed.is_cancelled() {
                return Err(BusError::Closed);
            }
            let error = {
                let mut live = self.live.lock().await;
                if let Some(current) = live.as_ref().filter(|current| current.healthy()) {
                    return Ok(current.clone());
                }
                if let Some(stale) = live.take() {
                    tracing::warn!(connection = %self.connection_name, "AMQP connection lost, reconnecting");
                    // Best effort: the connection may be half-open.
                    let _ = stale.connection.close(320, "reconnecting".into()).await;
                }
                match tokio::time::timeout(CONNECT_TIMEOUT, self.open()).await {
                    Ok(Ok(fresh)) => {
                        tracing::info!(connection = %self.connection_name, "AMQP connection established");
                        *live = Some(fresh.clone());
                        return Ok(fresh);
                    }
                    Ok(Err(error)) => error,
                    Err(_) => BusError::Connection {
                        url: self.display_url(),
                        reason: format!("no connection within {CONNECT_TIMEOUT:?}"),
                    },
                }
            };
            if deadline.is_some_and(|deadline| Instant::now() + delay > deadline) {
                return Err(error);
            }
            tracing::debug!(%error, ?delay, "reconnect attempt failed");
            tokio::select! {
                () = self.closed.cancelled() => return Err(BusError::Closed),
                () = tokio::time::sleep(delay) => {}
            }
            delay = backoff.next_delay();
        }
    }

    /// Forgets the connection of `generation` if it is still the current one,
    /// so the next [`current`](Self::current) reconnects.
    pub(crate) async fn invalidate(&self, generation: u64) {
        let mut live = self.live.lock().await;
        if live.as_ref().is_some_and(|l| l.generation == generation)
            && let Some(stale) = live.take()
        {
            let _ = stale.connection.close(320, "reconnecting".into()).await;
        }
    }

    /// Closes the connection for good. Bounded: a broker that does not answer the close (or a
    /// publish stuck on a dying connection) must not hold a stopping service past its grace.
    pub(crate) async fn close(&self) {
        self.closed.cancel();
        let close = async {
            if let Some(live) = self.live.lock().await.take() {
                let _ = live.connection.close(200, "bus closed".into()).await;
            }
        };
        if tokio::time::timeout(CLOSE_TIMEOUT, close).await.is_err() {
            tracing::warn!(
                timeout_s = CLOSE_TIMEOUT.as_secs(),
                "the broker did not confirm the close in time; dropping the connection"
            );
        }
    }

    async fn open(&self) -> Result<Live, BusError> {
        let fail = |error: lapin::Error| BusError::Connection {
            url: self.display_url(),
            reason: error.to_string(),
        };
        let properties = ConnectionProperties::default()
            .with_connection_name(self.connection_name.clone().into());
        let connection = DefaultConnectionBuilder::new()
            .map_err(fail)?
            .with_uri_str(self.url.clone())
            .with_properties(properties)
            .with_tls_config(self.tls.clone())
            .connect()
            .await
            .map_err(fail)?;
        let publisher = connection.create_channel().await.map_err(fail)?;
        publisher
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(fail)?;
        declare::exchanges(&publisher, &self.topology).await?;
        let generation = self
            .generation
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        Ok(Live {
            connection: Arc::new(connection),
            publisher,
            generation,
        })
    }
}

/// `amqp://user:pass@host/vhost` → `amqp://host/vhost`.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}{}", &url[..scheme_end + 3], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_credentials() {
        assert_eq!(
            super::redact("amqp://guest:guest@127.0.0.1:5672/%2f"),
            "amqp://127.0.0.1:5672/%2f"
        );
        assert_eq!(super::redact("amqp://localhost"), "amqp://localhost");
    }
}
