//! Fixtures shared by the contract bodies.

use kefu_bus::{Bus, BusError, Envelope, QueueSpec, Subscription};
use kefu_store::sea_orm::DatabaseConnection;
use std::time::Duration;

/// The outbox and processed-event tables, as every service's migrator creates them.
pub async fn migrate_shared(db: &DatabaseConnection) {
    kefu_store::testing::create_shared_tables(db).await;
}

pub use kefu_bus::testing::envelope;

pub fn all_queue() -> QueueSpec {
    QueueSpec::new("q", ["#"]).with_prefetch(100)
}

/// The next envelope on `sub`, acknowledged; panics after 5 s.
pub async fn receive(sub: &mut Subscription) -> Envelope {
    let delivery = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("no delivery within 5 s")
        .expect("subscription closed");
    let envelope = delivery.envelope.clone();
    delivery.ack().await.expect("ack");
    envelope
}

/// Asserts nothing arrives on `sub` for a short while.
pub async fn assert_nothing_arrives(sub: &mut Subscription) {
    if let Ok(Some(d)) = tokio::time::timeout(Duration::from_millis(200), sub.next()).await {
        panic!("unexpected delivery: {:?}", d.envelope);
    }
}

/// A bus whose broker is down: every publish fails. Fault injection at the bus edge.
pub struct FailingBus;

fn down() -> BusError {
    BusError::Connection {
        url: "amqp://test-broker-down".into(),
        reason: "injected failure".into(),
    }
}

#[async_trait::async_trait]
impl Bus for FailingBus {
    async fn publish(&self, _: &Envelope) -> Result<(), BusError> {
        Err(down())
    }

    async fn publish_batch(&self, _: &[Envelope]) -> Result<(), BusError> {
        Err(down())
    }

    async fn declare(&self, _: &QueueSpec) -> Result<(), BusError> {
        Err(down())
    }

    async fn subscribe(&self, _: QueueSpec) -> Result<Subscription, BusError> {
        Err(down())
    }

    async fn take_dead_letters(&self, _: &str, _: usize) -> Result<Vec<Envelope>, BusError> {
        Err(down())
    }

    async fn queue_depth(&self, _: &str) -> Result<u64, BusError> {
        Err(down())
    }

    async fn dead_letter_depth(&self, _: &str) -> Result<u64, BusError> {
        Err(down())
    }

    async fn close(&self) {}
}
