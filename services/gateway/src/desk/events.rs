//! Desk events on the sockets: each `desk.event` the session publishes reaches every gateway
//! replica (`crate::fanout`) and is pushed, as its `payload_json`, to the desk sockets of this
//! replica in the event's audience, then acked. An event nobody is connected for is simply
//! acked: the desk re-reads its lists on connect.

use super::socket::DeskSockets;
use kefu_bus::{Envelope, HandlerError};
use kefu_proto::session::DeskEvent;
use prost::Message as _;

/// Decodes one event and pushes it; a malformed event is dead-lettered (retrying cannot help).
pub fn handle(sockets: &DeskSockets, envelope: &Envelope) -> Result<(), HandlerError> {
    let event = DeskEvent::decode(envelope.payload.as_ref())
        .map_err(|e| HandlerError::permanent(format!("undecodable desk event: {e}")))?;
    if event.tenant_id != envelope.tenant_id {
        return Err(HandlerError::permanent(format!(
            "desk event of tenant {:?} in an envelope of tenant {:?}",
            event.tenant_id, envelope.tenant_id
        )));
    }
    // Sockets get the payload as it is: it must at least be a JSON object.
    if !serde_json::from_str::<serde_json::Value>(&event.payload_json).is_ok_and(|v| v.is_object())
    {
        return Err(HandlerError::permanent(format!(
            "desk event {} has a payload_json that is not a JSON object",
            event.kind
        )));
    }
    let pushed = sockets.push(&event);
    // The account's own sockets hear it (above), then close.
    if event.kind == "agent.removed"
        && let Some(agent) = serde_json::from_str::<serde_json::Value>(&event.payload_json)
            .ok()
            .and_then(|v| v["agent_id"].as_str().map(str::to_owned))
    {
        let closed = sockets.disconnect_agent(&event.tenant_id, &agent);
        tracing::info!(agent = %agent, closed, "desk sockets of a changed account closed");
    }
    tracing::debug!(
        kind = %event.kind,
        conversation_id = %event.conversation_id,
        sent = pushed.sent,
        dropped = pushed.dropped,
        "desk event pushed"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(tenant: &str, event: &DeskEvent) -> Envelope {
        Envelope::new(
            tenant.to_owned(),
            kefu_proto::event_types::DESK_EVENT,
            event.encode_to_vec(),
        )
    }

    #[test]
    fn malformed_events_are_dead_lettered_and_good_ones_acked() {
        let sockets = DeskSockets::default();
        let good = DeskEvent {
            tenant_id: "acme".into(),
            kind: "queue.changed".into(),
            supervisors: true,
            payload_json: r#"{"type":"queue.changed"}"#.into(),
            ..Default::default()
        };
        // Nobody connected: acked all the same.
        assert!(handle(&sockets, &envelope("acme", &good)).is_ok());
        let e = handle(&sockets, &envelope("globex", &good)).unwrap_err();
        assert!(!e.is_transient());
        let not_json = DeskEvent {
            payload_json: "[1]".into(),
            ..good.clone()
        };
        assert!(handle(&sockets, &envelope("acme", &not_json)).is_err());
        let mut garbage = envelope("acme", &good);
        garbage.payload = bytes::Bytes::from_static(b"\xff\xff\xff");
        assert!(handle(&sockets, &garbage).is_err());
    }
}
