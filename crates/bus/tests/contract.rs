//! Runs every contract behaviour against both backends.
//!
//! RabbitMQ tests read `AMQP_URL` (default `amqp://guest:guest@127.0.0.1:5672/%2f`),
//! use a unique topology prefix each (so they run in parallel), delete what
//! they declared afterwards, and fail — never skip — when the broker is down.

use futures::FutureExt;
use futures::future::BoxFuture;
use kefu_bus::{Bus, InProcessBus, RabbitBus, Topology, contract};

type Contract = for<'a> fn(&'a dyn Bus) -> BoxFuture<'a, ()>;

fn amqp_url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

fn unique_topology() -> Topology {
    Topology::new(format!("test-{}", uuid::Uuid::new_v4().simple()))
}

async fn connect(url: &str, topology: Topology) -> RabbitBus {
    RabbitBus::connect(url, topology)
        .await
        .unwrap_or_else(|error| {
            panic!("RabbitMQ not reachable at {url}: {error} — start it or set AMQP_URL")
        })
}

async fn with_in_process(test: Contract) {
    let bus = InProcessBus::new(unique_topology());
    test(&bus).await;
    bus.close().await;
}

/// The in-process bus kept in a journal (what `kefu dev` runs) must behave the same.
async fn with_durable_in_process(test: Contract) {
    let journal = std::sync::Arc::new(kefu_bus::MemoryJournal::default());
    let bus = InProcessBus::durable(unique_topology(), journal)
        .await
        .expect("open");
    test(&bus).await;
    bus.close().await;
}

async fn with_rabbit(test: Contract) {
    let url = amqp_url();
    let topology = unique_topology();
    let bus = connect(&url, topology.clone()).await;
    let outcome = std::panic::AssertUnwindSafe(test(&bus))
        .catch_unwind()
        .await;
    bus.close().await;
    // Clean up on a fresh connection: the test may have closed its bus.
    let cleaner = connect(&url, topology).await;
    cleaner.delete_topology(contract::QUEUES).await;
    cleaner.close().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

macro_rules! contract_tests {
    ($($name:ident),* $(,)?) => {
        mod in_process {
            $(
                #[tokio::test]
                async fn $name() {
                    super::with_in_process(|bus| Box::pin(kefu_bus::contract::$name(bus))).await;
                }
            )*
        }
        mod durable_in_process {
            $(
                #[tokio::test]
                async fn $name() {
                    super::with_durable_in_process(|bus| Box::pin(kefu_bus::contract::$name(bus))).await;
                }
            )*
        }
        mod rabbitmq {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::with_rabbit(|bus| Box::pin(kefu_bus::contract::$name(bus))).await;
                }
            )*
        }
    };
}

contract_tests!(
    round_trip_preserves_envelope,
    topic_wildcards_route_by_pattern,
    each_bound_queue_gets_a_copy,
    message_published_before_subscribe_is_delivered,
    publish_batch_delivers_all,
    queue_depth_counts_waiting,
    close_ends_subscriptions,
    nack_requeue_redelivers_with_incremented_count,
    dropped_delivery_is_redelivered,
    nack_without_requeue_dead_letters,
    requeue_beyond_delivery_limit_dead_letters,
    delivery_limit_of_one_dead_letters_on_first_requeue,
    permanent_error_dead_letters_at_once,
    transient_poison_is_dead_lettered_without_blocking,
    prefetch_bounds_in_flight,
    shutdown_drains_in_flight_handlers,
    batch_consumer_settles_each_item,
    declared_queue_keeps_messages_until_subscribed,
    transient_queues_each_get_a_copy,
);
