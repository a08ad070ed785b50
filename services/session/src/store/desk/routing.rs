//! Routing documents, routing leases and wake-ups.

use super::*;
use kefu_store::Scoped;

/// Stores (or, when `deleted`, removes) a routing document unless a newer version is stored.
pub async fn put_routing_config<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    kind: &str,
    name: &str,
    version: i64,
    spec_json: Option<&str>,
) -> Result<bool, StoreError> {
    let current = routing_config::Entity::find_by_id((
        tenant_id.to_owned(),
        kind.to_owned(),
        name.to_owned(),
    ))
    .one(db)
    .await?;
    if current.as_ref().is_some_and(|c| c.version >= version) {
        return Ok(false);
    }
    let row = routing_config::ActiveModel {
        tenant_id: Set(tenant_id.to_owned()),
        kind: Set(kind.to_owned()),
        name: Set(name.to_owned()),
        // A deletion is kept as an empty document, so an older announcement cannot revive it.
        spec_json: Set(spec_json.unwrap_or("").to_owned()),
        version: Set(version),
    };
    routing_config::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                routing_config::Column::TenantId,
                routing_config::Column::Kind,
                routing_config::Column::Name,
            ])
            .update_columns([
                routing_config::Column::SpecJson,
                routing_config::Column::Version,
            ])
            // Two consumers racing: the older announcement never overwrites the newer.
            .action_and_where(
                Expr::col((routing_config::Entity, routing_config::Column::Version)).lt(version),
            )
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(true)
}

/// The tenant's live routing documents of one kind: (name, spec JSON).
pub async fn routing_configs<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
) -> Result<Vec<routing_config::Model>, StoreError> {
    Ok(routing_config::Entity::of_tenant(tenant_id)
        .filter(routing_config::Column::SpecJson.ne(""))
        .order_by_asc(routing_config::Column::Name)
        .all(db)
        .await?)
}

// ---------------------------------------------------------------- leases and wake-ups

/// Marks the tenant's routing state as changed, so whichever replica decides for it routes
/// again. Called after the change committed; it is a hint (the decider also routes on a timer).
pub async fn touch<C: ConnectionTrait>(db: &C, tenant_id: &str) -> Result<(), StoreError> {
    routing_tenant::Entity::insert(routing_tenant::ActiveModel {
        tenant_id: Set(tenant_id.to_owned()),
        version: Set(1),
        holder: Set(String::new()),
        lease_expires_ms: Set(0),
    })
    .on_conflict(
        OnConflict::column(routing_tenant::Column::TenantId)
            .value(
                routing_tenant::Column::Version,
                Expr::col((routing_tenant::Entity, routing_tenant::Column::Version)).add(1),
            )
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

pub async fn routing_tenants<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<routing_tenant::Model>, StoreError> {
    Ok(routing_tenant::Entity::find().all(db).await?)
}

/// Takes or renews the tenant's routing lease for `holder` until `now_ms + ttl_ms`. Succeeds
/// only when the lease is free, expired, or already `holder`'s.
pub async fn acquire_lease<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    holder: &str,
    now_ms: i64,
    ttl_ms: i64,
) -> Result<bool, StoreError> {
    let res = routing_tenant::Entity::update_many()
        .col_expr(routing_tenant::Column::Holder, Expr::value(holder))
        .col_expr(
            routing_tenant::Column::LeaseExpiresMs,
            Expr::value(now_ms + ttl_ms),
        )
        .filter(routing_tenant::Column::TenantId.eq(tenant_id))
        .filter(
            sea_orm::Condition::any()
                .add(routing_tenant::Column::Holder.eq(holder))
                .add(routing_tenant::Column::LeaseExpiresMs.lt(now_ms)),
        )
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Gives up every lease `holder` has (a replica that stops lets another take over at once).
pub async fn release_leases<C: ConnectionTrait>(db: &C, holder: &str) -> Result<(), StoreError> {
    routing_tenant::Entity::update_many()
        .col_expr(routing_tenant::Column::Holder, Expr::value(""))
        .col_expr(routing_tenant::Column::LeaseExpiresMs, Expr::value(0i64))
        .filter(routing_tenant::Column::Holder.eq(holder))
        .exec(db)
        .await?;
    Ok(())
}
