//! The customer admin API (bearer admin token), served by the gateway in front of the session
//! service: the unified customer's profile and cross-channel history, merge and unmerge,
//! conversations with their handoff context, and each tenant's customer rules.
//!
//! - `GET   /v1/admin/tenants/{t}/customers?channel_id=&external_user_id=` — find by channel user
//! - `GET   /v1/admin/tenants/{t}/customers/{id}` — profile, identities, recent orders
//! - `PATCH /v1/admin/tenants/{t}/customers/{id}` — `{display_name, tier, region, language, tags}`
//! - `GET   /v1/admin/tenants/{t}/customers/{id}/messages?limit=` — history on every channel
//! - `POST  /v1/admin/tenants/{t}/customer-merges` — `{survivor_id, absorbed_id}`
//! - `POST  /v1/admin/tenants/{t}/customer-merges/{merge_id}/undo`
//! - `GET   /v1/admin/tenants/{t}/conversations/{id}` — status, mode, page, handoff
//! - `GET|PUT /v1/admin/tenants/{t}/settings` — `{merge_identity_kinds, handoff_after_misses}`

use crate::AppState;
use crate::admin::{AdminSession, parse_json};
use crate::cards::history_message_json;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use kefu_proto::events::{CustomerProfile, HandoffRequested};
use kefu_proto::session::{
    CustomerHistoryRequest, FindCustomerRequest, GetConversationRequest, GetCustomerRequest,
    GetTenantSettingsRequest, Merge, MergeCustomersRequest, TenantSettings,
    UnmergeCustomersRequest, UpdateCustomerRequest,
};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn routes() -> crate::routes::Routes {
    use axum::http::Method as M;
    crate::routes::Routes::new()
        .add(M::GET, "/v1/admin/tenants/{tenant_id}/customers", find)
        .add(
            M::GET,
            "/v1/admin/tenants/{tenant_id}/customers/{customer_id}",
            get_profile,
        )
        .add(
            M::PATCH,
            "/v1/admin/tenants/{tenant_id}/customers/{customer_id}",
            patch_profile,
        )
        .add(
            M::GET,
            "/v1/admin/tenants/{tenant_id}/customers/{customer_id}/messages",
            history,
        )
        .add(
            M::POST,
            "/v1/admin/tenants/{tenant_id}/customer-merges",
            merge,
        )
        .add(
            M::POST,
            "/v1/admin/tenants/{tenant_id}/customer-merges/{merge_id}/undo",
            unmerge,
        )
        .add(
            M::GET,
            "/v1/admin/tenants/{tenant_id}/conversations/{conversation_id}",
            conversation,
        )
        .add(
            M::GET,
            "/v1/admin/tenants/{tenant_id}/settings",
            get_settings,
        )
        .add(
            M::PUT,
            "/v1/admin/tenants/{tenant_id}/settings",
            put_settings,
        )
}

/// A session error as the HTTP error table has it.
fn from_status(s: tonic::Status, what: &'static str, id: &str) -> ApiError {
    ApiError::from_session(s, what, id)
}

fn ts(t: &Option<prost_types::Timestamp>) -> Value {
    json!(t.as_ref().and_then(kefu_proto::time::from_timestamp))
}

pub fn profile_json(p: &CustomerProfile) -> Value {
    json!({
        "customer_id": p.customer_id,
        "display_name": p.display_name,
        "tier": p.tier,
        "tags": p.tags,
        "region": p.region,
        "language": p.language,
        "identities": p.identities.iter().map(|i| json!({"kind": i.kind, "value": i.value})).collect::<Vec<_>>(),
        "recent_orders": p.recent_orders.iter().map(|o| json!({
            "order_id": o.order_id, "status": o.status, "title": o.title,
            "amount_cents": o.amount_cents, "created_at": ts(&o.created_at),
        })).collect::<Vec<_>>(),
    })
}

pub fn handoff_json(h: &HandoffRequested) -> Value {
    json!({
        "reason": h.reason,
        "intents": h.intents,
        "language": h.language,
        "merchant_id": h.merchant_id,
        "requested_at": ts(&h.requested_at),
        "page": h.page.as_ref().map(|p| json!({
            "url": p.url, "page_type": p.page_type, "product_id": p.product_id, "order_id": p.order_id,
        })),
        "profile": h.profile.as_ref().map(profile_json),
        "transcript": h.transcript.iter().map(|t| json!({
            "sender": t.sender_kind, "text": t.text, "at": ts(&t.at),
        })).collect::<Vec<_>>(),
    })
}

fn merge_json(m: &Merge) -> Value {
    json!({
        "merge_id": m.merge_id,
        "survivor_id": m.survivor_id,
        "absorbed_id": m.absorbed_id,
        "cause": m.cause,
        "identities_moved": m.identities_moved,
        "conversations_moved": m.conversations_moved,
        "merged_at": ts(&m.merged_at),
        "unmerged_at": ts(&m.unmerged_at),
    })
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindQuery {
    channel_id: Option<String>,
    external_user_id: Option<String>,
}

#[utoipa::path(get, path = "/v1/admin/tenants/{tenant_id}/customers", tag = "customers",
    params(("tenant_id" = String, Path, description = "The tenant"), FindQuery),
    responses((status = 200, description = "The customer known by that channel user", body = Object), crate::openapi::AdminErrors),
    security(("bearer" = [])))]
pub(crate) async fn find(
    AdminSession(mut session): AdminSession,
    Path(tenant_id): Path<String>,
    crate::desk::QueryParams(q): crate::desk::QueryParams<FindQuery>,
) -> Result<Json<Value>, ApiError> {
    let channel_id = q
        .channel_id
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::field("channel_id", "is required"))?;
    let user = q
        .external_user_id
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::field("external_user_id", "is required"))?;
    let c = session
        .find_customer(FindCustomerRequest {
            tenant_id: tenant_id.clone(),
            channel_id,
            external_user_id: user.clone(),
        })
        .await
        .map_err(|s| from_status(s, "customer", &user))?
        .into_inner();
    let p = session
        .get_customer(GetCustomerRequest {
            tenant_id,
            customer_id: c.customer_id.clone(),
            merchant_id: String::new(),
        })
        .await
        .map_err(|s| from_status(s, "customer", &c.customer_id))?
        .into_inner();
    Ok(Json(profile_json(&p)))
}

#[utoipa::path(get, path = "/v1/admin/tenants/{tenant_id}/customers/{customer_id}", tag = "customers",
    params(("tenant_id" = String, Path, description = "The tenant"), ("customer_id" = String, Path, description = "The unified customer")),
    responses((status = 200, description = "Profile, identities, recent orders", body = Object), crate::openapi::AdminErrors),
    security(("bearer" = [])))]
pub(crate) async fn get_profile(
    AdminSession(mut session): AdminSession,
    Path((tenant_id, customer_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let p = session
        .get_customer(GetCustomerRequest {
            tenant_id,
            customer_id: customer_id.clone(),
            merchant_id: String::new(),
        })
        .await
        .map_err(|s| from_status(s, "customer", &customer_id))?
        .into_inner();
    Ok(Json(profile_json(&p)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    display_name: Option<String>,
    tier: Option<String>,
    region: Option<String>,
    language: Option<String>,
    tags: Option<Vec<String>>,
}

#[utoipa::path(patch, path = "/v1/admin/tenants/{tenant_id}/customers/{customer_id}", tag = "customers",
    params(("tenant_id" = String, Path, description = "The tenant"), ("customer_id" = String, Path, description = "The unified customer")), request_body = ProfilePatch,
    responses((status = 200, description = "The profile as stored", body = Object), crate::openapi::AdminErrors),
    security(("bearer" = [])))]
pub(crate) async fn patch_profile(
    AdminSession(mut session): AdminSession,
    Path((tenant_id, customer_id)): Path<(String, String)>,
    body: bytes::Bytes,
) -> Result<Json<Value>, ApiError> {
    let patch: ProfilePatch = parse_json(&body)?;
    let p = session
        .update_customer(UpdateCustomerRequest {
            tenant_id,
            customer_id: customer_id.clone(),
            display_name: patch.display_name,
            tier: patch.tier,
            region: patch.region,
            language: patch.language,
            set_tags: patch.tags.is_some(),
            tags: patch.tags.unwrap_or_default(),
        })
        .await
        .map_err(|s| from_status(s, "customer", &customer_id))?
        .into_inner();
    Ok(Json(profile_json(&p)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Limit {
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/v1/admin/tenants/{tenant_id}/customers/{customer_id}/messages", tag = "customers",
    params(("tenant_id" = String, Path, description = "The tenant"), ("customer_id" = String, Path, description = "The unified customer"), Limit),
    responses((status = 200, description = "The customer's messages on every channel", body = Object), crate::openapi::AdminErrors),
    security(("bearer" = [])))]
pub(crate) async fn history(
    AdminSession(mut session): AdminSession,
    Path((tenant_id, customer_id)): Path<(String, String)>,
    crate::desk::QueryParams(q): crate::desk::QueryParams<Limit>,
) -> Result<Json<Value>, ApiError> {
    let h = session
        .customer_history(CustomerHistoryRequest {
            tenant_id,
            customer_id: customer_id.clone(),
            limit: q.limit.unwrap_or(100),
            merchant_id: String::new(),
        })
        .await
        .map_err(|s| from_status(s, "customer", &customer_id))?
        .into_inner();
    Ok(Json(json!({
        "messages": h.messages.iter().map(history_message_json).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    survivor_id: String,
    absorbed_id: String,
}

#[utoipa::path(post, path = "/v1/admin/tenants/{tenant_id}/customer-merges", tag = "customers",
    params(("tenant_id" = String, Path, description = "The tenant")), request_body = MergeBody,
    responses((status = 201, description = "The merge", body = Object), crate::openapi::AdminErrors),
    security(("bearer" = [])))]
pub(crate) async fn merge(
    AdminSession(mut session): AdminSession,
    Path(tenant_id): Path<String>,
    body: bytes::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let b: MergeBody = parse_json(&body)?;
    let m = session
        .merge_customers(MergeCustomersRequest {
            tenant_id,
            survivor_id: b.survivor_id.clone(),
            absorbed_id: b.absorbed_id,
        })
        .await
        .map_err(|s| from_status(s, "customer", &b.survivor_id))?
        .into_inner();
    Ok((StatusCode::CREATED, Json(merge_json(&m))))
}

#[utoipa::path(post, path = "/v1/admin/tenants/{tenant_id}/customer-merges/{merge_id}/undo", tag = "customers",
    params(("tenant_id" = String, Path, description = "The tenant"), ("merge_id" = String, Path, description = "The merge to undo")),
    responses((status = 200, description = "The undone merge", body = Object), crate::openapi::AdminErrors),
    security(("bearer" = [])))]
pub(crate) async fn unmerge(
    AdminSession(mut session): AdminSession,
    Path((tenant_id, merge_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let m = session
        .unmerge_customers(UnmergeCustomersRequest {
            tenant_id,
            merge_id: merge_id.clone(),
        })
        .await
        .map_err(|s| from_status(s, "merge", &merge_id))?
        .into_inner();
    Ok(Json(merge_json(&m)))
}

#[utoipa::path(get, path = "/v1/admin/tenants/{tenant_id}/conversations/{conversation_id}", tag = "customers",
    params(("tenant_id" = String, Path, description = "The tenant"), ("conversation_id" = String, Path, description = "The conversation")),
    responses((status = 200, description = "Status, mode, page, handoff", body = Object), crate::openapi::AdminErrors),
    security(("bearer" = [])))]
pub(crate) async fn conversation(
    AdminSession(mut session): AdminSession,
    Path((tenant_id, conversation_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let c = session
        .get_conversation(GetConversationRequest {
            tenant_id,
            conversation_id: conversation_id.clone(),
        })
        .await
        .map_err(|s| from_status(s, "conversation", &conversation_id))?
        .into_inner();
    Ok(Json(json!({
        "conversation_id": c.conversation_id,
        "customer_id": c.customer_id,
        "channel_id": c.channel_id,
        "status": c.status,
        "mode": c.mode,
        "opened_at": ts(&c.opened_at),
        "page": c.page.as_ref().map(|p| json!({
            "url": p.url, "page_type": p.page_type, "product_id": p.product_id, "order_id": p.order_id,
        })),
        "handoff": c.handoff.as_ref().map(handoff_json),
    })))
}

fn settings_json(s: &TenantSettings) -> Value {
    json!({
        "tenant_id": s.tenant_id,
        "merge_identity_kinds": s.merge_identity_kinds,
        "handoff_after_misses": s.handoff_after_misses,
    })
}

#[utoipa::path(get, path = "/v1/admin/tenants/{tenant_id}/settings", tag = "customers",
    params(("tenant_id" = String, Path, description = "The tenant")),
    responses((status = 200, description = "The tenant's customer rules", body = Object), crate::openapi::AdminErrors),
    security(("bearer" = [])))]
pub(crate) async fn get_settings(
    AdminSession(mut session): AdminSession,
    Path(tenant_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let s = session
        .get_tenant_settings(GetTenantSettingsRequest {
            tenant_id: tenant_id.clone(),
        })
        .await
        .map_err(|s| from_status(s, "tenant", &tenant_id))?
        .into_inner();
    Ok(Json(settings_json(&s)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    merge_identity_kinds: Vec<String>,
    handoff_after_misses: u32,
}

#[utoipa::path(put, path = "/v1/admin/tenants/{tenant_id}/settings", tag = "customers",
    params(("tenant_id" = String, Path, description = "The tenant")), request_body = SettingsBody,
    responses((status = 200, description = "The rules as stored", body = Object), crate::openapi::AdminErrors),
    security(("bearer" = [])))]
pub(crate) async fn put_settings(
    AdminSession(mut session): AdminSession,
    State(state): State<AppState>,
    Path(tenant_id): Path<String>,
    body: bytes::Bytes,
) -> Result<Json<Value>, ApiError> {
    let b: SettingsBody = parse_json(&body)?;
    if crate::store::get_tenant(&state.db, &tenant_id)
        .await?
        .is_none()
    {
        return Err(ApiError::NotFound {
            what: "tenant",
            id: tenant_id.chars().take(64).collect(),
        });
    }
    let s = session
        .put_tenant_settings(TenantSettings {
            tenant_id: tenant_id.clone(),
            merge_identity_kinds: b.merge_identity_kinds,
            handoff_after_misses: b.handoff_after_misses,
        })
        .await
        .map_err(|s| from_status(s, "tenant", &tenant_id))?
        .into_inner();
    Ok(Json(settings_json(&s)))
}
