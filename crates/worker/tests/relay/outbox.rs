//! Processed-event records and the outbox relay.

use crate::support::{
    FailingBus, all_queue, assert_nothing_arrives, envelope, migrate_shared, receive,
};
use kefu_bus::{Bus, InProcessBus, Topology};
use kefu_store::idempotency;
use kefu_store::sea_orm::{DatabaseConnection, TransactionTrait};
use kefu_worker::outbox::{self, POLL_INTERVAL};
use kefu_worker::{Outbox, RelayError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub async fn idempotency_records_once_per_consumer(db: &DatabaseConnection) {
    migrate_shared(db).await;
    let event = Uuid::now_v7();
    assert!(!idempotency::seen(db, "delivery", event).await.unwrap());
    assert!(idempotency::record(db, "delivery", event).await.unwrap());
    assert!(idempotency::seen(db, "delivery", event).await.unwrap());
    assert!(
        !idempotency::record(db, "delivery", event).await.unwrap(),
        "second record of the same event"
    );
    assert!(idempotency::seen(db, "delivery", event).await.unwrap());

    assert!(!idempotency::seen(db, "audit", event).await.unwrap());
    assert!(
        idempotency::record(db, "audit", event).await.unwrap(),
        "another consumer records independently"
    );
    assert!(idempotency::seen(db, "audit", event).await.unwrap());
    let other = Uuid::now_v7();
    assert!(!idempotency::seen(db, "delivery", other).await.unwrap());
}

pub async fn idempotency_record_rolls_back_with_transaction(db: &DatabaseConnection) {
    migrate_shared(db).await;
    let event = Uuid::now_v7();
    let txn = db.begin().await.unwrap();
    assert!(idempotency::record(&txn, "delivery", event).await.unwrap());
    assert!(idempotency::seen(&txn, "delivery", event).await.unwrap());
    txn.rollback().await.unwrap();
    assert!(!idempotency::seen(db, "delivery", event).await.unwrap());
    // And it can be recorded for real afterwards.
    assert!(idempotency::record(db, "delivery", event).await.unwrap());
}

/// A batch's claim returns exactly the events new to the consumer (each once, however often it
/// appears), records them, and is undone with its transaction.
pub async fn idempotency_claims_only_new_events(db: &DatabaseConnection) {
    migrate_shared(db).await;
    let (old, new, other) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    assert!(idempotency::record(db, "inbound", old).await.unwrap());
    assert!(idempotency::record(db, "audit", new).await.unwrap());
    let txn = db.begin().await.unwrap();
    let claimed = idempotency::claim_many(&txn, "inbound", &[old, new, new, other])
        .await
        .unwrap();
    assert_eq!(claimed, [new, other].into_iter().collect());
    assert!(idempotency::seen(&txn, "inbound", new).await.unwrap());
    txn.rollback().await.unwrap();
    assert!(!idempotency::seen(db, "inbound", new).await.unwrap());
    let again = idempotency::claim_many(db, "inbound", &[new])
        .await
        .unwrap();
    assert_eq!(again, [new].into_iter().collect());
    assert!(
        idempotency::claim_many(db, "inbound", &[new, old])
            .await
            .unwrap()
            .is_empty(),
        "nothing new"
    );
    assert!(
        idempotency::claim_many(db, "inbound", &[])
            .await
            .unwrap()
            .is_empty()
    );
}

/// Relays until the outbox is empty; returns how many events were published.
async fn relay_all(outbox: &Outbox, bus: &dyn Bus) -> usize {
    let mut total = 0;
    for _ in 0..100 {
        let n = outbox.relay_once(bus).await.unwrap();
        if n == 0 {
            return total;
        }
        total += n;
    }
    panic!("relay_once never returned 0");
}

pub async fn relay_publishes_everything_in_order(db: &DatabaseConnection) {
    migrate_shared(db).await;
    let bus = InProcessBus::new(Topology::new("t"));
    let mut sub = bus.subscribe(all_queue()).await.unwrap();
    let outbox = Outbox::new(db.clone());

    let sent: Vec<_> = (0..300)
        .map(|n| envelope(&format!("t{}", n % 3), n))
        .collect();
    let txn = db.begin().await.unwrap();
    for env in &sent {
        outbox::enqueue(&txn, env).await.unwrap();
    }
    txn.commit().await.unwrap();
    assert_eq!(outbox.pending().await.unwrap(), 300);

    assert_eq!(relay_all(&outbox, &bus).await, 300);
    assert_eq!(outbox.pending().await.unwrap(), 0);
    for (i, expected) in sent.iter().enumerate() {
        let got = receive(&mut sub).await;
        assert_eq!(&got, expected, "event #{i} differs or is out of order");
    }
    assert_nothing_arrives(&mut sub).await;
}

pub async fn relay_ignores_rolled_back_events(db: &DatabaseConnection) {
    migrate_shared(db).await;
    let bus = InProcessBus::new(Topology::new("t"));
    let mut sub = bus.subscribe(all_queue()).await.unwrap();
    let outbox = Outbox::new(db.clone());

    let txn = db.begin().await.unwrap();
    for n in 0..3 {
        outbox::enqueue(&txn, &envelope("t1", n)).await.unwrap();
    }
    txn.rollback().await.unwrap();
    assert_eq!(outbox.pending().await.unwrap(), 0);
    assert_eq!(outbox.relay_once(&bus).await.unwrap(), 0);
    assert_nothing_arrives(&mut sub).await;
}

pub async fn relay_keeps_rows_when_bus_fails(db: &DatabaseConnection) {
    migrate_shared(db).await;
    let outbox = Outbox::new(db.clone());
    let sent: Vec<_> = (0..5).map(|n| envelope("t1", n)).collect();
    let txn = db.begin().await.unwrap();
    for env in &sent {
        outbox::enqueue(&txn, env).await.unwrap();
    }
    txn.commit().await.unwrap();

    for _ in 0..2 {
        let err = outbox.relay_once(&FailingBus).await.unwrap_err();
        assert!(matches!(err, RelayError::Bus(_)), "got {err:?}");
        assert_eq!(outbox.pending().await.unwrap(), 5, "rows stay for a retry");
    }

    // Once the broker is back, the same events go out.
    let bus = InProcessBus::new(Topology::new("t"));
    let mut sub = bus.subscribe(all_queue()).await.unwrap();
    assert_eq!(relay_all(&outbox, &bus).await, 5);
    for expected in &sent {
        assert_eq!(&receive(&mut sub).await, expected);
    }
    assert_eq!(outbox.pending().await.unwrap(), 0);
}

/// Commits one event and wakes the relay.
async fn commit_and_wake(db: &DatabaseConnection, outbox: &Outbox, n: usize) -> kefu_bus::Envelope {
    let env = envelope("t1", n);
    let txn = db.begin().await.unwrap();
    outbox::enqueue(&txn, &env).await.unwrap();
    txn.commit().await.unwrap();
    outbox.wake();
    env
}

pub async fn run_relay_wakes_and_stops(db: &DatabaseConnection) {
    migrate_shared(db).await;
    let bus = Arc::new(InProcessBus::new(Topology::new("t")));
    let mut sub = bus.subscribe(all_queue()).await.unwrap();
    let outbox = Outbox::new(db.clone());
    let shutdown = CancellationToken::new();
    let relay = tokio::spawn({
        let outbox = outbox.clone();
        let bus: Arc<dyn Bus> = bus.clone();
        let shutdown = shutdown.clone();
        async move { outbox.run_relay(bus, shutdown).await }
    });

    // The first event syncs us with the relay: right after publishing it, the relay goes idle
    // with a full poll interval ahead of it. The short pause lets it consume any wake-up
    // permit left over from the first event, so only the next wake can make it publish early.
    let first = commit_and_wake(db, &outbox, 1).await;
    assert_eq!(receive(&mut sub).await, first);
    tokio::time::sleep(Duration::from_millis(50)).await;

    // Without the wake-up this would only arrive on the next poll, POLL_INTERVAL later.
    let started = Instant::now();
    let second = commit_and_wake(db, &outbox, 2).await;
    let got = tokio::time::timeout(Duration::from_secs(2), receive(&mut sub))
        .await
        .expect("woken relay did not publish within 2 s");
    let waited = started.elapsed();
    assert_eq!(got, second);
    assert!(
        waited < POLL_INTERVAL * 3 / 5,
        "woken event took {waited:?}; the relay waited for its poll ({POLL_INTERVAL:?})"
    );

    // Committed without a wake-up, then shut down: the final drain publishes it.
    let third = envelope("t1", 3);
    let txn = db.begin().await.unwrap();
    outbox::enqueue(&txn, &third).await.unwrap();
    txn.commit().await.unwrap();
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), relay)
        .await
        .expect("run_relay did not return after cancel")
        .expect("run_relay panicked");
    assert_eq!(receive(&mut sub).await, third);
    assert_eq!(outbox.pending().await.unwrap(), 0);
    assert_nothing_arrives(&mut sub).await;
}

fn spawn_relay(
    outbox: &Outbox,
    bus: &Arc<InProcessBus>,
    shutdown: &CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let outbox = outbox.clone();
    let bus: Arc<dyn Bus> = bus.clone();
    let shutdown = shutdown.clone();
    tokio::spawn(async move { outbox.run_relay(bus, shutdown).await })
}

/// The fast path: committed envelopes handed to `dispatch` go out at once, as one batch, and
/// their rows are gone afterwards — no wake-up, no poll.
pub async fn dispatch_publishes_at_once_and_deletes(db: &DatabaseConnection) {
    migrate_shared(db).await;
    let bus = Arc::new(InProcessBus::new(Topology::new("t")));
    let mut sub = bus.subscribe(all_queue()).await.unwrap();
    let outbox = Outbox::new(db.clone());
    let shutdown = CancellationToken::new();
    let relay = spawn_relay(&outbox, &bus, &shutdown);

    let sent: Vec<_> = (0..20).map(|n| envelope("t1", n)).collect();
    let txn = db.begin().await.unwrap();
    for env in &sent {
        outbox::enqueue(&txn, env).await.unwrap();
    }
    txn.commit().await.unwrap();
    let started = Instant::now();
    outbox.dispatch(sent.clone());
    for expected in &sent {
        assert_eq!(&receive(&mut sub).await, expected);
    }
    let waited = started.elapsed();
    assert!(
        waited < POLL_INTERVAL * 3 / 5,
        "dispatched events took {waited:?}, as long as a poll"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while outbox.pending().await.unwrap() > 0 {
        assert!(Instant::now() < deadline, "published rows were not deleted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shutdown.cancel();
    relay.await.unwrap();
    assert_nothing_arrives(&mut sub).await;
}

/// A row nobody dispatched (its writer crashed after committing) is published by the periodic
/// sweep once it is stale.
pub async fn sweep_publishes_rows_a_crash_left_behind(db: &DatabaseConnection) {
    migrate_shared(db).await;
    let bus = Arc::new(InProcessBus::new(Topology::new("t")));
    let mut sub = bus.subscribe(all_queue()).await.unwrap();
    let outbox = Outbox::new(db.clone());
    let mut orphan = envelope("t1", 7);
    orphan.occurred_at -= chrono::Duration::seconds(60);
    let txn = db.begin().await.unwrap();
    outbox::enqueue(&txn, &orphan).await.unwrap();
    txn.commit().await.unwrap();
    // A fresh row is left to the fast path by the periodic sweep.
    let fresh = envelope("t1", 8);
    let txn = db.begin().await.unwrap();
    outbox::enqueue(&txn, &fresh).await.unwrap();
    txn.commit().await.unwrap();

    let shutdown = CancellationToken::new();
    let relay = spawn_relay(&outbox, &bus, &shutdown);
    let got = tokio::time::timeout(POLL_INTERVAL * 4, receive(&mut sub))
        .await
        .expect("the sweep did not publish the stale row");
    assert_eq!(got, orphan);
    // The sweep deletes the row it published (committing just after the publish); the fresh
    // row stays for the fast path.
    let deadline = Instant::now() + Duration::from_secs(5);
    while outbox.pending().await.unwrap() != 1 {
        assert!(
            Instant::now() < deadline,
            "the stale row was not deleted, or the fresh one was swept"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shutdown.cancel();
    relay.await.unwrap();
    // The graceful stop drains the rest.
    assert_eq!(receive(&mut sub).await, fresh);
}

/// Old processed-event records are pruned; recent ones stay and still deduplicate.
pub async fn processed_records_are_pruned_after_retention(db: &DatabaseConnection) {
    use kefu_store::entities::processed_event;
    use kefu_store::sea_orm::{ActiveValue::Set, EntityTrait};
    migrate_shared(db).await;
    let old = Uuid::now_v7();
    processed_event::Entity::insert(processed_event::ActiveModel {
        consumer: Set("delivery".into()),
        event_id: Set(old),
        processed_at: Set(chrono::Utc::now() - chrono::Duration::days(30)),
    })
    .exec_without_returning(db)
    .await
    .unwrap();
    let recent = Uuid::now_v7();
    assert!(idempotency::record(db, "delivery", recent).await.unwrap());
    let pruned = idempotency::prune(db, idempotency::RETENTION)
        .await
        .unwrap();
    assert_eq!(pruned, 1);
    assert!(!idempotency::seen(db, "delivery", old).await.unwrap());
    assert!(idempotency::seen(db, "delivery", recent).await.unwrap());
    assert!(!idempotency::record(db, "delivery", recent).await.unwrap());
}

/// `kefu_outbox_published` counts each event type apart (the dashboards' conversations opened,
/// handed off, …).
pub async fn published_events_are_counted_by_type(db: &DatabaseConnection) {
    migrate_shared(db).await;
    let bus = InProcessBus::new(Topology::new("t"));
    let mut sub = bus.subscribe(all_queue()).await.unwrap();
    let outbox = Outbox::new(db.clone());
    // Metrics are per process and the suite's tests run concurrently: types of this run only.
    let run = Uuid::now_v7().simple().to_string();
    let (opened, handed_off) = (format!("opened.{run}"), format!("handed_off.{run}"));
    let txn = db.begin().await.unwrap();
    for (n, event_type) in [&opened, &handed_off, &opened, &opened, &handed_off]
        .into_iter()
        .enumerate()
    {
        let mut env = envelope("t1", n);
        env.event_type = event_type.clone();
        outbox::enqueue(&txn, &env).await.unwrap();
    }
    txn.commit().await.unwrap();
    assert_eq!(relay_all(&outbox, &bus).await, 5);
    for _ in 0..5 {
        receive(&mut sub).await;
    }
    let text = kefu_telemetry::metrics::render();
    let count = |event_type: &str| {
        let prefix = format!("kefu_outbox_published_total{{event_type=\"{event_type}\",");
        text.lines()
            .find(|l| l.starts_with(&prefix))
            .and_then(|l| l.rsplit(' ').next())
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
            .to_owned()
    };
    assert_eq!(count(&opened), "3");
    assert_eq!(count(&handed_off), "2");
}
