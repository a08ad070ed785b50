//! The web chat channel: a customer WebSocket for the chat widget,
//! `GET /v1/channels/{channel_id}/ws?token=<identity JWT>` (a signed-in customer) or
//! `?visitor=<credential>` (a returning anonymous visitor) or neither (a new visitor, who is
//! given a credential to keep).
//!
//! Frames are JSON. The customer sends `message` (text), `image`, `action` (a card button),
//! `typing` and `read`; each message carries a client `id` (the idempotency key: a re-send
//! after a reconnect is acknowledged again, not stored twice) and the page context. The server
//! sends `welcome`, `history` (the customer's messages on every channel), `ack`, `error` (with
//! the field at fault; the socket stays open), `typing` and `message` (bot and agent replies
//! with their cards). Limits: frame size, messages per second, sockets per replica.
//!
//! Replies go to the customer's open sockets on this replica (a customer who is not connected
//! sees them in the history on reconnect). A tenant's server may also write for a web
//! customer through the API protocol on `/v1/channels/{channel_id}/messages`.

use crate::AppState;
use crate::content::{self, Content};
use crate::error::ApiError;
use crate::heartbeat::close;
use crate::identity_token::{self, VerifiedIdentity};
use crate::inbound::{self, Submission};
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use kefu_proto::events::{Identity, MessageToSend, ProfileHints};
use kefu_proto::session::{CustomerHistoryRequest, FindCustomerRequest};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Frames queued for one slow socket before newer ones are dropped (they stay in history).
const SOCKET_QUEUE: usize = 64;
/// Bytes read from a socket at a time (frames may be larger; they are read in several goes).
const SOCKET_READ_BUFFER: usize = 4 * 1024;

type Key = (String, String);

/// The open sockets of this replica, by `(channel, external user)`.
#[derive(Clone, Default)]
pub struct Sockets(crate::sockets::Registry<Key, ()>);

impl Sockets {
    pub fn open(&self) -> usize {
        self.0.open()
    }

    fn register(&self, key: Key, max: usize) -> Option<(u64, mpsc::Receiver<Arc<str>>)> {
        self.0.register(key, (), max, SOCKET_QUEUE)
    }

    fn unregister(&self, key: &Key, id: u64) {
        self.0.unregister(key, id);
    }

    /// Sends a frame to every socket of the user on this replica; returns how many took it.
    pub fn push(&self, channel_id: &str, user: &str, frame: Arc<str>) -> usize {
        let targets: Vec<mpsc::Sender<Arc<str>>> =
            self.0.with(&(channel_id.to_owned(), user.to_owned()), |l| {
                l.iter().map(|o| o.tx.clone()).collect()
            });
        targets
            .iter()
            .filter(|tx| tx.try_send(frame.clone()).is_ok())
            .count()
    }
}

/// The chat widget's channel.
pub struct Web;

#[async_trait::async_trait]
impl super::Adapter for Web {
    fn channel_type(&self) -> &'static str {
        "web"
    }

    async fn receive(
        &self,
        state: &AppState,
        channel: &crate::store::entities::channel::Model,
        req: super::Inbound,
    ) -> super::Answer {
        super::api::receive(state, channel, req).await
    }

    async fn send(
        &self,
        state: &AppState,
        channel: &crate::store::entities::channel::Model,
        message: &MessageToSend,
        _attempt: u32,
    ) -> super::Outcome {
        // To the customer's sockets on whichever replica they are connected to (`fanout`).
        let push = kefu_proto::events::SocketPush {
            channel_id: channel.id.clone(),
            external_user_id: message.external_user_id.clone(),
            frame: message_frame(message),
        };
        match crate::fanout::push_to_customer(&state.bus, &channel.tenant_id, push).await {
            Ok(()) => super::Outcome::Delivered,
            Err(e) => super::Outcome::Retry(format!("publishing to the sockets: {e}")),
        }
    }
}

/// The frame that shows an outgoing message in the widget.
pub fn message_frame(m: &MessageToSend) -> String {
    json!({
        "type": "message",
        "message_id": m.message_id,
        "conversation_id": m.conversation_id,
        "sender": m.sender_kind,
        "message_type": if m.message_type.is_empty() { "text" } else { m.message_type.as_str() },
        "text": m.text,
        "cards": crate::cards::cards_json(&m.cards),
        "reply_to": m.reply_to_external_message_id,
        "bot": m.bot.as_ref().map(|b| json!({
            "faq_id": b.faq_id, "intent": b.intent, "confidence": b.confidence,
            "suggestions": b.suggestions, "handoff": b.handoff, "reason": b.reason,
        })),
    })
    .to_string()
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConnectParams {
    /// An identity token signed by the tenant's server (a signed-in customer).
    token: Option<String>,
    /// The credential a visitor was given on a first visit.
    visitor: Option<String>,
}

/// Who is on the socket.
struct Peer {
    external_user_id: String,
    identities: Vec<Identity>,
    profile: Option<ProfileHints>,
    /// Given to a new anonymous visitor to reconnect with.
    visitor_credential: Option<String>,
}

#[utoipa::path(get, path = "/v1/channels/{channel_id}/ws", tag = "channels",
    params(("channel_id" = String, Path, description = "The channel"), ConnectParams),
    responses(
        (status = 101, description = "WebSocket: `welcome`, `history`, then `ack`, `message`, `typing`, `error` frames as JSON text"),
        (status = 426, description = "Not a WebSocket upgrade", body = crate::desk::json::Error),
        crate::openapi::ChannelErrors,
    ))]
pub async fn connect(
    State(state): State<AppState>,
    Path(channel_id): Path<String>,
    crate::desk::QueryParams(params): crate::desk::QueryParams<ConnectParams>,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let channel = match state.channels.get(&channel_id).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return ApiError::UnknownChannel(channel_id.chars().take(64).collect()).into_response();
        }
        Err(e) => return ApiError::Internal(e.to_string()).into_response(),
    };
    if !channel.enabled {
        return ApiError::ChannelDisabled(channel_id).into_response();
    }
    if channel.channel_type != "web" {
        return ApiError::field("channel_id", "is not a web channel").into_response();
    }
    let secret = channel.secret.as_bytes();
    let peer = match (&params.token, &params.visitor) {
        (Some(token), _) => {
            match identity_token::verify(token, secret, chrono::Utc::now().timestamp()) {
                Ok(VerifiedIdentity {
                    user_id,
                    identities,
                    profile,
                }) => Peer {
                    external_user_id: format!("user:{user_id}"),
                    identities,
                    profile: Some(profile),
                    visitor_credential: None,
                },
                Err(why) => return ApiError::BadToken(why).into_response(),
            }
        }
        (None, Some(cred)) => match identity_token::verify_visitor(cred, secret) {
            Some(id) => Peer {
                external_user_id: format!("visitor:{id}"),
                identities: Vec::new(),
                profile: None,
                visitor_credential: Some(cred.clone()),
            },
            None => return ApiError::BadVisitor.into_response(),
        },
        (None, None) => {
            let id = uuid::Uuid::new_v4().simple().to_string();
            Peer {
                external_user_id: format!("visitor:{id}"),
                identities: Vec::new(),
                profile: None,
                visitor_credential: Some(identity_token::visitor_credential(&id, secret)),
            }
        }
    };
    let ws = match ws {
        Ok(ws) => ws,
        Err(rej) => return ApiError::WebSocketRequired(rej.body_text()).into_response(),
    };
    let key = (channel.id.clone(), peer.external_user_id.clone());
    let Some((socket_id, rx)) = state
        .sockets
        .register(key.clone(), state.config.webchat.max_connections)
    else {
        return ApiError::TooManyConnections.into_response();
    };
    // A frame over `max_body_bytes` is answered with an error frame naming its id, and the
    // socket stays open (a widget then stops re-sending it). Only a frame over four times that
    // is not read at all: the socket is closed with 1009 (message too big), since its bytes
    // cannot be skipped.
    let hard = hard_frame_limit(state.config.max_body_bytes);
    // Chat frames are small: tungstenite's default 128 KiB read and write buffers per socket
    // would cost ~140 KiB per idle customer; 4 KiB reads and unbuffered writes cost a tenth.
    ws.max_message_size(hard)
        .max_frame_size(hard)
        .read_buffer_size(SOCKET_READ_BUFFER)
        .write_buffer_size(0)
        .on_upgrade(move |socket| async move {
            serve(state.clone(), channel, peer, socket, rx).await;
            state.sockets.unregister(&key, socket_id);
        })
}

/// Close code 1009: a message too big to process (RFC 6455 §7.4.1).
const CLOSE_TOO_BIG: u16 = 1009;

/// The largest frame a web chat socket reads at all.
pub fn hard_frame_limit(max_body_bytes: usize) -> usize {
    max_body_bytes.saturating_mul(4)
}

/// Whether a socket read failed because the frame is over the hard limit.
fn is_too_big(e: axum::Error) -> bool {
    e.into_inner()
        .downcast_ref::<tungstenite::Error>()
        .is_some_and(|e| matches!(e, tungstenite::Error::Capacity(_)))
}

/// The error frame for a frame over the limit, with its `id` when one can be read from it, so
/// the widget marks that message failed instead of sending it again on reconnect.
fn oversized_frame(text: &str, limit: usize) -> String {
    let id = crate::strict_json::value(text.as_bytes())
        .ok()
        .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_owned));
    error_frame(id.as_deref(), &ApiError::PayloadTooLarge { limit })
}

async fn serve(
    state: AppState,
    channel: Arc<crate::store::entities::channel::Model>,
    peer: Peer,
    socket: WebSocket,
    mut rx: mpsc::Receiver<Arc<str>>,
) {
    let (mut sink, mut stream) = socket.split();
    let mut welcome = json!({
        "type": "welcome",
        "channel_id": channel.id,
        "external_user_id": peer.external_user_id,
    });
    if let Some(cred) = &peer.visitor_credential {
        welcome["visitor"] = json!(cred);
    }
    if sink
        .send(WsMessage::Text(welcome.to_string().into()))
        .await
        .is_err()
    {
        return;
    }
    let history = history_frame(&state, &channel, &peer.external_user_id).await;
    if sink.send(WsMessage::Text(history.into())).await.is_err() {
        return;
    }
    let cfg = &state.config.webchat;
    let mut heartbeat =
        crate::heartbeat::Heartbeat::start(Duration::from_secs(cfg.ping_interval_s)).await;
    let mut bucket = TokenBucket::new(cfg.messages_per_second);
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(frame) => {
                    if sink.send(WsMessage::Text(frame.to_string().into())).await.is_err() {
                        return;
                    }
                }
                None => return,
            },
            _ = heartbeat.tick() => {
                if !heartbeat.beat(&mut sink).await {
                    return;
                }
            }
            incoming = stream.next() => {
                let msg = match incoming {
                    Some(Ok(msg)) => msg,
                    Some(Err(e)) => {
                        if is_too_big(e) {
                            let _ = sink.send(close(CLOSE_TOO_BIG, "frame too large")).await;
                        }
                        return;
                    }
                    None => return,
                };
                heartbeat.heard();
                let text = match msg {
                    WsMessage::Text(t) if t.len() > state.config.max_body_bytes => {
                        let e = oversized_frame(&t, state.config.max_body_bytes);
                        if sink.send(WsMessage::Text(e.into())).await.is_err() { return; }
                        continue;
                    }
                    WsMessage::Text(t) => t,
                    WsMessage::Close(_) => return,
                    WsMessage::Binary(_) => {
                        let e = error_frame(None, &ApiError::MalformedJson("frames must be JSON text".into()));
                        if sink.send(WsMessage::Text(e.into())).await.is_err() { return; }
                        continue;
                    }
                    _ => continue,
                };
                let replies = handle_frame(&state, &channel, &peer, text.as_str(), &mut bucket).await;
                for r in replies {
                    if sink.send(WsMessage::Text(r.into())).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// The customer's history on every channel (empty for someone new).
async fn history_frame(
    state: &AppState,
    channel: &crate::store::entities::channel::Model,
    user: &str,
) -> String {
    let mut session = state.session.clone();
    let messages = async {
        let customer = session
            .find_customer(FindCustomerRequest {
                tenant_id: channel.tenant_id.clone(),
                channel_id: channel.id.clone(),
                external_user_id: user.to_owned(),
            })
            .await
            .ok()?
            .into_inner();
        let history = session
            .customer_history(CustomerHistoryRequest {
                tenant_id: channel.tenant_id.clone(),
                customer_id: customer.customer_id,
                limit: state.config.webchat.history,
                merchant_id: String::new(),
            })
            .await
            .map_err(|e| tracing::warn!(error = %e, "history unavailable"))
            .ok()?
            .into_inner();
        Some(history.messages)
    }
    .await
    .unwrap_or_default();
    json!({
        "type": "history",
        "messages": messages.iter().map(crate::cards::history_message_json).collect::<Vec<_>>(),
    })
    .to_string()
}

fn error_frame(id: Option<&str>, e: &ApiError) -> String {
    let (field, code) = match e {
        ApiError::InvalidField { field, .. } => (Some(field.clone()), e.code()),
        _ => (None, e.code()),
    };
    json!({ "type": "error", "id": id, "error": code, "field": field, "message": e.to_string() })
        .to_string()
}

/// A socket's message rate: `per_second` sustained, bursts of twice that (governor's GCRA).
struct TokenBucket(governor::DefaultDirectRateLimiter);

impl TokenBucket {
    fn new(per_second: u32) -> Self {
        let rate = std::num::NonZeroU32::new(per_second.max(1)).expect("at least 1");
        let burst = rate.saturating_mul(std::num::NonZeroU32::new(2).expect("2"));
        Self(governor::RateLimiter::direct(
            governor::Quota::per_second(rate).allow_burst(burst),
        ))
    }

    fn take(&mut self) -> bool {
        self.0.check().is_ok()
    }
}

async fn handle_frame(
    state: &AppState,
    channel: &crate::store::entities::channel::Model,
    peer: &Peer,
    text: &str,
    bucket: &mut TokenBucket,
) -> Vec<String> {
    let obj: Map<String, Value> = match crate::strict_json::value(text.as_bytes()) {
        Ok(Value::Object(o)) => o,
        Ok(_) => {
            return vec![error_frame(
                None,
                &ApiError::MalformedJson("a frame must be a JSON object".into()),
            )];
        }
        Err(e) => return vec![error_frame(None, &e)],
    };
    let kind = obj.get("type").and_then(Value::as_str).unwrap_or("");
    let id = obj.get("id").and_then(Value::as_str);
    match kind {
        "message" | "image" | "action" => {
            if !bucket.take() {
                return vec![
                    json!({
                        "type": "error", "id": id, "error": "rate_limited", "field": null,
                        "message": "too many messages; slow down",
                    })
                    .to_string(),
                ];
            }
            match submit(state, channel, peer, &obj, kind).await {
                Ok((accepted, duplicate)) => {
                    let ack = json!({
                        "type": "ack", "id": id, "message_id": accepted.message_id,
                        "duplicate": duplicate,
                    });
                    let mut out = vec![ack.to_string()];
                    if !duplicate {
                        out.push(json!({"type": "typing", "sender": "bot"}).to_string());
                    }
                    out
                }
                Err(e) => vec![error_frame(id, &e)],
            }
        }
        "typing" | "read" => {
            // Ephemeral signals for the agent side; nothing is stored.
            let mut event = json!({
                "type": kind, "channel_id": channel.id, "external_user_id": peer.external_user_id,
            });
            if kind == "read" {
                match obj.get("message_id").and_then(Value::as_str) {
                    Some(m) if m.len() <= content::MAX_ID_LEN => event["message_id"] = json!(m),
                    _ => {
                        return vec![error_frame(
                            None,
                            &ApiError::field("message_id", "is required (the last message read)"),
                        )];
                    }
                }
            }
            let routing = if kind == "typing" {
                "customer.typing"
            } else {
                "customer.read"
            };
            let envelope = kefu_bus::Envelope::new(
                channel.tenant_id.clone(),
                routing,
                event.to_string().into_bytes(),
            );
            if let Err(e) = state.bus.publish(&envelope).await {
                tracing::debug!(error = %e, "ephemeral signal not published");
            }
            // The agent serving the customer sees it live (at most the socket's message rate).
            if bucket.take() {
                relay_to_agent(state, channel, peer, &event).await;
            }
            Vec::new()
        }
        "ping" => vec![json!({"type": "pong"}).to_string()],
        // Where the customer stands once handed to a person: their place in the queue.
        "queue" => {
            if !bucket.take() {
                return vec![error_frame(
                    id,
                    &ApiError::field("type", "too many requests; slow down"),
                )];
            }
            match queue_position(state, channel, peer).await {
                Ok(q) => {
                    vec![
                        json!({
                            "type": "queue", "id": id, "state": q.state, "position": q.position,
                            "waiting": q.waiting,
                        })
                        .to_string(),
                    ]
                }
                Err(s) => vec![error_frame(
                    id,
                    &ApiError::from_session(s, "conversation", ""),
                )],
            }
        }
        "" => vec![error_frame(id, &ApiError::field("type", "is required"))],
        _ => vec![error_frame(
            id,
            &ApiError::field(
                "type",
                "must be one of message, image, action, typing, read, queue, ping",
            ),
        )],
    }
}

async fn submit(
    state: &AppState,
    channel: &crate::store::entities::channel::Model,
    peer: &Peer,
    obj: &Map<String, Value>,
    kind: &str,
) -> Result<(inbound::Accepted, bool), ApiError> {
    let id = content::required_id(obj, "id")?;
    let mut body = obj.clone();
    body.insert(
        "type".into(),
        json!(if kind == "message" { "text" } else { kind }),
    );
    let content = Content::parse(&body)?;
    let fingerprint = inbound::fingerprint(&peer.external_user_id, &content);
    inbound::submit(
        state,
        channel,
        Submission {
            external_message_id: id,
            external_user_id: peer.external_user_id.clone(),
            content,
            identities: peer.identities.clone(),
            profile: peer.profile.clone(),
            fingerprint,
        },
    )
    .await
}

/// The customer's conversation as routing has it: state, place in the queue, agent.
async fn queue_position(
    state: &AppState,
    channel: &crate::store::entities::channel::Model,
    peer: &Peer,
) -> Result<kefu_proto::session::QueuePosition, tonic::Status> {
    state
        .desk
        .clone()
        .queue_position(kefu_proto::session::QueuePositionRequest {
            tenant_id: channel.tenant_id.clone(),
            channel_id: channel.id.clone(),
            external_user_id: peer.external_user_id.clone(),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Shows a customer's typing or read signal to the agent serving their conversation, on the
/// agent's desk sockets of this replica.
async fn relay_to_agent(
    state: &AppState,
    channel: &crate::store::entities::channel::Model,
    peer: &Peer,
    event: &Value,
) {
    let Ok(q) = queue_position(state, channel, peer).await else {
        return;
    };
    if q.agent_id.is_empty() || !matches!(q.state.as_str(), "offered" | "active") {
        return;
    }
    let kind = format!("customer.{}", event["type"].as_str().unwrap_or("typing"));
    let mut payload = json!({"type": kind, "conversation_id": q.conversation_id});
    if let Some(m) = event.get("message_id") {
        payload["message_id"] = m.clone();
    }
    let event = kefu_proto::session::DeskEvent {
        tenant_id: channel.tenant_id.clone(),
        kind,
        agent_ids: vec![q.agent_id],
        conversation_id: q.conversation_id,
        payload_json: payload.to_string(),
        ..Default::default()
    };
    // To the agent's desk sockets on whichever replica they are connected to.
    if let Err(e) = crate::fanout::push_to_desk(&state.bus, &event).await {
        tracing::debug!(error = %e, "a customer's signal was not passed on");
    }
}
