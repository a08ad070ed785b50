//! Agents: accounts, statuses, loads.

use super::*;
use kefu_store::Scoped;

pub async fn get_agent<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    agent_id: &str,
) -> Result<Option<agent::Model>, StoreError> {
    agent_where(db, tenant_id, agent::Column::Id, agent_id).await
}

pub async fn find_agent_by_login<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    login: &str,
) -> Result<Option<agent::Model>, StoreError> {
    agent_where(db, tenant_id, agent::Column::Login, login).await
}

/// The tenant's agent whose `key` (id or login, each unique in a tenant) is `value`.
async fn agent_where<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    key: agent::Column,
    value: &str,
) -> Result<Option<agent::Model>, StoreError> {
    Ok(agent::Entity::of_tenant(tenant_id)
        .filter(key.eq(value))
        .one(db)
        .await?)
}

/// The tenant's agents, optionally of one merchant only.
pub async fn list_agents<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    merchant: Option<&str>,
) -> Result<Vec<agent::Model>, StoreError> {
    let mut q = agent::Entity::of_tenant(tenant_id);
    if let Some(m) = merchant {
        q = q.filter(agent::Column::MerchantId.eq(m));
    }
    Ok(q.order_by_asc(agent::Column::Id).all(db).await?)
}

/// Creates or replaces an agent. Status, load and assignment history are kept on replace; an
/// empty `password_hash` keeps the current password.
pub async fn put_agent<C: ConnectionTrait>(db: &C, a: agent::Model) -> Result<(), StoreError> {
    let mut update = vec![
        agent::Column::Login,
        agent::Column::DisplayName,
        agent::Column::Role,
        agent::Column::MerchantId,
        agent::Column::Skills,
        agent::Column::Languages,
        agent::Column::Capacity,
    ];
    if !a.password_hash.is_empty() {
        update.push(agent::Column::PasswordHash);
    }
    let row = agent::ActiveModel::from(a);
    agent::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([agent::Column::TenantId, agent::Column::Id])
                .update_columns(update)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

pub async fn delete_agent<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    agent_id: &str,
) -> Result<bool, StoreError> {
    let res = agent::Entity::delete_many()
        .filter(agent::Column::TenantId.eq(tenant_id))
        .filter(agent::Column::Id.eq(agent_id))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Why an agent was not deleted.
#[derive(Debug, PartialEq, Eq)]
pub enum DeleteRefused {
    NotFound,
    /// It still has offered or active conversations.
    HasWork,
}

/// Deletes an agent who has no open work, in one transaction: the agent is set offline first
/// (locking its row, as an offer does), so no offer can land between the check and the delete.
pub async fn delete_idle_agent(
    db: &sea_orm::DatabaseConnection,
    tenant_id: &str,
    agent_id: &str,
) -> Result<Result<(), DeleteRefused>, StoreError> {
    let txn = db.begin().await?;
    let locked = agent::Entity::update_many()
        .col_expr(agent::Column::Status, Expr::value(Presence::Offline))
        .filter(agent::Column::TenantId.eq(tenant_id))
        .filter(agent::Column::Id.eq(agent_id))
        .exec(&txn)
        .await?;
    if locked.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(Err(DeleteRefused::NotFound));
    }
    let open = work_item::Entity::of_tenant(tenant_id)
        .filter(work_item::Column::AgentId.eq(agent_id))
        .filter(work_item::Column::State.is_in(WorkState::OPEN.iter().copied()))
        .count(&txn)
        .await?;
    if open > 0 {
        txn.rollback().await?;
        return Ok(Err(DeleteRefused::HasWork));
    }
    delete_agent(&txn, tenant_id, agent_id).await?;
    txn.commit().await?;
    Ok(Ok(()))
}

/// Sets the agent's status inside the caller's transaction and returns the status it had
/// (`None`: no such agent). The row is locked first (PostgreSQL; SQLite has one writer), so two
/// concurrent changes see each other's result and each reports the change it made.
pub async fn change_status<C: ConnectionTrait>(
    txn: &C,
    tenant_id: &str,
    agent_id: &str,
    status: Presence,
) -> Result<Option<Presence>, StoreError> {
    use sea_orm::sea_query::LockType;
    let mut current = agent::Entity::find()
        .select_only()
        .column(agent::Column::Status)
        .filter(agent::Column::TenantId.eq(tenant_id))
        .filter(agent::Column::Id.eq(agent_id));
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        current = current.lock(LockType::Update);
    }
    let Some(previous) = current.into_tuple::<Presence>().one(txn).await? else {
        return Ok(None);
    };
    agent::Entity::update_many()
        .col_expr(agent::Column::Status, Expr::value(status))
        .col_expr(agent::Column::StatusSince, Expr::value(Utc::now()))
        .filter(agent::Column::TenantId.eq(tenant_id))
        .filter(agent::Column::Id.eq(agent_id))
        .exec(txn)
        .await?;
    Ok(Some(previous))
}

/// Open work (offered or active) per agent and channel type.
pub async fn loads<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
) -> Result<HashMap<String, HashMap<String, u32>>, StoreError> {
    let rows: Vec<(String, String, i64)> = work_item::Entity::find()
        .select_only()
        .column(work_item::Column::AgentId)
        .column(work_item::Column::ChannelType)
        .column_as(work_item::Column::ConversationId.count(), "n")
        .filter(work_item::Column::TenantId.eq(tenant_id))
        .filter(work_item::Column::State.is_in(WorkState::OPEN.iter().copied()))
        .group_by(work_item::Column::AgentId)
        .group_by(work_item::Column::ChannelType)
        .into_tuple()
        .all(db)
        .await?;
    let mut out: HashMap<String, HashMap<String, u32>> = HashMap::new();
    for (agent, channel, n) in rows {
        out.entry(agent)
            .or_default()
            .insert(channel, u32::try_from(n).unwrap_or(u32::MAX));
    }
    Ok(out)
}
