//! Redelivery, the delivery limit and dead-lettering through the raw
//! [`Delivery`](crate::Delivery) API.

use super::{
    assert_no_delivery, collect_dead_letters, envelope, eventually, next_delivery, publish, spec,
    subscribe,
};
use crate::Bus;

/// `nack(requeue = true)` redelivers the same event with `delivery_count + 1`
/// and `redelivered = true`.
pub async fn nack_requeue_redelivers_with_incremented_count(bus: &dyn Bus) {
    let mut sub = subscribe(bus, spec("requeue", &["retry.me"])).await;
    let sent = envelope("retry.me", "again");
    publish(bus, &sent).await;
    let first = next_delivery(&mut sub, "the first delivery").await;
    assert_eq!((first.delivery_count, first.redelivered), (1, false));
    first.nack(true).await.expect("nack failed");
    let second = next_delivery(&mut sub, "the redelivery after nack").await;
    assert_eq!(second.envelope, sent, "redelivered envelope differs");
    assert_eq!(second.delivery_count, 2, "redelivery must count 2");
    assert!(second.redelivered, "redelivery must be flagged redelivered");
    second.ack().await.expect("ack failed");
}

/// Dropping a delivery without settling it (a crash mid-processing) redelivers it.
pub async fn dropped_delivery_is_redelivered(bus: &dyn Bus) {
    let mut sub = subscribe(bus, spec("dropped", &["crash.*"])).await;
    let sent = envelope("crash.midway", "boom");
    publish(bus, &sent).await;
    drop(next_delivery(&mut sub, "the first delivery").await);
    let again = next_delivery(&mut sub, "the redelivery after a drop").await;
    assert_eq!(again.envelope, sent);
    assert_eq!(
        again.delivery_count, 2,
        "redelivery after drop must count 2"
    );
    assert!(again.redelivered);
    again.ack().await.expect("ack failed");
}

/// `nack(requeue = false)` dead-letters at once; the DLQ returns the intact envelope.
pub async fn nack_without_requeue_dead_letters(bus: &dyn Bus) {
    let mut sub = subscribe(bus, spec("rejected", &["reject.*"])).await;
    let sent = envelope("reject.now", "poison");
    publish(bus, &sent).await;
    let delivery = next_delivery(&mut sub, "the rejected message").await;
    delivery.nack(false).await.expect("nack failed");
    let dead = collect_dead_letters(bus, "rejected", 1).await;
    assert_eq!(
        dead,
        vec![sent],
        "dead letter differs from the published envelope"
    );
    assert_no_delivery(&mut sub, "a dead-lettered message must not be redelivered").await;
    let empty = bus
        .take_dead_letters("rejected", 10)
        .await
        .expect("take_dead_letters failed");
    assert!(empty.is_empty(), "dead letters must be taken only once");
}

/// Requeueing (by nack or by drop) stops at the delivery limit: the message
/// is delivered exactly `delivery_limit` times, then lands in the DLQ, and the
/// queue keeps flowing.
pub async fn requeue_beyond_delivery_limit_dead_letters(bus: &dyn Bus) {
    let limit = 3;
    let queue = "limited";
    let mut sub = subscribe(bus, spec(queue, &["limit.*"]).with_delivery_limit(limit)).await;
    assert_eq!(sub.delivery_limit(), limit);
    let poison = envelope("limit.poison", "never works");
    publish(bus, &poison).await;
    for attempt in 1..=limit {
        let delivery = next_delivery(&mut sub, "a delivery of the poison message").await;
        assert_eq!(delivery.envelope.event_id, poison.event_id);
        assert_eq!(delivery.delivery_count, attempt, "wrong delivery count");
        if attempt % 2 == 0 {
            drop(delivery);
        } else {
            delivery.nack(true).await.expect("nack failed");
        }
    }
    let dead = collect_dead_letters(bus, queue, 1).await;
    assert_eq!(dead, vec![poison.clone()]);
    let healthy = envelope("limit.healthy", "fine");
    publish(bus, &healthy).await;
    let next = next_delivery(&mut sub, "the healthy message after the poison").await;
    assert_eq!(
        next.envelope.event_id, healthy.event_id,
        "poison message delivered more than {limit} times"
    );
    next.ack().await.expect("ack failed");
    eventually("the limited queue to be empty", || async {
        bus.queue_depth(queue).await.ok() == Some(0)
    })
    .await;
}

/// With `delivery_limit = 1` the first requeue already dead-letters.
pub async fn delivery_limit_of_one_dead_letters_on_first_requeue(bus: &dyn Bus) {
    let queue = "single";
    let mut sub = subscribe(bus, spec(queue, &["once.*"]).with_delivery_limit(1)).await;
    let sent = envelope("once.only", "one shot");
    publish(bus, &sent).await;
    let delivery = next_delivery(&mut sub, "the only delivery").await;
    assert_eq!(delivery.delivery_count, 1);
    delivery.nack(true).await.expect("nack failed");
    let dead = collect_dead_letters(bus, queue, 1).await;
    assert_eq!(dead, vec![sent]);
    assert_no_delivery(&mut sub, "delivery limit 1 allows no redelivery").await;
}
