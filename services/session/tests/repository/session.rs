//! Session repository: customers, conversations, messages; every read is tenant-scoped.

use crate::support::{migrate_session, now_ms};
use chrono::{DateTime, Duration, Utc};
use kefu_session::store::entities::conversation;
use kefu_session::store::migration::SessionMigrator;
use kefu_session::store::{self as session, ConversationStatus, NewMessage, Page, Sender};
use kefu_store::MigratorTrait;
use kefu_store::Scoped;
use kefu_store::sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, TransactionTrait,
};
use uuid::Uuid;

pub fn page() -> Page {
    Page {
        page_type: "product".into(),
        url: "https://shop.example/p/42".into(),
        product_id: "42".into(),
        order_id: String::new(),
    }
}

pub fn message(tenant: &str, conversation_id: Uuid, text: &str, at: DateTime<Utc>) -> NewMessage {
    NewMessage {
        internal: false,
        agent_id: String::new(),
        // Random (v4) ids: the listing order must come from created_at, not from the id.
        id: Uuid::new_v4(),
        tenant_id: tenant.into(),
        conversation_id,
        direction: "in",
        sender_kind: Sender::Customer,
        text: text.into(),
        external_message_id: Some(format!("ext-{text}")),
        created_at: at,
        message_type: "text",
        cards: None,
    }
}

async fn open_for_new_customer(db: &DatabaseConnection, tenant: &str) -> conversation::Model {
    let (customer, _) = session::resolve_channel_customer(db, tenant, "c1", "u1")
        .await
        .unwrap();
    let (conv, created) = session::open_conversation(db, tenant, customer, "c1", &page(), now_ms())
        .await
        .unwrap();
    assert!(created);
    conv
}

async fn open_count(db: &DatabaseConnection, customer_id: Uuid) -> u64 {
    conversation::Entity::find()
        .filter(conversation::Column::CustomerId.eq(customer_id))
        .filter(conversation::Column::Status.eq(ConversationStatus::Open))
        .count(db)
        .await
        .unwrap()
}

pub async fn session_migrations_are_idempotent(db: &DatabaseConnection) {
    migrate_session(db).await;
    migrate_session(db).await;
    assert!(
        SessionMigrator::get_pending_migrations(db)
            .await
            .unwrap()
            .is_empty()
    );
    open_for_new_customer(db, "t1").await;
}

pub async fn customer_resolution_is_per_channel_and_tenant(db: &DatabaseConnection) {
    migrate_session(db).await;
    assert_eq!(
        session::find_channel_customer(db, "t1", "c1", "u1")
            .await
            .unwrap(),
        None
    );
    let (created, is_new) = session::resolve_channel_customer(db, "t1", "c1", "u1")
        .await
        .unwrap();
    assert!(is_new);
    let (found, is_new) = session::resolve_channel_customer(db, "t1", "c1", "u1")
        .await
        .unwrap();
    assert!(!is_new, "second resolve finds the customer");
    assert_eq!(found, created);
    let stored = session::find_channel_customer(db, "t1", "c1", "u1")
        .await
        .unwrap()
        .expect("the created customer");
    assert_eq!((stored.id, stored.tenant_id.as_str()), (created, "t1"));

    let (other_channel, is_new) = session::resolve_channel_customer(db, "t1", "c2", "u1")
        .await
        .unwrap();
    assert!(is_new, "a user id is scoped to its channel");
    assert_ne!(other_channel, created);

    // Tenant isolation: the same channel and user id under another tenant is someone else.
    assert_eq!(
        session::find_channel_customer(db, "t2", "c1", "u1")
            .await
            .unwrap(),
        None
    );
    let (other_tenant, is_new) = session::resolve_channel_customer(db, "t2", "c1", "u1")
        .await
        .unwrap();
    assert!(is_new);
    assert_ne!(other_tenant, created);
    let stored = session::find_channel_customer(db, "t2", "c1", "u1")
        .await
        .unwrap()
        .expect("t2's customer");
    assert_eq!((stored.id, stored.tenant_id.as_str()), (other_tenant, "t2"));
}

pub async fn reads_are_tenant_scoped(db: &DatabaseConnection) {
    migrate_session(db).await;
    let conv = open_for_new_customer(db, "t1").await;
    let hi_at = conv.opened_at + Duration::seconds(1);
    session::append_message(db, message("t1", conv.id, "hi", hi_at))
        .await
        .unwrap();

    let own = conversation::Entity::get(db, "t1", conv.id)
        .await
        .unwrap()
        .expect("own tenant finds the conversation");
    assert_eq!((own.id, own.last_message_at), (conv.id, hi_at));
    assert_eq!(
        conversation::Entity::get(db, "t2", conv.id).await.unwrap(),
        None
    );
    assert_eq!(
        session::list_messages(db, "t1", conv.id, 10, false)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        session::list_messages(db, "t2", conv.id, 10, false)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        session::find_channel_customer(db, "t2", "c1", "u1")
            .await
            .unwrap(),
        None
    );

    // Another tenant appending to this conversation id must not touch it.
    let before = conversation::Entity::get(db, "t1", conv.id).await.unwrap();
    let later = now_ms() + Duration::seconds(30);
    let intrusion = session::append_message(db, message("t2", conv.id, "intruder", later)).await;
    assert!(
        matches!(intrusion, Err(kefu_store::StoreError::Conflict(_))),
        "another tenant's conversation id must be refused: {intrusion:?}"
    );
    assert_eq!(
        conversation::Entity::get(db, "t1", conv.id).await.unwrap(),
        before
    );
    let texts: Vec<_> = session::list_messages(db, "t1", conv.id, 10, false)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, vec!["hi"]);
}

pub async fn open_conversation_is_unique_per_customer_and_channel(db: &DatabaseConnection) {
    migrate_session(db).await;
    let first = open_for_new_customer(db, "t1").await;
    assert_eq!(first.status, ConversationStatus::Open);
    assert_eq!(first.page_url, "https://shop.example/p/42");

    let (again, created) = session::open_conversation(
        db,
        "t1",
        first.customer_id,
        "c1",
        &Page::default(),
        now_ms() + Duration::seconds(5),
    )
    .await
    .unwrap();
    assert!(!created);
    assert_eq!(again, first);

    // A second open row for the same (tenant, customer, channel), as a racing replica would
    // insert it, violates the partial unique index.
    let mut racing = first.clone().into_active_model();
    racing.id = Set(Uuid::now_v7());
    let err = conversation::Entity::insert(racing).exec(db).await;
    assert!(
        err.is_err(),
        "second open conversation was accepted: {err:?}"
    );
    assert_eq!(open_count(db, first.customer_id).await, 1);

    // Closed conversations are not constrained.
    let mut closed = first.clone().into_active_model();
    closed.id = Set(Uuid::now_v7());
    closed.status = Set(ConversationStatus::Closed);
    closed.closed_at = Set(Some(now_ms()));
    conversation::Entity::insert(closed).exec(db).await.unwrap();

    // After closing the open one, the next open_conversation starts a new conversation.
    let mut closing = first.clone().into_active_model();
    closing.status = Set(ConversationStatus::Closed);
    closing.closed_at = Set(Some(now_ms()));
    closing.update(db).await.unwrap();
    let (fresh, created) =
        session::open_conversation(db, "t1", first.customer_id, "c1", &page(), now_ms())
            .await
            .unwrap();
    assert!(created);
    assert_ne!(fresh.id, first.id);
    assert_eq!(open_count(db, first.customer_id).await, 1);

    // Another channel gets its own conversation.
    let (elsewhere, created) =
        session::open_conversation(db, "t1", first.customer_id, "c2", &page(), now_ms())
            .await
            .unwrap();
    assert!(created);
    assert_ne!(elsewhere.id, fresh.id);
}

pub async fn concurrent_open_conversation_yields_one(db: &DatabaseConnection) {
    migrate_session(db).await;
    let (customer, _) = session::resolve_channel_customer(db, "t1", "c1", "u1")
        .await
        .unwrap();
    let attempt = || async {
        let txn = db.begin().await?;
        let (conv, _) =
            session::open_conversation(&txn, "t1", customer, "c1", &page(), now_ms()).await?;
        txn.commit().await?;
        Ok::<_, kefu_store::StoreError>(conv.id)
    };
    let (a, b) = tokio::join!(attempt(), attempt());
    let ok: Vec<Uuid> = [a, b].into_iter().filter_map(Result::ok).collect();
    assert!(!ok.is_empty(), "both concurrent opens failed");
    assert!(
        ok.iter().all(|id| *id == ok[0]),
        "two different open conversations: {ok:?}"
    );
    assert_eq!(open_count(db, customer).await, 1);
}

pub async fn messages_are_listed_oldest_first(db: &DatabaseConnection) {
    migrate_session(db).await;
    let conv = open_for_new_customer(db, "t1").await;
    let t0 = conv.opened_at;

    // Appended in time order: last_message_at follows each message.
    for (i, text) in ["a", "b", "c"].into_iter().enumerate() {
        let at = t0 + Duration::seconds(10 * (i as i64 + 1));
        let stored = session::append_message(db, message("t1", conv.id, text, at))
            .await
            .unwrap();
        assert_eq!(stored.created_at, at);
        let now = conversation::Entity::get(db, "t1", conv.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(now.last_message_at, at, "after appending {text}");
    }

    // Messages stored out of time order are still listed oldest first.
    let (other_customer, _) = session::resolve_channel_customer(db, "t1", "c1", "u2")
        .await
        .unwrap();
    let (other, _) = session::open_conversation(db, "t1", other_customer, "c1", &page(), t0)
        .await
        .unwrap();
    for (text, secs) in [("third", 30), ("first", 10), ("fourth", 40), ("second", 20)] {
        session::append_message(
            db,
            message("t1", other.id, text, t0 + Duration::seconds(secs)),
        )
        .await
        .unwrap();
    }
    let texts = |rows: Vec<kefu_session::store::entities::message::Model>| {
        rows.into_iter().map(|m| m.text).collect::<Vec<_>>()
    };
    assert_eq!(
        texts(
            session::list_messages(db, "t1", other.id, 100, false)
                .await
                .unwrap()
        ),
        vec!["first", "second", "third", "fourth"]
    );
    assert_eq!(
        texts(
            session::list_messages(db, "t1", other.id, 2, false)
                .await
                .unwrap()
        ),
        vec!["third", "fourth"],
        "limit keeps the latest, still oldest first"
    );
    assert_eq!(
        texts(
            session::list_messages(db, "t1", conv.id, 100, false)
                .await
                .unwrap()
        ),
        vec!["a", "b", "c"],
        "conversations do not mix"
    );
    // last_message_at never moves back when an older message arrives late.
    let latest = conversation::Entity::get(db, "t1", other.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.last_message_at, t0 + Duration::seconds(40));
    let stored = session::list_messages(db, "t1", conv.id, 3, false)
        .await
        .unwrap();
    assert_eq!(stored.len(), 3);
    assert_eq!(stored[0].external_message_id.as_deref(), Some("ext-a"));
    assert_eq!(stored[0].direction, "in");
    assert_eq!(stored[0].sender_kind, Sender::Customer);
}

/// Each service owns its tables: the session's migrator creates its own and the shared ones,
/// nothing else.
pub async fn migrations_create_only_the_sessions_tables(db: &DatabaseConnection) {
    use kefu_session::store::migration::{SessionMigrator, TABLES};
    kefu_store::testing::assert_creates_only::<SessionMigrator>(db, TABLES).await;
}

/// Messages are numbered 1, 2, 3, … per conversation, also when several transactions append
/// to one conversation at once (the conversation row orders them); another conversation
/// counts on its own.
pub async fn messages_are_numbered_densely_under_concurrent_appends(db: &DatabaseConnection) {
    migrate_session(db).await;
    let conv = open_for_new_customer(db, "t1").await;
    let (someone, _) = session::resolve_channel_customer(db, "t1", "c2", "u2")
        .await
        .unwrap();
    let (other, _) = session::open_conversation(db, "t1", someone, "c2", &page(), now_ms())
        .await
        .unwrap();
    let writer = |n: usize| async move {
        for i in 0..5 {
            let txn = db.begin().await.unwrap();
            let batch = vec![
                message("t1", conv.id, &format!("w{n}-{i}-a"), now_ms()),
                message("t1", conv.id, &format!("w{n}-{i}-b"), now_ms()),
                message("t1", other.id, &format!("w{n}-{i}-o"), now_ms()),
            ];
            let stored = session::batch::append_messages(&txn, "t1", batch)
                .await
                .unwrap();
            // Within one batch, the messages of a conversation are numbered in the order given.
            assert_eq!(stored[1].seq, stored[0].seq + 1, "{stored:?}");
            txn.commit().await.unwrap();
        }
    };
    tokio::join!(writer(1), writer(2), writer(3));
    for (id, expected) in [(conv.id, 30), (other.id, 15)] {
        let mut seqs: Vec<i64> = session::list_messages(db, "t1", id, 100, true)
            .await
            .unwrap()
            .iter()
            .map(|m| m.seq)
            .collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=expected).collect::<Vec<i64>>());
    }
}

/// A database from before message numbering: its messages get 1, 2, 3, … per conversation in
/// the order they were stored, and the conversations their counts, when the migration runs.
pub async fn numbering_migration_numbers_existing_messages(db: &DatabaseConnection) {
    use kefu_store::sea_orm::{ConnectionTrait, Statement};
    migrate_session(db).await;
    let conv = open_for_new_customer(db, "t1").await;
    let t0 = now_ms();
    let txn = db.begin().await.unwrap();
    let batch = (0..4)
        .map(|i| message("t1", conv.id, &format!("m{i}"), t0 + Duration::seconds(i)))
        .collect();
    session::batch::append_messages(&txn, "t1", batch)
        .await
        .unwrap();
    txn.commit().await.unwrap();
    // As the rows were before the migration, and the migration not yet recorded.
    let backend = db.get_database_backend();
    for sql in [
        "UPDATE messages SET seq = 0",
        "UPDATE conversations SET message_count = 0",
        "DELETE FROM seaql_migrations WHERE version = 'session_m0004_message_sequence'",
    ] {
        db.execute_raw(Statement::from_string(backend, sql))
            .await
            .unwrap();
    }
    SessionMigrator::up(db, None)
        .await
        .expect("the numbering migration");
    let listed = session::list_messages(db, "t1", conv.id, 10, true)
        .await
        .unwrap();
    let numbered: Vec<(String, i64)> = listed.iter().map(|m| (m.text.clone(), m.seq)).collect();
    assert_eq!(
        numbered,
        (0..4).map(|i| (format!("m{i}"), i + 1)).collect::<Vec<_>>()
    );
    let c = conversation::Entity::find_by_id(conv.id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.message_count, 4);
    // The next message continues the count.
    let txn = db.begin().await.unwrap();
    let next = session::batch::append_messages(&txn, "t1", vec![message("t1", conv.id, "m4", t0)])
        .await
        .unwrap();
    txn.commit().await.unwrap();
    assert_eq!(next[0].seq, 5);
}
