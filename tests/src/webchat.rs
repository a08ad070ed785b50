//! A chat widget's side of the web chat socket, for tests: connect, send frames, wait for the
//! frames that matter, press card buttons.

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct ChatSocket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub welcome: Value,
    pub history: Value,
    /// Frames received and not yet taken.
    pending: Vec<Value>,
}

/// Why a connection was refused: the HTTP status and the JSON error body.
#[derive(Debug)]
pub struct Refused {
    pub status: u16,
    pub body: Value,
}

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens a WebSocket to `path` on the HTTP base; a refused upgrade is the status and JSON body.
pub async fn open(http_base: &str, path: &str) -> Result<Socket, Refused> {
    let url = format!("{}{path}", http_base.replacen("http://", "ws://", 1));
    match tokio_tungstenite::connect_async(url.as_str()).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(Refused {
            status: resp.status().as_u16(),
            body: resp
                .body()
                .as_ref()
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or(Value::Null),
        }),
        Err(e) => panic!("socket {path}: {e}"),
    }
}

/// A signed identity token for the web channel (HS256 under the channel secret).
pub fn identity_token(secret: &str, claims: Value) -> String {
    let mut claims = claims;
    if claims.get("exp").is_none() {
        claims["exp"] = json!(chrono_now() + 3600);
    }
    kefu_gateway::identity_token::sign(&claims, secret.as_bytes())
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

impl ChatSocket {
    /// Connects to `ws://…/v1/channels/{channel}/ws?{query}` and reads the welcome and history.
    pub async fn connect(http_base: &str, channel: &str, query: &str) -> Result<Self, Refused> {
        let ws = open(http_base, &format!("/v1/channels/{channel}/ws?{query}")).await?;
        let mut s = Self {
            ws,
            welcome: Value::Null,
            history: Value::Null,
            pending: Vec::new(),
        };
        s.welcome = s.next_of("welcome", |_| true).await;
        s.history = s.next_of("history", |_| true).await;
        Ok(s)
    }

    pub async fn send(&mut self, frame: Value) {
        self.ws
            .send(Message::Text(frame.to_string().into()))
            .await
            .expect("socket open");
    }

    /// Sends a text message with a client id.
    pub async fn say(&mut self, id: &str, text: &str, page: Value) -> Value {
        self.send(json!({"type": "message", "id": id, "text": text, "page": page}))
            .await;
        self.next_of("ack", |f| f["id"] == id).await
    }

    /// Presses a card button.
    pub async fn press(&mut self, id: &str, action: &Value) -> Value {
        self.send(json!({"type": "action", "id": id, "action": action}))
            .await;
        self.next_of("ack", |f| f["id"] == id).await
    }

    /// The next frame of `kind` that satisfies `pred` (earlier frames of other kinds are kept).
    pub async fn next_of(&mut self, kind: &str, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self
            .pending
            .iter()
            .position(|f| f["type"] == kind && pred(f))
        {
            return self.pending.remove(i);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "no {kind} frame within 20 s; other frames: {:?}",
                        self.pending
                    )
                });
            match next {
                Some(Ok(Message::Text(t))) => {
                    let f: Value = serde_json::from_str(t.as_str()).expect("JSON frame");
                    if f["type"] == kind && pred(&f) {
                        return f;
                    }
                    self.pending.push(f);
                }
                Some(Ok(_)) => {}
                other => panic!("socket ended while waiting for {kind}: {other:?}"),
            }
        }
    }

    /// The bot's next message that replies to the client message `id`.
    pub async fn reply_to(&mut self, id: &str) -> Value {
        self.next_of("message", |f| f["reply_to"] == id).await
    }

    /// Sends `text` as one frame as it is (not necessarily JSON, of any size).
    pub async fn send_raw(&mut self, text: String) {
        self.ws
            .send(Message::Text(text.into()))
            .await
            .expect("socket open");
    }

    /// The close code the server ends the socket with (frames before it are kept); `None` when
    /// the connection ends without a close frame.
    pub async fn close_code(&mut self) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .expect("the socket to end within 20 s");
            match next {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(Message::Text(t))) => {
                    self.pending
                        .push(serde_json::from_str(t.as_str()).expect("JSON frame"));
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return None,
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// The button of `card` whose action is `action`.
pub fn button<'a>(card: &'a Value, action: &str) -> &'a Value {
    card["buttons"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["action"]["action"] == action))
        .map(|b| &b["action"])
        .unwrap_or_else(|| panic!("no {action} button on {card}"))
}
