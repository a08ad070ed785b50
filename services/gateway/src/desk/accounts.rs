//! The actor itself (`/me`), agent accounts and statuses, and canned responses. Admin routes
//! and supervisor routes turn lower roles away here already; the session checks again with the
//! merchant scope, which only it knows.

use super::auth::{Actor, Role};
use super::json::{self, AgentBody, AgentList, CannedBody, CannedList, CannedResponse, StatusBody};
use super::{AgentPath, CannedPath, DeskErrors, JsonBody, QueryParams, TenantPath};
use crate::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use kefu_proto::session as pb;
use serde::Deserialize;
use utoipa::IntoParams;

fn agent_ref(actor: &Actor, agent_id: &str) -> pb::AgentRef {
    pb::AgentRef {
        actor: Some(actor.proto()),
        agent_id: agent_id.to_owned(),
    }
}

/// The signed-in agent's account, status and load.
#[utoipa::path(get, path = "/v1/tenants/{tenant_id}/me", tag = "agents", params(TenantPath),
    responses((status = 200, body = json::Agent), DeskErrors), security(("bearer" = [])))]
pub async fn me(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<Json<json::Agent>, ApiError> {
    let id = actor.require_agent()?;
    let a = state
        .desk
        .clone()
        .get_agent(agent_ref(&actor, id))
        .await
        .map_err(|s| ApiError::from_session(s, "agent", id))?
        .into_inner();
    Ok(Json(json::Agent::from(&a)))
}

async fn set_status(
    state: &AppState,
    actor: &Actor,
    agent_id: &str,
    status: String,
) -> Result<Json<json::Agent>, ApiError> {
    json::check_status(&status)?;
    let a = state
        .desk
        .clone()
        .set_status(pb::SetStatusRequest {
            actor: Some(actor.proto()),
            agent_id: agent_id.to_owned(),
            status,
        })
        .await
        .map_err(|s| ApiError::from_session(s, "agent", agent_id))?
        .into_inner();
    Ok(Json(json::Agent::from(&a)))
}

/// Sets the signed-in agent's own status (online | busy | away | offline).
#[utoipa::path(put, path = "/v1/tenants/{tenant_id}/me/status", tag = "agents",
    params(TenantPath), request_body = StatusBody,
    responses((status = 200, body = json::Agent), DeskErrors), security(("bearer" = [])))]
pub async fn set_my_status(
    State(state): State<AppState>,
    actor: Actor,
    body: JsonBody<StatusBody>,
) -> Result<Json<json::Agent>, ApiError> {
    let id = actor.require_agent()?.to_owned();
    let b = body.parse()?;
    set_status(&state, &actor, &id, b.status).await
}

/// A supervisor sets an agent's status (e.g. away for an agent who left without signing out).
#[utoipa::path(put, path = "/v1/tenants/{tenant_id}/agents/{agent_id}/status", tag = "agents",
    params(AgentPath), request_body = StatusBody,
    responses((status = 200, body = json::Agent), DeskErrors), security(("bearer" = [])))]
pub async fn set_agent_status(
    State(state): State<AppState>,
    actor: Actor,
    Path(p): Path<AgentPath>,
    body: JsonBody<StatusBody>,
) -> Result<Json<json::Agent>, ApiError> {
    actor.require(Role::Supervisor)?;
    let b = body.parse()?;
    set_status(&state, &actor, &p.agent_id, b.status).await
}

/// The agents in the actor's scope, live: status and load per channel type (any role: agents
/// pick colleagues to transfer to).
#[utoipa::path(get, path = "/v1/tenants/{tenant_id}/agents", tag = "agents", params(TenantPath),
    responses((status = 200, body = AgentList), DeskErrors), security(("bearer" = [])))]
pub async fn list_agents(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<Json<AgentList>, ApiError> {
    let r = state
        .desk
        .clone()
        .list_agents(pb::ListAgentsRequest {
            actor: Some(actor.proto()),
        })
        .await
        .map_err(|s| ApiError::from_session(s, "tenant", &actor.tenant_id))?
        .into_inner();
    Ok(Json(AgentList {
        agents: r.agents.iter().map(json::Agent::from).collect(),
    }))
}

#[utoipa::path(get, path = "/v1/tenants/{tenant_id}/agents/{agent_id}", tag = "agents",
    params(AgentPath), responses((status = 200, body = json::Agent), DeskErrors),
    security(("bearer" = [])))]
pub async fn get_agent(
    State(state): State<AppState>,
    actor: Actor,
    Path(p): Path<AgentPath>,
) -> Result<Json<json::Agent>, ApiError> {
    // Agents read their own account through /me.
    if actor.agent_id != p.agent_id {
        actor.require(Role::Supervisor)?;
    }
    let a = state
        .desk
        .clone()
        .get_agent(agent_ref(&actor, &p.agent_id))
        .await
        .map_err(|s| ApiError::from_session(s, "agent", &p.agent_id))?
        .into_inner();
    Ok(Json(json::Agent::from(&a)))
}

async fn put(
    state: &AppState,
    actor: &Actor,
    agent: pb::Agent,
    password: String,
) -> Result<json::Agent, ApiError> {
    let id = agent.agent_id.clone();
    let a = state
        .desk
        .clone()
        .put_agent(pb::PutAgentRequest {
            actor: Some(actor.proto()),
            agent: Some(agent),
            password,
        })
        .await
        .map_err(|s| ApiError::from_session(s, "agent", &id))?
        .into_inner();
    Ok(json::Agent::from(&a))
}

/// Creates an agent account (admin). Without `agent_id` the gateway picks one; an existing
/// `agent_id` is a conflict (replace it with PUT).
#[utoipa::path(post, path = "/v1/tenants/{tenant_id}/agents", tag = "agents",
    params(TenantPath), request_body = AgentBody,
    responses((status = 201, body = json::Agent), DeskErrors), security(("bearer" = [])))]
pub async fn create_agent(
    State(state): State<AppState>,
    actor: Actor,
    body: JsonBody<AgentBody>,
) -> Result<(StatusCode, Json<json::Agent>), ApiError> {
    actor.require(Role::Admin)?;
    let b = body.parse()?;
    let id = b
        .agent_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string());
    let (agent, password) = b.into_request(&actor.tenant_id, &id, true)?;
    match state.desk.clone().get_agent(agent_ref(&actor, &id)).await {
        Ok(_) => return Err(ApiError::Conflict(format!("agent {id} already exists"))),
        Err(s) if s.code() == tonic::Code::NotFound => {}
        Err(s) => return Err(ApiError::from_session(s, "agent", &id)),
    }
    Ok((
        StatusCode::CREATED,
        Json(put(&state, &actor, agent, password).await?),
    ))
}

/// Creates or replaces an agent account (admin); status and load are kept, an omitted
/// `password` keeps the current one.
#[utoipa::path(put, path = "/v1/tenants/{tenant_id}/agents/{agent_id}", tag = "agents",
    params(AgentPath), request_body = AgentBody,
    responses((status = 200, body = json::Agent), DeskErrors), security(("bearer" = [])))]
pub async fn put_agent(
    State(state): State<AppState>,
    actor: Actor,
    Path(p): Path<AgentPath>,
    body: JsonBody<AgentBody>,
) -> Result<Json<json::Agent>, ApiError> {
    actor.require(Role::Admin)?;
    let b = body.parse()?;
    let (agent, password) = b.into_request(&actor.tenant_id, &p.agent_id, false)?;
    Ok(Json(put(&state, &actor, agent, password).await?))
}

/// Deletes an agent account (admin); answers the deleted account.
#[utoipa::path(delete, path = "/v1/tenants/{tenant_id}/agents/{agent_id}", tag = "agents",
    params(AgentPath), responses((status = 200, body = json::Agent), DeskErrors),
    security(("bearer" = [])))]
pub async fn delete_agent(
    State(state): State<AppState>,
    actor: Actor,
    Path(p): Path<AgentPath>,
) -> Result<Json<json::Agent>, ApiError> {
    actor.require(Role::Admin)?;
    let a = state
        .desk
        .clone()
        .delete_agent(agent_ref(&actor, &p.agent_id))
        .await
        .map_err(|s| ApiError::from_session(s, "agent", &p.agent_id))?
        .into_inner();
    Ok(Json(json::Agent::from(&a)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CannedQuery {
    /// Matches shortcut, title and text (case-insensitive, Simplified/Traditional as typed).
    pub q: Option<String>,
}

/// Canned responses in the actor's scope (the platform's and its merchant's).
#[utoipa::path(get, path = "/v1/tenants/{tenant_id}/canned-responses", tag = "canned responses",
    params(TenantPath, CannedQuery), responses((status = 200, body = CannedList), DeskErrors),
    security(("bearer" = [])))]
pub async fn list_canned(
    State(state): State<AppState>,
    actor: Actor,
    QueryParams(q): QueryParams<CannedQuery>,
) -> Result<Json<CannedList>, ApiError> {
    let query = q.q.unwrap_or_default();
    json::bounded("q", &query, 0, 200)?;
    let r = state
        .desk
        .clone()
        .list_canned_responses(pb::ListCannedResponsesRequest {
            actor: Some(actor.proto()),
            query,
        })
        .await
        .map_err(|s| ApiError::from_session(s, "tenant", &actor.tenant_id))?
        .into_inner();
    Ok(Json(CannedList {
        canned: r.canned.iter().map(CannedResponse::from).collect(),
    }))
}

async fn put_canned_response(
    state: &AppState,
    actor: &Actor,
    canned: pb::CannedResponse,
) -> Result<CannedResponse, ApiError> {
    let id = canned.canned_id.clone();
    let c = state
        .desk
        .clone()
        .put_canned_response(pb::PutCannedResponseRequest {
            actor: Some(actor.proto()),
            canned: Some(canned),
        })
        .await
        .map_err(|s| ApiError::from_session(s, "canned response", &id))?
        .into_inner();
    Ok(CannedResponse::from(&c))
}

/// Creates a canned response (supervisor or admin); the gateway picks the id when none is given.
#[utoipa::path(post, path = "/v1/tenants/{tenant_id}/canned-responses", tag = "canned responses",
    params(TenantPath), request_body = CannedBody,
    responses((status = 201, body = CannedResponse), DeskErrors), security(("bearer" = [])))]
pub async fn create_canned(
    State(state): State<AppState>,
    actor: Actor,
    body: JsonBody<CannedBody>,
) -> Result<(StatusCode, Json<CannedResponse>), ApiError> {
    actor.require(Role::Supervisor)?;
    let b = body.parse()?;
    let id = b
        .canned_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string());
    let canned = b.into_proto(&actor.tenant_id, &id)?;
    Ok((
        StatusCode::CREATED,
        Json(put_canned_response(&state, &actor, canned).await?),
    ))
}

/// Creates or replaces a canned response (supervisor or admin).
#[utoipa::path(put, path = "/v1/tenants/{tenant_id}/canned-responses/{canned_id}",
    tag = "canned responses", params(CannedPath), request_body = CannedBody,
    responses((status = 200, body = CannedResponse), DeskErrors), security(("bearer" = [])))]
pub async fn put_canned(
    State(state): State<AppState>,
    actor: Actor,
    Path(p): Path<CannedPath>,
    body: JsonBody<CannedBody>,
) -> Result<Json<CannedResponse>, ApiError> {
    actor.require(Role::Supervisor)?;
    let b = body.parse()?;
    let canned = b.into_proto(&actor.tenant_id, &p.canned_id)?;
    Ok(Json(put_canned_response(&state, &actor, canned).await?))
}

/// Deletes a canned response (supervisor or admin); answers the deleted one.
#[utoipa::path(delete, path = "/v1/tenants/{tenant_id}/canned-responses/{canned_id}",
    tag = "canned responses", params(CannedPath),
    responses((status = 200, body = CannedResponse), DeskErrors), security(("bearer" = [])))]
pub async fn delete_canned(
    State(state): State<AppState>,
    actor: Actor,
    Path(p): Path<CannedPath>,
) -> Result<Json<CannedResponse>, ApiError> {
    actor.require(Role::Supervisor)?;
    let c = state
        .desk
        .clone()
        .delete_canned_response(pb::CannedResponseRef {
            actor: Some(actor.proto()),
            canned_id: p.canned_id.clone(),
        })
        .await
        .map_err(|s| ApiError::from_session(s, "canned response", &p.canned_id))?
        .into_inner();
    Ok(Json(CannedResponse::from(&c)))
}
