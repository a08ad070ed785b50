//! Gateway webhook delivery bookkeeping: retries are scheduled once, claimed when due, updated.

use crate::support::{migrate_gateway, now_ms, trace_context};
use chrono::Duration;
use kefu_gateway::store::entities::delivery;
use kefu_gateway::store::{self as gateway, DeliveryStatus, RetryDelivery};
use kefu_store::sea_orm::{DatabaseConnection, EntityTrait, TransactionTrait};
use kefu_worker::outbox::decode_trace_context;
use uuid::Uuid;

fn retry(id: Uuid, due: chrono::DateTime<chrono::Utc>, n: usize) -> RetryDelivery {
    RetryDelivery {
        id,
        tenant_id: "t1".into(),
        channel_id: "c1".into(),
        payload: format!("payload-{n}").into_bytes(),
        trace_context: trace_context(n),
        next_attempt_at: due,
        error: format!("HTTP 503 #{n}"),
    }
}

pub async fn delivery_retries_are_claimed_when_due(db: &DatabaseConnection) {
    migrate_gateway(db).await;
    let now = now_ms();
    let (early, late, future, dead) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    // Scheduled out of due order, so the claim's ordering is observable.
    gateway::schedule_delivery_retry(db, &retry(late, now - Duration::seconds(10), 1))
        .await
        .unwrap();
    gateway::schedule_delivery_retry(db, &retry(early, now - Duration::seconds(60), 2))
        .await
        .unwrap();
    gateway::schedule_delivery_retry(db, &retry(future, now + Duration::hours(1), 3))
        .await
        .unwrap();
    gateway::schedule_delivery_retry(db, &retry(dead, now - Duration::seconds(30), 4))
        .await
        .unwrap();

    let stored = gateway::get_delivery(db, early).await.unwrap().unwrap();
    assert_eq!(stored.status, DeliveryStatus::Pending);
    assert_eq!(stored.attempts, 1);
    assert_eq!(stored.next_attempt_at, now - Duration::seconds(60));
    assert_eq!(stored.last_error.as_deref(), Some("HTTP 503 #2"));
    assert_eq!(stored.payload, b"payload-2".to_vec());
    assert_eq!(
        decode_trace_context(&stored.trace_context),
        trace_context(2)
    );

    // A second schedule for the same id changes nothing.
    gateway::schedule_delivery_retry(db, &retry(early, now + Duration::hours(5), 9))
        .await
        .unwrap();
    assert_eq!(
        gateway::get_delivery(db, early).await.unwrap(),
        Some(stored.clone())
    );

    // Mark one due delivery dead: it is no longer claimable.
    // (SQLite has a single pooled connection: inside a transaction, use only `txn`.)
    let txn = db.begin().await.unwrap();
    let dead_row = delivery::Entity::find_by_id(dead)
        .one(&txn)
        .await
        .unwrap()
        .unwrap();
    gateway::update_delivery(
        &txn,
        dead_row,
        DeliveryStatus::Dead,
        now,
        Some("gave up".into()),
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();

    let txn = db.begin().await.unwrap();
    let due = gateway::claim_due_deliveries(&txn, now, 10).await.unwrap();
    let ids: Vec<_> = due.iter().map(|d| d.id).collect();
    assert_eq!(
        ids,
        vec![early, late],
        "only due pending rows, oldest due first"
    );
    let limited = gateway::claim_due_deliveries(&txn, now, 1).await.unwrap();
    assert_eq!(
        limited.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![early]
    );

    let next = now + Duration::seconds(120);
    assert!(
        gateway::update_delivery(
            &txn,
            due[0].clone(),
            DeliveryStatus::Pending,
            next,
            Some("HTTP 500".into()),
        )
        .await
        .unwrap()
    );
    assert!(
        gateway::update_delivery(&txn, due[1].clone(), DeliveryStatus::Delivered, now, None)
            .await
            .unwrap()
    );
    // A copy whose lease is gone (the row moved on since it was read) changes nothing.
    assert!(
        !gateway::update_delivery(
            &txn,
            due[1].clone(),
            DeliveryStatus::Pending,
            next,
            Some("stale".into())
        )
        .await
        .unwrap(),
        "an expired lease must not overwrite the newer outcome"
    );
    txn.commit().await.unwrap();

    let early_row = gateway::get_delivery(db, early).await.unwrap().unwrap();
    assert_eq!(early_row.attempts, 2);
    assert_eq!(early_row.status, DeliveryStatus::Pending);
    assert_eq!(early_row.next_attempt_at, next);
    assert_eq!(early_row.last_error.as_deref(), Some("HTTP 500"));
    let late_row = gateway::get_delivery(db, late).await.unwrap().unwrap();
    assert_eq!(late_row.attempts, 2);
    assert_eq!(late_row.status, DeliveryStatus::Delivered);
    assert_eq!(late_row.last_error, None);
    let dead_row = gateway::get_delivery(db, dead).await.unwrap().unwrap();
    assert_eq!(
        (dead_row.status, dead_row.attempts),
        (DeliveryStatus::Dead, 2)
    );

    // Nothing is due now; the rescheduled one is due at `next`.
    let txn = db.begin().await.unwrap();
    assert!(
        gateway::claim_due_deliveries(&txn, now, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let later = gateway::claim_due_deliveries(&txn, next, 10).await.unwrap();
    assert_eq!(later.iter().map(|d| d.id).collect::<Vec<_>>(), vec![early]);
    txn.commit().await.unwrap();
}

/// A first attempt that failed for good is stored dead in one write: never claimed for a
/// retry, and a second record for the same id changes nothing.
pub async fn dead_delivery_is_never_retried(db: &DatabaseConnection) {
    migrate_gateway(db).await;
    let id = Uuid::now_v7();
    let now = chrono::Utc::now();
    gateway::record_dead_delivery(db, &retry(id, now - Duration::seconds(5), 9))
        .await
        .unwrap();
    gateway::record_dead_delivery(db, &retry(id, now, 10))
        .await
        .unwrap();
    let row = gateway::get_delivery(db, id).await.unwrap().unwrap();
    assert_eq!(
        (row.status, row.attempts, row.last_error.as_deref()),
        (DeliveryStatus::Dead, 1, Some("HTTP 503 #9"))
    );
    let txn = db.begin().await.unwrap();
    let due = gateway::claim_due_deliveries(&txn, now + Duration::hours(1), 10)
        .await
        .unwrap();
    txn.commit().await.unwrap();
    assert!(due.is_empty(), "a dead delivery was claimed: {due:?}");
}
