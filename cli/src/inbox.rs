//! The dev inbox: a webhook receiver inside `kefu dev`, so the demo channel's replies have
//! somewhere to go and can be read with `curl`. It verifies signatures like a real receiver and
//! keeps the last [`KEEP`] replies per channel in memory.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use kefu_gateway::channels::ChannelCache;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

pub const KEEP: usize = 100;

#[derive(Clone)]
pub struct Inbox {
    channels: ChannelCache,
    replies: Arc<Mutex<HashMap<String, VecDeque<serde_json::Value>>>>,
}

impl Inbox {
    pub fn new(channels: ChannelCache) -> Self {
        Self {
            channels,
            replies: Arc::default(),
        }
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/dev/inbox/{channel_id}", post(receive).get(list))
            .with_state(self.clone())
    }
}

async fn receive(
    State(inbox): State<Inbox>,
    Path(channel_id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let Ok(Some(channel)) = inbox.channels.get(&channel_id).await else {
        return StatusCode::NOT_FOUND;
    };
    let sig = headers
        .get(kefu_gateway::signature::HEADER)
        .and_then(|v| v.to_str().ok());
    if kefu_gateway::signature::verify(channel.secret.as_bytes(), &body, sig).is_err() {
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let mut replies = inbox.replies.lock().expect("inbox lock");
    let list = replies.entry(channel_id).or_default();
    // Receivers dedupe on the delivery id; so does this one.
    if !list.iter().any(|v| v["message_id"] == value["message_id"]) {
        if list.len() == KEEP {
            list.pop_front();
        }
        list.push_back(value);
    }
    StatusCode::NO_CONTENT
}

async fn list(
    State(inbox): State<Inbox>,
    Path(channel_id): Path<String>,
) -> Json<Vec<serde_json::Value>> {
    let replies = inbox.replies.lock().expect("inbox lock");
    Json(
        replies
            .get(&channel_id)
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default(),
    )
}
