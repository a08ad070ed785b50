//! Tickets on the desk API, under `/v1/tenants/{tenant_id}/tickets…`, forwarded to the
//! ticketing service (`kefu.ticketing.v1.Ticketing`) with the caller's tenant and merchant as
//! the scope: a merchant's staff see and change only that merchant's tickets, another tenant's
//! or merchant's ticket is 404, a wrong field is 422 naming it, a closed ticket is 409.
//!
//! - `POST /tickets`: create (from a conversation with `conversation_id`: its customer,
//!   channel and transcript come from the session);
//! - `GET /tickets`: list (`status`, `assignee_id`, `group_id`, `requester_id`, `priority`,
//!   `conversation_id`, `view` = mine | unassigned | breaching, `within_minutes`, `limit`,
//!   `cursor`);
//! - `GET /tickets/{ticket}` (id or number), `PATCH /tickets/{ticket}` (status, sub_status,
//!   priority, group_id, assignee_id, subject, tags), `POST /tickets/{ticket}/comments`.

use super::auth::Actor;
use super::{JsonBody, QueryParams};
use crate::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use kefu_proto::ticketing as pb;
use serde::Deserialize;
use serde_json::{Value, json};

pub fn routes() -> crate::routes::Routes {
    use axum::http::Method as M;
    crate::routes::Routes::new()
        .add(M::POST, "/v1/tenants/{tenant_id}/tickets", create)
        .add(M::GET, "/v1/tenants/{tenant_id}/tickets", list)
        .add(M::GET, "/v1/tenants/{tenant_id}/tickets/{ticket}", fetch)
        .add(M::PATCH, "/v1/tenants/{tenant_id}/tickets/{ticket}", update)
        .add(
            M::POST,
            "/v1/tenants/{tenant_id}/tickets/{ticket}/comments",
            comment,
        )
}

#[derive(Deserialize)]
pub struct TicketPath {
    pub tenant_id: String,
    pub ticket: String,
}

/// A ticketing service error as the HTTP error table has it.
fn from_ticketing(s: tonic::Status, id: &str) -> ApiError {
    use tonic::Code;
    match s.code() {
        Code::NotFound => ApiError::NotFound {
            what: "ticket",
            id: id.chars().take(64).collect(),
        },
        Code::InvalidArgument | Code::OutOfRange => match kefu_proto::desk::field_error(&s) {
            Some(e) => e.into(),
            None => ApiError::field("body", s.message()),
        },
        Code::FailedPrecondition | Code::AlreadyExists | Code::Aborted => {
            ApiError::Conflict(s.message().into())
        }
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
            ApiError::Unavailable("the ticketing service")
        }
        _ => ApiError::Internal(format!("ticketing: {s}")),
    }
}

fn scope(actor: &Actor) -> Option<pb::Scope> {
    Some(pb::Scope {
        tenant_id: actor.tenant_id.clone(),
        merchant_id: actor.merchant_id.clone(),
    })
}

/// Who the change is recorded as: the agent, or `api` for the admin token.
fn who(actor: &Actor) -> Option<pb::Actor> {
    Some(if actor.agent_id.is_empty() {
        pb::Actor {
            kind: "api".into(),
            id: String::new(),
        }
    } else {
        pb::Actor {
            kind: "agent".into(),
            id: actor.agent_id.clone(),
        }
    })
}

fn time(t: Option<&prost_types::Timestamp>) -> Value {
    t.and_then(kefu_proto::time::from_timestamp)
        .map_or(Value::Null, |t| json!(t.to_rfc3339()))
}

pub fn ticket_json(t: &pb::Ticket) -> Value {
    json!({
        "ticket_id": t.ticket_id,
        "number": t.number,
        "subject": t.subject,
        "type": t.r#type,
        "priority": t.priority,
        "status": t.status,
        "sub_status": t.sub_status,
        "sla_paused": t.sla_paused,
        "group_id": t.group_id,
        "assignee_id": t.assignee_id,
        "tags": t.tags,
        "requester_id": t.requester_id,
        "merchant_id": t.merchant_id,
        "conversation_id": t.conversation_id,
        "channel_id": t.channel_id,
        "follow_up_of": t.follow_up_of,
        "created_at": time(t.created_at.as_ref()),
        "updated_at": time(t.updated_at.as_ref()),
        "sla": t.sla.iter().map(|c| json!({
            "metric": c.metric,
            "target_ms": c.target_ms,
            "elapsed_ms": c.elapsed_ms,
            "due_at": time(c.due_at.as_ref()),
            "met_at": time(c.met_at.as_ref()),
            "warned": c.warned,
            "breached": c.breached,
            "paused": c.paused,
        })).collect::<Vec<_>>(),
    })
}

fn detail_json(d: &pb::TicketDetail) -> Value {
    let mut v = d.ticket.as_ref().map_or(json!({}), ticket_json);
    v["comments"] = d
        .comments
        .iter()
        .map(|c| {
            json!({
                "comment_id": c.comment_id,
                "author_kind": c.author_kind,
                "author_id": c.author_id,
                "public": c.public,
                "kind": c.kind,
                "text": c.text,
                "attachments": c.attachments,
                "created_at": time(c.created_at.as_ref()),
            })
        })
        .collect();
    v["audit"] = d
        .audit
        .iter()
        .map(|a| {
            json!({
                "actor_kind": a.actor_kind,
                "actor_id": a.actor_id,
                "field": a.field,
                "from": a.from_value,
                "to": a.to_value,
                "at": time(a.at.as_ref()),
            })
        })
        .collect();
    v
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    requester_id: String,
    #[serde(default)]
    merchant_id: String,
    #[serde(default)]
    conversation_id: String,
    #[serde(default)]
    group_id: String,
    #[serde(default)]
    assignee_id: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default, rename = "type")]
    ticket_type: String,
    #[serde(default)]
    follow_up_of: String,
    #[serde(default)]
    idempotency_key: String,
}

#[utoipa::path(post, path = "/v1/tenants/{tenant_id}/tickets", tag = "tickets",
    params(("tenant_id" = String, Path, description = "The tenant; must be the token's")),
    request_body(content = Object, description = "`subject`, `type`, `priority`, `requester_id` or `conversation_id` (its customer, channel and transcript), `merchant_id`, `group_id`, `assignee_id`, `tags`, `comment`, `follow_up_of`, `idempotency_key`"),
    responses((status = 201, description = "The ticket with its thread", body = Object), super::DeskErrors),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    actor: Actor,
    body: JsonBody<CreateBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let b = body.parse()?;
    let d = state
        .ticketing
        .clone()
        .create_ticket(pb::CreateTicketRequest {
            scope: scope(&actor),
            actor: who(&actor),
            subject: b.subject,
            description: b.description,
            priority: b.priority,
            requester_id: b.requester_id,
            merchant_id: b.merchant_id,
            conversation_id: b.conversation_id,
            group_id: b.group_id,
            assignee_id: b.assignee_id,
            tags: b.tags,
            r#type: b.ticket_type,
            follow_up_of: b.follow_up_of,
            idempotency_key: b.idempotency_key,
        })
        .await
        .map_err(|s| from_ticketing(s, ""))?
        .into_inner();
    Ok((StatusCode::CREATED, Json(detail_json(&d))))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Comma-separated: new, open, pending, on_hold, solved, closed.
    status: Option<String>,
    assignee_id: Option<String>,
    group_id: Option<String>,
    requester_id: Option<String>,
    priority: Option<String>,
    conversation_id: Option<String>,
    /// mine (assigned to the caller) | unassigned | breaching (a deadline within
    /// `within_minutes`, default 60)
    view: Option<String>,
    within_minutes: Option<u32>,
    limit: Option<u32>,
    cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/tenants/{tenant_id}/tickets", tag = "tickets",
    params(("tenant_id" = String, Path, description = "The tenant; must be the token's"), ListQuery),
    responses((status = 200, description = "A page of tickets and the next cursor", body = Object), super::DeskErrors),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    actor: Actor,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let mut req = pb::ListTicketsRequest {
        scope: scope(&actor),
        status: q
            .status
            .map(|s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        assignee_id: q.assignee_id.unwrap_or_default(),
        group_id: q.group_id.unwrap_or_default(),
        requester_id: q.requester_id.unwrap_or_default(),
        priority: q.priority.unwrap_or_default(),
        conversation_id: q.conversation_id.unwrap_or_default(),
        limit: q.limit.unwrap_or(50),
        cursor: q.cursor.unwrap_or_default(),
        ..pb::ListTicketsRequest::default()
    };
    if req.limit == 0 || req.limit > 200 {
        return Err(ApiError::field("limit", "must be 1-200"));
    }
    match q.view.as_deref() {
        None | Some("") => {}
        Some("mine") => {
            req.assignee_id = actor.require_agent()?.to_owned();
            if req.status.is_empty() {
                req.status = ["new", "open", "pending", "on_hold"]
                    .map(String::from)
                    .to_vec();
            }
        }
        Some("unassigned") => req.unassigned = true,
        Some("breaching") => {
            let within = q.within_minutes.unwrap_or(60);
            if !(1..=10_080).contains(&within) {
                return Err(ApiError::field("within_minutes", "must be 1-10080"));
            }
            let until = chrono::Utc::now() + chrono::Duration::minutes(i64::from(within));
            req.due_before = Some(kefu_proto::time::to_timestamp(until));
        }
        Some(_) => {
            return Err(ApiError::field(
                "view",
                "must be mine, unassigned or breaching",
            ));
        }
    }
    let r = state
        .ticketing
        .clone()
        .list_tickets(req)
        .await
        .map_err(|s| from_ticketing(s, ""))?
        .into_inner();
    Ok(Json(json!({
        "tickets": r.tickets.iter().map(ticket_json).collect::<Vec<_>>(),
        "next_cursor": if r.next_cursor.is_empty() { Value::Null } else { json!(r.next_cursor) },
    })))
}

#[utoipa::path(get, path = "/v1/tenants/{tenant_id}/tickets/{ticket}", tag = "tickets",
    params(("tenant_id" = String, Path, description = "The tenant; must be the token's"), ("ticket" = String, Path, description = "The ticket's id or number (T-2026-000123)")),
    responses((status = 200, description = "The ticket, its comments and audit trail", body = Object), super::DeskErrors),
    security(("bearer" = [])))]
pub async fn fetch(
    State(state): State<AppState>,
    actor: Actor,
    Path(p): Path<TicketPath>,
) -> Result<Json<Value>, ApiError> {
    let d = state
        .ticketing
        .clone()
        .get_ticket(pb::GetTicketRequest {
            scope: scope(&actor),
            ticket: p.ticket.clone(),
        })
        .await
        .map_err(|s| from_ticketing(s, &p.ticket))?
        .into_inner();
    Ok(Json(detail_json(&d)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    status: Option<String>,
    sub_status: Option<String>,
    priority: Option<String>,
    group_id: Option<String>,
    assignee_id: Option<String>,
    subject: Option<String>,
    tags: Option<Vec<String>>,
}

#[utoipa::path(patch, path = "/v1/tenants/{tenant_id}/tickets/{ticket}", tag = "tickets",
    params(("tenant_id" = String, Path, description = "The tenant; must be the token's"), ("ticket" = String, Path, description = "The ticket's id or number (T-2026-000123)")),
    request_body(content = Object, description = "Any of `status`, `sub_status`, `priority`, `group_id`, `assignee_id`, `subject`, `tags`"),
    responses((status = 200, description = "The ticket as changed", body = Object), super::DeskErrors),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    actor: Actor,
    Path(p): Path<TicketPath>,
    body: JsonBody<UpdateBody>,
) -> Result<Json<Value>, ApiError> {
    let b = body.parse()?;
    let d = state
        .ticketing
        .clone()
        .update_ticket(pb::UpdateTicketRequest {
            scope: scope(&actor),
            actor: who(&actor),
            ticket: p.ticket.clone(),
            status: b.status,
            sub_status: b.sub_status,
            priority: b.priority,
            group_id: b.group_id,
            assignee_id: b.assignee_id,
            subject: b.subject,
            set_tags: b.tags.is_some(),
            tags: b.tags.unwrap_or_default(),
        })
        .await
        .map_err(|s| from_ticketing(s, &p.ticket))?
        .into_inner();
    Ok(Json(detail_json(&d)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    #[serde(default)]
    text: String,
    /// A public reply goes to the customer; default false (an internal comment).
    #[serde(default)]
    public: bool,
    #[serde(default)]
    attachments: Vec<String>,
}

#[utoipa::path(post, path = "/v1/tenants/{tenant_id}/tickets/{ticket}/comments", tag = "tickets",
    params(("tenant_id" = String, Path, description = "The tenant; must be the token's"), ("ticket" = String, Path, description = "The ticket's id or number (T-2026-000123)")),
    request_body(content = Object, description = "`text`, `public` (a reply the customer gets) or internal, `attachments` (links)"),
    responses((status = 201, description = "The comment", body = Object), super::DeskErrors),
    security(("bearer" = [])))]
pub async fn comment(
    State(state): State<AppState>,
    actor: Actor,
    Path(p): Path<TicketPath>,
    body: JsonBody<CommentBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let b = body.parse()?;
    let d = state
        .ticketing
        .clone()
        .add_comment(pb::AddCommentRequest {
            scope: scope(&actor),
            actor: who(&actor),
            ticket: p.ticket.clone(),
            text: b.text,
            public: b.public,
            attachments: b.attachments,
        })
        .await
        .map_err(|s| from_ticketing(s, &p.ticket))?
        .into_inner();
    Ok((StatusCode::CREATED, Json(detail_json(&d))))
}
