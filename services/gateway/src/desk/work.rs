//! The work on handed-off conversations (list, read, accept, reply, note, transfer, close),
//! supervision (queues, monitor, whisper, join) and the customer's profile and cross-channel
//! history as agents see them.

use super::auth::{Actor, Role};
use super::json::{
    self, CloseBody, ConversationList, CustomerProfile, Message, MessageList, NoteBody, QueueList,
    QueueStats, ReplyBody, TransferBody, WorkConversation,
};
use super::{ConversationPath, CustomerPath, DeskErrors, JsonBody, QueryParams, TenantPath};
use crate::error::ApiError;
use crate::{AppState, Desk};
use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use kefu_proto::session as pb;
use serde::Deserialize;
use utoipa::IntoParams;

/// A request about one conversation: the signed-in actor (the [`Actor`] extractor's checks)
/// and the `{conversation_id}` of the path, with the gateway's state to call the session.
pub struct OnConversation {
    state: AppState,
    actor: Actor,
    id: String,
}

impl FromRequestParts<AppState> for OnConversation {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let actor = Actor::from_request_parts(parts, state).await?;
        let Path(p) = Path::<ConversationPath>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::Internal(format!("conversation route path: {e}")))?;
        Ok(Self {
            state: state.clone(),
            actor,
            id: p.conversation_id,
        })
    }
}

impl OnConversation {
    /// The session's desk service.
    fn desk(&self) -> Desk {
        self.state.desk.clone()
    }

    fn conversation_ref(&self) -> pb::ConversationRef {
        pb::ConversationRef {
            actor: Some(self.actor.proto()),
            conversation_id: self.id.clone(),
        }
    }

    /// The session's answer about the conversation, or its error in the HTTP error table.
    fn answer<T>(&self, reply: Result<tonic::Response<T>, tonic::Status>) -> Result<T, ApiError> {
        reply
            .map(tonic::Response::into_inner)
            .map_err(|s| ApiError::from_session(s, "conversation", &self.id))
    }
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
pub async fn get(c: OnConversation) -> Result<Json<WorkConversation>, ApiError> {
    let w = c.answer(c.desk().get_work(c.conversation_ref()).await)?;
    Ok(Json(WorkConversation::from(&w)))
}

/// Every message of the conversation, including internal notes and whispers.
#[utoipa::path(get, path = "/v1/tenants/{tenant_id}/conversations/{conversation_id}/messages",
    tag = "work", params(ConversationPath),
    responses((status = 200, body = MessageList), DeskErrors), security(("bearer" = [])))]
pub async fn messages(c: OnConversation) -> Result<Json<MessageList>, ApiError> {
    let r = c.answer(c.desk().list_work_messages(c.conversation_ref()).await)?;
    Ok(Json(MessageList {
        messages: r.messages.iter().map(Message::from).collect(),
    }))
}

/// Accepts the conversation offered to the signed-in agent (409 once the offer was taken back).
#[utoipa::path(post, path = "/v1/tenants/{tenant_id}/conversations/{conversation_id}/accept",
    tag = "work", params(ConversationPath),
    responses((status = 200, body = WorkConversation), DeskErrors), security(("bearer" = [])))]
pub async fn accept(c: OnConversation) -> Result<Json<WorkConversation>, ApiError> {
    c.actor.require_agent()?;
    let w = c.answer(c.desk().accept(c.conversation_ref()).await)?;
    Ok(Json(WorkConversation::from(&w)))
}

/// A reply to the customer: text, a canned response, cards, or a mix.
#[utoipa::path(post, path = "/v1/tenants/{tenant_id}/conversations/{conversation_id}/messages",
    tag = "work", params(ConversationPath), request_body = ReplyBody,
    responses((status = 200, body = Message), DeskErrors), security(("bearer" = [])))]
pub async fn reply(
    c: OnConversation,
    body: JsonBody<ReplyBody>,
) -> Result<Json<Message>, ApiError> {
    c.actor.require_agent()?;
    let req = body.parse()?.into_request(c.actor.proto(), c.id.clone())?;
    let m = c.answer(c.desk().reply(req).await)?;
    Ok(Json(Message::from(&m)))
}

/// An internal note: shown to agents only.
#[utoipa::path(post, path = "/v1/tenants/{tenant_id}/conversations/{conversation_id}/notes",
    tag = "work", params(ConversationPath), request_body = NoteBody,
    responses((status = 200, body = Message), DeskErrors), security(("bearer" = [])))]
pub async fn note(c: OnConversation, body: JsonBody<NoteBody>) -> Result<Json<Message>, ApiError> {
    c.actor.require_agent()?;
    let req = body.parse()?.into_request(c.actor.proto(), c.id.clone())?;
    let m = c.answer(c.desk().note(req).await)?;
    Ok(Json(Message::from(&m)))
}

/// Hands the conversation to another agent or queue (exactly one of the two).
#[utoipa::path(post, path = "/v1/tenants/{tenant_id}/conversations/{conversation_id}/transfer",
    tag = "work", params(ConversationPath), request_body = TransferBody,
    responses((status = 200, body = WorkConversation), DeskErrors), security(("bearer" = [])))]
pub async fn transfer(
    c: OnConversation,
    body: JsonBody<TransferBody>,
) -> Result<Json<WorkConversation>, ApiError> {
    let req = body.parse()?.into_request(c.actor.proto(), c.id.clone())?;
    let w = c.answer(c.desk().transfer(req).await)?;
    Ok(Json(WorkConversation::from(&w)))
}

/// Ends the conversation; the customer is invited to rate it.
#[utoipa::path(post, path = "/v1/tenants/{tenant_id}/conversations/{conversation_id}/close",
    tag = "work", params(ConversationPath), request_body = CloseBody,
    responses((status = 200, body = WorkConversation), DeskErrors), security(("bearer" = [])))]
pub async fn close(
    c: OnConversation,
    body: JsonBody<CloseBody>,
) -> Result<Json<WorkConversation>, ApiError> {
    let req = body.parse()?.into_request(c.actor.proto(), c.id.clone())?;
    let w = c.answer(c.desk().close(req).await)?;
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
pub async fn monitor(c: OnConversation) -> Result<Json<WorkConversation>, ApiError> {
    c.actor.require(Role::Supervisor)?;
    c.actor.require_agent()?;
    let w = c.answer(c.desk().monitor(c.conversation_ref()).await)?;
    Ok(Json(WorkConversation::from(&w)))
}

/// An internal message to the conversation's agent; the customer never sees it (supervisors).
#[utoipa::path(post, path = "/v1/tenants/{tenant_id}/conversations/{conversation_id}/whisper",
    tag = "supervision", params(ConversationPath), request_body = NoteBody,
    responses((status = 200, body = Message), DeskErrors), security(("bearer" = [])))]
pub async fn whisper(
    c: OnConversation,
    body: JsonBody<NoteBody>,
) -> Result<Json<Message>, ApiError> {
    c.actor.require(Role::Supervisor)?;
    c.actor.require_agent()?;
    let req = body.parse()?.into_request(c.actor.proto(), c.id.clone())?;
    let m = c.answer(c.desk().whisper(req).await)?;
    Ok(Json(Message::from(&m)))
}

/// The supervisor takes part and may reply to the customer from now on.
#[utoipa::path(post, path = "/v1/tenants/{tenant_id}/conversations/{conversation_id}/join",
    tag = "supervision", params(ConversationPath),
    responses((status = 200, body = WorkConversation), DeskErrors), security(("bearer" = [])))]
pub async fn join(c: OnConversation) -> Result<Json<WorkConversation>, ApiError> {
    c.actor.require(Role::Supervisor)?;
    c.actor.require_agent()?;
    let w = c.answer(c.desk().join(c.conversation_ref()).await)?;
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
pub async fn typing(c: OnConversation) -> Result<axum::http::StatusCode, ApiError> {
    let me = c.actor.require_agent()?.to_owned();
    let w = c.answer(c.desk().get_work(c.conversation_ref()).await)?;
    let serving = w.agent_id == me || w.participants.contains(&me);
    if w.state != "active" || !serving {
        return Err(ApiError::Conflict(
            "conversation_id: only its agent types to the customer, while it is active".into(),
        ));
    }
    if let Some(conversation) = &w.conversation
        && !w.external_user_id.is_empty()
    {
        // To the customer's sockets on whichever replica they are connected to.
        let push = kefu_proto::events::SocketPush {
            channel_id: conversation.channel_id.clone(),
            external_user_id: w.external_user_id.clone(),
            frame: serde_json::json!({"type": "typing", "sender": "agent"}).to_string(),
        };
        crate::fanout::push_to_customer(&c.state.bus, &c.actor.tenant_id, push)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "typing not passed on");
                ApiError::Unavailable("the message bus")
            })?;
    }
    Ok(axum::http::StatusCode::NO_CONTENT)
}
