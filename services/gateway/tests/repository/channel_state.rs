//! Channel state the replicas share: a provider's access token (fetched once per expiry, by
//! one replica, under a lease) and customers' service windows (a quota no number of concurrent
//! senders can overrun).

use crate::support::migrate_gateway;
use kefu_gateway::channels::token::{Fetched, TokenError, Tokens};
use kefu_gateway::channels::window::{self, Blocked, Rules};
use kefu_gateway::store::{self as gateway, ChannelSpec};
use kefu_store::sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

async fn channel(db: &DatabaseConnection) -> kefu_gateway::store::entities::channel::Model {
    migrate_gateway(db).await;
    gateway::upsert_tenant(db, "t1", "T1").await.unwrap();
    gateway::upsert_channel(
        db,
        &ChannelSpec {
            id: "wx".into(),
            tenant_id: "t1".into(),
            channel_type: "wechat".into(),
            secret: Some("token-0123456789".into()),
            webhook_url: String::new(),
            enabled: true,
            settings: Default::default(),
            credentials: Default::default(),
        },
    )
    .await
    .unwrap()
}

pub async fn one_token_fetch_per_expiry_across_replicas(db: &DatabaseConnection) {
    let ch = channel(db).await;
    let fetches = Arc::new(AtomicUsize::new(0));
    // Two replicas, four sends each, all at once: one fetch.
    let replicas = [Tokens::default(), Tokens::default()];
    let gets = (0..8).map(|i| {
        let (tokens, db, ch, fetches) = (
            replicas[i % 2].clone(),
            db.clone(),
            ch.clone(),
            fetches.clone(),
        );
        async move {
            tokens
                .get(&db, &ch, || {
                    let fetches = fetches.clone();
                    async move {
                        let n = fetches.fetch_add(1, Ordering::SeqCst) + 1;
                        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
                        Ok::<_, TokenError>(Fetched {
                            token: format!("tok-{n}"),
                            expires_in: 7200,
                        })
                    }
                })
                .await
                .unwrap()
        }
    });
    let got = futures::future::join_all(gets).await;
    assert!(got.iter().all(|t| t == "tok-1"), "{got:?}");
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
    // The provider says it expired: the next send fetches once more; a replica holding the
    // old token that reports it late does not throw the new one away.
    replicas[0].invalidate(db, &ch.id, "tok-1").await.unwrap();
    let fetch = || {
        let fetches = fetches.clone();
        async move {
            let n = fetches.fetch_add(1, Ordering::SeqCst) + 1;
            Ok::<_, TokenError>(Fetched {
                token: format!("tok-{n}"),
                expires_in: 7200,
            })
        }
    };
    assert_eq!(replicas[0].get(db, &ch, fetch).await.unwrap(), "tok-2");
    // The other replica still holds tok-1 until WeChat refuses it there too; then it finds
    // tok-2 without fetching.
    assert_eq!(replicas[1].get(db, &ch, fetch).await.unwrap(), "tok-1");
    replicas[1].invalidate(db, &ch.id, "tok-1").await.unwrap();
    assert_eq!(replicas[1].get(db, &ch, fetch).await.unwrap(), "tok-2");
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
    // A refused fetch is an error, and the next send may try again at once.
    let refused = || async { Err::<Fetched, _>(TokenError::Refused("errcode 40013".into())) };
    replicas[0].invalidate(db, &ch.id, "tok-2").await.unwrap();
    assert!(matches!(
        replicas[0].get(db, &ch, refused).await,
        Err(TokenError::Refused(_))
    ));
    replicas[1].invalidate(db, &ch.id, "tok-2").await.unwrap();
    assert_eq!(replicas[1].get(db, &ch, fetch).await.unwrap(), "tok-3");
}

pub async fn window_quota_is_claimed_atomically(db: &DatabaseConnection) {
    let ch = channel(db).await;
    let rules = Rules {
        hours: 48,
        quota: 3,
    };
    // No message from the customer yet: no window.
    assert_eq!(
        window::claim(db, &ch.id, "o1", rules).await.unwrap(),
        Err(Blocked::WindowClosed)
    );
    window::open(db, "t1", &ch.id, "o1").await.unwrap();
    let claims = (0..10).map(|_| window::claim(db, &ch.id, "o1", rules));
    let results: Vec<_> = futures::future::join_all(claims)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        3,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .filter(|r| r.is_err())
            .all(|r| *r == Err(Blocked::QuotaSpent))
    );
    // A failed send gives its claim back; the customer's next message renews the window.
    window::release(db, &ch.id, "o1").await.unwrap();
    assert_eq!(
        window::claim(db, &ch.id, "o1", rules).await.unwrap(),
        Ok(())
    );
    assert_eq!(
        window::claim(db, &ch.id, "o1", rules).await.unwrap(),
        Err(Blocked::QuotaSpent)
    );
    window::open(db, "t1", &ch.id, "o1").await.unwrap();
    assert_eq!(
        window::claim(db, &ch.id, "o1", rules).await.unwrap(),
        Ok(())
    );
    // Past the window's hours it is closed, whatever is left of the quota.
    let closed = Rules { hours: 0, quota: 3 };
    assert_eq!(
        window::claim(db, &ch.id, "o1", closed).await.unwrap(),
        Err(Blocked::WindowClosed)
    );
    // Windows are per customer.
    assert_eq!(
        window::claim(db, &ch.id, "o2", rules).await.unwrap(),
        Err(Blocked::WindowClosed)
    );
}
