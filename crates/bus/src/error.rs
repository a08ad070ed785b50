//! The crate's error type.

use std::time::Duration;

/// Everything that can go wrong talking to a [`Bus`](crate::Bus).
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The broker could not be reached (or re-reached within the retry budget).
    #[error("cannot connect to the message broker at {url}: {reason}")]
    Connection {
        /// The broker address, without credentials.
        url: String,
        /// What went wrong on the last attempt.
        reason: String,
    },
    /// The broker negatively confirmed a publish: the event is NOT stored.
    #[error("the broker rejected (nacked) the publish of event {event_id}")]
    PublishNacked {
        /// Id of the first rejected envelope.
        event_id: uuid::Uuid,
    },
    /// The bus was closed with [`Bus::close`](crate::Bus::close).
    #[error("the bus is closed")]
    Closed,
    /// The queue (or its dead-letter queue) has never been declared.
    #[error("unknown queue {0:?}")]
    UnknownQueue(String),
    /// An AMQP operation failed on an otherwise healthy connection.
    #[error("AMQP {operation} failed: {source}")]
    Protocol {
        /// The AMQP method that failed, e.g. `"queue.declare"`.
        operation: &'static str,
        /// The underlying client error.
        #[source]
        source: lapin::Error,
    },
    /// A broker message could not be turned into an [`Envelope`](crate::Envelope).
    #[error("malformed message: {0}")]
    Decode(String),
    /// The in-process bus's journal could not keep a message: it is NOT stored.
    #[error("{0}")]
    Journal(String),
    /// The operation did not complete in time.
    #[error("{operation} timed out after {after:?}")]
    Timeout {
        /// What was being waited for.
        operation: &'static str,
        /// How long we waited.
        after: Duration,
    },
}

impl BusError {
    /// Wraps a client error from the AMQP method `operation`.
    pub(crate) fn protocol(operation: &'static str) -> impl FnOnce(lapin::Error) -> Self {
        move |source| Self::Protocol { operation, source }
    }
}
