//! The desk API: what agents, supervisors and admins use, under `/v1/tenants/{tenant_id}/...`,
//! REST and a WebSocket, every call proxied to the session's `kefu.session.v1.Desk` service.
//!
//! - [`auth`]: sign-in, agent tokens and the [`auth::Actor`] of every request;
//! - [`json`]: the JSON types (mirroring the protobuf messages) and request checks;
//! - [`accounts`]: the actor itself, agents, statuses and canned responses;
//! - [`work`]: conversations (accept, reply, note, transfer, close), supervision, queues and
//!   the customer's profile and history;
//! - [`socket`]: the desk WebSocket and its registry; [`events`]: pushes each desk event
//!   (received by every replica through `crate::fanout`) to this replica's sockets in its
//!   audience;
//! - [`qa`]: the QA policy, results, scores, reviews and appeals (the QA service's `Qa`);
//! - [`openapi`]: the desk's part of `GET /openapi.json`, derived from the same types and
//!   handlers.

pub mod accounts;
pub mod auth;
pub mod events;
pub mod json;
pub mod lockout;
pub mod openapi;
pub mod qa;
pub mod queues;
pub mod socket;
pub mod work;

use crate::AppState;
use crate::admin::parse_json;
use crate::error::ApiError;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::Method;
use axum::http::request::Parts;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use utoipa::IntoParams;

/// A JSON request body, bounded by the router's body limit (413 as the error table has it).
/// Handlers [`parse`](Self::parse) it after their role checks, so a caller without the role
/// learns nothing about the body's shape (400 for malformed JSON, 422 naming the field).
pub struct JsonBody<T>(bytes::Bytes, PhantomData<T>);

impl<T: DeserializeOwned> JsonBody<T> {
    pub fn parse(&self) -> Result<T, ApiError> {
        // A POST without a body (accept, join) is an empty object.
        let body: &[u8] = if self.0.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &self.0
        };
        parse_json(body)
    }
}

impl<T> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let body = bytes::Bytes::from_request(req, state)
            .await
            .map_err(|rej| ApiError::unreadable_body(rej, state.config.max_body_bytes))?;
        Ok(Self(body, PhantomData))
    }
}

/// Query parameters whose errors are JSON naming the parameter, not axum's plain text.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| Self(q))
            .map_err(|e| query_error(&e.body_text()))
    }
}

/// A query string's error naming the parameter at fault when serde says which (`limit: invalid
/// digit found in string` → field `limit`), else `query`.
pub fn query_error(text: &str) -> ApiError {
    let detail = text
        .strip_prefix("Failed to deserialize query string: ")
        .unwrap_or(text);
    match detail.split_once(": ") {
        Some((name, reason))
            if !name.is_empty()
                && name.len() <= 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.') =>
        {
            ApiError::field(name, reason)
        }
        _ => ApiError::field("query", detail),
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TenantPath {
    /// The tenant; must be the token's.
    pub tenant_id: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AgentPath {
    pub tenant_id: String,
    pub agent_id: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CannedPath {
    pub tenant_id: String,
    pub canned_id: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ConversationPath {
    pub tenant_id: String,
    pub conversation_id: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CustomerPath {
    pub tenant_id: String,
    pub customer_id: String,
}

/// The desk's router and the list of what it registered (see [`crate::routes`]).
pub use crate::routes::Routes as DeskRoutes;

/// Every desk route.
pub fn routes() -> DeskRoutes {
    use Method as M;
    DeskRoutes::new()
        .add(M::POST, "/v1/tenants/{tenant_id}/auth/login", auth::login)
        .add(M::GET, "/v1/tenants/{tenant_id}/me", accounts::me)
        .add(
            M::PUT,
            "/v1/tenants/{tenant_id}/me/status",
            accounts::set_my_status,
        )
        .add(
            M::GET,
            "/v1/tenants/{tenant_id}/agents",
            accounts::list_agents,
        )
        .add(
            M::POST,
            "/v1/tenants/{tenant_id}/agents",
            accounts::create_agent,
        )
        .add(
            M::GET,
            "/v1/tenants/{tenant_id}/agents/{agent_id}",
            accounts::get_agent,
        )
        .add(
            M::PUT,
            "/v1/tenants/{tenant_id}/agents/{agent_id}",
            accounts::put_agent,
        )
        .add(
            M::DELETE,
            "/v1/tenants/{tenant_id}/agents/{agent_id}",
            accounts::delete_agent,
        )
        .add(
            M::PUT,
            "/v1/tenants/{tenant_id}/agents/{agent_id}/status",
            accounts::set_agent_status,
        )
        .add(
            M::GET,
            "/v1/tenants/{tenant_id}/canned-responses",
            accounts::list_canned,
        )
        .add(
            M::POST,
            "/v1/tenants/{tenant_id}/canned-responses",
            accounts::create_canned,
        )
        .add(
            M::PUT,
            "/v1/tenants/{tenant_id}/canned-responses/{canned_id}",
            accounts::put_canned,
        )
        .add(
            M::DELETE,
            "/v1/tenants/{tenant_id}/canned-responses/{canned_id}",
            accounts::delete_canned,
        )
        .add(M::GET, "/v1/tenants/{tenant_id}/conversations", work::list)
        .add(
            M::GET,
            "/v1/tenants/{tenant_id}/conversations/{conversation_id}",
            work::get,
        )
        .add(
            M::GET,
            "/v1/tenants/{tenant_id}/conversations/{conversation_id}/messages",
            work::messages,
        )
        .add(
            M::POST,
            "/v1/tenants/{tenant_id}/conversations/{conversation_id}/messages",
            work::reply,
        )
        .add(
            M::POST,
            "/v1/tenants/{tenant_id}/conversations/{conversation_id}/accept",
            work::accept,
        )
        .add(
            M::POST,
            "/v1/tenants/{tenant_id}/conversations/{conversation_id}/notes",
            work::note,
        )
        .add(
            M::POST,
            "/v1/tenants/{tenant_id}/conversations/{conversation_id}/transfer",
            work::transfer,
        )
        .add(
            M::POST,
            "/v1/tenants/{tenant_id}/conversations/{conversation_id}/close",
            work::close,
        )
        .add(
            M::POST,
            "/v1/tenants/{tenant_id}/conversations/{conversation_id}/monitor",
            work::monitor,
        )
        .add(
            M::POST,
            "/v1/tenants/{tenant_id}/conversations/{conversation_id}/whisper",
            work::whisper,
        )
        .add(
            M::POST,
            "/v1/tenants/{tenant_id}/conversations/{conversation_id}/join",
            work::join,
        )
        .add(
            M::POST,
            "/v1/tenants/{tenant_id}/conversations/{conversation_id}/typing",
            work::typing,
        )
        .add(M::GET, "/v1/tenants/{tenant_id}/queues", work::queues)
        .add(
            M::PUT,
            "/v1/tenants/{tenant_id}/queues/{name}",
            queues::put_queue,
        )
        .add(
            M::DELETE,
            "/v1/tenants/{tenant_id}/queues/{name}",
            queues::delete_queue,
        )
        .add(
            M::GET,
            "/v1/tenants/{tenant_id}/customers/{customer_id}",
            work::customer,
        )
        .add(
            M::GET,
            "/v1/tenants/{tenant_id}/customers/{customer_id}/history",
            work::customer_history,
        )
        .add(M::GET, "/v1/tenants/{tenant_id}/desk/ws", socket::connect)
        .add(M::GET, "/v1/tenants/{tenant_id}/qa/policy", qa::get_policy)
        .add(M::PUT, "/v1/tenants/{tenant_id}/qa/policy", qa::put_policy)
        .add(
            M::GET,
            "/v1/tenants/{tenant_id}/qa/conversations/{conversation_id}",
            qa::conversation,
        )
        .add(
            M::POST,
            "/v1/tenants/{tenant_id}/qa/conversations/{conversation_id}/appeal",
            qa::appeal,
        )
        .add(
            M::POST,
            "/v1/tenants/{tenant_id}/qa/conversations/{conversation_id}/appeal/settle",
            qa::settle,
        )
        .add(
            M::GET,
            "/v1/tenants/{tenant_id}/qa/agents/{agent_id}/scores",
            qa::agent_scores,
        )
        .add(M::POST, "/v1/tenants/{tenant_id}/qa/rescore", qa::rescore)
        .add(M::GET, "/v1/tenants/{tenant_id}/qa/reviews", qa::reviews)
        .add(
            M::POST,
            "/v1/tenants/{tenant_id}/qa/reviews/{review_id}",
            qa::submit_review,
        )
        .add(
            M::GET,
            "/v1/tenants/{tenant_id}/qa/rules/accuracy",
            qa::accuracy,
        )
}

/// The errors desk routes answer, for the OpenAPI document (bodies as in `crate::error`).
#[derive(utoipa::IntoResponses)]
pub enum DeskErrors {
    #[response(status = 400, description = "The body is not JSON (or not UTF-8)")]
    BadBody(json::Error),
    #[response(
        status = 401,
        description = "Missing, malformed or expired credential (`field`: authorization)"
    )]
    Unauthenticated(json::Error),
    #[response(
        status = 403,
        description = "The credential's role is not enough; the message names the role needed"
    )]
    Forbidden(json::Error),
    #[response(
        status = 404,
        description = "Not found in the actor's tenant and merchant scope (also a token of another tenant)"
    )]
    NotFound(json::Error),
    #[response(status = 409, description = "Not possible in the current state")]
    Conflict(json::Error),
    #[response(status = 413, description = "The body is over the size limit")]
    TooLarge(json::Error),
    #[response(status = 422, description = "A field is invalid; `field` names it")]
    Invalid(json::Error),
    #[response(status = 503, description = "The session service is unavailable")]
    Unavailable(json::Error),
}
