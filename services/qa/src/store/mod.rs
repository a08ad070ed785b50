//! The QA service's repository: each function changes or reads rows of one tenant and returns
//! what changed; the service turns that into events.

pub mod entities;
pub mod migration;

use entities::values::{ConversationStatus, FindingStatus, Origin, ReviewStatus};
use entities::{agent_day, alert, conversation, finding, item, policy, review};
use kefu_store::scope::Scoped;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use std::collections::HashSet;

/// Stores a policy document version; returns whether it was newer than the one stored.
pub async fn put_policy<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    name: &str,
    version: i64,
    spec: &str,
    now: i64,
) -> Result<bool, DbErr> {
    if let Some(stored) = policy::Entity::of_tenant(tenant).one(db).await?
        && stored.version >= version
    {
        return Ok(false);
    }
    policy::Entity::insert(policy::ActiveModel {
        tenant_id: Set(tenant.to_owned()),
        name: Set(name.to_owned()),
        version: Set(version),
        spec: Set(spec.to_owned()),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(policy::Column::TenantId)
            .update_columns([
                policy::Column::Name,
                policy::Column::Version,
                policy::Column::Spec,
                policy::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(true)
}

pub async fn policy<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
) -> Result<Option<policy::Model>, DbErr> {
    policy::Entity::of_tenant(tenant).one(db).await
}

/// Where a conversation was, as its events say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConvRef {
    pub conversation_id: String,
    pub customer_id: String,
    pub merchant_id: String,
    pub channel: String,
}

/// Makes sure each conversation has its row, then locks the rows for this transaction on
/// PostgreSQL, in one order, so two replicas inspecting the same conversation take turns.
pub async fn lock_conversations<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    refs: &[ConvRef],
) -> Result<(), DbErr> {
    let mut refs: Vec<&ConvRef> = refs.iter().collect();
    refs.sort_by(|a, b| a.conversation_id.cmp(&b.conversation_id));
    refs.dedup_by(|a, b| a.conversation_id == b.conversation_id);
    if refs.is_empty() {
        return Ok(());
    }
    for chunk in refs.chunks(200) {
        conversation::Entity::insert_many(chunk.iter().map(|r| conversation::ActiveModel {
            tenant_id: Set(tenant.to_owned()),
            conversation_id: Set(r.conversation_id.clone()),
            merchant_id: Set(r.merchant_id.clone()),
            customer_id: Set(r.customer_id.clone()),
            channel: Set(r.channel.clone()),
            agent_id: Set(String::new()),
            status: Set(ConversationStatus::Open),
            closed_at: Set(None),
            day: Set(String::new()),
            close_reason: Set(String::new()),
            csat: Set(None),
            score: Set(None),
            failed: Set(false),
            categories: Set(Default::default()),
            policy_version: Set(0),
            scored_at: Set(None),
            appeal: Set(entities::values::AppealStatus::None),
            appeal_comment: Set(String::new()),
            appealed_at: Set(None),
            settled_by: Set(String::new()),
            settle_comment: Set(String::new()),
        }))
        .on_conflict(
            OnConflict::columns([
                conversation::Column::TenantId,
                conversation::Column::ConversationId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
        if db.get_database_backend() == DbBackend::Postgres {
            conversation::Entity::of_tenant(tenant)
                .filter(
                    conversation::Column::ConversationId
                        .is_in(chunk.iter().map(|r| r.conversation_id.clone())),
                )
                .order_by_asc(conversation::Column::ConversationId)
                .lock_exclusive()
                .all(db)
                .await?;
        }
    }
    Ok(())
}

pub async fn conversation<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    id: &str,
) -> Result<Option<conversation::Model>, DbErr> {
    conversation::Entity::in_tenant(tenant, (tenant.to_owned(), id.to_owned()))
        .one(db)
        .await
}

pub async fn save_conversation<C: ConnectionTrait>(
    db: &C,
    model: conversation::Model,
) -> Result<(), DbErr> {
    let mut active = model.into_active_model();
    for c in [
        conversation::Column::MerchantId,
        conversation::Column::CustomerId,
        conversation::Column::Channel,
        conversation::Column::AgentId,
        conversation::Column::Status,
        conversation::Column::ClosedAt,
        conversation::Column::Day,
        conversation::Column::CloseReason,
        conversation::Column::Csat,
        conversation::Column::Score,
        conversation::Column::Failed,
        conversation::Column::Categories,
        conversation::Column::PolicyVersion,
        conversation::Column::ScoredAt,
        conversation::Column::Appeal,
        conversation::Column::AppealComment,
        conversation::Column::AppealedAt,
        conversation::Column::SettledBy,
        conversation::Column::SettleComment,
    ] {
        active.reset(c);
    }
    active.update(db).await?;
    Ok(())
}

/// Adds a message or marker; returns whether it is new (a redelivered message is not).
pub async fn add_item<C: ConnectionTrait>(db: &C, row: item::Model) -> Result<bool, DbErr> {
    let n = item::Entity::insert(row.into_active_model())
        .on_conflict(
            OnConflict::columns([
                item::Column::TenantId,
                item::Column::ConversationId,
                item::Column::Item,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(n > 0)
}

pub async fn items<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    conversation_id: &str,
) -> Result<Vec<item::Model>, DbErr> {
    item::Entity::of_tenant(tenant)
        .filter(item::Column::ConversationId.eq(conversation_id))
        .all(db)
        .await
}

pub async fn findings<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    conversation_id: &str,
) -> Result<Vec<finding::Model>, DbErr> {
    finding::Entity::of_tenant(tenant)
        .filter(finding::Column::ConversationId.eq(conversation_id))
        .order_by_asc(finding::Column::CreatedAt)
        .order_by_asc(finding::Column::Id)
        .all(db)
        .await
}

/// Adds findings that are not there yet (by id); returns the ones added.
pub async fn add_findings<C: ConnectionTrait>(
    db: &C,
    rows: Vec<finding::Model>,
) -> Result<Vec<finding::Model>, DbErr> {
    let mut added = Vec::new();
    for row in rows {
        let n = finding::Entity::insert(row.clone().into_active_model())
            .on_conflict(
                OnConflict::column(finding::Column::Id)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
        if n > 0 {
            added.push(row);
        }
    }
    Ok(added)
}

/// Makes the conversation's automatic findings exactly `found` (by id): those no longer found
/// go, new ones are added, and those still found keep their review status.
pub async fn replace_auto_findings<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    conversation_id: &str,
    found: Vec<finding::Model>,
) -> Result<(), DbErr> {
    let keep: HashSet<String> = found.iter().map(|f| f.id.clone()).collect();
    let stale: Vec<String> = findings(db, tenant, conversation_id)
        .await?
        .into_iter()
        .filter(|f| f.origin == Origin::Auto && !keep.contains(&f.id))
        .map(|f| f.id)
        .collect();
    if !stale.is_empty() {
        finding::Entity::delete_many()
            .filter(finding::Column::TenantId.eq(tenant))
            .filter(finding::Column::Id.is_in(stale))
            .exec(db)
            .await?;
    }
    add_findings(db, found).await?;
    Ok(())
}

pub async fn set_finding_status<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    conversation_id: &str,
    id: &str,
    status: FindingStatus,
) -> Result<bool, DbErr> {
    let r = finding::Entity::update_many()
        .col_expr(
            finding::Column::Status,
            sea_orm::sea_query::Expr::value(status.as_str()),
        )
        .filter(finding::Column::TenantId.eq(tenant))
        .filter(finding::Column::ConversationId.eq(conversation_id))
        .filter(finding::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(r.rows_affected > 0)
}

/// Records an alert once per id; returns whether it is new.
pub async fn add_alert<C: ConnectionTrait>(db: &C, row: alert::Model) -> Result<bool, DbErr> {
    let n = alert::Entity::insert(row.into_active_model())
        .on_conflict(
            OnConflict::column(alert::Column::Id)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(n > 0)
}

/// The tenant's latest alerts (within the merchant scope when `merchant` is set).
pub async fn recent_alerts<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    merchant: &str,
    limit: u64,
) -> Result<Vec<alert::Model>, DbErr> {
    let mut q = alert::Entity::of_tenant(tenant);
    if !merchant.is_empty() {
        q = q.filter(alert::Column::MerchantId.eq(merchant));
    }
    q.order_by_desc(alert::Column::RaisedAt)
        .limit(limit)
        .all(db)
        .await
}

/// Recomputes an agent's day from the scored conversations it holds.
pub async fn refresh_agent_day<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    agent: &str,
    day: &str,
) -> Result<(), DbErr> {
    if agent.is_empty() || day.is_empty() {
        return Ok(());
    }
    let rows = conversation::Entity::of_tenant(tenant)
        .filter(conversation::Column::AgentId.eq(agent))
        .filter(conversation::Column::Day.eq(day))
        .all(db)
        .await?;
    let scored: Vec<&conversation::Model> = rows.iter().filter(|c| c.score.is_some()).collect();
    let mut violations = 0i64;
    for c in &scored {
        violations += findings(db, tenant, &c.conversation_id)
            .await?
            .iter()
            .filter(|f| f.status != FindingStatus::Rejected)
            .count() as i64;
    }
    let model = agent_day::ActiveModel {
        tenant_id: Set(tenant.to_owned()),
        agent_id: Set(agent.to_owned()),
        day: Set(day.to_owned()),
        conversations: Set(scored.len() as i64),
        score_sum: Set(scored.iter().map(|c| i64::from(c.score.unwrap_or(0))).sum()),
        failed: Set(scored.iter().filter(|c| c.failed).count() as i64),
        violations: Set(violations),
    };
    agent_day::Entity::insert(model)
        .on_conflict(
            OnConflict::columns([
                agent_day::Column::TenantId,
                agent_day::Column::AgentId,
                agent_day::Column::Day,
            ])
            .update_columns([
                agent_day::Column::Conversations,
                agent_day::Column::ScoreSum,
                agent_day::Column::Failed,
                agent_day::Column::Violations,
            ])
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// An agent's days in `[from, to]` (inclusive `YYYY-MM-DD`).
pub async fn agent_days<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    agent: &str,
    from: &str,
    to: &str,
) -> Result<Vec<agent_day::Model>, DbErr> {
    agent_day::Entity::of_tenant(tenant)
        .filter(agent_day::Column::AgentId.eq(agent))
        .filter(agent_day::Column::Day.gte(from))
        .filter(agent_day::Column::Day.lte(to))
        .order_by_asc(agent_day::Column::Day)
        .all(db)
        .await
}

/// Open conversations an agent serves, of every tenant (the silence sweep's candidates; each is
/// then read within its tenant).
pub async fn open_assigned<C: ConnectionTrait>(
    db: &C,
    limit: u64,
) -> Result<Vec<conversation::Model>, DbErr> {
    conversation::Entity::find()
        .filter(conversation::Column::Status.eq(ConversationStatus::Open))
        .filter(conversation::Column::AgentId.ne(""))
        .order_by_asc(conversation::Column::TenantId)
        .order_by_asc(conversation::Column::ConversationId)
        .limit(limit)
        .all(db)
        .await
}

/// Closed conversations whose close falls on the days `[from, to]`.
pub async fn closed_between<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    from: &str,
    to: &str,
) -> Result<Vec<conversation::Model>, DbErr> {
    conversation::Entity::of_tenant(tenant)
        .filter(conversation::Column::Status.eq(ConversationStatus::Closed))
        .filter(conversation::Column::Day.gte(from))
        .filter(conversation::Column::Day.lte(to))
        .order_by_asc(conversation::Column::ConversationId)
        .all(db)
        .await
}

/// Adds a review assignment unless the conversation has one; returns whether it was added.
pub async fn add_review<C: ConnectionTrait>(db: &C, row: review::Model) -> Result<bool, DbErr> {
    let n = review::Entity::insert(row.into_active_model())
        .on_conflict(
            OnConflict::column(review::Column::Id)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(n > 0)
}

/// How many reviews the tenant has (the round-robin's position).
pub async fn review_count<C: ConnectionTrait>(db: &C, tenant: &str) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    review::Entity::of_tenant(tenant).count(db).await
}

pub async fn review<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    id: &str,
) -> Result<Option<review::Model>, DbErr> {
    review::Entity::in_tenant(tenant, id.to_owned())
        .one(db)
        .await
}

pub async fn review_of<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    conversation_id: &str,
) -> Result<Option<review::Model>, DbErr> {
    review::Entity::of_tenant(tenant)
        .filter(review::Column::ConversationId.eq(conversation_id))
        .one(db)
        .await
}

/// Reviews of the tenant: of one reviewer (when set), in a status (when set).
pub async fn reviews<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    reviewer: Option<&str>,
    merchant: &str,
    status: Option<ReviewStatus>,
) -> Result<Vec<review::Model>, DbErr> {
    let mut q = review::Entity::of_tenant(tenant);
    if let Some(r) = reviewer {
        q = q.filter(review::Column::ReviewerId.eq(r));
    }
    if !merchant.is_empty() {
        q = q.filter(review::Column::MerchantId.eq(merchant));
    }
    if let Some(s) = status {
        q = q.filter(review::Column::Status.eq(s));
    }
    q.order_by_asc(review::Column::CreatedAt)
        .limit(500)
        .all(db)
        .await
}

pub async fn save_review<C: ConnectionTrait>(db: &C, model: review::Model) -> Result<(), DbErr> {
    let mut active = model.into_active_model();
    for c in [
        review::Column::Status,
        review::Column::Comment,
        review::Column::DoneAt,
    ] {
        active.reset(c);
    }
    active.update(db).await?;
    Ok(())
}

/// Per rule: automatic findings confirmed and rejected by reviewers.
pub async fn rule_verdicts<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
) -> Result<std::collections::BTreeMap<String, (u64, u64)>, DbErr> {
    let rows = finding::Entity::of_tenant(tenant)
        .filter(finding::Column::Origin.eq(Origin::Auto))
        .filter(finding::Column::Status.ne(FindingStatus::Open))
        .all(db)
        .await?;
    let mut out = std::collections::BTreeMap::<String, (u64, u64)>::new();
    for f in rows {
        let e = out.entry(f.rule).or_default();
        match f.status {
            FindingStatus::Confirmed => e.0 += 1,
            FindingStatus::Rejected => e.1 += 1,
            FindingStatus::Open => {}
        }
    }
    Ok(out)
}
