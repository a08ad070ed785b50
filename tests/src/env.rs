//! The shared servers (PostgreSQL, RabbitMQ) and per-test isolation on them: a unique id per
//! test names its PostgreSQL schemas and its broker prefix, so tests run in parallel, and the
//! clean-up drops both. An unreachable server fails the test with a message that says what to do.

use kefu_bus::{Bus, RabbitBus, Topology};
use kefu_store::DbConfig;

pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub fn amqp_url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// One test's names on the shared servers.
pub struct Isolation {
    pub id: String,
}

impl Default for Isolation {
    fn default() -> Self {
        Self::new()
    }
}

impl Isolation {
    pub fn new() -> Self {
        Self {
            id: uuid::Uuid::now_v7().simple().to_string()[20..].to_owned(),
        }
    }

    /// PostgreSQL schema for one service's tables.
    pub fn schema(&self, service: &str) -> String {
        format!("t_{}_{service}", self.id)
    }

    /// Broker prefix for every exchange and queue of this test.
    pub fn bus_prefix(&self) -> String {
        format!("test-{}", self.id)
    }

    /// Fails loudly unless PostgreSQL and RabbitMQ both answer.
    pub async fn require_servers(&self) {
        let url = database_url();
        if let Err(e) = kefu_store::connect(&DbConfig::new(url.clone(), None)).await {
            panic!("PostgreSQL is required for this test and is not reachable: {e}");
        }
        let amqp = amqp_url();
        match RabbitBus::connect(&amqp, Topology::new(self.bus_prefix())).await {
            Ok(bus) => bus.close().await,
            Err(e) => panic!(
                "RabbitMQ is required for this test and is not reachable at {}: {e} — start it or set AMQP_URL",
                kefu_store::db::redact(&amqp)
            ),
        }
    }

    /// Drops this test's schemas and broker topology.
    /// Drops what a distributed platform made: the gateway's, session's and analytics'
    /// schemas and every queue of the system (`kefu_proto::queues::ALL`), with their
    /// dead-letter queues.
    pub async fn cleanup_platform(&self) {
        let queues: Vec<&str> = kefu_proto::queues::ALL.iter().map(|q| q.name).collect();
        self.cleanup(
            &["gateway", "session", "ticketing", "analytics", "qa"],
            &queues,
        )
        .await;
    }

    pub async fn cleanup(&self, services: &[&str], queues: &[&str]) {
        if let Ok(db) = kefu_store::connect(&DbConfig::new(database_url(), None)).await {
            for s in services {
                let _ = kefu_store::db::drop_schema(&db, &self.schema(s)).await;
            }
        }
        if let Ok(bus) = RabbitBus::connect(&amqp_url(), Topology::new(self.bus_prefix())).await {
            bus.delete_topology(queues).await;
            bus.close().await;
        }
    }
}
