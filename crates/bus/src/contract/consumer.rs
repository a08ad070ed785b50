//! [`run_consumer`] policies, prefetch and graceful shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::sync::{Mutex, Notify};
use tokio_util::sync::CancellationToken;

use super::{
    TIMEOUT, assert_no_delivery, collect_dead_letters, envelope, eventually, next_delivery,
    publish, spec, subscribe,
};
use crate::{Bus, HandlerError, run_consumer};

/// Waits for a spawned consumer loop to return.
async fn join(consumer: tokio::task::JoinHandle<()>, what: &str) {
    match tokio::time::timeout(TIMEOUT, consumer).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => panic!("{what}: consumer task failed: {error}"),
        Err(_) => panic!("{what}: run_consumer did not return within {TIMEOUT:?} of shutdown"),
    }
}

/// A [`HandlerError::Permanent`] dead-letters the message after one attempt.
pub async fn permanent_error_dead_letters_at_once(bus: &dyn Bus) {
    let sub = subscribe(bus, spec("permanent", &["bad.*"])).await;
    let attempts = Arc::new(AtomicU32::new(0));
    let shutdown = CancellationToken::new();
    let counter = Arc::clone(&attempts);
    let consumer = tokio::spawn(run_consumer(sub, 4, shutdown.clone(), move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        async { Err(HandlerError::permanent("malformed payload")) }
    }));
    let sent = envelope("bad.payload", "garbage");
    publish(bus, &sent).await;
    eventually("the dead-letter queue holds it", || async {
        bus.dead_letter_depth("permanent").await.ok() == Some(1)
    })
    .await;
    let dead = collect_dead_letters(bus, "permanent", 1).await;
    assert_eq!(dead, vec![sent]);
    assert_eq!(bus.dead_letter_depth("permanent").await.unwrap(), 0);
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        1,
        "permanent errors must not be retried"
    );
    shutdown.cancel();
    join(consumer, "permanent").await;
}

/// A message failing transiently forever is delivered exactly `delivery_limit`
/// times and dead-lettered, while a healthy message behind it is processed.
pub async fn transient_poison_is_dead_lettered_without_blocking(bus: &dyn Bus) {
    let limit = 3;
    let queue = "poison";
    let sub = subscribe(
        bus,
        spec(queue, &["work.*"])
            .with_prefetch(1)
            .with_delivery_limit(limit),
    )
    .await;
    let attempts = Arc::new(AtomicU32::new(0));
    let processed = Arc::new(Mutex::new(Vec::new()));
    let shutdown = CancellationToken::new();
    let (counter, done) = (Arc::clone(&attempts), Arc::clone(&processed));
    let consumer = tokio::spawn(run_consumer(sub, 1, shutdown.clone(), move |envelope| {
        let (counter, done) = (Arc::clone(&counter), Arc::clone(&done));
        async move {
            if envelope.event_type == "work.poison" {
                counter.fetch_add(1, Ordering::SeqCst);
                return Err(HandlerError::transient("dependency down"));
            }
            done.lock().await.push(envelope.event_id);
            Ok(())
        }
    }));
    let poison = envelope("work.poison", "always fails");
    let healthy = envelope("work.healthy", "fine");
    publish(bus, &poison).await;
    publish(bus, &healthy).await;
    let dead = collect_dead_letters(bus, queue, 1).await;
    assert_eq!(dead, vec![poison]);
    eventually("the healthy message to be processed", || async {
        processed.lock().await.contains(&healthy.event_id)
    })
    .await;
    let sentinel = envelope("work.sentinel", "last");
    publish(bus, &sentinel).await;
    eventually("the sentinel to be processed", || async {
        processed.lock().await.contains(&sentinel.event_id)
    })
    .await;
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        limit,
        "poison must be attempted exactly delivery_limit times"
    );
    shutdown.cancel();
    join(consumer, "poison").await;
}

/// At most `prefetch` deliveries are unsettled at once per subscription.
pub async fn prefetch_bounds_in_flight(bus: &dyn Bus) {
    let queue = "prefetch";
    let mut sub = subscribe(bus, spec(queue, &["pf.*"]).with_prefetch(2)).await;
    let batch: Vec<_> = (0..5)
        .map(|i| envelope("pf.item", &i.to_string()))
        .collect();
    bus.publish_batch(&batch)
        .await
        .expect("publish_batch failed");
    let first = next_delivery(&mut sub, "delivery 1 of 2 allowed").await;
    let second = next_delivery(&mut sub, "delivery 2 of 2 allowed").await;
    eventually("3 messages to wait behind the prefetch window", || async {
        bus.queue_depth(queue).await.ok() == Some(3)
    })
    .await;
    assert_no_delivery(&mut sub, "prefetch 2 is exhausted").await;
    first.ack().await.expect("ack failed");
    let third = next_delivery(&mut sub, "a delivery once a slot freed up").await;
    for delivery in [second, third] {
        delivery.ack().await.expect("ack failed");
    }
    for _ in 0..2 {
        let delivery = next_delivery(&mut sub, "the remaining deliveries").await;
        delivery.ack().await.expect("ack failed");
    }
}

/// On shutdown `run_consumer` takes no new delivery, lets the in-flight
/// handler finish and acks it: after a restart only the untouched message
/// comes back.
pub async fn shutdown_drains_in_flight_handlers(bus: &dyn Bus) {
    let queue = "drain";
    let sub = subscribe(bus, spec(queue, &["drain.*"]).with_prefetch(1)).await;
    let started = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let handled = Arc::new(Mutex::new(Vec::new()));
    let shutdown = CancellationToken::new();
    let (on_start, on_release, done) = (
        Arc::clone(&started),
        Arc::clone(&release),
        Arc::clone(&handled),
    );
    let consumer = tokio::spawn(run_consumer(sub, 1, shutdown.clone(), move |envelope| {
        let (on_start, on_release, done) = (
            Arc::clone(&on_start),
            Arc::clone(&on_release),
            Arc::clone(&done),
        );
        async move {
            on_start.notify_one();
            on_release.notified().await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            done.lock().await.push(envelope.event_id);
            Ok(())
        }
    }));
    let in_flight = envelope("drain.first", "in flight at shutdown");
    publish(bus, &in_flight).await;
    tokio::time::timeout(TIMEOUT, started.notified())
        .await
        .expect("the handler never started");
    let waiting = envelope("drain.second", "not yet taken");
    publish(bus, &waiting).await;
    shutdown.cancel();
    release.notify_one();
    join(consumer, "drain").await;
    assert_eq!(
        *handled.lock().await,
        vec![in_flight.event_id],
        "the in-flight handler must finish, and nothing new may start after shutdown"
    );
    let mut restarted = subscribe(bus, spec(queue, &["drain.*"])).await;
    let next = next_delivery(&mut restarted, "the message left over after shutdown").await;
    assert_eq!(
        next.envelope.event_id, waiting.event_id,
        "the drained message was redelivered: it was not acked before run_consumer returned"
    );
    next.ack().await.expect("ack failed");
    assert_no_delivery(&mut restarted, "everything was settled").await;
}

/// [`crate::run_batch_consumer`] hands over what is waiting as one batch and settles each
/// message by its own result: the poison one in a batch is dead-lettered, the others acked.
pub async fn batch_consumer_settles_each_item(bus: &dyn Bus) {
    let waiting: Vec<_> = (0..20)
        .map(|i| envelope("batched.item", &format!("m{i}")))
        .collect();
    // Declare the queue, then publish everything before the consumer starts, so the first
    // batch finds messages waiting.
    drop(subscribe(bus, spec("batched", &["batched.*"])).await);
    for e in &waiting {
        publish(bus, e).await;
    }
    let sub = subscribe(bus, spec("batched", &["batched.*"])).await;
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let poison = waiting[7].event_id;
    let shutdown = CancellationToken::new();
    let consumer = tokio::spawn({
        let (sizes, seen) = (Arc::clone(&sizes), Arc::clone(&seen));
        crate::run_batch_consumer(sub, 8, 2, shutdown.clone(), move |items| {
            let (sizes, seen) = (Arc::clone(&sizes), Arc::clone(&seen));
            async move {
                sizes.lock().await.push(items.len());
                let mut out = Vec::new();
                for item in items {
                    seen.lock().await.push(item.envelope.event_id);
                    out.push(if item.envelope.event_id == poison {
                        Err(HandlerError::permanent("poison"))
                    } else {
                        Ok(())
                    });
                }
                out
            }
        })
    });
    let dead = collect_dead_letters(bus, "batched", 1).await;
    assert_eq!(dead[0].event_id, poison);
    eventually("every message handled", || {
        let seen = Arc::clone(&seen);
        async move { seen.lock().await.len() >= 20 }
    })
    .await;
    shutdown.cancel();
    join(consumer, "batched").await;
    let sizes = sizes.lock().await.clone();
    assert!(
        sizes.iter().all(|&n| (1..=8).contains(&n)),
        "batch sizes {sizes:?}"
    );
    assert!(
        sizes.iter().any(|&n| n > 1),
        "waiting messages must be handed over together: {sizes:?}"
    );
    let mut handled = seen.lock().await.clone();
    handled.sort();
    handled.dedup();
    assert_eq!(
        handled.len(),
        20,
        "each message exactly once (acked ones not redelivered)"
    );
    assert_eq!(bus.queue_depth("batched").await.unwrap(), 0);
}
