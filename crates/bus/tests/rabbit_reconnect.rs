//! RabbitMQ only: the broker force-closes this test's connection (and only
//! it, found by its unique connection name via `rabbitmqctl`); publishing and
//! the subscription recover on a new connection.
//!
//! Needs `rabbitmqctl` for the broker (override with `RABBITMQCTL`).

use kefu_bus::contract::{QUIET, next_delivery, spec};
use kefu_bus::{Bus, Envelope, RabbitBus, Topology};
use tokio::process::Command;

fn amqp_url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

fn rabbitmqctl() -> Command {
    Command::new(std::env::var("RABBITMQCTL").unwrap_or_else(|_| "rabbitmqctl".into()))
}

/// Closes every broker connection whose client properties carry `name`;
/// returns how many were closed.
async fn force_close(name: &str) -> usize {
    let listing = rabbitmqctl()
        .args(["-q", "list_connections", "pid", "client_properties"])
        .output()
        .await
        .unwrap_or_else(|error| panic!("cannot run rabbitmqctl (set RABBITMQCTL): {error}"));
    assert!(
        listing.status.success(),
        "rabbitmqctl list_connections failed: {listing:?}"
    );
    let listing = String::from_utf8_lossy(&listing.stdout);
    let pids: Vec<&str> = listing
        .lines()
        .filter(|line| line.contains(name))
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    for pid in &pids {
        let closed = rabbitmqctl()
            .args(["close_connection", pid, "kefu-bus reconnect test"])
            .output()
            .await
            .expect("rabbitmqctl close_connection");
        assert!(
            closed.status.success(),
            "close_connection failed: {closed:?}"
        );
    }
    pids.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_and_subscription_survive_a_forced_disconnect() {
    let url = amqp_url();
    let topology = Topology::new(format!("test-{}", uuid::Uuid::new_v4().simple()));
    let name = format!("kefu-bus-reconnect-{}", uuid::Uuid::new_v4().simple());
    let bus = RabbitBus::connect_named(&url, topology.clone(), name.clone())
        .await
        .unwrap_or_else(|error| {
            panic!("RabbitMQ not reachable at {url}: {error} — start it or set AMQP_URL")
        });
    let mut sub = bus
        .subscribe(spec("reconnect", &["re.*"]))
        .await
        .expect("subscribe");
    let before = Envelope::new("t", "re.before", &b"1"[..]);
    bus.publish(&before)
        .await
        .expect("publish before the disconnect");
    let held = next_delivery(&mut sub, "the message before the disconnect").await;

    assert_eq!(
        force_close(&name).await,
        1,
        "expected exactly our connection"
    );

    // Acking on the dead channel is silently moot; the broker redelivers.
    held.ack()
        .await
        .expect("ack on a dead channel must be ignored");
    let after = Envelope::new("t", "re.after", &b"2"[..]);
    bus.publish(&after)
        .await
        .expect("publish must retry on a new connection");

    let mut seen = Vec::new();
    while seen.len() < 2 {
        let delivery = next_delivery(&mut sub, "deliveries after re-subscribing").await;
        if delivery.envelope.event_id == before.event_id {
            assert!(
                delivery.redelivered,
                "unacked message must come back redelivered"
            );
        }
        seen.push(delivery.envelope.event_id);
        delivery.ack().await.expect("ack after reconnect");
    }
    seen.sort();
    let mut expected = vec![before.event_id, after.event_id];
    expected.sort();
    assert_eq!(seen, expected);
    assert!(
        tokio::time::timeout(QUIET, sub.next()).await.is_err(),
        "no further deliveries expected"
    );
    bus.delete_topology(&["reconnect"]).await;
    bus.close().await;
}
