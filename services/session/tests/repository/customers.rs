//! The unified customer: identities, automatic and manual merges, unmerge, profiles, settings.

use crate::session::{message, page};
use crate::support::{migrate_session, now_ms};
use chrono::Duration;
use kefu_session::store::customers::{self, ProfileUpdate, TenantSettings};
use kefu_session::store::entities::{conversation, work_item};
use kefu_session::store::{self as session, ConversationStatus, Mode, batch};
use kefu_store::sea_orm::{DatabaseConnection, TransactionTrait};
use kefu_store::{Scoped, StoreError};
use uuid::Uuid;

fn phone(p: &str) -> Vec<(String, String)> {
    vec![("phone".into(), p.into())]
}

fn rule() -> Vec<String> {
    vec!["phone".into(), "member_id".into()]
}

/// A customer on `channel` as `user` who said `text`; returns the customer and conversation.
async fn speaks(
    db: &DatabaseConnection,
    tenant: &str,
    channel: &str,
    user: &str,
    text: &str,
) -> (Uuid, Uuid) {
    let (customer, _) = session::resolve_channel_customer(db, tenant, channel, user)
        .await
        .unwrap();
    let (conv, _) = session::open_conversation(db, tenant, customer, channel, &page(), now_ms())
        .await
        .unwrap();
    batch::append_messages(
        db,
        tenant,
        vec![message(
            tenant,
            conv.id,
            text,
            now_ms() + Duration::milliseconds(1),
        )],
    )
    .await
    .unwrap();
    (customer, conv.id)
}

async fn history_texts(db: &DatabaseConnection, tenant: &str, customer: Uuid) -> Vec<String> {
    customers::history(db, tenant, customer, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.message.text)
        .collect()
}

pub async fn a_shared_phone_merges_two_channel_customers_with_their_history(
    db: &DatabaseConnection,
) {
    migrate_session(db).await;
    let (web, _) = speaks(db, "t1", "web", "visitor:1", "你好").await;
    let (linked, merges) =
        customers::link_identities(db, "t1", web, &phone("13800000001"), &rule())
            .await
            .unwrap();
    assert_eq!(
        (linked, merges.len()),
        (web, 0),
        "first holder keeps the phone"
    );
    let (api, _) = speaks(db, "t1", "api", "u-9", "订单到哪了").await;
    assert_ne!(api, web);
    let (now, merges) = customers::link_identities(db, "t1", api, &phone("13800000001"), &rule())
        .await
        .unwrap();
    assert_eq!(now, web, "the phone's holder survives");
    assert_eq!(merges.len(), 1);
    assert_eq!(merges[0].record.cause, "identity:phone");
    // One customer, one history across both channels; the api user now resolves to it.
    let texts = history_texts(db, "t1", web).await;
    assert_eq!(texts, ["你好", "订单到哪了"]);
    let found = session::find_channel_customer(db, "t1", "api", "u-9")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, web);
    // The absorbed id still leads to the survivor.
    assert_eq!(
        customers::get_customer(db, "t1", api)
            .await
            .unwrap()
            .unwrap()
            .id,
        web
    );
}

pub async fn unmerge_restores_both_and_is_not_redone_automatically(db: &DatabaseConnection) {
    migrate_session(db).await;
    let (a, _) = speaks(db, "t1", "web", "visitor:1", "first").await;
    let (b, _) = speaks(db, "t1", "api", "u-2", "second").await;
    let txn = db.begin().await.unwrap();
    let m = customers::merge(&txn, "t1", a, b, "manual").await.unwrap();
    txn.commit().await.unwrap();
    assert_eq!(customers::merge_counts(&m.record), (1, 1));
    assert_eq!(history_texts(db, "t1", a).await, ["first", "second"]);
    // Merging again is refused while merged.
    assert!(matches!(
        customers::merge(db, "t1", a, b, "manual").await,
        Err(StoreError::Conflict(_))
    ));
    let undone = customers::unmerge(db, "t1", m.record.id).await.unwrap();
    assert!(undone.unmerged_at.is_some());
    assert_eq!(history_texts(db, "t1", a).await, ["first"]);
    assert_eq!(history_texts(db, "t1", b).await, ["second"]);
    assert_eq!(
        session::find_channel_customer(db, "t1", "api", "u-2")
            .await
            .unwrap()
            .unwrap()
            .id,
        b
    );
    assert!(matches!(
        customers::unmerge(db, "t1", m.record.id).await,
        Err(StoreError::Conflict(_))
    ));
    // Both claim one phone afterwards: a person separated them, so no automatic merge.
    customers::link_identities(db, "t1", a, &phone("13800000001"), &rule())
        .await
        .unwrap();
    let (now, merges) = customers::link_identities(db, "t1", b, &phone("13800000001"), &rule())
        .await
        .unwrap();
    assert_eq!((now, merges.len()), (b, 0));
}

pub async fn identities_outside_the_merge_rule_do_not_merge(db: &DatabaseConnection) {
    migrate_session(db).await;
    let (a, _) = speaks(db, "t1", "web", "visitor:1", "x").await;
    let (b, _) = speaks(db, "t1", "api", "u-2", "y").await;
    let email = vec![("email".to_owned(), "li@example.com".to_owned())];
    customers::link_identities(db, "t1", a, &email, &rule())
        .await
        .unwrap();
    let (now, merges) = customers::link_identities(db, "t1", b, &email, &rule())
        .await
        .unwrap();
    assert_eq!(
        (now, merges.len()),
        (b, 0),
        "email is not in this tenant's rule"
    );
}

pub async fn merges_never_cross_tenants(db: &DatabaseConnection) {
    migrate_session(db).await;
    let (a, _) = speaks(db, "t1", "web", "visitor:1", "mine").await;
    customers::link_identities(db, "t1", a, &phone("13800000001"), &rule())
        .await
        .unwrap();
    let (other, _) = speaks(db, "t2", "web2", "visitor:1", "theirs").await;
    let (now, merges) = customers::link_identities(db, "t2", other, &phone("13800000001"), &rule())
        .await
        .unwrap();
    assert_eq!((now, merges.len()), (other, 0));
    assert!(matches!(
        customers::merge(db, "t2", other, a, "manual").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(
        customers::get_customer(db, "t2", a)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        customers::history(db, "t2", a, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let m = customers::merge(
        db,
        "t1",
        a,
        speaks(db, "t1", "api", "u", "z").await.0,
        "manual",
    )
    .await
    .unwrap();
    assert!(matches!(
        customers::unmerge(db, "t2", m.record.id).await,
        Err(StoreError::NotFound(_))
    ));
}

pub async fn merging_two_open_conversations_on_one_channel_closes_one(db: &DatabaseConnection) {
    migrate_session(db).await;
    let (a, conv_a) = speaks(db, "t1", "web", "visitor:1", "a").await;
    let (b, conv_b) = speaks(db, "t1", "web", "visitor:2", "b").await;
    customers::merge(db, "t1", a, b, "manual").await.unwrap();
    let closed = conversation::Entity::get(db, "t1", conv_b)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(closed.status, ConversationStatus::Closed);
    assert_eq!(closed.customer_id, a);
    let open = conversation::Entity::get(db, "t1", conv_a)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(open.status, ConversationStatus::Open);
    assert_eq!(history_texts(db, "t1", a).await, ["a", "b"]);
}

pub async fn profiles_fill_and_update(db: &DatabaseConnection) {
    migrate_session(db).await;
    let (a, _) = speaks(db, "t1", "web", "visitor:1", "x").await;
    let hints = ProfileUpdate {
        display_name: Some("李雷".into()),
        tier: Some("gold".into()),
        ..ProfileUpdate::default()
    };
    customers::fill_profile(db, "t1", a, &hints).await.unwrap();
    // A later hint does not overwrite what is known.
    let later = ProfileUpdate {
        tier: Some("silver".into()),
        region: Some("上海".into()),
        ..ProfileUpdate::default()
    };
    customers::fill_profile(db, "t1", a, &later).await.unwrap();
    let c = customers::get_customer(db, "t1", a).await.unwrap().unwrap();
    assert_eq!(
        (c.display_name.as_str(), c.tier.as_str(), c.region.as_str()),
        ("李雷", "gold", "上海")
    );
    let set = ProfileUpdate {
        tier: Some("platinum".into()),
        tags: Some(vec!["vip".into(), "jewellery".into()]),
        ..ProfileUpdate::default()
    };
    let c = customers::update_profile(db, "t1", a, &set)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.tier, "platinum");
    assert_eq!(customers::tags_of(&c), ["vip", "jewellery"]);
    assert!(
        customers::update_profile(db, "t2", a, &set)
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn tenant_settings_default_and_persist(db: &DatabaseConnection) {
    migrate_session(db).await;
    let d = customers::tenant_settings(db, "t1").await.unwrap();
    assert_eq!(d, TenantSettings::defaults("t1"));
    let s = TenantSettings {
        tenant_id: "t1".into(),
        merge_identity_kinds: vec!["email".into()],
        handoff_after_misses: 2,
    };
    customers::put_tenant_settings(db, &s).await.unwrap();
    customers::put_tenant_settings(db, &s).await.unwrap();
    assert_eq!(customers::tenant_settings(db, "t1").await.unwrap(), s);
    assert_eq!(
        customers::tenant_settings(db, "t2").await.unwrap(),
        TenantSettings::defaults("t2")
    );
}

pub async fn contexts_and_handoff_state(db: &DatabaseConnection) {
    migrate_session(db).await;
    let (a, conv) = speaks(db, "t1", "web", "visitor:1", "x").await;
    customers::link_identities(db, "t1", a, &phone("13800000001"), &rule())
        .await
        .unwrap();
    customers::set_bot_state(db, "t1", conv, r#"{"misses":2}"#)
        .await
        .unwrap();
    customers::hand_off(db, "t1", conv, vec![1, 2, 3])
        .await
        .unwrap();
    let keys = vec![
        ("web".to_owned(), "visitor:1".to_owned()),
        ("web".to_owned(), "visitor:404".to_owned()),
    ];
    let found = customers::contexts(db, "t1", &keys).await.unwrap();
    assert_eq!(found.len(), 1);
    let ctx = &found[&keys[0]];
    assert_eq!(ctx.customer.id, a);
    assert_eq!(ctx.identities.len(), 1);
    let open = ctx.open.as_ref().unwrap();
    assert_eq!(open.bot_state, r#"{"misses":2}"#);
    assert_eq!(open.mode, Mode::Queued);
    assert_eq!(open.handoff.as_deref(), Some(&[1u8, 2, 3][..]));
    assert!(
        customers::contexts(db, "t2", &keys)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn config_rules_apply_in_version_order(db: &DatabaseConnection) {
    migrate_session(db).await;
    let rules = |misses: u32| TenantSettings {
        tenant_id: "t1".into(),
        merge_identity_kinds: vec!["phone".into()],
        handoff_after_misses: misses,
    };
    assert!(
        customers::apply_config_settings(db, &rules(2), 3)
            .await
            .unwrap()
    );
    // A redelivery or an older event changes nothing.
    assert!(
        !customers::apply_config_settings(db, &rules(2), 3)
            .await
            .unwrap()
    );
    assert!(
        !customers::apply_config_settings(db, &rules(9), 2)
            .await
            .unwrap()
    );
    assert_eq!(
        customers::tenant_settings(db, "t1").await.unwrap(),
        rules(2)
    );
    assert!(
        customers::apply_config_settings(db, &rules(5), 4)
            .await
            .unwrap()
    );
    assert_eq!(
        customers::tenant_settings(db, "t1").await.unwrap(),
        rules(5)
    );
    // The API can still override; the next document version wins again.
    customers::put_tenant_settings(db, &rules(7)).await.unwrap();
    assert_eq!(
        customers::tenant_settings(db, "t1").await.unwrap(),
        rules(7)
    );
    assert!(
        customers::apply_config_settings(db, &rules(1), 5)
            .await
            .unwrap()
    );
    assert_eq!(
        customers::tenant_settings(db, "t1").await.unwrap(),
        rules(1)
    );
}

pub async fn bot_states_are_written_together_and_per_tenant(db: &DatabaseConnection) {
    migrate_session(db).await;
    let (_, a) = speaks(db, "t1", "web", "visitor:1", "x").await;
    let (_, b) = speaks(db, "t1", "web", "visitor:2", "y").await;
    let (_, other) = speaks(db, "t2", "web", "visitor:1", "z").await;
    customers::set_bot_states(
        db,
        "t1",
        &[
            (a, r#"{"misses":1}"#.to_owned()),
            (b, r#"{"misses":2}"#.to_owned()),
            (other, "stolen".to_owned()),
        ],
    )
    .await
    .unwrap();
    let state = |t: &'static str, id: Uuid| async move {
        conversation::Entity::get(db, t, id)
            .await
            .unwrap()
            .unwrap()
            .bot_state
    };
    assert_eq!(state("t1", a).await, r#"{"misses":1}"#);
    assert_eq!(state("t1", b).await, r#"{"misses":2}"#);
    assert_eq!(
        state("t2", other).await,
        "",
        "another tenant's conversation is untouched"
    );
}

/// A merge that closes the absorbed customer's waiting conversation ends its routing too, and
/// reports the closure: its events are the closure and the abandoned wait (the caller writes
/// them in the merge's transaction).
pub async fn a_merge_closes_the_routing_of_the_conversation_it_closes(db: &DatabaseConnection) {
    use kefu_session::store::desk;
    migrate_session(db).await;
    let (a, _) = speaks(db, "t1", "web", "visitor:1", "a").await;
    let (b, conv_b) = speaks(db, "t1", "web", "visitor:2", "b").await;
    let item = kefu_session::store::entities::work_item::Model {
        conversation_id: conv_b,
        customer_id: b,
        ..crate::desk::waiting("t1")
    };
    assert!(desk::enqueue(db, &item).await.unwrap());
    let merged = customers::merge(db, "t1", a, b, "manual").await.unwrap();
    let closed = work_item::Entity::get(db, "t1", conv_b)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        closed.state,
        desk::WorkState::Closed,
        "a closed conversation is not routed"
    );
    assert_eq!(merged.closed.len(), 1);
    assert_eq!(
        merged.closed[0].routing.as_ref().map(|(_, after)| after),
        Some(&closed),
        "the merge reports the item as it left it"
    );
    let events = kefu_session::desk::events::merge_closures(&merged.closed, chrono::Utc::now());
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    // The domain events, then their projection for the workbench (the queue's figures and
    // the board's lists).
    assert_eq!(
        types,
        [
            "queue.abandoned",
            "conversation.closed",
            "desk.event",
            "desk.event"
        ],
        "{types:?}"
    );
}
