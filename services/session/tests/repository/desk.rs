//! The agent desk: offers under concurrency (never two agents for one conversation, never past
//! an agent's capacity), leases, routing documents and tenant scoping.

use crate::support::{migrate_session, now_ms};
use chrono::Duration;
use kefu_session::store::desk::{self, Capacity, OfferRefused, Presence, Strings, WorkState};
use kefu_session::store::entities::{agent, canned_response, work_item};
use kefu_store::Scoped;
use kefu_store::sea_orm::DatabaseConnection;
use std::collections::HashMap;
use uuid::Uuid;

fn agent(tenant: &str, id: &str, status: Presence, capacity: u32) -> agent::Model {
    agent::Model {
        tenant_id: tenant.into(),
        id: id.into(),
        login: id.into(),
        display_name: id.into(),
        role: desk::AgentRole(kefu_proto::desk::Role::Agent),
        merchant_id: String::new(),
        skills: Strings::default(),
        languages: Strings::default(),
        capacity: Capacity([("web".to_owned(), capacity)].into()),
        status,
        status_since: now_ms(),
        password_hash: "x".into(),
        assign_seq: 0,
        last_assigned_at: None,
        idle_since: now_ms(),
    }
}

pub fn waiting(tenant: &str) -> work_item::Model {
    let now = now_ms();
    work_item::Model {
        conversation_id: Uuid::now_v7(),
        tenant_id: tenant.into(),
        customer_id: Uuid::now_v7(),
        merchant_id: String::new(),
        queue: "platform".into(),
        state: WorkState::Waiting,
        agent_id: String::new(),
        channel_type: "web".into(),
        tier: String::new(),
        page_type: String::new(),
        negative: false,
        language: String::new(),
        last_agent: String::new(),
        enqueued_at: now,
        queue_entered_at: now,
        offered_at: None,
        offer_expires_at: None,
        accepted_at: None,
        closed_at: None,
        excluded: Strings::default(),
        note: String::new(),
        summary: String::new(),
        tags: Strings::default(),
        csat: 0,
        csat_comment: String::new(),
        monitors: Strings::default(),
        participants: Strings::default(),
        version: 0,
        csat_invited: false,
    }
}

async fn offer(
    db: &DatabaseConnection,
    tenant: &str,
    id: Uuid,
    agent: &str,
) -> Result<work_item::Model, OfferRefused> {
    desk::offer(
        db,
        tenant,
        id,
        agent,
        0,
        WorkState::QUEUED,
        now_ms() + Duration::seconds(30),
        None,
        |_| Vec::new(),
    )
    .await
    .expect("offer runs")
    .map(|(w, _)| w)
}

/// Every waiting conversation offered to every agent at once, concurrently: each conversation
/// ends with at most one agent and no agent above its capacity.
pub async fn concurrent_offers_never_double_assign_or_overfill(db: &DatabaseConnection) {
    migrate_session(db).await;
    desk::put_agent(db, agent("t1", "a1", Presence::Online, 2))
        .await
        .unwrap();
    desk::put_agent(db, agent("t1", "a2", Presence::Online, 1))
        .await
        .unwrap();
    let mut ids = Vec::new();
    for _ in 0..6 {
        let w = waiting("t1");
        ids.push(w.conversation_id);
        desk::enqueue(db, &w).await.unwrap();
    }
    let mut tasks = Vec::new();
    for id in &ids {
        for a in ["a1", "a2"] {
            let (db, id) = (db.clone(), *id);
            tasks.push(tokio::spawn(
                async move { offer(&db, "t1", id, a).await.ok() },
            ));
        }
    }
    let mut won = 0;
    for t in tasks {
        if t.await.unwrap().is_some() {
            won += 1;
        }
    }
    assert_eq!(won, 3, "three slots (2 + 1), three offers");
    let loads = desk::loads(db, "t1").await.unwrap();
    assert_eq!(loads["a1"]["web"], 2);
    assert_eq!(loads["a2"]["web"], 1);
    let items = desk::work_items(db, "t1", &ids).await.unwrap();
    let offered: Vec<_> = items
        .values()
        .filter(|w| w.state == WorkState::Offered)
        .collect();
    assert_eq!(offered.len(), 3);
    let mut per_agent: HashMap<&str, usize> = HashMap::new();
    for w in &offered {
        *per_agent.entry(w.agent_id.as_str()).or_default() += 1;
        assert_eq!(w.version, 1, "moved exactly once");
    }
    assert_eq!(per_agent["a1"], 2);
    assert_eq!(per_agent["a2"], 1);
}

/// An offer is refused to an agent who is not online, and for a work item that changed since
/// it was read; nothing is written either way.
pub async fn offers_check_status_and_version(db: &DatabaseConnection) {
    migrate_session(db).await;
    desk::put_agent(db, agent("t1", "away", Presence::Away, 3))
        .await
        .unwrap();
    desk::put_agent(db, agent("t1", "on", Presence::Online, 3))
        .await
        .unwrap();
    let w = waiting("t1");
    let id = w.conversation_id;
    desk::enqueue(db, &w).await.unwrap();
    assert_eq!(
        offer(db, "t1", id, "away").await.unwrap_err(),
        OfferRefused::AgentUnavailable
    );
    assert_eq!(
        offer(db, "t1", id, "ghost").await.unwrap_err(),
        OfferRefused::AgentUnavailable
    );
    offer(db, "t1", id, "on").await.expect("offered");
    // Version 0 is gone: a second decision made on the old read is refused.
    assert_eq!(
        offer(db, "t1", id, "on").await.unwrap_err(),
        OfferRefused::Stale
    );
    // Another tenant's agent of the same id cannot take it.
    desk::put_agent(db, agent("t2", "on", Presence::Online, 3))
        .await
        .unwrap();
    let w2 = waiting("t1");
    let id2 = w2.conversation_id;
    desk::enqueue(db, &w2).await.unwrap();
    assert_eq!(
        offer(db, "t2", id2, "on").await.unwrap_err(),
        OfferRefused::Stale
    );
    assert_eq!(
        work_item::Entity::get(db, "t1", id2)
            .await
            .unwrap()
            .unwrap()
            .state,
        WorkState::Waiting
    );
    // A merchant's agent is never offered another merchant's conversation.
    let mut shop = agent("t1", "shop-agent", Presence::Online, 3);
    shop.merchant_id = "m2".into();
    desk::put_agent(db, shop).await.unwrap();
    let mut theirs = waiting("t1");
    theirs.merchant_id = "m1".into();
    let id3 = theirs.conversation_id;
    desk::enqueue(db, &theirs).await.unwrap();
    assert_eq!(
        offer(db, "t1", id3, "shop-agent").await.unwrap_err(),
        OfferRefused::AgentUnavailable
    );
    // An agent with open work is not deleted; an idle one is.
    assert_eq!(
        desk::delete_idle_agent(db, "t1", "on").await.unwrap(),
        Err(desk::DeleteRefused::HasWork)
    );
    assert_eq!(
        desk::delete_idle_agent(db, "t1", "away").await.unwrap(),
        Ok(())
    );
    assert_eq!(
        desk::delete_idle_agent(db, "t1", "away").await.unwrap(),
        Err(desk::DeleteRefused::NotFound)
    );
}

/// One replica holds a tenant's lease until it expires or is released.
pub async fn routing_leases_are_exclusive_until_expiry(db: &DatabaseConnection) {
    migrate_session(db).await;
    desk::touch(db, "t1").await.unwrap();
    assert!(
        desk::acquire_lease(db, "t1", "a", 1_000, 3_000)
            .await
            .unwrap()
    );
    assert!(
        !desk::acquire_lease(db, "t1", "b", 2_000, 3_000)
            .await
            .unwrap()
    );
    assert!(
        desk::acquire_lease(db, "t1", "a", 2_000, 3_000)
            .await
            .unwrap(),
        "renewal"
    );
    assert!(
        desk::acquire_lease(db, "t1", "b", 5_001, 3_000)
            .await
            .unwrap(),
        "after expiry"
    );
    desk::release_leases(db, "b").await.unwrap();
    assert!(
        desk::acquire_lease(db, "t1", "a", 5_002, 3_000)
            .await
            .unwrap(),
        "after release"
    );
    let before = desk::routing_tenants(db).await.unwrap()[0].version;
    desk::touch(db, "t1").await.unwrap();
    assert_eq!(
        desk::routing_tenants(db).await.unwrap()[0].version,
        before + 1
    );
}

/// Routing documents: an older announcement never replaces a newer one, and a deletion is
/// not revived by a late older put.
pub async fn routing_documents_keep_the_newest_version(db: &DatabaseConnection) {
    migrate_session(db).await;
    assert!(
        desk::put_routing_config(db, "t1", "queue", "q", 2, Some("{\"a\":2}"))
            .await
            .unwrap()
    );
    assert!(
        !desk::put_routing_config(db, "t1", "queue", "q", 1, Some("{\"a\":1}"))
            .await
            .unwrap()
    );
    assert_eq!(
        desk::routing_configs(db, "t1").await.unwrap()[0].spec_json,
        "{\"a\":2}"
    );
    assert!(
        desk::put_routing_config(db, "t1", "queue", "q", 3, None)
            .await
            .unwrap()
    );
    assert!(
        !desk::put_routing_config(db, "t1", "queue", "q", 2, Some("{}"))
            .await
            .unwrap()
    );
    assert!(desk::routing_configs(db, "t1").await.unwrap().is_empty());
    assert!(desk::routing_configs(db, "t2").await.unwrap().is_empty());
}

/// Agents, work items and canned responses are found only within their tenant.
pub async fn desk_reads_are_tenant_scoped(db: &DatabaseConnection) {
    migrate_session(db).await;
    desk::put_agent(db, agent("t1", "a1", Presence::Online, 1))
        .await
        .unwrap();
    let w = waiting("t1");
    let id = w.conversation_id;
    desk::enqueue(db, &w).await.unwrap();
    let canned = Uuid::now_v7();
    desk::put_canned(
        db,
        canned_response::Model {
            id: canned,
            tenant_id: "t1".into(),
            merchant_id: String::new(),
            shortcut: "/hi".into(),
            title: "hi".into(),
            text: "hello".into(),
            updated_at: now_ms(),
        },
    )
    .await
    .unwrap();
    assert!(desk::get_agent(db, "t2", "a1").await.unwrap().is_none());
    assert!(desk::list_agents(db, "t2", None).await.unwrap().is_empty());
    assert!(
        work_item::Entity::get(db, "t2", id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        canned_response::Entity::get(db, "t2", canned)
            .await
            .unwrap()
            .is_none()
    );
    assert!(desk::list_canned(db, "t2", None).await.unwrap().is_empty());
    assert!(!desk::delete_canned(db, "t2", canned).await.unwrap());
    assert!(!desk::delete_agent(db, "t2", "a1").await.unwrap());
    assert!(desk::get_agent(db, "t1", "a1").await.unwrap().is_some());
    // Another tenant writing to the same id is refused and changes nothing.
    let hijack = desk::put_canned(
        db,
        canned_response::Model {
            id: canned,
            tenant_id: "t2".into(),
            merchant_id: String::new(),
            shortcut: "/x".into(),
            title: "x".into(),
            text: "hijacked".into(),
            updated_at: now_ms(),
        },
    )
    .await;
    assert!(
        matches!(hijack, Err(kefu_store::StoreError::Conflict(_))),
        "{hijack:?}"
    );
    assert_eq!(
        canned_response::Entity::get(db, "t1", canned)
            .await
            .unwrap()
            .unwrap()
            .text,
        "hello"
    );
}
