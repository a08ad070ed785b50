//! Pulling from a provider that keeps the messages (WeChat Customer Service): one pull at a
//! time per channel across the replicas, from the stored cursor (`channel_cursors`). A
//! callback during a pull marks the channel pending instead of pulling too, and the pull runs
//! again before it lets go of its lease.

use crate::store::entities::{channel, channel_cursor};
use chrono::{DateTime, Duration as Span, Utc};
use kefu_store::StoreError;
use kefu_store::sea_orm::sea_query::Expr;
use kefu_store::sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
};

/// How long one pull may hold the channel before another may take over (it is renewed with
/// each page).
pub const LEASE: Span = Span::seconds(30);

fn epoch() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH
}

/// How a round of pulling ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Finish {
    /// Nothing more was announced: the lease is released.
    Done,
    /// A callback came during the round: pull again.
    Again,
    /// Another pull took the channel over (this one was too slow): stop.
    Lost,
}

/// One pull's hold on a channel.
pub struct Lease {
    pub channel_id: String,
    owner: String,
}

/// Announces new messages and takes the pull if no one holds it: `Some` with the stored
/// cursor when this caller must pull, `None` when a running pull will read them.
pub async fn begin(
    db: &DatabaseConnection,
    channel: &channel::Model,
) -> Result<Option<(Lease, String)>, StoreError> {
    let empty = channel_cursor::ActiveModel {
        channel_id: Set(channel.id.clone()),
        tenant_id: Set(channel.tenant_id.clone()),
        cursor: Set(String::new()),
        pending: Set(false),
        lease_owner: Set(String::new()),
        lease_until: Set(epoch()),
        updated_at: Set(Utc::now()),
    };
    channel_cursor::Entity::insert(empty)
        .on_conflict_do_nothing()
        .exec_without_returning(db)
        .await?;
    channel_cursor::Entity::update_many()
        .col_expr(channel_cursor::Column::Pending, Expr::value(true))
        .filter(channel_cursor::Column::ChannelId.eq(channel.id.as_str()))
        .exec(db)
        .await?;
    let lease = Lease {
        channel_id: channel.id.clone(),
        owner: uuid::Uuid::new_v4().to_string(),
    };
    let now = Utc::now();
    let taken = channel_cursor::Entity::update_many()
        .col_expr(
            channel_cursor::Column::LeaseOwner,
            Expr::value(lease.owner.clone()),
        )
        .col_expr(channel_cursor::Column::LeaseUntil, Expr::value(now + LEASE))
        .filter(channel_cursor::Column::ChannelId.eq(channel.id.as_str()))
        .filter(channel_cursor::Column::LeaseUntil.lt(now))
        .exec(db)
        .await?;
    if taken.rows_affected != 1 {
        return Ok(None);
    }
    let cursor = lease.cursor(db).await?;
    Ok(Some((lease, cursor)))
}

impl Lease {
    async fn cursor(&self, db: &DatabaseConnection) -> Result<String, StoreError> {
        Ok(channel_cursor::Entity::find_by_id(self.channel_id.clone())
            .one(db)
            .await?
            .map(|c| c.cursor)
            .unwrap_or_default())
    }

    /// Starts a round: what was pending is now being read.
    pub async fn round(&self, db: &DatabaseConnection) -> Result<(), StoreError> {
        channel_cursor::Entity::update_many()
            .col_expr(channel_cursor::Column::Pending, Expr::value(false))
            .col_expr(
                channel_cursor::Column::LeaseUntil,
                Expr::value(Utc::now() + LEASE),
            )
            .filter(channel_cursor::Column::ChannelId.eq(self.channel_id.as_str()))
            .filter(channel_cursor::Column::LeaseOwner.eq(self.owner.as_str()))
            .exec(db)
            .await?;
        Ok(())
    }

    /// Stores the cursor after a page whose messages are stored, renewing the lease; `false`
    /// when the lease was lost (another pull took over; this one stops).
    pub async fn save(&self, db: &DatabaseConnection, cursor: &str) -> Result<bool, StoreError> {
        let now = Utc::now();
        let saved = channel_cursor::Entity::update_many()
            .col_expr(channel_cursor::Column::Cursor, Expr::value(cursor))
            .col_expr(channel_cursor::Column::LeaseUntil, Expr::value(now + LEASE))
            .col_expr(channel_cursor::Column::UpdatedAt, Expr::value(now))
            .filter(channel_cursor::Column::ChannelId.eq(self.channel_id.as_str()))
            .filter(channel_cursor::Column::LeaseOwner.eq(self.owner.as_str()))
            .exec(db)
            .await?;
        Ok(saved.rows_affected == 1)
    }

    /// Lets go if nothing was announced during the round.
    pub async fn finish(&self, db: &DatabaseConnection) -> Result<Finish, StoreError> {
        let released = channel_cursor::Entity::update_many()
            .col_expr(channel_cursor::Column::LeaseUntil, Expr::value(epoch()))
            .filter(channel_cursor::Column::ChannelId.eq(self.channel_id.as_str()))
            .filter(channel_cursor::Column::LeaseOwner.eq(self.owner.as_str()))
            .filter(channel_cursor::Column::Pending.eq(false))
            .exec(db)
            .await?;
        if released.rows_affected == 1 {
            return Ok(Finish::Done);
        }
        let row = channel_cursor::Entity::find_by_id(self.channel_id.clone())
            .one(db)
            .await?;
        Ok(match row {
            Some(r) if r.lease_owner == self.owner => Finish::Again,
            _ => Finish::Lost,
        })
    }

    /// Lets go after a failure, leaving the channel pending for the next callback or retry.
    pub async fn abandon(&self, db: &DatabaseConnection) -> Result<(), StoreError> {
        channel_cursor::Entity::update_many()
            .col_expr(channel_cursor::Column::LeaseUntil, Expr::value(epoch()))
            .col_expr(channel_cursor::Column::Pending, Expr::value(true))
            .filter(channel_cursor::Column::ChannelId.eq(self.channel_id.as_str()))
            .filter(channel_cursor::Column::LeaseOwner.eq(self.owner.as_str()))
            .exec(db)
            .await?;
        Ok(())
    }

    /// The cursor now stored.
    pub async fn current(&self, db: &DatabaseConnection) -> Result<String, StoreError> {
        self.cursor(db).await
    }
}
