//! Queues as admins manage them from the desk. A queue is the tenant's `Queue` config document —
//! the same one `kefu apply` and the operator write — so a queue made here and one made from
//! YAML are one thing, validated by one schema and announced to the session the same way.

use super::auth::{Actor, Role};
use super::{DeskErrors, JsonBody};
use crate::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct QueuePath {
    pub tenant_id: String,
    /// The queue's name (`a-z0-9_-`, 1–64).
    pub name: String,
}

/// The merchant a stored queue belongs to ("" for the platform's), if the queue exists.
async fn stored_merchant(
    state: &AppState,
    tenant: &str,
    name: &str,
) -> Result<Option<String>, ApiError> {
    let row = crate::store::tenant_config::get(&state.db, tenant, "queue", name).await?;
    Ok(row.map(|r| {
        serde_json::from_str::<kefu_crd::QueueSpec>(&r.spec)
            .ok()
            .and_then(|q| q.merchant)
            .unwrap_or_default()
    }))
}

/// Creates or replaces a queue (admin). The body is the Queue spec (`skills`, `languages`,
/// `sla`, `timeoutSeconds`, `merchant`, `overflow`); `tenant` may be left out. A merchant's
/// admin manages only that merchant's queues.
#[utoipa::path(put, path = "/v1/tenants/{tenant_id}/queues/{name}", tag = "queues",
    params(QueuePath), request_body = Object,
    responses((status = 200, description = "The stored spec", body = Object), DeskErrors),
    security(("bearer" = [])))]
pub async fn put_queue(
    State(state): State<AppState>,
    actor: Actor,
    Path(p): Path<QueuePath>,
    body: JsonBody<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    actor.require(Role::Admin)?;
    let mut spec = body.parse()?;
    let Some(obj) = spec.as_object_mut() else {
        return Err(ApiError::field("body", "must be a Queue spec object"));
    };
    obj.entry("tenant")
        .or_insert_with(|| Value::String(actor.tenant_id.clone()));
    let merchant = obj
        .get("merchant")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if !actor.merchant_id.is_empty() {
        if merchant != actor.merchant_id {
            return Err(ApiError::Forbidden(format!(
                "merchant: a merchant's admin manages only merchant {}'s queues",
                actor.merchant_id
            )));
        }
        if let Some(existing) = stored_merchant(&state, &actor.tenant_id, &p.name).await?
            && existing != actor.merchant_id
        {
            return Err(ApiError::NotFound {
                what: "queue",
                id: p.name,
            });
        }
    }
    let existed = stored_merchant(&state, &actor.tenant_id, &p.name)
        .await?
        .is_some();
    let raw = serde_json::to_vec(&spec).map_err(|e| ApiError::Internal(e.to_string()))?;
    crate::tenant_config::apply_document(&state, &actor.tenant_id, "queue", &p.name, &raw).await?;
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(spec)))
}

/// Deletes a queue (admin); conversations waiting in it stay where they are until moved.
#[utoipa::path(delete, path = "/v1/tenants/{tenant_id}/queues/{name}", tag = "queues",
    params(QueuePath), responses((status = 204, description = "Deleted"), DeskErrors),
    security(("bearer" = [])))]
pub async fn delete_queue(
    State(state): State<AppState>,
    actor: Actor,
    Path(p): Path<QueuePath>,
) -> Result<StatusCode, ApiError> {
    actor.require(Role::Admin)?;
    let Some(merchant) = stored_merchant(&state, &actor.tenant_id, &p.name).await? else {
        return Err(ApiError::NotFound {
            what: "queue",
            id: p.name,
        });
    };
    if !actor.merchant_id.is_empty() && merchant != actor.merchant_id {
        return Err(ApiError::NotFound {
            what: "queue",
            id: p.name,
        });
    }
    if crate::tenant_config::remove_document(&state, &actor.tenant_id, "queue", &p.name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound {
            what: "queue",
            id: p.name,
        })
    }
}
