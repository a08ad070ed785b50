//! An agent's, supervisor's or admin's side of the desk API, for end-to-end tests: sign in,
//! work conversations, supervise, manage accounts, and read the desk socket. Every method
//! answers the raw [`Reply`] (status and JSON body), so tests can assert refusals as well.

use crate::client::Reply;
use crate::webchat::Refused;
use futures::StreamExt;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// What an agent's reply carries.
#[derive(Clone, Debug)]
pub enum ReplyContent {
    Text(String),
    /// A canned response's id.
    Canned(String),
    /// Cards in the channels' card JSON (`[{"kind": "order", ...}]`).
    Cards(Value),
}

/// The desk API of one tenant with one credential (an agent token or the admin token).
#[derive(Clone)]
pub struct DeskClient {
    pub base: String,
    pub tenant: String,
    pub token: String,
    http: reqwest::Client,
}

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

impl DeskClient {
    /// A client with a token already in hand (e.g. the admin token).
    pub fn with_token(
        base: impl Into<String>,
        tenant: impl Into<String>,
        token: impl Into<String>,
    ) -> Self {
        Self {
            base: base.into(),
            tenant: tenant.into(),
            token: token.into(),
            http: http(),
        }
    }

    /// Signs in; the refusal (status and error body) when the gateway says no.
    pub async fn login(
        base: &str,
        tenant: &str,
        login: &str,
        password: &str,
    ) -> Result<Self, Reply> {
        let client = http();
        let resp = client
            .post(format!("{base}/v1/tenants/{tenant}/auth/login"))
            .json(&json!({ "login": login, "password": password }))
            .send()
            .await
            .expect("gateway reachable");
        let reply = Reply::from_response(resp).await;
        if reply.status != 200 {
            return Err(reply);
        }
        let token = reply.body["token"]
            .as_str()
            .expect("a login answer has a token")
            .to_owned();
        Ok(Self {
            base: base.to_owned(),
            tenant: tenant.to_owned(),
            token,
            http: client,
        })
    }

    /// Any desk request; `path` is relative to `/v1/tenants/{tenant}`.
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Reply {
        let mut req = self
            .http
            .request(
                method,
                format!("{}/v1/tenants/{}{path}", self.base, self.tenant),
            )
            .bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        Reply::from_response(req.send().await.expect("gateway reachable")).await
    }

    async fn get(&self, path: &str) -> Reply {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn put(&self, path: &str, body: Value) -> Reply {
        self.call(reqwest::Method::PUT, path, Some(body)).await
    }

    pub async fn me(&self) -> Reply {
        self.get("/me").await
    }

    /// The signed-in agent's own status: online | busy | away | offline.
    pub async fn set_status(&self, status: &str) -> Reply {
        self.put("/me/status", json!({ "status": status })).await
    }

    /// A supervisor sets another agent's status.
    pub async fn set_agent_status(&self, agent_id: &str, status: &str) -> Reply {
        self.put(
            &format!("/agents/{agent_id}/status"),
            json!({ "status": status }),
        )
        .await
    }

    /// mine | queued | closed | active
    pub async fn list_conversations(&self, scope: &str) -> Reply {
        self.get(&format!("/conversations?scope={scope}")).await
    }

    pub async fn get_conversation(&self, conversation_id: &str) -> Reply {
        self.get(&format!("/conversations/{conversation_id}")).await
    }

    /// The conversation's messages, notes and whispers included.
    pub async fn messages(&self, conversation_id: &str) -> Reply {
        self.get(&format!("/conversations/{conversation_id}/messages"))
            .await
    }

    pub async fn accept(&self, conversation_id: &str) -> Reply {
        self.post(
            &format!("/conversations/{conversation_id}/accept"),
            json!({}),
        )
        .await
    }

    /// A reply to the customer; `client_id` makes a re-send idempotent.
    pub async fn reply(
        &self,
        conversation_id: &str,
        content: ReplyContent,
        client_id: Option<&str>,
    ) -> Reply {
        let mut body = match content {
            ReplyContent::Text(t) => json!({ "text": t }),
            ReplyContent::Canned(id) => json!({ "canned_id": id }),
            ReplyContent::Cards(cards) => json!({ "cards": cards }),
        };
        if let Some(id) = client_id {
            body["client_id"] = json!(id);
        }
        self.post(&format!("/conversations/{conversation_id}/messages"), body)
            .await
    }

    pub async fn note(&self, conversation_id: &str, text: &str) -> Reply {
        self.post(
            &format!("/conversations/{conversation_id}/notes"),
            json!({ "text": text }),
        )
        .await
    }

    pub async fn transfer_to_agent(
        &self,
        conversation_id: &str,
        agent_id: &str,
        note: &str,
    ) -> Reply {
        self.post(
            &format!("/conversations/{conversation_id}/transfer"),
            json!({ "to_agent_id": agent_id, "note": note }),
        )
        .await
    }

    pub async fn transfer_to_queue(&self, conversation_id: &str, queue: &str, note: &str) -> Reply {
        self.post(
            &format!("/conversations/{conversation_id}/transfer"),
            json!({ "to_queue": queue, "note": note }),
        )
        .await
    }

    pub async fn close(&self, conversation_id: &str, summary: &str, tags: &[&str]) -> Reply {
        self.post(
            &format!("/conversations/{conversation_id}/close"),
            json!({ "summary": summary, "tags": tags }),
        )
        .await
    }

    /// Live queue statistics (supervisors).
    pub async fn queues(&self) -> Reply {
        self.get("/queues").await
    }

    /// The agents with status and load (supervisors).
    pub async fn agents(&self) -> Reply {
        self.get("/agents").await
    }

    /// Creates or replaces an agent (admin): the Agent JSON plus `password`.
    pub async fn put_agent(&self, agent_id: &str, agent: Value) -> Reply {
        self.put(&format!("/agents/{agent_id}"), agent).await
    }

    /// Creates or replaces a canned response (supervisor or admin).
    pub async fn put_canned(&self, canned_id: &str, canned: Value) -> Reply {
        self.put(&format!("/canned-responses/{canned_id}"), canned)
            .await
    }

    pub async fn monitor(&self, conversation_id: &str) -> Reply {
        self.post(
            &format!("/conversations/{conversation_id}/monitor"),
            json!({}),
        )
        .await
    }

    pub async fn whisper(&self, conversation_id: &str, text: &str) -> Reply {
        self.post(
            &format!("/conversations/{conversation_id}/whisper"),
            json!({ "text": text }),
        )
        .await
    }

    pub async fn join(&self, conversation_id: &str) -> Reply {
        self.post(&format!("/conversations/{conversation_id}/join"), json!({}))
            .await
    }

    pub async fn customer(&self, customer_id: &str) -> Reply {
        self.get(&format!("/customers/{customer_id}")).await
    }

    pub async fn customer_history(&self, customer_id: &str) -> Reply {
        self.get(&format!("/customers/{customer_id}/history")).await
    }

    /// Opens this credential's desk socket.
    pub async fn socket(&self) -> Result<DeskSocket, Refused> {
        DeskSocket::connect(&self.base, &self.tenant, &self.token).await
    }
}

/// The desk WebSocket: the `hello` frame, then desk events.
pub struct DeskSocket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub hello: Value,
    /// Events received and not yet taken.
    pending: Vec<Value>,
}

impl DeskSocket {
    /// Connects to `ws://…/v1/tenants/{tenant}/desk/ws?token=…` and reads the hello.
    pub async fn connect(http_base: &str, tenant: &str, token: &str) -> Result<Self, Refused> {
        let ws = crate::webchat::open(
            http_base,
            &format!("/v1/tenants/{tenant}/desk/ws?token={token}"),
        )
        .await?;
        let mut s = Self {
            ws,
            hello: Value::Null,
            pending: Vec::new(),
        };
        s.hello = s
            .next_event("hello", Duration::from_secs(10))
            .await
            .expect("a hello frame on connect");
        Ok(s)
    }

    /// The next event of `kind` (its `type`) within `timeout`, or `None`; events of other kinds
    /// are kept for later calls.
    pub async fn next_event(&mut self, kind: &str, timeout: Duration) -> Option<Value> {
        self.next_event_where(kind, timeout, |_| true).await
    }

    /// Like [`next_event`](Self::next_event), for the first event that also satisfies `pred`
    /// (e.g. of one conversation).
    pub async fn next_event_where(
        &mut self,
        kind: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        if let Some(i) = self
            .pending
            .iter()
            .position(|f| f["type"] == kind && pred(f))
        {
            return Some(self.pending.remove(i));
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .ok()?;
            match next {
                Some(Ok(Message::Text(t))) => {
                    let f: Value = serde_json::from_str(t.as_str()).expect("JSON frame");
                    if f["type"] == kind && pred(&f) {
                        return Some(f);
                    }
                    self.pending.push(f);
                }
                Some(Ok(Message::Close(_))) | None => return None,
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("desk socket failed while waiting for {kind}: {e}"),
            }
        }
    }

    /// Events received so far and not taken, oldest first.
    pub fn pending(&self) -> &[Value] {
        &self.pending
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}
