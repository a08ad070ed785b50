//! Analytics' tables: entities, the migrator, and the repository functions the ingest, the
//! queries and the checks use. Every query on a tenant's rows starts from its tenant scope.

pub mod entities;
pub mod facts;
pub mod migration;
pub mod rollups;

use crate::conversation::{ConvState, Segment};
use crate::settings::{Rule, Settings};
use entities::{agent_segment, agent_status, conversation_state, queue_target, report_settings};
use kefu_store::Scoped;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter,
    QuerySelect,
};
use std::collections::HashMap;

const CHUNK: usize = 300;

/// The stored states of these conversations of `tenant`, locked for this transaction on
/// PostgreSQL (two replicas folding the same conversation take turns).
pub async fn load_states<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    ids: &[String],
) -> Result<HashMap<String, ConvState>, DbErr> {
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = HashMap::with_capacity(sorted.len());
    for chunk in sorted.chunks(CHUNK) {
        let mut q = conversation_state::Entity::of_tenant(tenant)
            .filter(conversation_state::Column::ConversationId.is_in(chunk.iter().cloned()));
        if db.get_database_backend() == DbBackend::Postgres {
            q = q.lock_exclusive();
        }
        for row in q.all(db).await? {
            let state: ConvState = serde_json::from_str(&row.state).unwrap_or_default();
            out.insert(row.conversation_id, state);
        }
    }
    Ok(out)
}

/// The stored states of these conversations, without locking them (the check reads them).
pub async fn load_states_unlocked<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    ids: &[String],
) -> Result<HashMap<String, ConvState>, DbErr> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        for row in conversation_state::Entity::of_tenant(tenant)
            .filter(conversation_state::Column::ConversationId.is_in(chunk.iter().cloned()))
            .all(db)
            .await?
        {
            let state: ConvState = serde_json::from_str(&row.state).unwrap_or_default();
            out.insert(row.conversation_id, state);
        }
    }
    Ok(out)
}

/// A state as stored, with the columns it is looked up by.
pub struct StateRow<'a> {
    pub conversation_id: &'a str,
    pub state: &'a ConvState,
    pub settle_at: Option<i64>,
}

/// Writes conversations' states (replacing what is stored).
pub async fn save_states<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    rows: &[StateRow<'_>],
) -> Result<(), DbErr> {
    let models: Vec<conversation_state::ActiveModel> = rows
        .iter()
        .map(|r| {
            let s = r.state;
            let (first, last) = s.span().unwrap_or((0, 0));
            let (queue, since) = s.waiting().unwrap_or_default();
            conversation_state::ActiveModel {
                tenant_id: Set(tenant.to_owned()),
                conversation_id: Set(r.conversation_id.to_owned()),
                customer_id: Set(s.customer.clone()),
                merchant_id: Set(s.merchant.v.clone()),
                state: Set(serde_json::to_string(s).expect("a state serializes")),
                first_at: Set(first),
                last_at: Set(last),
                settle_at: Set(r.settle_at),
                waiting_queue: Set(queue),
                waiting_since: Set(since),
                serving: Set(s.serving().join(",")),
            }
        })
        .collect();
    for chunk in models.chunks(CHUNK) {
        conversation_state::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([
                    conversation_state::Column::TenantId,
                    conversation_state::Column::ConversationId,
                ])
                .update_columns([
                    conversation_state::Column::CustomerId,
                    conversation_state::Column::MerchantId,
                    conversation_state::Column::State,
                    conversation_state::Column::FirstAt,
                    conversation_state::Column::LastAt,
                    conversation_state::Column::SettleAt,
                    conversation_state::Column::WaitingQueue,
                    conversation_state::Column::WaitingSince,
                    conversation_state::Column::Serving,
                ])
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Conversations of these customers whose activity reaches into `[from, to]`: a message of the
/// customer then may be a return for them.
pub async fn conversations_near<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    customers: &[String],
    from: i64,
    to: i64,
) -> Result<Vec<String>, DbErr> {
    let mut out = Vec::new();
    for chunk in customers.chunks(CHUNK) {
        let ids: Vec<String> = conversation_state::Entity::of_tenant(tenant)
            .select_only()
            .column(conversation_state::Column::ConversationId)
            .filter(conversation_state::Column::CustomerId.is_in(chunk.iter().cloned()))
            .filter(conversation_state::Column::LastAt.gte(from))
            .filter(conversation_state::Column::FirstAt.lte(to))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(ids);
    }
    Ok(out)
}

/// Conversations whose contributions may change by now through the passing of time alone.
pub async fn due_to_settle<C: ConnectionTrait>(
    db: &C,
    now: i64,
    limit: u64,
) -> Result<Vec<(String, String)>, DbErr> {
    conversation_state::Entity::find()
        .select_only()
        .column(conversation_state::Column::TenantId)
        .column(conversation_state::Column::ConversationId)
        .filter(conversation_state::Column::SettleAt.lte(now))
        .limit(limit)
        .into_tuple()
        .all(db)
        .await
}

/// Replaces the agents' segments of these conversations; returns the segments they had.
pub async fn replace_segments<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    segments: &HashMap<String, Vec<Segment>>,
) -> Result<Vec<agent_segment::Model>, DbErr> {
    let ids: Vec<String> = segments.keys().cloned().collect();
    let mut old = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        old.extend(
            agent_segment::Entity::of_tenant(tenant)
                .filter(agent_segment::Column::ConversationId.is_in(chunk.iter().cloned()))
                .all(db)
                .await?,
        );
        agent_segment::Entity::delete_many()
            .filter(agent_segment::Column::TenantId.eq(tenant))
            .filter(agent_segment::Column::ConversationId.is_in(chunk.iter().cloned()))
            .exec(db)
            .await?;
    }
    let rows: Vec<agent_segment::ActiveModel> = segments
        .iter()
        .flat_map(|(c, segs)| {
            segs.iter().map(move |s| agent_segment::ActiveModel {
                tenant_id: Set(tenant.to_owned()),
                conversation_id: Set(c.clone()),
                agent_id: Set(s.agent.clone()),
                start_at: Set(s.start),
                end_at: Set(s.end),
            })
        })
        .collect();
    for chunk in rows.chunks(CHUNK) {
        agent_segment::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([
                    agent_segment::Column::TenantId,
                    agent_segment::Column::ConversationId,
                    agent_segment::Column::AgentId,
                    agent_segment::Column::StartAt,
                ])
                .update_column(agent_segment::Column::EndAt)
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(old)
}

/// Records agents' latest statuses: a change replaces the stored one only if it is later.
pub async fn put_statuses<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    latest: &[(String, String, String, i64)],
) -> Result<(), DbErr> {
    for (agent, merchant, status, at) in latest {
        let current = agent_status::Entity::get(db, tenant, (tenant.to_owned(), agent.clone()))
            .await
            .map_err(|e| DbErr::Custom(e.to_string()))?;
        if current.as_ref().is_some_and(|c| c.since > *at) {
            continue;
        }
        agent_status::Entity::insert(agent_status::ActiveModel {
            tenant_id: Set(tenant.to_owned()),
            agent_id: Set(agent.clone()),
            merchant_id: Set(merchant.clone()),
            status: Set(status.clone()),
            since: Set(*at),
        })
        .on_conflict(
            OnConflict::columns([
                agent_status::Column::TenantId,
                agent_status::Column::AgentId,
            ])
            .update_columns([
                agent_status::Column::MerchantId,
                agent_status::Column::Status,
                agent_status::Column::Since,
            ])
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

/// A tenant's reporting settings (the defaults until its Tenant document says otherwise).
pub async fn settings<C: ConnectionTrait>(db: &C, tenant: &str) -> Result<Settings, DbErr> {
    let mut s = Settings::default();
    if let Some(r) = report_settings::Entity::get(db, tenant, tenant.to_owned())
        .await
        .map_err(|e| DbErr::Custom(e.to_string()))?
    {
        s.zone = r.time_zone.parse().unwrap_or(chrono_tz::Tz::UTC);
        s.attribution_window_s = r.attribution_window_s;
        s.rule = Rule::parse(&r.attribution_rule).unwrap_or_default();
        s.short_abandon_s = r.short_abandon_s;
    }
    for q in queue_target::Entity::of_tenant(tenant)
        .filter(queue_target::Column::Deleted.eq(false))
        .all(db)
        .await?
    {
        s.targets.insert(q.queue_id, q.target_s);
    }
    Ok(s)
}

/// Stores a Tenant document's settings if `version` is newer than the stored one; returns
/// whether it was.
pub async fn put_settings<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    s: &Settings,
    version: i64,
) -> Result<bool, DbErr> {
    let current = report_settings::Entity::get(db, tenant, tenant.to_owned())
        .await
        .map_err(|e| DbErr::Custom(e.to_string()))?;
    if current.is_some_and(|c| c.version >= version) {
        return Ok(false);
    }
    report_settings::Entity::insert(report_settings::ActiveModel {
        tenant_id: Set(tenant.to_owned()),
        time_zone: Set(s.zone.name().to_owned()),
        attribution_window_s: Set(s.attribution_window_s),
        attribution_rule: Set(s.rule.as_str().to_owned()),
        short_abandon_s: Set(s.short_abandon_s),
        version: Set(version),
    })
    .on_conflict(
        OnConflict::column(report_settings::Column::TenantId)
            .update_columns([
                report_settings::Column::TimeZone,
                report_settings::Column::AttributionWindowS,
                report_settings::Column::AttributionRule,
                report_settings::Column::ShortAbandonS,
                report_settings::Column::Version,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(true)
}

/// Stores a Queue document's target (or its deletion) if `version` is newer.
pub async fn put_target<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    queue: &str,
    target_s: Option<i64>,
    version: i64,
) -> Result<bool, DbErr> {
    let current = queue_target::Entity::get(db, tenant, (tenant.to_owned(), queue.to_owned()))
        .await
        .map_err(|e| DbErr::Custom(e.to_string()))?;
    if current.is_some_and(|c| c.version >= version) {
        return Ok(false);
    }
    queue_target::Entity::insert(queue_target::ActiveModel {
        tenant_id: Set(tenant.to_owned()),
        queue_id: Set(queue.to_owned()),
        target_s: Set(target_s.unwrap_or(crate::settings::DEFAULT_TARGET_S)),
        version: Set(version),
        deleted: Set(target_s.is_none()),
    })
    .on_conflict(
        OnConflict::columns([
            queue_target::Column::TenantId,
            queue_target::Column::QueueId,
        ])
        .update_columns([
            queue_target::Column::TargetS,
            queue_target::Column::Version,
            queue_target::Column::Deleted,
        ])
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(true)
}
