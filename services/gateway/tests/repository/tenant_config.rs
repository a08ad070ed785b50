//! Tenant configuration documents: versions, idempotent re-apply, change events in the outbox.

use crate::support::migrate_gateway;
use kefu_bus::Envelope;
use kefu_gateway::store as gateway;
use kefu_gateway::store::tenant_config::{self, Change};
use kefu_store::StoreError;
use kefu_store::entities::outbox as outbox_row;
use kefu_store::sea_orm::{DatabaseConnection, EntityTrait};
use serde_json::json;

fn event(tenant: &'static str) -> impl Fn(i64, bool) -> Envelope + Send + Sync {
    move |version, deleted| {
        Envelope::new(
            tenant,
            "tenant.config_changed",
            format!("{version}:{deleted}").into_bytes(),
        )
    }
}

async fn outbox_payloads(db: &DatabaseConnection) -> Vec<String> {
    let mut rows = outbox_row::Entity::find().all(db).await.unwrap();
    rows.sort_by_key(|r| r.id);
    rows.into_iter()
        .map(|r| {
            assert_eq!(r.event_type, "tenant.config_changed");
            String::from_utf8(r.payload).unwrap()
        })
        .collect()
}

pub async fn config_put_versions_and_announces_each_change(db: &DatabaseConnection) {
    migrate_gateway(db).await;
    gateway::upsert_tenant(db, "t1", "Acme").await.unwrap();
    let ev = event("t1");
    let spec = json!({"tenant": "t1", "sla": {"targetPercent": 80, "withinSeconds": 20}});
    let (row, change, envelope) = tenant_config::put(db, "t1", "queue", "vip", &spec, &ev)
        .await
        .unwrap();
    assert_eq!((row.version, change), (1, Change::Created));
    assert!(envelope.is_some());

    // The same spec again: nothing changes, nothing is announced.
    let (row, change, envelope) = tenant_config::put(db, "t1", "queue", "vip", &spec, &ev)
        .await
        .unwrap();
    assert_eq!(
        (row.version, change, envelope),
        (1, Change::Unchanged, None)
    );

    let changed = json!({"tenant": "t1", "sla": {"targetPercent": 90, "withinSeconds": 20}});
    let (row, change, _) = tenant_config::put(db, "t1", "queue", "vip", &changed, &ev)
        .await
        .unwrap();
    assert_eq!((row.version, change), (2, Change::Updated));
    let stored = tenant_config::get(db, "t1", "queue", "vip")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&stored.spec).unwrap(),
        changed
    );
    assert_eq!(outbox_payloads(db).await, ["1:false", "2:false"]);
}

pub async fn config_requires_an_existing_tenant(db: &DatabaseConnection) {
    migrate_gateway(db).await;
    let err = tenant_config::put(db, "ghost", "queue", "q", &json!({}), &event("ghost"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(ref m) if m.contains("ghost")),
        "{err}"
    );
    assert!(outbox_payloads(db).await.is_empty(), "nothing announced");
}

pub async fn config_delete_announces_once_and_list_is_per_tenant(db: &DatabaseConnection) {
    migrate_gateway(db).await;
    gateway::upsert_tenant(db, "t1", "Acme").await.unwrap();
    gateway::upsert_tenant(db, "t2", "Other").await.unwrap();
    let (e1, e2) = (event("t1"), event("t2"));
    for (kind, name) in [("queue", "b"), ("queue", "a"), ("routingpolicy", "default")] {
        tenant_config::put(db, "t1", kind, name, &json!({"n": name}), &e1)
            .await
            .unwrap();
    }
    tenant_config::put(db, "t2", "queue", "a", &json!({}), &e2)
        .await
        .unwrap();
    let listed: Vec<_> = tenant_config::list(db, "t1")
        .await
        .unwrap()
        .into_iter()
        .map(|m| format!("{}/{}", m.kind, m.name))
        .collect();
    assert_eq!(listed, ["queue/a", "queue/b", "routingpolicy/default"]);

    assert!(
        tenant_config::delete(db, "t1", "queue", "a", &e1)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        tenant_config::delete(db, "t1", "queue", "a", &e1)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        tenant_config::get(db, "t1", "queue", "a")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        tenant_config::get(db, "t2", "queue", "a")
            .await
            .unwrap()
            .is_some()
    );
    let payloads = outbox_payloads(db).await;
    assert_eq!(payloads.len(), 5);
    assert_eq!(payloads.last().map(String::as_str), Some("2:true"));
}
