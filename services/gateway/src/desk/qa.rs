//! QA through the desk API, under `/v1/tenants/{tenant_id}/qa/...`: the tenant's QA policy
//! (admins; stored and announced like every config document, so the QA service applies it
//! without a restart), and what the QA service answers about results, agents' scores,
//! re-scoring, reviews and appeals (`kefu.qa.v1.Qa`, which checks what the actor may see and
//! answers the JSON these routes return unchanged).

use super::auth::{Actor, Role};
use super::{DeskErrors, JsonBody, QueryParams, TenantPath};
use crate::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use kefu_proto::qa as pb;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

/// The name of a tenant's QA policy document (one per tenant).
pub const POLICY_NAME: &str = "default";

fn actor(a: &Actor) -> pb::Actor {
    pb::Actor {
        tenant_id: a.tenant_id.clone(),
        agent_id: a.agent_id.clone(),
        role: a.role.as_str().to_owned(),
        merchant_id: a.merchant_id.clone(),
    }
}

/// The QA service's answer as the response, or its error in the HTTP error table.
fn answer(
    reply: Result<tonic::Response<pb::JsonReply>, tonic::Status>,
    what: &'static str,
    id: &str,
) -> Result<Response, ApiError> {
    match reply {
        Ok(r) => Ok((
            [(header::CONTENT_TYPE, "application/json")],
            r.into_inner().json,
        )
            .into_response()),
        Err(s) => Err(match s.code() {
            tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Cancelled => {
                ApiError::Unavailable("the QA service")
            }
            _ => ApiError::from_session(s, what, id),
        }),
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct QaConversationPath {
    pub tenant_id: String,
    pub conversation_id: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct QaAgentPath {
    pub tenant_id: String,
    pub agent_id: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct QaReviewPath {
    pub tenant_id: String,
    pub review_id: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DaysQuery {
    /// YYYY-MM-DD (UTC), inclusive; default 30 days before `to`.
    pub from: Option<String>,
    /// YYYY-MM-DD (UTC), inclusive; default today.
    pub to: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewsQuery {
    /// open (default) | done | all
    pub status: Option<String>,
}

/// Which closed conversations to score again (UTC days of their close, inclusive).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RescoreBody {
    pub from: String,
    pub to: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerdictBody {
    pub finding_id: String,
    /// confirmed | rejected
    pub verdict: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualFindingBody {
    /// A rule id of the tenant's policy.
    pub rule: String,
    /// The message index in the result's `messages`; absent for the conversation as a whole.
    pub message: Option<u32>,
    #[serde(default)]
    pub comment: String,
}

/// A reviewer's verdict on each automatic finding, and findings the machine missed.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    #[serde(default)]
    pub verdicts: Vec<VerdictBody>,
    #[serde(default)]
    pub added: Vec<ManualFindingBody>,
    #[serde(default)]
    pub comment: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealBody {
    pub comment: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettleBody {
    /// upheld (the findings named, or all, are withdrawn) | dismissed
    pub decision: String,
    #[serde(default)]
    pub finding_ids: Vec<String>,
    #[serde(default)]
    pub comment: String,
}

/// The tenant's QA policy (the `QaPolicy` spec: rules, scorecard, review).
#[utoipa::path(get, path = "/v1/tenants/{tenant_id}/qa/policy", tag = "qa",
    params(TenantPath), responses((status = 200, description = "The policy spec and its version"), DeskErrors),
    security(("bearer" = [])))]
pub async fn get_policy(State(state): State<AppState>, actor: Actor) -> Result<Response, ApiError> {
    actor.require(Role::Supervisor)?;
    let doc = crate::store::tenant_config::get(
        &state.db,
        &actor.tenant_id,
        kefu_crd::document::kind::QA_POLICY,
        POLICY_NAME,
    )
    .await?
    .ok_or_else(|| ApiError::NotFound {
        what: "qa policy",
        id: actor.tenant_id.clone(),
    })?;
    let view = crate::tenant_config::ConfigView::try_from(doc)?;
    Ok(Json(serde_json::json!({"spec": view.spec, "version": view.version})).into_response())
}

/// Replaces the tenant's QA policy; a problem answers 422 naming the field (`rules[2].phrases`).
/// The QA service applies it to what it inspects next; scoring closed conversations again is
/// `POST /qa/rescore`.
#[utoipa::path(put, path = "/v1/tenants/{tenant_id}/qa/policy", tag = "qa",
    params(TenantPath), request_body(content = Object, description = "A QaPolicy spec"),
    responses((status = 200, description = "Stored"), DeskErrors), security(("bearer" = [])))]
pub async fn put_policy(
    State(state): State<AppState>,
    actor: Actor,
    body: JsonBody<serde_json::Value>,
) -> Result<Response, ApiError> {
    actor.require(Role::Admin)?;
    crate::tenant_config::apply_document(
        &state,
        &actor.tenant_id,
        kefu_crd::document::kind::QA_POLICY,
        POLICY_NAME,
        &body.0,
    )
    .await?;
    get_policy(State(state), actor).await
}

/// A conversation's QA result: the transcript as QA read it (`messages`, by index), score,
/// categories, violations (each pointing at its message), review and appeal.
#[utoipa::path(get, path = "/v1/tenants/{tenant_id}/qa/conversations/{conversation_id}",
    tag = "qa", params(QaConversationPath), responses((status = 200, description = "The result"), DeskErrors),
    security(("bearer" = [])))]
pub async fn conversation(
    State(state): State<AppState>,
    actor: Actor,
    Path(p): Path<QaConversationPath>,
) -> Result<Response, ApiError> {
    let r = state
        .qa
        .clone()
        .get_conversation(pb::ConversationRequest {
            actor: Some(self::actor(&actor)),
            conversation_id: p.conversation_id.clone(),
        })
        .await;
    answer(r, "conversation", &p.conversation_id)
}

/// An agent's daily QA scores (agents: their own).
#[utoipa::path(get, path = "/v1/tenants/{tenant_id}/qa/agents/{agent_id}/scores",
    tag = "qa", params(QaAgentPath, DaysQuery), responses((status = 200, description = "Days and average"), DeskErrors),
    security(("bearer" = [])))]
pub async fn agent_scores(
    State(state): State<AppState>,
    actor: Actor,
    Path(p): Path<QaAgentPath>,
    QueryParams(q): QueryParams<DaysQuery>,
) -> Result<Response, ApiError> {
    let r = state
        .qa
        .clone()
        .get_agent_scores(pb::AgentScoresRequest {
            actor: Some(self::actor(&actor)),
            agent_id: p.agent_id.clone(),
            from: q.from.unwrap_or_default(),
            to: q.to.unwrap_or_default(),
        })
        .await;
    answer(r, "agent", &p.agent_id)
}

/// Scores the closed conversations of a range again with the current policy (supervisors).
#[utoipa::path(post, path = "/v1/tenants/{tenant_id}/qa/rescore", tag = "qa",
    params(TenantPath), request_body = RescoreBody,
    responses((status = 200, description = "How many were scored"), DeskErrors), security(("bearer" = [])))]
pub async fn rescore(
    State(state): State<AppState>,
    actor: Actor,
    body: JsonBody<RescoreBody>,
) -> Result<Response, ApiError> {
    actor.require(Role::Supervisor)?;
    let b = body.parse()?;
    let r = state
        .qa
        .clone()
        .rescore(pb::RescoreRequest {
            actor: Some(self::actor(&actor)),
            from: b.from,
            to: b.to,
        })
        .await;
    answer(r, "tenant", &actor.tenant_id)
}

/// Review assignments: the signed-in reviewer's, or all (supervisors).
#[utoipa::path(get, path = "/v1/tenants/{tenant_id}/qa/reviews", tag = "qa",
    params(TenantPath, ReviewsQuery), responses((status = 200, description = "Reviews"), DeskErrors),
    security(("bearer" = [])))]
pub async fn reviews(
    State(state): State<AppState>,
    actor: Actor,
    QueryParams(q): QueryParams<ReviewsQuery>,
) -> Result<Response, ApiError> {
    let r = state
        .qa
        .clone()
        .list_reviews(pb::ListReviewsRequest {
            actor: Some(self::actor(&actor)),
            status: q.status.unwrap_or_default(),
        })
        .await;
    answer(r, "tenant", &actor.tenant_id)
}

/// Completes a review: each finding confirmed or rejected, missed ones added; the result is
/// scored again.
#[utoipa::path(post, path = "/v1/tenants/{tenant_id}/qa/reviews/{review_id}", tag = "qa",
    params(QaReviewPath), request_body = ReviewBody,
    responses((status = 200, description = "The review and the result"), DeskErrors), security(("bearer" = [])))]
pub async fn submit_review(
    State(state): State<AppState>,
    actor: Actor,
    Path(p): Path<QaReviewPath>,
    body: JsonBody<ReviewBody>,
) -> Result<Response, ApiError> {
    let b = body.parse()?;
    let r = state
        .qa
        .clone()
        .submit_review(pb::SubmitReviewRequest {
            actor: Some(self::actor(&actor)),
            review_id: p.review_id.clone(),
            verdicts: b
                .verdicts
                .into_iter()
                .map(|v| pb::Verdict {
                    finding_id: v.finding_id,
                    verdict: v.verdict,
                })
                .collect(),
            added: b
                .added
                .into_iter()
                .map(|a| pb::ManualFinding {
                    rule: a.rule,
                    message: a.message.map_or(-1, |m| m.min(i32::MAX as u32) as i32),
                    comment: a.comment,
                })
                .collect(),
            comment: b.comment,
        })
        .await;
    answer(r, "review", &p.review_id)
}

/// The conversation's agent appeals its result, once, within the policy's appeal window.
#[utoipa::path(post, path = "/v1/tenants/{tenant_id}/qa/conversations/{conversation_id}/appeal",
    tag = "qa", params(QaConversationPath), request_body = AppealBody,
    responses((status = 200, description = "The result with its appeal"), DeskErrors), security(("bearer" = [])))]
pub async fn appeal(
    State(state): State<AppState>,
    actor: Actor,
    Path(p): Path<QaConversationPath>,
    body: JsonBody<AppealBody>,
) -> Result<Response, ApiError> {
    let b = body.parse()?;
    let r = state
        .qa
        .clone()
        .appeal(pb::AppealRequest {
            actor: Some(self::actor(&actor)),
            conversation_id: p.conversation_id.clone(),
            comment: b.comment,
        })
        .await;
    answer(r, "conversation", &p.conversation_id)
}

/// A supervisor settles the appeal: upheld withdraws the findings (named, or all), dismissed
/// keeps the result.
#[utoipa::path(post, path = "/v1/tenants/{tenant_id}/qa/conversations/{conversation_id}/appeal/settle",
    tag = "qa", params(QaConversationPath), request_body = SettleBody,
    responses((status = 200, description = "The result, scored again"), DeskErrors), security(("bearer" = [])))]
pub async fn settle(
    State(state): State<AppState>,
    actor: Actor,
    Path(p): Path<QaConversationPath>,
    body: JsonBody<SettleBody>,
) -> Result<Response, ApiError> {
    actor.require(Role::Supervisor)?;
    let b = body.parse()?;
    let r = state
        .qa
        .clone()
        .settle_appeal(pb::SettleAppealRequest {
            actor: Some(self::actor(&actor)),
            conversation_id: p.conversation_id.clone(),
            decision: b.decision,
            finding_ids: b.finding_ids,
            comment: b.comment,
        })
        .await;
    answer(r, "conversation", &p.conversation_id)
}

/// How often reviewers confirmed each rule's automatic findings.
#[utoipa::path(get, path = "/v1/tenants/{tenant_id}/qa/rules/accuracy", tag = "qa",
    params(TenantPath), responses((status = 200, description = "Confirmed and rejected per rule"), DeskErrors),
    security(("bearer" = [])))]
pub async fn accuracy(State(state): State<AppState>, actor: Actor) -> Result<Response, ApiError> {
    actor.require(Role::Supervisor)?;
    let r = state
        .qa
        .clone()
        .rule_accuracy(pb::RuleAccuracyRequest {
            actor: Some(self::actor(&actor)),
        })
        .await;
    answer(r, "tenant", &actor.tenant_id)
}
