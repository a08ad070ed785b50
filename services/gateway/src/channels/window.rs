//! Customers' service windows on channels whose provider limits replies: WeChat (and WeChat
//! Customer Service, Douyin) accept messages to a customer only within so many hours of the
//! customer's last message, and only so many within one window. The window opens (again) with
//! each inbound message; each send claims one message of its quota atomically in the database,
//! so replicas never send more than the quota together; a send that fails gives its claim back.

use crate::store::entities::channel_contact;
use chrono::{Duration as Span, Utc};
use kefu_store::StoreError;
use kefu_store::sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use kefu_store::sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
};

/// A provider's window: its length and the messages allowed within it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    pub hours: u32,
    pub quota: u32,
}

/// Why a reply may not be sent now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blocked {
    /// The customer's last message is older than the window.
    WindowClosed,
    /// The window's messages are used up.
    QuotaSpent,
}

impl Blocked {
    /// The reason's code in `message.undeliverable`.
    pub fn code(self) -> &'static str {
        match self {
            Blocked::WindowClosed => "window_closed",
            Blocked::QuotaSpent => "quota_exhausted",
        }
    }
}

/// The customer wrote: their window opens now with its whole quota.
pub async fn open(
    db: &DatabaseConnection,
    tenant_id: &str,
    channel_id: &str,
    user: &str,
) -> Result<(), StoreError> {
    let row = channel_contact::ActiveModel {
        channel_id: Set(channel_id.to_owned()),
        external_user_id: Set(user.to_owned()),
        tenant_id: Set(tenant_id.to_owned()),
        opened_at: Set(Utc::now()),
        sent: Set(0),
        unionid: Set(String::new()),
        looked_up_at: Set(None),
    };
    channel_contact::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                channel_contact::Column::ChannelId,
                channel_contact::Column::ExternalUserId,
            ])
            .update_columns([
                channel_contact::Column::OpenedAt,
                channel_contact::Column::Sent,
            ])
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Claims one message of the customer's window, or says why there is none.
pub async fn claim(
    db: &DatabaseConnection,
    channel_id: &str,
    user: &str,
    rules: Rules,
) -> Result<Result<(), Blocked>, StoreError> {
    let since = Utc::now() - Span::hours(i64::from(rules.hours));
    let claimed = channel_contact::Entity::update_many()
        .col_expr(
            channel_contact::Column::Sent,
            Expr::col(channel_contact::Column::Sent).add(1),
        )
        .filter(channel_contact::Column::ChannelId.eq(channel_id))
        .filter(channel_contact::Column::ExternalUserId.eq(user))
        .filter(channel_contact::Column::OpenedAt.gt(since))
        .filter(channel_contact::Column::Sent.lt(rules.quota as i32))
        .exec(db)
        .await?;
    if claimed.rows_affected == 1 {
        return Ok(Ok(()));
    }
    let row = channel_contact::Entity::find_by_id((channel_id.to_owned(), user.to_owned()))
        .one(db)
        .await?;
    Ok(Err(match row {
        Some(w) if w.opened_at > since => Blocked::QuotaSpent,
        _ => Blocked::WindowClosed,
    }))
}

/// Gives back a claim whose send failed.
pub async fn release(
    db: &DatabaseConnection,
    channel_id: &str,
    user: &str,
) -> Result<(), StoreError> {
    channel_contact::Entity::update_many()
        .col_expr(
            channel_contact::Column::Sent,
            Expr::col(channel_contact::Column::Sent).sub(1),
        )
        .filter(channel_contact::Column::ChannelId.eq(channel_id))
        .filter(channel_contact::Column::ExternalUserId.eq(user))
        .filter(channel_contact::Column::Sent.gt(0))
        .exec(db)
        .await?;
    Ok(())
}

/// What the provider told about the customer, when it was last asked: `(unionid, when)`.
pub async fn looked_up(
    db: &DatabaseConnection,
    channel_id: &str,
    user: &str,
) -> Result<Option<(String, chrono::DateTime<Utc>)>, StoreError> {
    Ok(
        channel_contact::Entity::find_by_id((channel_id.to_owned(), user.to_owned()))
            .one(db)
            .await?
            .and_then(|c| c.looked_up_at.map(|at| (c.unionid, at))),
    )
}

/// Remembers what the provider told about the customer (after [`open`] made the row).
pub async fn remember_lookup(
    db: &DatabaseConnection,
    channel_id: &str,
    user: &str,
    unionid: &str,
) -> Result<(), StoreError> {
    channel_contact::Entity::update_many()
        .col_expr(channel_contact::Column::Unionid, Expr::value(unionid))
        .col_expr(
            channel_contact::Column::LookedUpAt,
            Expr::value(Some(Utc::now())),
        )
        .filter(channel_contact::Column::ChannelId.eq(channel_id))
        .filter(channel_contact::Column::ExternalUserId.eq(user))
        .exec(db)
        .await?;
    Ok(())
}
