//! What every reconciliation shares: the API client, the platform's admin API and broker,
//! the event recorder, metrics and the clock (a function, so tests run on paused time).

use crate::metrics::Metrics;
use crate::rabbitmq::{Broker, BrokerError};
use crate::settings::Settings;
use chrono::{DateTime, Utc};
use kefu_crd::admin::{AdminClient, AdminError};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::finalizer;
use kube::{Client, Resource};
use std::sync::Arc;

/// The field manager of every server-side apply, and the finalizer's name.
pub const MANAGER: &str = "kefu-operator";
pub const FINALIZER: &str = "kefu.dev/cleanup";

pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<finalizer::Error<Error>>),
    #[error(transparent)]
    Broker(#[from] BrokerError),
    #[error("admin API: {0}")]
    Admin(#[from] AdminError),
}

pub struct Context {
    pub client: Client,
    pub settings: Settings,
    /// The platform gateway's admin API (shared tenants).
    pub admin: AdminClient,
    pub broker: Broker,
    pub recorder: Recorder,
    pub metrics: Metrics,
    pub clock: Clock,
}

impl Context {
    pub fn new(client: Client, settings: Settings, clock: Clock) -> Self {
        let admin = AdminClient::new(&settings.admin_url, &settings.admin_token);
        let broker = Broker::new(
            &settings.rabbitmq_management_url,
            &settings.rabbitmq_user,
            &settings.rabbitmq_password,
        );
        let reporter = Reporter {
            controller: MANAGER.into(),
            instance: std::env::var("POD_NAME").ok(),
        };
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            settings,
            admin,
            broker,
            metrics: Metrics::new(),
            clock,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// A Kubernetes event on `obj`; failing to record one never fails a reconciliation.
    pub async fn event<K: Resource<DynamicType = ()>>(
        &self,
        obj: &K,
        warning: bool,
        reason: &str,
        note: String,
    ) {
        let ev = Event {
            type_: if warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: reason.into(),
            note: Some(note),
            action: "Reconcile".into(),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&ev, &obj.object_ref(&())).await {
            tracing::warn!(error = %e, reason, "could not record a Kubernetes event");
        }
    }
}
