//! Ticketing's tables: entities, the migrator, and the repository functions the service uses.
//! Repositories change rows and return what changed; the service (`crate::tickets`) turns
//! that into events. Every query on a tenant's rows starts from its tenant scope.

pub mod entities;
pub mod migration;

use entities::ticket::{self, Priority, Status};
use entities::{ticket_audit, ticket_comment, ticket_counter, ticket_settings, ticket_timer};
use kefu_store::Scoped;
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

/// The next number of `tenant`'s tickets in `year` (1, 2, 3, …). On PostgreSQL the counter row
/// stays locked until the caller's transaction ends, so numbers are never handed out twice.
pub async fn next_number<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    year: i32,
) -> Result<i64, DbErr> {
    ticket_counter::Entity::insert(ticket_counter::ActiveModel {
        tenant_id: Set(tenant.to_owned()),
        year: Set(year),
        last: Set(1),
    })
    .on_conflict(
        OnConflict::columns([
            ticket_counter::Column::TenantId,
            ticket_counter::Column::Year,
        ])
        .value(
            ticket_counter::Column::Last,
            Expr::col((ticket_counter::Entity, ticket_counter::Column::Last)).add(1),
        )
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    let row = ticket_counter::Entity::of_tenant(tenant)
        .filter(ticket_counter::Column::Year.eq(year))
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("ticket counter".into()))?;
    Ok(row.last)
}

pub async fn insert_ticket<C: ConnectionTrait>(db: &C, t: &ticket::Model) -> Result<(), DbErr> {
    ticket::Entity::insert(t.clone().into_active_model())
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Writes every column of `t` (found by tenant and id).
pub async fn save_ticket<C: ConnectionTrait>(db: &C, t: &ticket::Model) -> Result<(), DbErr> {
    let mut am = t.clone().into_active_model();
    am = sea_orm::ActiveModelTrait::reset_all(am);
    ticket::Entity::update_many()
        .set(am)
        .filter(ticket::Column::TenantId.eq(&t.tenant_id))
        .filter(ticket::Column::Id.eq(t.id))
        .exec(db)
        .await?;
    Ok(())
}

/// `tenant`'s ticket by id or number, within `merchant` when one is given; locked for the
/// caller's transaction on PostgreSQL when `lock`.
pub async fn find_ticket<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    merchant: &str,
    key: &str,
    lock: bool,
) -> Result<Option<ticket::Model>, DbErr> {
    let mut q = ticket::Entity::of_tenant(tenant);
    q = match Uuid::parse_str(key) {
        Ok(id) => q.filter(ticket::Column::Id.eq(id)),
        Err(_) => q.filter(ticket::Column::Number.eq(key)),
    };
    if !merchant.is_empty() {
        q = q.filter(ticket::Column::MerchantId.eq(merchant));
    }
    if lock && db.get_database_backend() == DbBackend::Postgres {
        q = q.lock_exclusive();
    }
    q.one(db).await
}

/// The ticket `tenant` created with `key` (a retried create).
pub async fn by_idempotency_key<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    key: &str,
) -> Result<Option<ticket::Model>, DbErr> {
    ticket::Entity::of_tenant(tenant)
        .filter(ticket::Column::IdempotencyKey.eq(key))
        .one(db)
        .await
}

/// The newest ticket linked to `conversation` that is not closed, locked on PostgreSQL.
pub async fn open_for_conversation<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    conversation: &str,
) -> Result<Option<ticket::Model>, DbErr> {
    let mut q = ticket::Entity::of_tenant(tenant)
        .filter(ticket::Column::ConversationId.eq(conversation))
        .filter(ticket::Column::Status.ne(Status::Closed))
        .order_by_desc(ticket::Column::Id);
    if db.get_database_backend() == DbBackend::Postgres {
        q = q.lock_exclusive();
    }
    q.one(db).await
}

pub async fn insert_comment<C: ConnectionTrait>(
    db: &C,
    c: &ticket_comment::Model,
) -> Result<(), DbErr> {
    ticket_comment::Entity::insert(c.clone().into_active_model())
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// A ticket's comments, oldest first.
pub async fn comments<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    ticket: Uuid,
) -> Result<Vec<ticket_comment::Model>, DbErr> {
    ticket_comment::Entity::of_tenant(tenant)
        .filter(ticket_comment::Column::TicketId.eq(ticket))
        .order_by_asc(ticket_comment::Column::Id)
        .all(db)
        .await
}

pub async fn insert_audit<C: ConnectionTrait>(
    db: &C,
    rows: &[ticket_audit::Model],
) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    ticket_audit::Entity::insert_many(rows.iter().map(|r| r.clone().into_active_model()))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// A ticket's audit trail, oldest first.
pub async fn audit<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    ticket: Uuid,
) -> Result<Vec<ticket_audit::Model>, DbErr> {
    ticket_audit::Entity::of_tenant(tenant)
        .filter(ticket_audit::Column::TicketId.eq(ticket))
        .order_by_asc(ticket_audit::Column::Id)
        .all(db)
        .await
}

/// Replaces the ticket's timers with `timers`: (id, kind, metric, due ms).
pub async fn replace_timers<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    ticket: Uuid,
    timers: &[(Uuid, &str, &str, i64)],
) -> Result<(), DbErr> {
    ticket_timer::Entity::delete_many()
        .filter(ticket_timer::Column::TenantId.eq(tenant))
        .filter(ticket_timer::Column::TicketId.eq(ticket))
        .exec(db)
        .await?;
    if timers.is_empty() {
        return Ok(());
    }
    ticket_timer::Entity::insert_many(timers.iter().map(|(id, kind, metric, due)| {
        ticket_timer::ActiveModel {
            id: Set(*id),
            tenant_id: Set(tenant.to_owned()),
            ticket_id: Set(ticket),
            kind: Set((*kind).to_owned()),
            metric: Set((*metric).to_owned()),
            due_at: Set(*due),
        }
    }))
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// A ticket's pending timers, earliest first.
pub async fn timers_of<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    ticket: Uuid,
) -> Result<Vec<ticket_timer::Model>, DbErr> {
    ticket_timer::Entity::of_tenant(tenant)
        .filter(ticket_timer::Column::TicketId.eq(ticket))
        .order_by_asc(ticket_timer::Column::DueAt)
        .all(db)
        .await
}

/// Up to `limit` timers due by `now` (every tenant's: the poller serves them all), earliest
/// first, by the due index.
pub async fn due_timers<C: ConnectionTrait>(
    db: &C,
    now: i64,
    limit: u64,
) -> Result<Vec<ticket_timer::Model>, DbErr> {
    ticket_timer::Entity::find()
        .filter(ticket_timer::Column::DueAt.lte(now))
        .order_by_asc(ticket_timer::Column::DueAt)
        .limit(limit)
        .all(db)
        .await
}

/// The earliest pending timer's instant.
pub async fn next_timer<C: ConnectionTrait>(db: &C) -> Result<Option<i64>, DbErr> {
    Ok(ticket_timer::Entity::find()
        .order_by_asc(ticket_timer::Column::DueAt)
        .one(db)
        .await?
        .map(|t| t.due_at))
}

/// Locks the tickets `ids` of one tenant that no other transaction holds (PostgreSQL: `FOR
/// UPDATE SKIP LOCKED`, in id order), and returns them.
pub async fn lock_tickets<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    ids: &[Uuid],
) -> Result<Vec<ticket::Model>, DbErr> {
    let mut q = ticket::Entity::of_tenant(tenant)
        .filter(ticket::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(ticket::Column::Id);
    if db.get_database_backend() == DbBackend::Postgres {
        q = q.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    q.all(db).await
}

/// Deletes timer `id`; whether it was still there (another replica may have fired it).
pub async fn take_timer<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<bool, DbErr> {
    let r = ticket_timer::Entity::delete_many()
        .filter(ticket_timer::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// What a list asks for.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    pub tenant: String,
    /// Empty: every merchant's and the platform's.
    pub merchant: String,
    pub status: Vec<Status>,
    pub assignee: Option<String>,
    pub group: Option<String>,
    pub requester: Option<String>,
    pub priority: Option<Priority>,
    pub conversation: Option<String>,
    pub unassigned: bool,
    /// Tickets with a running deadline before this (ms).
    pub due_before: Option<i64>,
    /// Newest first, strictly older than this id.
    pub after: Option<Uuid>,
    pub limit: u64,
}

/// One page of tickets, newest first.
pub async fn list<C: ConnectionTrait>(db: &C, f: &ListFilter) -> Result<Vec<ticket::Model>, DbErr> {
    use ticket::Column as T;
    let mut cond = Condition::all();
    if !f.merchant.is_empty() {
        cond = cond.add(T::MerchantId.eq(&f.merchant));
    }
    if !f.status.is_empty() {
        cond = cond.add(T::Status.is_in(f.status.iter().copied()));
    }
    if let Some(a) = &f.assignee {
        cond = cond.add(T::AssigneeId.eq(a));
    }
    if f.unassigned {
        cond = cond.add(T::AssigneeId.eq(""));
    }
    if let Some(g) = &f.group {
        cond = cond.add(T::GroupId.eq(g));
    }
    if let Some(r) = &f.requester {
        cond = cond.add(T::RequesterId.eq(r));
    }
    if let Some(p) = f.priority {
        cond = cond.add(T::Priority.eq(p));
    }
    if let Some(c) = &f.conversation {
        cond = cond.add(T::ConversationId.eq(c));
    }
    if let Some(d) = f.due_before {
        cond = cond.add(T::NextDueAt.lt(d));
    }
    if let Some(after) = f.after {
        cond = cond.add(T::Id.lt(after));
    }
    ticket::Entity::of_tenant(&f.tenant)
        .filter(cond)
        .order_by_desc(T::Id)
        .limit(f.limit)
        .all(db)
        .await
}

/// `tenant`'s settings document and its version, if it has one.
pub async fn settings<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
) -> Result<Option<ticket_settings::Model>, DbErr> {
    ticket_settings::Entity::of_tenant(tenant).one(db).await
}

/// Stores `tenant`'s settings document unless a newer version is stored; whether it was.
pub async fn put_settings<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    document: &str,
    version: i64,
) -> Result<bool, DbErr> {
    if let Some(cur) = settings(db, tenant).await?
        && cur.version >= version
    {
        return Ok(false);
    }
    ticket_settings::Entity::insert(ticket_settings::ActiveModel {
        tenant_id: Set(tenant.to_owned()),
        document: Set(document.to_owned()),
        version: Set(version),
    })
    .on_conflict(
        OnConflict::column(ticket_settings::Column::TenantId)
            .update_columns([
                ticket_settings::Column::Document,
                ticket_settings::Column::Version,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(true)
}
