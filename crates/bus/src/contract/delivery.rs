//! Routing and delivery: what gets where, intact.

use std::collections::HashSet;

use super::{QUIET, envelope, eventually, next_delivery, publish, spec, subscribe};
use crate::{Bus, BusError, Envelope};

/// Publish → subscribe preserves every envelope field, trace context included.
pub async fn round_trip_preserves_envelope(bus: &dyn Bus) {
    let mut sub = subscribe(bus, spec("roundtrip", &["message.received"])).await;
    let mut sent = Envelope::new(
        "tenant-42",
        "message.received",
        vec![0x08, 0x96, 0x01, 0xff],
    );
    sent.trace_context.insert(
        "traceparent".into(),
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
    );
    sent.trace_context
        .insert("tracestate".into(), "kefu=1".into());
    publish(bus, &sent).await;
    let delivery = next_delivery(&mut sub, "the published envelope").await;
    assert_eq!(delivery.envelope, sent, "envelope changed in transit");
    assert_eq!(delivery.delivery_count, 1, "first delivery must count 1");
    assert!(!delivery.redelivered, "first delivery flagged redelivered");
    delivery.ack().await.expect("ack failed");
    eventually("roundtrip queue to be empty", || async {
        bus.queue_depth("roundtrip").await.ok() == Some(0)
    })
    .await;
}

/// `*` matches one word, `#` zero or more; each queue sees exactly its matches, in order.
pub async fn topic_wildcards_route_by_pattern(bus: &dyn Bus) {
    let end = "sentinel.end";
    let mut subs = vec![
        (
            subscribe(bus, spec("star", &["message.*", end])).await,
            vec!["message.received"],
        ),
        (
            subscribe(bus, spec("hash", &["session.#", end])).await,
            vec!["session", "session.closed"],
        ),
        (
            subscribe(bus, spec("tail", &["#.closed", end])).await,
            vec!["session.closed", "closed"],
        ),
        (
            subscribe(bus, spec("exact", &["bot.reply", end])).await,
            vec!["bot.reply"],
        ),
    ];
    let published = [
        "message.received",
        "message.sent.twice",
        "session",
        "session.closed",
        "bot.reply",
        "closed",
        "closed.not",
        "bot.reply.partial",
        end,
    ];
    for event_type in published {
        publish(bus, &envelope(event_type, event_type)).await;
    }
    for (sub, expected) in &mut subs {
        let mut received = Vec::new();
        loop {
            let delivery = next_delivery(sub, "routed events up to the sentinel").await;
            let event_type = delivery.envelope.event_type.clone();
            delivery.ack().await.expect("ack failed");
            if event_type == end {
                break;
            }
            received.push(event_type);
        }
        assert_eq!(
            &received,
            expected,
            "queue {:?} got the wrong events",
            sub.queue()
        );
    }
}

/// Two queues bound to the same key each get their own copy.
pub async fn each_bound_queue_gets_a_copy(bus: &dyn Bus) {
    let mut a = subscribe(bus, spec("copy-a", &["ticket.created"])).await;
    let mut b = subscribe(bus, spec("copy-b", &["ticket.created"])).await;
    let sent = envelope("ticket.created", "t-1");
    publish(bus, &sent).await;
    for sub in [&mut a, &mut b] {
        let delivery = next_delivery(sub, "a copy of the event").await;
        assert_eq!(delivery.envelope, sent, "copy differs on {:?}", sub.queue());
        delivery.ack().await.expect("ack failed");
    }
}

/// A message published while nobody consumes (queue declared earlier) waits for the next subscriber.
pub async fn message_published_before_subscribe_is_delivered(bus: &dyn Bus) {
    drop(subscribe(bus, spec("early", &["order.placed"])).await);
    let sent = envelope("order.placed", "early bird");
    publish(bus, &sent).await;
    eventually("the early message to wait in the queue", || async {
        bus.queue_depth("early").await.ok() == Some(1)
    })
    .await;
    let mut sub = subscribe(bus, spec("early", &["order.placed"])).await;
    let delivery = next_delivery(&mut sub, "the message published before subscribing").await;
    assert_eq!(delivery.envelope, sent);
    delivery.ack().await.expect("ack failed");
}

/// `publish_batch` of 1,000 envelopes: every one arrives.
pub async fn publish_batch_delivers_all(bus: &dyn Bus) {
    let mut sub = subscribe(bus, spec("batch", &["bulk.*"]).with_prefetch(200)).await;
    let batch: Vec<Envelope> = (0..1000)
        .map(|i| {
            envelope(
                if i % 2 == 0 { "bulk.even" } else { "bulk.odd" },
                &i.to_string(),
            )
        })
        .collect();
    bus.publish_batch(&batch)
        .await
        .expect("publish_batch failed");
    let mut expected: HashSet<_> = batch.iter().map(|e| e.event_id).collect();
    while !expected.is_empty() {
        let delivery = next_delivery(&mut sub, "the rest of the batch").await;
        assert!(
            expected.remove(&delivery.envelope.event_id),
            "unexpected or duplicate event {}",
            delivery.envelope.event_id
        );
        delivery.ack().await.expect("ack failed");
    }
}

/// `queue_depth` counts waiting messages; unknown queues are an error.
pub async fn queue_depth_counts_waiting(bus: &dyn Bus) {
    drop(subscribe(bus, spec("depth", &["depth.#"])).await);
    eventually("a fresh queue to be empty", || async {
        bus.queue_depth("depth").await.ok() == Some(0)
    })
    .await;
    let batch: Vec<_> = (0..3)
        .map(|i| envelope("depth.test", &i.to_string()))
        .collect();
    bus.publish_batch(&batch)
        .await
        .expect("publish_batch failed");
    eventually("queue depth to reach 3", || async {
        bus.queue_depth("depth").await.ok() == Some(3)
    })
    .await;
    match bus.queue_depth("no-such-queue").await {
        Err(BusError::UnknownQueue(name)) => assert_eq!(name, "no-such-queue"),
        other => panic!("queue_depth of an unknown queue must be UnknownQueue, got {other:?}"),
    }
}

/// After `close`, subscriptions end and publishing fails.
pub async fn close_ends_subscriptions(bus: &dyn Bus) {
    let mut sub = subscribe(bus, spec("closing", &["closing.*"])).await;
    bus.close().await;
    match tokio::time::timeout(QUIET * 10, sub.next()).await {
        Ok(None) => {}
        Ok(Some(delivery)) => panic!("delivery after close: {:?}", delivery.envelope),
        Err(_) => panic!("next() did not return None after close"),
    }
    let result = bus.publish(&envelope("closing.late", "late")).await;
    assert!(
        matches!(result, Err(BusError::Closed)),
        "publish after close must fail with Closed, got {result:?}"
    );
}

/// A queue that was only declared (nobody ever consumed it) keeps what is published to it
/// until its consumer starts: how services make sure no event is published into the void.
pub async fn declared_queue_keeps_messages_until_subscribed(bus: &dyn Bus) {
    let queue = spec("declared", &["ticket.*"]);
    bus.declare(&queue).await.expect("declare");
    bus.declare(&queue)
        .await
        .expect("declaring again is harmless");
    let sent = envelope("ticket.created", "before any consumer");
    publish(bus, &sent).await;
    eventually("the message to wait in the declared queue", || async {
        bus.queue_depth("declared").await.ok() == Some(1)
    })
    .await;
    let mut sub = subscribe(bus, queue).await;
    let delivery = next_delivery(&mut sub, "the message published before any consumer").await;
    assert_eq!(delivery.envelope, sent);
    delivery.ack().await.expect("ack failed");
}

/// Transient queues fan out: each subscriber's own transient queue gets its copy of an event
/// next to the durable queue bound to it (one per replica, as the gateway's sockets use).
pub async fn transient_queues_each_get_a_copy(bus: &dyn Bus) {
    let mut durable = subscribe(bus, spec("fan-durable", &["fan.out"])).await;
    let mut replicas = Vec::new();
    for name in ["fan-replica-a", "fan-replica-b"] {
        replicas.push(subscribe(bus, spec(name, &["fan.out"]).transient()).await);
    }
    let sent = envelope("fan.out", "to every replica");
    publish(bus, &sent).await;
    for (i, sub) in replicas.iter_mut().enumerate() {
        let got = next_delivery(sub, &format!("replica {i}'s copy")).await;
        assert_eq!(got.envelope, sent);
        got.ack().await.expect("ack failed");
    }
    let got = next_delivery(&mut durable, "the durable queue's copy").await;
    assert_eq!(got.envelope, sent);
    got.ack().await.expect("ack failed");
}
