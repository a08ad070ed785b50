//! Gateway repository: migrations, tenants, channels, inbound acceptance, delivery retries.

use crate::support::{envelope, migrate_gateway, now_ms};
use kefu_gateway::store::migration::GatewayMigrator;
use kefu_gateway::store::{self as gateway, Acceptance, ChannelSpec, InboundRecord};
use kefu_store::MigratorTrait;
use kefu_store::StoreError;
use kefu_store::entities::outbox as outbox_row;
use kefu_store::sea_orm::{DatabaseConnection, EntityTrait};
use kefu_worker::outbox::decode_trace_context;
use uuid::Uuid;

fn spec(id: &str, tenant: &str, secret: Option<&str>) -> ChannelSpec {
    ChannelSpec {
        id: id.into(),
        tenant_id: tenant.into(),
        channel_type: "api".into(),
        secret: secret.map(str::to_owned),
        webhook_url: format!("https://{tenant}.example/hook"),
        enabled: true,
        settings: Default::default(),
        credentials: Default::default(),
    }
}

async fn tenant_with_channel(db: &DatabaseConnection, tenant: &str, channel: &str) {
    gateway::upsert_tenant(db, tenant, tenant).await.unwrap();
    gateway::upsert_channel(db, &spec(channel, tenant, Some("s3cret")))
        .await
        .unwrap();
}

pub async fn gateway_migrations_are_idempotent(db: &DatabaseConnection) {
    migrate_gateway(db).await;
    migrate_gateway(db).await;
    assert!(
        GatewayMigrator::get_pending_migrations(db)
            .await
            .unwrap()
            .is_empty()
    );
    // The tables are usable after the second run.
    gateway::upsert_tenant(db, "t1", "Acme").await.unwrap();
    assert!(gateway::get_tenant(db, "t1").await.unwrap().is_some());
}

/// Replicas that start at once migrate one after the other: all succeed, and each migration
/// is recorded once.
pub async fn replicas_migrating_at_once_all_succeed(db: &DatabaseConnection) {
    let run = || kefu_store::migration::apply::<GatewayMigrator>(db);
    let (a, b, c) = tokio::join!(run(), run(), run());
    a.unwrap();
    b.unwrap();
    c.unwrap();
    let applied = GatewayMigrator::get_applied_migrations(db).await.unwrap();
    assert_eq!(applied.len(), GatewayMigrator::migrations().len());
    assert!(
        GatewayMigrator::get_pending_migrations(db)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn tenant_upsert_creates_then_updates(db: &DatabaseConnection) {
    migrate_gateway(db).await;
    assert_eq!(gateway::get_tenant(db, "t1").await.unwrap(), None);
    let created = gateway::upsert_tenant(db, "t1", "Acme").await.unwrap();
    assert_eq!(created.id, "t1");
    assert_eq!(created.display_name, "Acme");

    let updated = gateway::upsert_tenant(db, "t1", "Acme Inc").await.unwrap();
    assert_eq!(updated.display_name, "Acme Inc");
    assert_eq!(
        updated.created_at, created.created_at,
        "update keeps created_at"
    );
    assert!(updated.updated_at >= created.updated_at);
    assert_eq!(gateway::get_tenant(db, "t1").await.unwrap(), Some(updated));
    assert_eq!(gateway::get_tenant(db, "t2").await.unwrap(), None);
}

pub async fn channel_requires_secret_on_creation(db: &DatabaseConnection) {
    migrate_gateway(db).await;
    gateway::upsert_tenant(db, "t1", "Acme").await.unwrap();
    let err = gateway::upsert_channel(db, &spec("c1", "t1", None))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "got {err:?}");
    assert!(gateway::get_channel(db, "c1").await.unwrap().is_none());
    // The failed transaction released the connection: the same channel can now be created.
    let created = gateway::upsert_channel(db, &spec("c1", "t1", Some("k")))
        .await
        .unwrap();
    assert_eq!(created.secret, "k");
}

pub async fn channel_update_without_secret_keeps_it(db: &DatabaseConnection) {
    migrate_gateway(db).await;
    gateway::upsert_tenant(db, "t1", "Acme").await.unwrap();
    let created = gateway::upsert_channel(db, &spec("c1", "t1", Some("first")))
        .await
        .unwrap();
    assert_eq!(created.secret, "first");

    let mut change = spec("c1", "t1", None);
    change.webhook_url = "https://new.example/hook".into();
    change.enabled = false;
    let updated = gateway::upsert_channel(db, &change).await.unwrap();
    assert_eq!(updated.secret, "first", "secret kept when not given");
    assert_eq!(updated.webhook_url, "https://new.example/hook");
    assert!(!updated.enabled);
    assert_eq!(updated.created_at, created.created_at);
    assert_eq!(gateway::get_channel(db, "c1").await.unwrap(), Some(updated));

    let rotated = gateway::upsert_channel(db, &spec("c1", "t1", Some("second")))
        .await
        .unwrap();
    assert_eq!(rotated.secret, "second", "secret replaced when given");
    assert_eq!(gateway::list_channels(db).await.unwrap(), vec![rotated]);
}

pub async fn channel_id_cannot_change_tenant(db: &DatabaseConnection) {
    migrate_gateway(db).await;
    gateway::upsert_tenant(db, "a", "A").await.unwrap();
    gateway::upsert_tenant(db, "b", "B").await.unwrap();
    let owned = gateway::upsert_channel(db, &spec("c1", "a", Some("a-secret")))
        .await
        .unwrap();

    let mut takeover = spec("c1", "b", Some("b-secret"));
    takeover.webhook_url = "https://evil.example/hook".into();
    let err = gateway::upsert_channel(db, &takeover).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "got {err:?}");
    let err = gateway::upsert_channel(db, &spec("c1", "b", None))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "got {err:?}");

    assert_eq!(
        gateway::get_channel(db, "c1").await.unwrap(),
        Some(owned),
        "A's channel is unchanged"
    );
}

pub async fn channel_for_missing_tenant_is_conflict(db: &DatabaseConnection) {
    migrate_gateway(db).await;
    let err = gateway::upsert_channel(db, &spec("c1", "ghost", Some("k")))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "got {err:?}");
    assert!(gateway::get_channel(db, "c1").await.unwrap().is_none());
    assert!(gateway::list_channels(db).await.unwrap().is_empty());
}

fn inbound(channel: &str, external_id: &str, body: &str) -> InboundRecord {
    InboundRecord {
        id: Uuid::now_v7(),
        tenant_id: "t1".into(),
        channel_id: channel.into(),
        external_message_id: external_id.into(),
        external_user_id: "u1".into(),
        body_sha256: format!("sha256-of-{body}"),
        received_at: now_ms(),
    }
}

async fn outbox_rows(db: &DatabaseConnection) -> Vec<outbox_row::Model> {
    outbox_row::Entity::find().all(db).await.unwrap()
}

pub async fn accept_inbound_stores_message_and_event_once(db: &DatabaseConnection) {
    migrate_gateway(db).await;
    tenant_with_channel(db, "t1", "c1").await;

    let first = inbound("c1", "m-1", "hello");
    let mut event = envelope("t1", 1);
    // The store keeps the whole trace context, not only the keys the bus forwards.
    event.trace_context.insert("baggage".into(), "k=v".into());
    let accepted = gateway::accept_inbound(db, &first, &event).await.unwrap();
    assert_eq!(
        accepted,
        Acceptance::New {
            message_id: first.id
        }
    );
    assert_eq!(gateway::count_inbound(db, "c1").await.unwrap(), 1);
    let rows = outbox_rows(db).await;
    assert_eq!(rows.len(), 1, "exactly one event in the outbox");
    let row = &rows[0];
    assert_eq!(row.id, event.event_id);
    assert_eq!(row.tenant_id, "t1");
    assert_eq!(row.event_type, event.event_type);
    assert_eq!(row.payload, event.payload.to_vec());
    assert_eq!(row.occurred_at, event.occurred_at);
    assert_eq!(
        decode_trace_context(&row.trace_context),
        event.trace_context
    );

    // A re-send: same external id, same body, a new envelope that must not be stored.
    let resend = inbound("c1", "m-1", "hello");
    let again = gateway::accept_inbound(db, &resend, &envelope("t1", 2))
        .await
        .unwrap();
    assert_eq!(
        again,
        Acceptance::Duplicate {
            message_id: first.id,
            same_body: true
        }
    );
    assert_eq!(gateway::count_inbound(db, "c1").await.unwrap(), 1);
    assert_eq!(outbox_rows(db).await, rows, "no second event");
}

pub async fn accept_inbound_reused_id_with_other_body(db: &DatabaseConnection) {
    migrate_gateway(db).await;
    tenant_with_channel(db, "t1", "c1").await;
    let first = inbound("c1", "m-1", "hello");
    gateway::accept_inbound(db, &first, &envelope("t1", 1))
        .await
        .unwrap();
    let reused = inbound("c1", "m-1", "something else");
    let dup = gateway::accept_inbound(db, &reused, &envelope("t1", 2))
        .await
        .unwrap();
    assert_eq!(
        dup,
        Acceptance::Duplicate {
            message_id: first.id,
            same_body: false
        }
    );
    assert_eq!(gateway::count_inbound(db, "c1").await.unwrap(), 1);
    assert_eq!(outbox_rows(db).await.len(), 1);
}

pub async fn accept_inbound_ids_are_per_channel(db: &DatabaseConnection) {
    migrate_gateway(db).await;
    tenant_with_channel(db, "t1", "c1").await;
    gateway::upsert_channel(db, &spec("c2", "t1", Some("k")))
        .await
        .unwrap();
    let on_c1 = inbound("c1", "m-1", "hello");
    let on_c2 = inbound("c2", "m-1", "hello");
    let e1 = envelope("t1", 1);
    let e2 = envelope("t1", 2);
    assert_eq!(
        gateway::accept_inbound(db, &on_c1, &e1).await.unwrap(),
        Acceptance::New {
            message_id: on_c1.id
        }
    );
    assert_eq!(
        gateway::accept_inbound(db, &on_c2, &e2).await.unwrap(),
        Acceptance::New {
            message_id: on_c2.id
        }
    );
    assert_eq!(gateway::count_inbound(db, "c1").await.unwrap(), 1);
    assert_eq!(gateway::count_inbound(db, "c2").await.unwrap(), 1);
    let ids: Vec<_> = outbox_rows(db).await.into_iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&e1.event_id) && ids.contains(&e2.event_id));
}

/// Each service owns its tables: the gateway's migrator creates its own and the shared ones,
/// nothing else.
pub async fn migrations_create_only_the_gateways_tables(db: &DatabaseConnection) {
    use kefu_gateway::store::migration::{GatewayMigrator, TABLES};
    kefu_store::testing::assert_creates_only::<GatewayMigrator>(db, TABLES).await;
}
