//! The desk WebSocket, `GET /v1/tenants/{tenant_id}/desk/ws?token=<agent token>` (browsers
//! cannot set headers on a WebSocket; `Authorization: Bearer` works too). The server sends
//! `{"type":"hello","agent":…}` and then every desk event whose audience includes the socket
//! (see [`in_audience`]), as the session wrote it. The client may send `{"type":"ping"}`.
//!
//! Each socket has a bounded queue: a socket that cannot keep up is closed (1013) rather than
//! holding events in memory; its client reconnects and re-reads its lists. Pings keep idle
//! sockets honest, and a socket closes when its token expires.

use super::auth::{self, Actor, Role};
use super::{DeskErrors, QueryParams, TenantPath, json};
use crate::AppState;
use crate::error::ApiError;
use crate::heartbeat::close;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use kefu_proto::session::DeskEvent;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use utoipa::IntoParams;

/// Events queued for one socket; a socket this far behind is dropped.
pub const SOCKET_QUEUE: usize = 256;
/// Largest frame a desk client may send (it only pings).
const MAX_CLIENT_FRAME: usize = 4 * 1024;
/// Close code for a socket that could not keep up ("try again later").
const CLOSE_TOO_SLOW: u16 = 1013;
/// Close code for an expired token ("policy violation").
const CLOSE_EXPIRED: u16 = 1008;

/// The open desk sockets of this replica, by tenant, each with the actor it speaks for.
#[derive(Clone, Default)]
pub struct DeskSockets(crate::sockets::Registry<String, Actor>);

/// What one push did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pushed {
    pub sent: usize,
    /// Sockets closed because their queue was full (or they had gone).
    pub dropped: usize,
}

/// Whether a socket of `viewer` is in the audience of `event` (of the viewer's tenant): the
/// agents the event names, plus, when it is for supervisors, supervisors and admins whose
/// merchant scope covers the event's merchant, or, for `all_staff` events (queue changes), all
/// staff whose scope covers it. Merchant staff never receive another merchant's events, even
/// when named.
pub fn in_audience(viewer: &Actor, event: &DeskEvent) -> bool {
    let merchant_staff = !viewer.merchant_id.is_empty();
    if merchant_staff && viewer.merchant_id != event.merchant_id && !event.merchant_id.is_empty() {
        return false;
    }
    if !viewer.agent_id.is_empty() && event.agent_ids.contains(&viewer.agent_id) {
        return true;
    }
    if event.all_staff && (!merchant_staff || viewer.merchant_id == event.merchant_id) {
        return true;
    }
    event.supervisors
        && viewer.role >= Role::Supervisor
        && (!merchant_staff || viewer.merchant_id == event.merchant_id)
}

impl DeskSockets {
    pub fn open(&self) -> usize {
        self.0.open()
    }

    /// Registers a socket of `actor` (unless `max` are open); returns its id and the queue of
    /// frames it must send.
    pub fn register(&self, actor: Actor, max: usize) -> Option<(u64, mpsc::Receiver<Arc<str>>)> {
        self.0
            .register(actor.tenant_id.clone(), actor, max, SOCKET_QUEUE)
    }

    /// Forgets socket `id` (if a push has not already) once its task ends.
    fn unregister(&self, tenant_id: &str, id: u64) {
        self.0.unregister(&tenant_id.to_owned(), id);
    }

    /// Closes every socket of an account that was removed or whose role or merchant changed:
    /// its token no longer speaks for it, so its live events stop at once (REST calls are
    /// refused by the session already). Returns how many sockets were closed.
    pub fn disconnect_agent(&self, tenant_id: &str, agent_id: &str) -> usize {
        let tenant = tenant_id.to_owned();
        let ids: Vec<u64> = self.0.with(&tenant, |l| {
            l.iter()
                .filter(|o| o.meta.agent_id == agent_id)
                .map(|o| o.id)
                .collect()
        });
        self.0.remove(&tenant, &ids);
        ids.len()
    }

    /// Sends the event's payload to every socket of its tenant in its audience. A socket whose
    /// queue is full is removed: its sender goes, so it closes once it has sent what it holds.
    pub fn push(&self, event: &DeskEvent) -> Pushed {
        let frame: Arc<str> = event.payload_json.as_str().into();
        let mut pushed = Pushed::default();
        let mut stale = Vec::new();
        self.0.with(&event.tenant_id, |outlets| {
            for o in outlets.iter().filter(|o| in_audience(&o.meta, event)) {
                match o.tx.try_send(frame.clone()) {
                    Ok(()) => pushed.sent += 1,
                    Err(_) => stale.push(o.id),
                }
            }
        });
        if !stale.is_empty() {
            tracing::warn!(
                sockets = stale.len(),
                "desk sockets too slow for their events; closing them"
            );
            pushed.dropped = stale.len();
            self.0.remove(&event.tenant_id, &stale);
        }
        pushed
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SocketQuery {
    /// The agent token (or the admin token), for clients that cannot set headers.
    pub token: Option<String>,
}

/// Opens the desk socket: a `hello` frame, then the desk events in the actor's audience.
#[utoipa::path(get, path = "/v1/tenants/{tenant_id}/desk/ws", tag = "desk socket",
    params(TenantPath, SocketQuery),
    responses(
        (status = 101, description = "WebSocket: `hello`, then desk events as JSON text frames"),
        (status = 426, description = "Not a WebSocket upgrade", body = json::Error),
        DeskErrors,
    ),
    security(("bearer" = [])))]
pub async fn connect(
    State(state): State<AppState>,
    Path(p): Path<TenantPath>,
    QueryParams(q): QueryParams<SocketQuery>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    match open(&state, &p.tenant_id, q.token, &headers).await {
        Ok((actor, hello)) => {
            let ws = match ws {
                Ok(ws) => ws,
                Err(rej) => return ApiError::WebSocketRequired(rej.body_text()).into_response(),
            };
            let sockets = state.desk_sockets.clone();
            let Some((id, rx)) = sockets.register(actor.clone(), state.config.desk.max_connections)
            else {
                return ApiError::Unavailable("room for desk sockets on this gateway")
                    .into_response();
            };
            let ping = Duration::from_secs(state.config.desk.ping_interval_s);
            ws.max_message_size(MAX_CLIENT_FRAME)
                .max_frame_size(MAX_CLIENT_FRAME)
                .on_upgrade(move |socket| async move {
                    serve(socket, &actor, hello, rx, ping).await;
                    sockets.unregister(&actor.tenant_id, id);
                })
        }
        Err(e) => e.into_response(),
    }
}

/// Authenticates the socket and builds its `hello` frame.
async fn open(
    state: &AppState,
    tenant_id: &str,
    query_token: Option<String>,
    headers: &HeaderMap,
) -> Result<(Actor, String), ApiError> {
    let now = chrono::Utc::now().timestamp();
    let actor = match query_token {
        Some(t) => auth::authenticate(&state.config, tenant_id, Some(&t), "token", now)?,
        None => {
            let header = headers
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(|h| h.strip_prefix("Bearer ").unwrap_or(""));
            auth::authenticate(&state.config, tenant_id, header, "authorization", now)?
        }
    };
    let agent = if actor.agent_id.is_empty() {
        None
    } else {
        let a = state
            .desk
            .clone()
            .get_agent(kefu_proto::session::AgentRef {
                actor: Some(actor.proto()),
                agent_id: actor.agent_id.clone(),
            })
            .await
            .map_err(|s| match s.code() {
                // A deleted account's token is refused, though it has not expired yet.
                tonic::Code::NotFound => ApiError::Unauthenticated {
                    field: "token",
                    reason: "names an agent that no longer exists".into(),
                },
                _ => ApiError::from_session(s, "agent", &actor.agent_id),
            })?
            .into_inner();
        Some(json::Agent::from(&a))
    };
    let hello = json!({
        "type": "hello",
        "agent": agent,
        "actor": {
            "tenant_id": actor.tenant_id,
            "agent_id": actor.agent_id,
            "role": actor.role,
            "merchant_id": actor.merchant_id,
        },
    });
    Ok((actor, hello.to_string()))
}

async fn serve(
    socket: WebSocket,
    actor: &Actor,
    hello: String,
    mut rx: mpsc::Receiver<Arc<str>>,
    ping_every: Duration,
) {
    let (mut sink, mut stream) = socket.split();
    if sink.send(WsMessage::Text(hello.into())).await.is_err() {
        return;
    }
    let until_expiry = actor.expires_at.map(|exp| {
        Duration::from_secs(u64::try_from(exp - chrono::Utc::now().timestamp()).unwrap_or(0))
    });
    let expiry = async {
        match until_expiry {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(expiry);
    let mut heartbeat = crate::heartbeat::Heartbeat::start(ping_every).await;
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(frame) => {
                    if sink.send(WsMessage::Text(frame.as_ref().into())).await.is_err() {
                        return;
                    }
                }
                None => {
                    // Dropped by the server: too slow for its events, or the account changed.
                    let _ = sink.send(close(CLOSE_TOO_SLOW, "closed by the server; sign in again or reconnect")).await;
                    return;
                }
            },
            _ = &mut expiry => {
                let _ = sink.send(close(CLOSE_EXPIRED, "token expired; sign in again")).await;
                return;
            }
            _ = heartbeat.tick() => {
                if !heartbeat.beat(&mut sink).await {
                    return;
                }
            }
            incoming = stream.next() => {
                let Some(Ok(msg)) = incoming else { return };
                heartbeat.heard();
                match msg {
                    WsMessage::Close(_) => return,
                    WsMessage::Text(t) if is_ping(t.as_str()) => {
                        let pong = json!({"type": "pong"}).to_string();
                        if sink.send(WsMessage::Text(pong.into())).await.is_err() {
                            return;
                        }
                    }
                    // Everything else is done over REST; other frames only prove liveness.
                    _ => {}
                }
            }
        }
    }
}

fn is_ping(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text).is_ok_and(|v| v["type"] == "ping")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn viewer(agent: &str, role: Role, merchant: &str) -> Actor {
        Actor {
            tenant_id: "acme".into(),
            agent_id: agent.into(),
            role,
            merchant_id: merchant.into(),
            expires_at: None,
        }
    }

    fn event(agents: &[&str], supervisors: bool, merchant: &str) -> DeskEvent {
        DeskEvent {
            tenant_id: "acme".into(),
            kind: "message".into(),
            agent_ids: agents.iter().map(|a| a.to_string()).collect(),
            supervisors,
            merchant_id: merchant.into(),
            conversation_id: "c-1".into(),
            payload_json: r#"{"type":"message"}"#.into(),
            all_staff: false,
        }
    }

    #[test]
    fn queue_changes_reach_every_agent_in_scope() {
        let mut e = event(&[], true, "m-1");
        e.all_staff = true;
        assert!(in_audience(&viewer("a-1", Role::Agent, "m-1"), &e));
        assert!(in_audience(&viewer("a-p", Role::Agent, ""), &e));
        assert!(!in_audience(&viewer("a-2", Role::Agent, "m-2"), &e));
    }

    #[test]
    fn named_agents_get_the_event_and_others_do_not() {
        let e = event(&["a-1"], false, "m-1");
        assert!(in_audience(&viewer("a-1", Role::Agent, "m-1"), &e));
        assert!(in_audience(&viewer("a-1", Role::Agent, ""), &e));
        assert!(!in_audience(&viewer("a-2", Role::Agent, "m-1"), &e));
        // Not for supervisors: a supervisor who is not named does not get it.
        assert!(!in_audience(&viewer("s-1", Role::Supervisor, ""), &e));
    }

    #[test]
    fn supervisors_get_events_of_the_merchants_they_cover() {
        let e = event(&[], true, "m-1");
        assert!(in_audience(&viewer("s-1", Role::Supervisor, "m-1"), &e));
        assert!(in_audience(&viewer("s-p", Role::Supervisor, ""), &e));
        assert!(in_audience(&Actor::platform_admin("acme"), &e));
        assert!(!in_audience(&viewer("a-1", Role::Agent, "m-1"), &e));
        // Platform-wide events (no merchant) are platform staff's only.
        let platform = event(&[], true, "");
        assert!(in_audience(&viewer("s-p", Role::Supervisor, ""), &platform));
        assert!(!in_audience(
            &viewer("s-1", Role::Supervisor, "m-1"),
            &platform
        ));
    }

    #[test]
    fn merchant_staff_never_get_another_merchants_events() {
        let e = event(&["a-1", "s-1"], true, "m-2");
        assert!(!in_audience(&viewer("s-1", Role::Supervisor, "m-1"), &e));
        assert!(!in_audience(&viewer("x", Role::Admin, "m-1"), &e));
        // Even when the event names them.
        assert!(!in_audience(&viewer("a-1", Role::Agent, "m-1"), &e));
        assert!(in_audience(&viewer("a-1", Role::Agent, "m-2"), &e));
    }

    #[test]
    fn a_removed_accounts_sockets_close_and_no_one_elses() {
        let sockets = DeskSockets::default();
        let (_, mut gone) = sockets
            .register(viewer("a-1", Role::Agent, ""), 10)
            .unwrap();
        let (_, mut stays) = sockets
            .register(viewer("a-2", Role::Agent, ""), 10)
            .unwrap();
        let mut namesake = viewer("a-1", Role::Agent, "");
        namesake.tenant_id = "globex".into();
        let (_, mut other_tenant) = sockets.register(namesake, 10).unwrap();
        assert_eq!(sockets.disconnect_agent("acme", "a-1"), 1);
        // Its queue ends (the socket task then closes); the others stay open.
        assert!(matches!(
            gone.try_recv(),
            Err(tokio::sync::mpsc::error::TryRecvError::Disconnected)
        ));
        assert!(matches!(
            stays.try_recv(),
            Err(tokio::sync::mpsc::error::TryRecvError::Empty)
        ));
        assert!(matches!(
            other_tenant.try_recv(),
            Err(tokio::sync::mpsc::error::TryRecvError::Empty)
        ));
    }

    #[test]
    fn a_push_reaches_its_tenants_audience_and_drops_slow_sockets() {
        let sockets = DeskSockets::default();
        let (_, mut a1) = sockets
            .register(viewer("a-1", Role::Agent, "m-1"), 10)
            .unwrap();
        let (_, mut a2) = sockets
            .register(viewer("a-2", Role::Agent, "m-1"), 10)
            .unwrap();
        let mut other = viewer("a-1", Role::Agent, "m-1");
        other.tenant_id = "globex".into();
        let (_, mut globex) = sockets.register(other, 10).unwrap();
        assert_eq!(
            sockets.push(&event(&["a-1"], false, "m-1")),
            Pushed {
                sent: 1,
                dropped: 0
            }
        );
        assert_eq!(a1.try_recv().unwrap().as_ref(), r#"{"type":"message"}"#);
        assert!(a2.try_recv().is_err());
        assert!(globex.try_recv().is_err());
        // a-2 never reads: once its queue is full it is dropped, and its queue ends.
        for _ in 0..SOCKET_QUEUE {
            assert_eq!(sockets.push(&event(&["a-2"], false, "m-1")).sent, 1);
        }
        assert_eq!(
            sockets.push(&event(&["a-2"], false, "m-1")),
            Pushed {
                sent: 0,
                dropped: 1
            }
        );
        assert_eq!(
            sockets.push(&event(&["a-2"], false, "m-1")),
            Pushed::default()
        );
        let mut drained = 0;
        while a2.try_recv().is_ok() {
            drained += 1;
        }
        assert_eq!(drained, SOCKET_QUEUE);
        assert!(matches!(
            a2.try_recv(),
            Err(mpsc::error::TryRecvError::Disconnected)
        ));
        assert_eq!(sockets.open(), 3);
    }

    #[test]
    fn sockets_past_the_limit_are_refused() {
        let sockets = DeskSockets::default();
        let first = sockets.register(viewer("a-1", Role::Agent, ""), 1);
        assert!(first.is_some());
        assert!(
            sockets
                .register(viewer("a-2", Role::Agent, ""), 1)
                .is_none()
        );
        sockets.unregister("acme", first.unwrap().0);
        assert_eq!(sockets.open(), 0);
        assert!(
            sockets
                .register(viewer("a-2", Role::Agent, ""), 1)
                .is_some()
        );
    }
}
