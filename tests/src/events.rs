//! What Kefu published, as the end-to-end tests see it: in `kefu dev` the dev event log
//! (`GET /dev/events`), in distributed mode a queue of the test's own on the broker, bound to
//! every domain event type. Both give the same JSON ([`kefu_proto::domain::describe_event`]).

use kefu_bus::{Bus, QueueSpec};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use tokio_util::sync::{CancellationToken, DropGuard};

pub enum EventTap {
    Dev {
        base: String,
    },
    Bus {
        seen: Arc<Mutex<Vec<Value>>>,
        _stop: DropGuard,
    },
}

impl EventTap {
    /// `kefu dev` at `base` (`http://host:port`).
    pub fn dev(base: String) -> Self {
        Self::Dev { base }
    }

    /// Subscribes `queue` on `bus` to every domain event; start it before the services publish.
    pub async fn bus(bus: Arc<dyn Bus>, queue: &str) -> Self {
        let types = kefu_proto::event_types::DOMAIN
            .iter()
            .chain(kefu_proto::event_types::TICKET)
            .copied();
        let spec = QueueSpec::new(queue, types);
        bus.declare(&spec).await.expect("declaring the event tap");
        let sub = bus
            .subscribe(spec)
            .await
            .expect("subscribing the event tap");
        let seen: Arc<Mutex<Vec<Value>>> = Arc::default();
        let stop = CancellationToken::new();
        let (sink, task_stop) = (seen.clone(), stop.clone());
        tokio::spawn(async move {
            kefu_bus::run_consumer(sub, 1, task_stop, move |env| {
                let sink = sink.clone();
                async move {
                    if let Some(v) = kefu_proto::domain::describe_event(
                        &env.event_id.to_string(),
                        &env.tenant_id,
                        &env.event_type,
                        &env.occurred_at.to_rfc3339(),
                        &env.payload,
                    ) {
                        sink.lock().unwrap().push(v);
                    }
                    Ok(())
                }
            })
            .await;
            // Keeps the bus alive as long as the tap.
            drop(bus);
        });
        Self::Bus {
            seen,
            _stop: stop.drop_guard(),
        }
    }

    /// The tenant's domain events so far, each once (a redelivery has the same event id).
    pub async fn events(&self, tenant: &str) -> Vec<Value> {
        let all: Vec<Value> = match self {
            Self::Dev { base } => reqwest::get(format!("{base}/dev/events?tenant={tenant}"))
                .await
                .expect("GET /dev/events")
                .json()
                .await
                .expect("the event log as JSON"),
            Self::Bus { seen, .. } => seen.lock().unwrap().clone(),
        };
        let mut ids = std::collections::HashSet::new();
        all.into_iter()
            .filter(|e| e["tenant_id"] == tenant)
            .filter(|e| ids.insert(e["event_id"].as_str().unwrap_or_default().to_owned()))
            .collect()
    }
}
