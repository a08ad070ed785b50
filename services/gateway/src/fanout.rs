//! Every gateway replica's own queue: a transient queue (`gateway.replica.<id>`, gone with the
//! replica's connection) bound to what the sockets of every replica must hear — desk events for
//! agents and supervisors, and `socket.push` frames for customers' chat sockets — so a socket
//! gets what another replica consumed. Durable work (delivering a message, recording it) stays
//! on the shared queues; only the push to open sockets fans out.

use crate::AppState;
use kefu_bus::{Bus, BusError, Envelope, HandlerError, QueueSpec};
use kefu_proto::event_types;
use kefu_proto::events::SocketPush;
use prost::Message as _;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The event types every replica receives.
pub const FANOUT_BINDINGS: &[&str] = &[event_types::DESK_EVENT, event_types::SOCKET_PUSH];

/// Deliveries in flight: pushing is only a few channel sends, so one handler at a time keeps
/// each socket's frames in the order they were published.
const PREFETCH: u16 = 256;

/// This replica's queue.
pub fn queue_spec(replica: &str) -> QueueSpec {
    QueueSpec::new(
        format!("gateway.replica.{replica}"),
        FANOUT_BINDINGS.iter().copied(),
    )
    .with_prefetch(PREFETCH)
    .transient()
}

/// Subscribes this replica's queue (before the replica reports ready, so nothing published
/// after that is missed) and returns the consumer to run until `shutdown`.
pub async fn subscribe(
    state: &AppState,
) -> Result<impl FnOnce(CancellationToken) -> tokio::task::JoinHandle<()> + use<>, BusError> {
    let sub = state.bus.subscribe(queue_spec(&state.replica_id)).await?;
    let state = state.clone();
    Ok(move |shutdown: CancellationToken| {
        tokio::spawn(kefu_bus::run_consumer(sub, 1, shutdown, move |envelope| {
            let state = state.clone();
            async move { handle(&state, &envelope) }
        }))
    })
}

fn handle(state: &AppState, envelope: &Envelope) -> Result<(), HandlerError> {
    match envelope.event_type.as_str() {
        event_types::DESK_EVENT => crate::desk::events::handle(&state.desk_sockets, envelope),
        event_types::SOCKET_PUSH => {
            let push = SocketPush::decode(envelope.payload.as_ref())
                .map_err(|e| HandlerError::permanent(format!("undecodable socket push: {e}")))?;
            let sockets =
                state
                    .sockets
                    .push(&push.channel_id, &push.external_user_id, push.frame.into());
            tracing::debug!(sockets, "pushed to web chat");
            Ok(())
        }
        other => Err(HandlerError::permanent(format!(
            "the replica queue is not bound to {other}"
        ))),
    }
}

/// Publishes `frame` for the customer's chat sockets on every replica (confirmed by the bus).
pub async fn push_to_customer(
    bus: &Arc<dyn Bus>,
    tenant_id: &str,
    push: SocketPush,
) -> Result<(), BusError> {
    bus.publish(&Envelope::new(
        tenant_id,
        event_types::SOCKET_PUSH,
        push.encode_to_vec(),
    ))
    .await
}

/// Publishes a desk event for the agents' sockets on every replica (typing and read signals
/// the gateway itself hears from customers' sockets).
pub async fn push_to_desk(
    bus: &Arc<dyn Bus>,
    event: &kefu_proto::session::DeskEvent,
) -> Result<(), BusError> {
    bus.publish(&Envelope::new(
        event.tenant_id.clone(),
        event_types::DESK_EVENT,
        event.encode_to_vec(),
    ))
    .await
}
