//! A durable in-process bus survives the crash of its process: a new bus opened on the same
//! journal delivers what the old one had not settled — unacknowledged messages again (with their
//! delivery count), dead letters still dead — and nothing that was acknowledged. Each journal
//! implementation runs these (`MemoryJournal` in this crate's tests, the SQLite journal in
//! kefu-worker's).

use crate::testing::envelope;
use crate::{Bus, InProcessBus, Journal, QueueSpec, Topology};
use futures::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;

/// Gives a new handle on the journal's storage (as a restarted process would open it).
pub type Open = dyn Fn() -> BoxFuture<'static, Arc<dyn Journal>> + Sync;

fn spec() -> QueueSpec {
    QueueSpec::new("jq", ["message.received"]).with_delivery_limit(5)
}

/// Opens a bus on the journal `open` gives (a new handle on the same storage each time).
async fn bus(open: &Open) -> InProcessBus {
    InProcessBus::durable(Topology::new("journal-test"), open().await)
        .await
        .expect("open")
}

async fn next(sub: &mut crate::Subscription) -> crate::Delivery {
    tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("a delivery in time")
        .expect("open subscription")
}

/// Unacknowledged messages come back (with their delivery count), acknowledged ones do not.
pub async fn unsettled_messages_come_back_after_a_crash(open: &Open) {
    let before = bus(open).await;
    before.declare(&spec()).await.unwrap();
    let sent: Vec<_> = (0..3).map(|n| envelope("t1", n)).collect();
    before.publish_batch(&sent).await.unwrap();
    let mut sub = before.subscribe(spec()).await.unwrap();
    let first = next(&mut sub).await;
    assert_eq!(first.envelope.event_id, sent[0].event_id);
    first.ack().await.unwrap();
    // The second is being handled when the process dies: never settled.
    let second = next(&mut sub).await;
    std::mem::forget(second);
    drop(sub);
    drop(before);

    let after = bus(open).await;
    after.declare(&spec()).await.unwrap();
    let mut sub = after.subscribe(spec()).await.unwrap();
    let again = next(&mut sub).await;
    assert_eq!(again.envelope, sent[1]);
    assert_eq!(again.delivery_count, 2, "the crashed delivery counts");
    assert!(again.redelivered);
    again.ack().await.unwrap();
    let third = next(&mut sub).await;
    assert_eq!(third.envelope, sent[2]);
    assert_eq!(third.delivery_count, 1);
    third.ack().await.unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(300), sub.next())
            .await
            .is_err(),
        "the acknowledged message must not come back"
    );
    after.close().await;
    assert!(open().await.load().await.unwrap().is_empty(), "all settled");
}

/// Dead letters stay dead, and taking them forgets them.
pub async fn dead_letters_stay_dead_after_a_crash(open: &Open) {
    let before = bus(open).await;
    before.declare(&spec()).await.unwrap();
    let poison = envelope("t1", 7);
    before.publish(&poison).await.unwrap();
    let mut sub = before.subscribe(spec()).await.unwrap();
    next(&mut sub).await.nack(false).await.unwrap();
    drop(sub);
    drop(before);

    let after = bus(open).await;
    after.declare(&spec()).await.unwrap();
    let mut sub = after.subscribe(spec()).await.unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(300), sub.next())
            .await
            .is_err(),
        "a dead letter is not delivered again"
    );
    let dead = after.take_dead_letters("jq", 10).await.unwrap();
    assert_eq!(dead, vec![poison]);
    after.close().await;
    assert!(
        open().await.load().await.unwrap().is_empty(),
        "taken dead letters are forgotten"
    );
}
