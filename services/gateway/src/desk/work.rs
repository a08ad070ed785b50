//! The work on handed-off conversations (list, read, accept, reply, note, transfer, close),
//! supervision (queues, monitor, whisper, join) and the customer's profile and cross-channel
//! history as agents see them.

use super::auth::{Actor, Role};
use super::json::{
    self, CloseBody, ConversationList, CustomerProfile, Message, MessageList, NoteBody, QueueList,
    QueueStats, ReplyBody, TransferBody, WorkConversation,
};
use super::{ConversationPath, CustomerPath, DeskErrors, JsonBody, QueryParams, TenantPath};
use crate::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, State};
use kefu_proto::session as pb;
use serde::Deserialize;
use utoipa::IntoParams;

fn conversation_ref(actor: &Actor, conversation_id: &str) -> pb::ConversationRef {
    pb::ConversationRef {
        actor: Some(actor.proto()),
        conversation_id: conversation_id.to_owned(),
    }
}

fn not_found(conversation_id: &str) -> impl Fn(tonic::Status) -> ApiError + '_ {
    move |s| ApiError::from_session(s, "conversation", conversation_id)
}

/// The session's answer about `conversation_id`, or its error in the HTTP error table.
fn answer<T>(
    reply: Result<tonic::Response<T>, tonic::Status>,
    conversation_id: &str,
) -> Result<T, ApiError> {
    reply
        .map(tonic::Response::into_inner)
        .map_err(not_found(conversation_id))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// mine (offered to or served by the actor; default) | queued (waiting, including left
    /// messages) | closed (the actor's, newest first) | active (everything being served;
    /// supervisors)
    pub scope: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/v1/tenants/{tenant_id}/conversations", tag = "work",
    params(TenantPath, ListQuery), responses((status = 200, body = ConversationList), DeskErrors),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    actor: Actor,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<Json<ConversationList>, ApiError> {
    let scope = q.scope.unwrap_or_else(|| "mine".into());
    match scope.as_str() {
        "mine" | "closed" => {
            actor.require_agent()?;
        }
        "queued" => {}
        "active" => actor.require(Role::Supervisor)?,
        _ => {
            return Err(ApiError::field(
                "scope",
                format!("must be one of {}", json::SCOPES.join(", ")),
            ));
        }
    }
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::field("limit", "must be 1-200"));
    }
    let r = state
        .desk
        .clone()
        .list_conversations(pb::ListConversationsRequest {
            actor: Some(actor.proto()),
            scope,
            limit,
        })
        .await
        .map_err(|s| ApiError::from_session(s, "tenant", &actor.tenant_id))?
        .into_inner();
    Ok(Json(ConversationList {
        conversations: r.conversations.iter().map(WorkConversation::from).collect(),
    }))
}

/// The conversation with its handoff context: reason, transcript with the bot, profile, page.
#[utoipa::path(get, path = "/v1/tenants/{tenant_id}/conversations/{conversation_id}",
    tag = "work", params(ConversationPath),
    responses((status = 200, body = WorkConversation), DeskErrors), security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    actor: Actor,
    Path(p): Path<ConversationPath>,
) -> Result<Json<WorkConversation>, ApiError> {
    let w = answer(
        state
            .desk
            .clone()
            .get_work(conversation_ref(&actor, &p.conversation_id))
            .await,
        &p.conversation_id,
    )?;
    Ok(Json(WorkConversation::from(&w)))
}

/// Every message of the conversation, including internal notes and whispers.
#[utoipa::path(get, path = "/v1/tenants/{tenant_id}/conversations/{conversation_id}/messages",
    tag = "work", params(ConversationPath),
    responses((status = 200, body = MessageList), DeskErrors), security(("bearer" = [])))]
pub async fn messages(
    State(state): State<AppState>,
    actor: Actor,
    Path(p): Path<ConversationPath>,
) -> Result<Json<MessageList>, ApiError> {
    let r = answer(
        state
            .desk
            .clone()
            .list_work_messages(conversation_ref(&actor, &p.conversation_id))
            .await,
        &p.conversation_id,
    )?;
    Ok(Json(MessageList {
        messages: r.messages.iter().map(Message::from).collect(),
    }))
}

/// Accepts the conversation offered to the signed-in agent (409 once the offer was taken back).
#[utoipa::path(post, path = "/v1/tenants/{tenant_id}/conversations/{conversation_id}/accept",
    tag = "work", params(ConversationPath),
    responses((status = 200, body = WorkConversation), DeskErrors), security(("bearer" = [])))]
pub async fn accept(
    State(state): State<AppState>,
    actor: Actor,
    Path(p): Path<ConversationPath>,
) -> Result<Json<WorkConversation>, ApiError> {
    actor.require_agent()?;
    let w = answer(
        state
            .desk
            .clone()
            .accept(conversation_ref(&actor, &p.conversation_id))
            .await,
        &p.conversation_id,
    )?;
    Ok(Json(WorkConversation::from(&w)))
}

/// A reply to the customer: text, a canned response, cards, or a mix.
#[utoipa::path(post, path = "/v1/tenants/{tenant_id}/conversations/{conversation_id}/messages",
    tag = "work", params(ConversationPath), request_body = ReplyBody,
    responses((status = 200, body = Message), DeskErrors), security(("bearer" = [])))]
pub async fn reply(
    State(state): State<AppState>,
    actor: Actor,
    Path(p): Path<ConversationPath>,
    body: JsonBody<ReplyBody>,
) -> Result<Json<Message>, ApiError> {
    actor.require_agent()?;
    let b = body.parse()?;
    let req = b.into_request(actor.proto(), p.conversation_id.clone())?;
    let m = answer(state.desk.clone().reply(req).await, &p.conversation_id)?;
    Ok(Json(Message::from(&m)))
}

/// An internal note: shown to agents only.
#[utoipa::path(post, path = "/v1/tenants/{tenant_id}/conversations/{conversation_id}/notes",
    tag = "work", params(ConversationPath), request_body = NoteBody,
    responses((status = 200, body = Message), DeskErrors), security(("bearer" = [])))]
pub async fn note(
    State(state): State<AppState>,
    actor: Actor,
    Path(p): Path<ConversationPath>,
    body: JsonBody<NoteBody>,
) -> Result<Json<Message>, ApiError> {
    actor.require_agent()?;
    let b = body.parse()?;
    let req = b.into_request(actor.proto(), p.conversation_id.clone())?;
    let m = answer(state.desk.clone().note(req).await, &p.conversation_id)?;
    Ok(Json(Message::from(&m)))
}

/// Hands the conversation to another agent or queue (exactly one of the two).
#[utoipa::path(post, path = "/v1/tenants/{tenant_id}/conversations/{conversation_id}/transfer",
    tag = "work", params(ConversationPath), request_body = TransferBody,
    responses((status = 200, body = WorkConversation), DeskErrors), security(("bearer" = [])))]
pub async fn transfer(
    State(state): State<AppState>,
    actor: Actor,
    Path(p): Path<ConversationPath>,
    body: JsonBody<TransferBody>,
) -> Result<Json<WorkConversation>, ApiError> {
    let b = body.parse()?;
    let req = b.into_request(actor.proto(), p.conversation_id.clone())?;
    let w = answer(state.desk.clone().transfer(req).await, &p.conversation_id)?;
    Ok(Json(WorkConversation::from(&w)))
}

/// Ends the conversation; the customer is invited to rate it.
#[utoipa::path(post, path = "/v1/tenants/{tenant_id}/conversations/{conversation_id}/close",
    tag = "work", params(ConversationPath), request_body = CloseBody,
    responses((status = 200, body = WorkConversation), DeskErrors), security(("bearer" = [])))]
pub async fn close(
    State(state): State<AppState>,
    actor: Actor,
    Path(p): Path<ConversationPath>,
    body: JsonBody<CloseBody>,
) -> Result<Json<WorkConversation>, ApiError> {
    let b = body.parse()?;
    let req = b.into_request(actor.proto(), p.conversation_id.clone())?;
    let w = answer(state.desk.clone().close(req).await, &p.conversation_id)?;
    Ok(Json(WorkConversation::from(&w)))
}

/// Live statistics of the queues in the actor's scope (supervisors).
#[utoipa::path(get, path = "/v1/tenants/{tenant_id}/queues", tag = "supervision",
    params(TenantPath), responses((status = 200, body = QueueList), DeskErrors),
    security(("bearer" = [])))]
pub async fn queues(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<Json<QueueList>, ApiError> {
    let r = state
        .desk
        .clone()
        .list_queues(pb::ListQueuesRequest {
            actor: Some(actor.proto()),
        })
        .await
        .map_err(|s| ApiError::from_session(s, "tenant", &actor.tenant_id))?
        .into_inner();
    Ok(Json(QueueList {
        queues: r.queues.iter().map(QueueStats::from).collect(),
    }))
}

/// Starts receiving the conversation's desk events without taking part (supervisors).
#[utoipa::path(post, path = "/v1/tenants/{tenant_id}/conversations/{conversation_id}/monitor",
    tag = "supervision", params(ConversationPath),
    responses((status = 200, body = WorkConversation), DeskErrors), security(("bearer" = [])))]
pub async fn monitor(
    State(state): State<AppState>,
    actor: Actor,
    Path(p): Path<ConversationPath>,
) -> Result<Json<WorkConversation>, ApiError> {
    actor.require(Role::Supervisor)?;
    actor.require_agent()?;
    let w = answer(
        state
            .desk
            .clone()
            .monitor(conversation_ref(&actor, &p.conversation_id))
            .await,
        &p.conversation_id,
    )?;
    Ok(Json(WorkConversation::from(&w)))
}

/// An internal message to the conversation's agent; the customer never sees it (supervisors).
#[utoipa::path(post, path = "/v1/tenants/{tenant_id}/conversations/{conversation_id}/whisper",
    tag = "supervision", params(ConversationPath), request_body = NoteBody,
    responses((status = 200, body = Message), DeskErrors), security(("bearer" = [])))]
pub async fn whisper(
    State(state): State<AppState>,
    actor: Actor,
    Path(p): Path<ConversationPath>,
    body: JsonBody<NoteBody>,
) -> Result<Json<Message>, ApiError> {
    actor.require(Role::Supervisor)?;
    actor.require_agent()?;
    let b = body.parse()?;
    let req = b.into_request(actor.proto(), p.conversation_id.clone())?;
    let m = answer(state.desk.clone().whisper(req).await, &p.conversation_id)?;
    Ok(Json(Message::from(&m)))
}

/// The supervisor takes part and may reply to the customer from now on.
#[utoipa::path(post, path = "/v1/tenants/{tenant_id}/conversations/{conversation_id}/join",
    tag = "supervision", params(ConversationPath),
    responses((status = 200, body = WorkConversation), DeskErrors), security(("bearer" = [])))]
pub async fn join(
    State(state): State<AppState>,
    actor: Actor,
    Path(p): Path<ConversationPath>,
) -> Result<Json<WorkConversation>, ApiError> {
    actor.require(Role::Supervisor)?;
    actor.require_agent()?;
    let w = answer(
        state
            .desk
            .clone()
            .join(conversation_ref(&actor, &p.conversation_id))
            .await,
        &p.conversation_id,
    )?;
    Ok(Json(WorkConversation::from(&w)))
}

/// The unified customer: profile, identities, recent orders.
#[utoipa::path(get, path = "/v1/tenants/{tenant_id}/customers/{customer_id}", tag = "customers",
    params(CustomerPath), responses((status = 200, body = CustomerProfile), DeskErrors),
    security(("bearer" = [])))]
pub async fn customer(
    State(state): State<AppState>,
    actor: Actor,
    Path(p): Path<CustomerPath>,
) -> Result<Json<CustomerProfile>, ApiError> {
    let c = state
        .session
        .clone()
        .get_customer(pb::GetCustomerRequest {
            tenant_id: actor.tenant_id.clone(),
            customer_id: p.customer_id.clone(),
            merchant_id: actor.merchant_id.clone(),
        })
        .await
        .map_err(|s| ApiError::from_session(s, "customer", &p.customer_id))?
        .into_inner();
    Ok(Json(CustomerProfile::from(&c)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// 1–500, default 100.
    pub limit: Option<u32>,
}

/// Every message of the customer on every channel, oldest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant_id}/customers/{customer_id}/history",
    tag = "customers", params(CustomerPath, HistoryQuery),
    responses((status = 200, body = MessageList), DeskErrors), security(("bearer" = [])))]
pub async fn customer_history(
    State(state): State<AppState>,
    actor: Actor,
    Path(p): Path<CustomerPath>,
    QueryParams(q): QueryParams<HistoryQuery>,
) -> Result<Json<MessageList>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::field("limit", "must be 1-500"));
    }
    let r = state
        .session
        .clone()
        .customer_history(pb::CustomerHistoryRequest {
            tenant_id: actor.tenant_id.clone(),
            customer_id: p.customer_id.clone(),
            limit,
            merchant_id: actor.merchant_id.clone(),
        })
        .await
        .map_err(|s| ApiError::from_session(s, "customer", &p.customer_id))?
        .into_inner();
    Ok(Json(MessageList {
        messages: r.messages.iter().map(Message::from).collect(),
    }))
}

/// The agent is typing: the customer's open chat sockets show it (nothing is stored). Only the
/// conversation's agent, or a supervisor who joined, while it is active.
#[utoipa::path(post, path = "/v1/tenants/{tenant_id}/conversations/{conversation_id}/typing",
    tag = "work", params(ConversationPath),
    responses((status = 204, description = "Shown to the customer's open chat windows"), DeskErrors),
    security(("bearer" = [])))]
pub async fn typing(
    State(state): State<AppState>,
    actor: Actor,
    Path(p): Path<ConversationPath>,
) -> Result<axum::http::StatusCode, ApiError> {
    let me = actor.require_agent()?.to_owned();
    let w = answer(
        state
            .desk
            .clone()
            .get_work(conversation_ref(&actor, &p.conversation_id))
            .await,
        &p.conversation_id,
    )?;
    let serving = w.agent_id == me || w.participants.contains(&me);
    if w.state != "active" || !serving {
        return Err(ApiError::Conflict(
            "conversation_id: only its agent types to the customer, while it is active".into(),
        ));
    }
    if let Some(c) = &w.conversation
        && !w.external_user_id.is_empty()
    {
        let frame: std::sync::Arc<str> = serde_json::json!({"type": "typing", "sender": "agent"})
            .to_string()
            .into();
        state
            .sockets
            .push(&c.channel_id, &w.external_user_id, frame);
    }
    Ok(axum::http::StatusCode::NO_CONTENT)
}
