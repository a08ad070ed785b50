//! The dev event log: `kefu dev` keeps the last [`KEEP`] domain events (conversation, message,
//! queue, CSAT, agent, order and ticket events — `docs/events.md`) in memory and shows them at
//! `GET /dev/events` (filters: `tenant`, `type`, `conversation_id`), so a developer sees what
//! a change publishes without a broker. It is a consumer like any other: its own queue, bound
//! to the domain event types on the in-process bus.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use kefu_bus::{Bus, QueueSpec};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

pub const KEEP: usize = 10_000;
pub const QUEUE: &str = "dev.events";

#[derive(Clone, Default)]
pub struct EventLog {
    events: Arc<Mutex<Kept>>,
}

/// The kept events, oldest first, and their ids (a redelivery is shown once).
#[derive(Default)]
struct Kept {
    list: VecDeque<Value>,
    ids: HashSet<uuid::Uuid>,
}

#[derive(Deserialize)]
struct Filter {
    tenant: Option<String>,
    #[serde(rename = "type")]
    event_type: Option<String>,
    conversation_id: Option<String>,
}

impl EventLog {
    /// Subscribes the log's queue; the consumer runs until `shutdown`.
    pub async fn start(bus: Arc<dyn Bus>, shutdown: CancellationToken) -> anyhow::Result<Self> {
        let log = Self::default();
        let types = kefu_proto::event_types::DOMAIN
            .iter()
            .chain(kefu_proto::event_types::TICKET)
            .copied();
        let spec = QueueSpec::new(QUEUE, types);
        bus.declare(&spec).await?;
        let sub = bus.subscribe(spec).await?;
        let events = log.events.clone();
        tokio::spawn(kefu_bus::run_consumer(sub, 1, shutdown, move |env| {
            let events = events.clone();
            async move {
                let described = kefu_proto::domain::describe_event(
                    &env.event_id.to_string(),
                    &env.tenant_id,
                    &env.event_type,
                    &env.occurred_at.to_rfc3339(),
                    &env.payload,
                );
                if let Some(v) = described {
                    let mut kept = events.lock().expect("event log lock");
                    if kept.ids.insert(env.event_id) {
                        if kept.list.len() == KEEP
                            && let Some(old) = kept.list.pop_front()
                        {
                            let id = old["event_id"].as_str().and_then(|s| s.parse().ok());
                            if let Some(id) = id {
                                kept.ids.remove(&id);
                            }
                        }
                        kept.list.push_back(v);
                    }
                }
                Ok(())
            }
        }));
        Ok(log)
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/dev/events", get(list))
            .with_state(self.clone())
    }
}

async fn list(State(log): State<EventLog>, Query(f): Query<Filter>) -> Json<Vec<Value>> {
    let kept = log.events.lock().expect("event log lock");
    let keep = |e: &&Value| {
        f.tenant
            .as_ref()
            .is_none_or(|t| e["tenant_id"] == t.as_str())
            && f.event_type
                .as_ref()
                .is_none_or(|t| e["event_type"] == t.as_str())
            && f.conversation_id
                .as_ref()
                .is_none_or(|c| e["conversation_id"] == c.as_str())
    };
    Json(kept.list.iter().filter(keep).cloned().collect())
}
