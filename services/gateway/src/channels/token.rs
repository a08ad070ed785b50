//! Provider access tokens (WeChat's `cgi-bin/token`, WeCom's `gettoken`, Douyin's client
//! token), fetched once per expiry across every replica: the token lives in `channel_tokens`,
//! and a replica that finds it expiring takes a short lease on the row before it fetches; the
//! others wait for the new token instead of fetching their own (providers limit fetches, and
//! each fetch invalidates the previous token a few minutes later). Each replica keeps the
//! token in memory until it nears expiry, so a send costs no query.

use crate::store::entities::{channel, channel_token};
use chrono::{DateTime, Duration as Span, Utc};
use kefu_store::StoreError;
use kefu_store::sea_orm::sea_query::{Expr, ExprTrait};
use kefu_store::sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// A token is renewed this long before it expires (WeChat keeps the old one valid five
/// minutes after a renewal, so in-flight sends still succeed).
const RENEW_BEFORE: Span = Span::seconds(300);
/// How long a replica may take to fetch before another may try.
const LEASE: Span = Span::seconds(15);
/// How long a send waits for another replica's fetch.
const WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the provider refused a token: {0}")]
    Refused(String),
    #[error("the provider is unreachable: {0}")]
    Unreachable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no token within {0:?}: another replica's fetch is taking long")]
    Timeout(Duration),
}

impl TokenError {
    /// Whether a later attempt may get one.
    pub fn is_transient(&self) -> bool {
        !matches!(self, Self::Refused(_))
    }
}

/// A fetched token and its lifetime in seconds.
pub struct Fetched {
    pub token: String,
    pub expires_in: i64,
}

/// A token this replica holds, and when it expires.
type Cached = (String, DateTime<Utc>);

#[derive(Clone)]
pub struct Tokens {
    /// This replica, as a lease owner.
    owner: String,
    cache: Arc<RwLock<HashMap<String, Cached>>>,
}

impl Default for Tokens {
    fn default() -> Self {
        Self {
            owner: uuid::Uuid::new_v4().to_string(),
            cache: Arc::default(),
        }
    }
}

fn usable(expires_at: DateTime<Utc>) -> bool {
    expires_at - RENEW_BEFORE > Utc::now()
}

fn epoch() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH
}

impl Tokens {
    /// The channel's token: cached, stored, or fetched with `fetch` under the lease.
    pub async fn get<F, Fut>(
        &self,
        db: &DatabaseConnection,
        channel: &channel::Model,
        fetch: F,
    ) -> Result<String, TokenError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Fetched, TokenError>>,
    {
        if let Some((token, at)) = self.cache.read().expect("token cache").get(&channel.id)
            && usable(*at)
        {
            return Ok(token.clone());
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let row = self.row(db, channel).await?;
            if !row.token.is_empty() && usable(row.expires_at) {
                self.remember(&channel.id, &row.token, row.expires_at);
                return Ok(row.token);
            }
            if self.take_lease(db, &channel.id).await? {
                return self.fetch_under_lease(db, channel, fetch).await;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(TokenError::Timeout(WAIT));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Forgets `token` when the provider says it is no longer valid (another system renewed
    /// it, or it was revoked), so the next `get` fetches; a token already replaced is left.
    pub async fn invalidate(
        &self,
        db: &DatabaseConnection,
        channel_id: &str,
        token: &str,
    ) -> Result<(), StoreError> {
        {
            let mut cache = self.cache.write().expect("token cache");
            if cache.get(channel_id).is_some_and(|(t, _)| t == token) {
                cache.remove(channel_id);
            }
        }
        channel_token::Entity::update_many()
            .col_expr(channel_token::Column::ExpiresAt, Expr::value(epoch()))
            .filter(channel_token::Column::ChannelId.eq(channel_id))
            .filter(channel_token::Column::Token.eq(token))
            .exec(db)
            .await?;
        Ok(())
    }

    fn remember(&self, channel_id: &str, token: &str, expires_at: DateTime<Utc>) {
        let mut cache = self.cache.write().expect("token cache");
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(channel_id.to_owned(), (token.to_owned(), expires_at));
    }

    /// The channel's row, created empty on first use.
    async fn row(
        &self,
        db: &DatabaseConnection,
        channel: &channel::Model,
    ) -> Result<channel_token::Model, StoreError> {
        if let Some(row) = channel_token::Entity::find_by_id(channel.id.clone())
            .one(db)
            .await?
        {
            return Ok(row);
        }
        let empty = channel_token::ActiveModel {
            channel_id: Set(channel.id.clone()),
            tenant_id: Set(channel.tenant_id.clone()),
            token: Set(String::new()),
            expires_at: Set(epoch()),
            lease_owner: Set(String::new()),
            lease_until: Set(epoch()),
            fetches: Set(0),
            updated_at: Set(Utc::now()),
        };
        channel_token::Entity::insert(empty)
            .on_conflict_do_nothing()
            .exec_without_returning(db)
            .await?;
        channel_token::Entity::find_by_id(channel.id.clone())
            .one(db)
            .await?
            .ok_or_else(|| StoreError::Conflict("token row vanished".into()))
    }

    /// Takes the fetch lease if no other replica holds it and the token still needs renewing.
    async fn take_lease(
        &self,
        db: &DatabaseConnection,
        channel_id: &str,
    ) -> Result<bool, StoreError> {
        let now = Utc::now();
        let taken = channel_token::Entity::update_many()
            .col_expr(
                channel_token::Column::LeaseOwner,
                Expr::value(self.owner.clone()),
            )
            .col_expr(channel_token::Column::LeaseUntil, Expr::value(now + LEASE))
            .filter(channel_token::Column::ChannelId.eq(channel_id))
            .filter(channel_token::Column::LeaseUntil.lt(now))
            .filter(channel_token::Column::ExpiresAt.lt(now + RENEW_BEFORE))
            .exec(db)
            .await?;
        Ok(taken.rows_affected == 1)
    }

    async fn fetch_under_lease<F, Fut>(
        &self,
        db: &DatabaseConnection,
        channel: &channel::Model,
        fetch: F,
    ) -> Result<String, TokenError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Fetched, TokenError>>,
    {
        let fetched = fetch().await;
        let now = Utc::now();
        let mut update = channel_token::Entity::update_many()
            .col_expr(channel_token::Column::LeaseUntil, Expr::value(epoch()))
            .col_expr(channel_token::Column::UpdatedAt, Expr::value(now))
            .filter(channel_token::Column::ChannelId.eq(channel.id.as_str()))
            .filter(channel_token::Column::LeaseOwner.eq(self.owner.as_str()));
        let result = match fetched {
            Ok(f) => {
                // Never trust a lifetime blindly: at least a minute past the renewal margin,
                // at most a day.
                let expires_at = now + Span::seconds(f.expires_in.clamp(360, 86_400));
                update = update
                    .col_expr(channel_token::Column::Token, Expr::value(f.token.clone()))
                    .col_expr(channel_token::Column::ExpiresAt, Expr::value(expires_at))
                    .col_expr(
                        channel_token::Column::Fetches,
                        Expr::col(channel_token::Column::Fetches).add(1),
                    );
                self.remember(&channel.id, &f.token, expires_at);
                tracing::info!(channel = %channel.id, "fetched a provider access token");
                Ok(f.token)
            }
            Err(e) => Err(e),
        };
        update.exec(db).await.map_err(StoreError::from)?;
        result
    }
}
