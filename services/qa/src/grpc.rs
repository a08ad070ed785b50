//! `kefu.qa.v1.Qa`: what the desk API asks of QA. Every call names its actor; a conversation
//! the actor may not see answers NOT_FOUND like one that does not exist (another tenant's, or
//! outside a merchant supervisor's scope, or another agent's), so nothing is revealed.

use crate::store::entities::values::{AppealStatus, FindingStatus, Origin, ReviewStatus};
use crate::store::entities::{conversation, finding, review};
use crate::view::View;
use crate::{CompiledPolicy, QaState, scoring, store};
use kefu_proto::desk::{Role, invalid};
use kefu_proto::qa as pb;
use sea_orm::{DbErr, TransactionTrait};
use serde_json::{Value, json};
use std::sync::Arc;
use tonic::{Request, Response, Status};

pub struct QaGrpc {
    pub state: QaState,
}

/// Longest comment on a review, appeal or settlement (characters).
pub const MAX_COMMENT_CHARS: usize = 2_000;
/// Most verdicts or added findings in one review.
pub const MAX_VERDICTS: usize = 500;
/// Longest date range of one request (days).
pub const MAX_RANGE_DAYS: i64 = 366;

struct Caller {
    tenant: String,
    agent: String,
    role: Role,
    merchant: String,
}

fn caller(actor: Option<pb::Actor>) -> Result<Caller, Status> {
    let a = actor.ok_or_else(|| invalid("actor", "is required"))?;
    if a.tenant_id.is_empty() {
        return Err(invalid("actor.tenant_id", "is required"));
    }
    let role = Role::parse(&a.role).ok_or_else(|| invalid("actor.role", Role::choices()))?;
    Ok(Caller {
        tenant: a.tenant_id,
        agent: a.agent_id,
        role,
        merchant: a.merchant_id,
    })
}

impl Caller {
    fn staff(&self) -> bool {
        self.role >= Role::Supervisor
    }

    fn covers(&self, merchant: &str) -> bool {
        self.merchant.is_empty() || self.merchant == merchant
    }

    fn require_supervisor(&self) -> Result<(), Status> {
        if self.staff() {
            Ok(())
        } else {
            Err(Status::permission_denied(
                "this needs the supervisor role or above",
            ))
        }
    }
}

fn db_error(e: DbErr) -> Status {
    tracing::error!(error = %e, "qa database error");
    Status::unavailable("the QA database is unavailable")
}

fn not_found(what: &str) -> Status {
    Status::not_found(format!("no such {what}"))
}

fn reply(v: Value) -> Result<Response<pb::JsonReply>, Status> {
    Ok(Response::new(pb::JsonReply {
        json: v.to_string(),
    }))
}

fn iso(ms: Option<i64>) -> Value {
    ms.map_or(Value::Null, |m| json!(crate::view::time(m).to_rfc3339()))
}

fn check_comment(field: &str, comment: &str, required: bool) -> Result<(), Status> {
    let n = comment.trim().chars().count();
    if required && n == 0 {
        return Err(invalid(field, "is required"));
    }
    if comment.chars().count() > MAX_COMMENT_CHARS {
        return Err(invalid(
            field,
            format!("at most {MAX_COMMENT_CHARS} characters"),
        ));
    }
    if let Some(why) = kefu_proto::desk::control_character(comment) {
        return Err(invalid(field, why));
    }
    Ok(())
}

/// A date range of UTC days (`YYYY-MM-DD`), inclusive; empty ends default to the last 30 days.
fn days(from: &str, to: &str) -> Result<(String, String), Status> {
    let parse = |field: &str, s: &str| {
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| invalid(field, "must be a date YYYY-MM-DD"))
    };
    let today = chrono::Utc::now().date_naive();
    let to = if to.is_empty() {
        today
    } else {
        parse("to", to)?
    };
    let from = if from.is_empty() {
        to - chrono::Duration::days(30)
    } else {
        parse("from", from)?
    };
    if from > to {
        return Err(invalid("from", "must not be after to"));
    }
    if (to - from).num_days() > MAX_RANGE_DAYS {
        return Err(invalid(
            "to",
            format!("at most {MAX_RANGE_DAYS} days after from"),
        ));
    }
    Ok((from.to_string(), to.to_string()))
}

impl QaGrpc {
    async fn policy(&self, tenant: &str) -> Result<Option<Arc<CompiledPolicy>>, Status> {
        self.state
            .policies
            .get(&self.state.db, tenant)
            .await
            .map_err(db_error)
    }

    /// The conversation, if the caller may see it.
    async fn visible(&self, c: &Caller, id: &str) -> Result<conversation::Model, Status> {
        let db = &self.state.db;
        let conv = store::conversation(db, &c.tenant, id)
            .await
            .map_err(db_error)?
            .ok_or_else(|| not_found("conversation"))?;
        let allowed = if c.staff() {
            c.covers(&conv.merchant_id)
        } else {
            conv.agent_id == c.agent
                || store::review_of(db, &c.tenant, id)
                    .await
                    .map_err(db_error)?
                    .is_some_and(|r| !c.agent.is_empty() && r.reviewer_id == c.agent)
        };
        if allowed {
            Ok(conv)
        } else {
            Err(not_found("conversation"))
        }
    }

    async fn result_json(&self, conv: &conversation::Model) -> Result<Value, Status> {
        let db = &self.state.db;
        let tenant = conv.tenant_id.as_str();
        let view = View::build(
            store::items(db, tenant, &conv.conversation_id)
                .await
                .map_err(db_error)?,
        );
        let findings = store::findings(db, tenant, &conv.conversation_id)
            .await
            .map_err(db_error)?;
        let review = store::review_of(db, tenant, &conv.conversation_id)
            .await
            .map_err(db_error)?;
        let messages: Vec<Value> = view
            .items
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let m = view.transcript.get(i);
                json!({
                    "index": i,
                    "message_id": view.message_id(Some(i)),
                    "role": m.role.as_str(),
                    "agent_id": r.agent_id,
                    "text": m.text,
                    "at": m.at.to_rfc3339(),
                })
            })
            .collect();
        Ok(json!({
            "conversation_id": conv.conversation_id,
            "merchant_id": conv.merchant_id,
            "agent_id": conv.agent_id,
            "status": conv.status.as_str(),
            "closed_at": iso(conv.closed_at),
            "close_reason": conv.close_reason,
            "csat": conv.csat,
            "score": conv.score,
            "failed": conv.failed,
            "categories": conv.categories.iter().map(|(id, s)| json!({"id": id, "score": s})).collect::<Vec<_>>(),
            "policy_version": conv.policy_version,
            "scored_at": iso(conv.scored_at),
            "messages": messages,
            "violations": findings.iter().map(|f| finding_json(f, &view)).collect::<Vec<_>>(),
            "review": review.as_ref().map(review_json),
            "appeal": {
                "status": conv.appeal.as_str(),
                "comment": conv.appeal_comment,
                "appealed_at": iso(conv.appealed_at),
                "settled_by": conv.settled_by,
                "settle_comment": conv.settle_comment,
            },
        }))
    }
}

fn finding_json(f: &finding::Model, view: &View) -> Value {
    let index = if f.message_id.is_empty() {
        None
    } else {
        view.index_of(&f.message_id)
    };
    json!({
        "finding_id": f.id,
        "rule": f.rule,
        "kind": f.kind,
        "severity": f.severity,
        "category": f.category,
        "message": index,
        "message_id": f.message_id,
        "origin": f.origin.as_str(),
        "status": f.status.as_str(),
        "realtime": f.realtime,
        "comment": f.comment,
    })
}

fn review_json(r: &review::Model) -> Value {
    json!({
        "review_id": r.id,
        "conversation_id": r.conversation_id,
        "merchant_id": r.merchant_id,
        "reviewer_id": r.reviewer_id,
        "reason": r.reason,
        "status": r.status.as_str(),
        "comment": r.comment,
        "created_at": iso(Some(r.created_at)),
        "done_at": iso(r.done_at),
    })
}

#[tonic::async_trait]
impl pb::qa_server::Qa for QaGrpc {
    async fn get_conversation(
        &self,
        request: Request<pb::ConversationRequest>,
    ) -> Result<Response<pb::JsonReply>, Status> {
        let r = request.into_inner();
        let c = caller(r.actor)?;
        let conv = self.visible(&c, &r.conversation_id).await?;
        let mut v = self.result_json(&conv).await?;
        // What a re-score would use now (the result's `policy_version` is what it was scored
        // with).
        v["current_policy_version"] = json!(self.policy(&c.tenant).await?.map(|p| p.version));
        reply(v)
    }

    async fn get_agent_scores(
        &self,
        request: Request<pb::AgentScoresRequest>,
    ) -> Result<Response<pb::JsonReply>, Status> {
        let r = request.into_inner();
        let c = caller(r.actor)?;
        if r.agent_id.is_empty() {
            return Err(invalid("agent_id", "is required"));
        }
        if !c.staff() && c.agent != r.agent_id {
            return Err(not_found("agent"));
        }
        let (from, to) = days(&r.from, &r.to)?;
        let rows = store::agent_days(&self.state.db, &c.tenant, &r.agent_id, &from, &to)
            .await
            .map_err(db_error)?;
        let (n, sum) = rows.iter().fold((0i64, 0i64), |(n, s), d| {
            (n + d.conversations, s + d.score_sum)
        });
        let avg = |n: i64, s: i64| {
            if n == 0 {
                Value::Null
            } else {
                json!((s as f64 / n as f64 * 10.0).round() / 10.0)
            }
        };
        reply(json!({
            "agent_id": r.agent_id,
            "from": from,
            "to": to,
            "conversations": n,
            "average": avg(n, sum),
            "days": rows.iter().map(|d| json!({
                "day": d.day,
                "conversations": d.conversations,
                "average": avg(d.conversations, d.score_sum),
                "failed": d.failed,
                "violations": d.violations,
            })).collect::<Vec<_>>(),
        }))
    }

    async fn rescore(
        &self,
        request: Request<pb::RescoreRequest>,
    ) -> Result<Response<pb::JsonReply>, Status> {
        let r = request.into_inner();
        let c = caller(r.actor)?;
        c.require_supervisor()?;
        let (from, to) = days(&r.from, &r.to)?;
        let Some(policy) = self.policy(&c.tenant).await? else {
            return Err(Status::failed_precondition(
                "the tenant has no QA policy to score with",
            ));
        };
        let db = &self.state.db;
        let closed = store::closed_between(db, &c.tenant, &from, &to)
            .await
            .map_err(db_error)?;
        let mut rescored = 0u64;
        for conv in closed.into_iter().filter(|x| c.covers(&x.merchant_id)) {
            let txn = db.begin().await.map_err(db_error)?;
            let refs = [store::ConvRef {
                conversation_id: conv.conversation_id.clone(),
                ..Default::default()
            }];
            store::lock_conversations(&txn, &c.tenant, &refs)
                .await
                .map_err(db_error)?;
            // Read again under the lock.
            let Some(conv) = store::conversation(&txn, &c.tenant, &conv.conversation_id)
                .await
                .map_err(db_error)?
            else {
                continue;
            };
            scoring::score(&self.state, &txn, conv, &policy)
                .await
                .map_err(db_error)?;
            txn.commit().await.map_err(db_error)?;
            rescored += 1;
        }
        reply(json!({
            "from": from,
            "to": to,
            "rescored": rescored,
            "policy_version": policy.version,
        }))
    }

    async fn list_reviews(
        &self,
        request: Request<pb::ListReviewsRequest>,
    ) -> Result<Response<pb::JsonReply>, Status> {
        let r = request.into_inner();
        let c = caller(r.actor)?;
        let status = match r.status.as_str() {
            "" | "open" => Some(ReviewStatus::Open),
            "done" => Some(ReviewStatus::Done),
            "all" => None,
            _ => return Err(invalid("status", "one of open, done, all")),
        };
        let reviewer = if c.staff() {
            None
        } else if c.agent.is_empty() {
            return Err(Status::permission_denied("reviews need a reviewer's token"));
        } else {
            Some(c.agent.as_str())
        };
        let rows = store::reviews(&self.state.db, &c.tenant, reviewer, &c.merchant, status)
            .await
            .map_err(db_error)?;
        reply(json!({"reviews": rows.iter().map(review_json).collect::<Vec<_>>()}))
    }

    async fn submit_review(
        &self,
        request: Request<pb::SubmitReviewRequest>,
    ) -> Result<Response<pb::JsonReply>, Status> {
        let r = request.into_inner();
        let c = caller(r.actor)?;
        check_comment("comment", &r.comment, false)?;
        if r.verdicts.len() + r.added.len() > MAX_VERDICTS {
            return Err(invalid(
                "verdicts",
                format!("at most {MAX_VERDICTS} verdicts and added findings"),
            ));
        }
        let db = &self.state.db;
        let rev = store::review(db, &c.tenant, &r.review_id)
            .await
            .map_err(db_error)?
            .ok_or_else(|| not_found("review"))?;
        let mine = !c.agent.is_empty() && rev.reviewer_id == c.agent;
        if !(mine || (c.staff() && c.covers(&rev.merchant_id))) {
            return Err(not_found("review"));
        }
        if rev.status == ReviewStatus::Done {
            return Err(Status::failed_precondition("the review is already done"));
        }
        let Some(policy) = self.policy(&c.tenant).await? else {
            return Err(Status::failed_precondition("the tenant has no QA policy"));
        };
        let txn = db.begin().await.map_err(db_error)?;
        let refs = [store::ConvRef {
            conversation_id: rev.conversation_id.clone(),
            ..Default::default()
        }];
        store::lock_conversations(&txn, &c.tenant, &refs)
            .await
            .map_err(db_error)?;
        let conv = store::conversation(&txn, &c.tenant, &rev.conversation_id)
            .await
            .map_err(db_error)?
            .ok_or_else(|| not_found("conversation"))?;
        let findings = store::findings(&txn, &c.tenant, &rev.conversation_id)
            .await
            .map_err(db_error)?;
        for (i, v) in r.verdicts.iter().enumerate() {
            let status = match v.verdict.as_str() {
                "confirmed" => FindingStatus::Confirmed,
                "rejected" => FindingStatus::Rejected,
                _ => {
                    return Err(invalid(
                        format!("verdicts[{i}].verdict"),
                        "one of confirmed, rejected",
                    ));
                }
            };
            if !findings.iter().any(|f| f.id == v.finding_id) {
                return Err(invalid(
                    format!("verdicts[{i}].finding_id"),
                    "is not a finding of this conversation",
                ));
            }
            store::set_finding_status(&txn, &c.tenant, &rev.conversation_id, &v.finding_id, status)
                .await
                .map_err(db_error)?;
        }
        let view = View::build(
            store::items(&txn, &c.tenant, &rev.conversation_id)
                .await
                .map_err(db_error)?,
        );
        let now = scoring::now_ms();
        let mut manual = Vec::new();
        for (i, a) in r.added.iter().enumerate() {
            let Some((_, rule)) = policy.policy.rule(&a.rule) else {
                return Err(invalid(
                    format!("added[{i}].rule"),
                    "is not a rule of the tenant's policy",
                ));
            };
            let index = match a.message {
                -1 => None,
                m if m >= 0 && (m as usize) < view.items.len() => Some(m as usize),
                _ => {
                    return Err(invalid(
                        format!("added[{i}].message"),
                        "must be a message index of the conversation, or -1",
                    ));
                }
            };
            check_comment(&format!("added[{i}].comment"), &a.comment, false)?;
            let mut f = scoring::auto_finding(&conv, rule, &view, index, false, now);
            f.id = scoring::derived_id(&[&f.id, "manual", &rev.id, &i.to_string()]);
            f.origin = Origin::Manual;
            f.status = FindingStatus::Confirmed;
            f.comment = a.comment.clone();
            manual.push(f);
        }
        store::add_findings(&txn, manual).await.map_err(db_error)?;
        let mut done = rev.clone();
        done.status = ReviewStatus::Done;
        done.comment = r.comment;
        done.done_at = Some(now);
        store::save_review(&txn, done.clone())
            .await
            .map_err(db_error)?;
        let conv = scoring::rescore(&txn, conv, &policy)
            .await
            .map_err(db_error)?;
        txn.commit().await.map_err(db_error)?;
        reply(json!({"review": review_json(&done), "result": self.result_json(&conv).await?}))
    }

    async fn appeal(
        &self,
        request: Request<pb::AppealRequest>,
    ) -> Result<Response<pb::JsonReply>, Status> {
        let r = request.into_inner();
        let c = caller(r.actor)?;
        check_comment("comment", &r.comment, true)?;
        let conv = self.visible(&c, &r.conversation_id).await?;
        if c.agent.is_empty() || conv.agent_id != c.agent {
            return Err(Status::permission_denied(
                "only the conversation's agent may appeal its result",
            ));
        }
        let Some(scored_at) = conv.scored_at else {
            return Err(Status::failed_precondition(
                "the conversation is not scored yet",
            ));
        };
        if conv.appeal != AppealStatus::None {
            return Err(Status::failed_precondition(
                "the result was already appealed (once per result)",
            ));
        }
        let Some(policy) = self.policy(&c.tenant).await? else {
            return Err(Status::failed_precondition("the tenant has no QA policy"));
        };
        let window_ms = i64::from(policy.policy.review.appeal_days) * 86_400_000;
        let from = conv.closed_at.unwrap_or(scored_at);
        let now = scoring::now_ms();
        if now - from > window_ms {
            return Err(Status::failed_precondition(format!(
                "the appeal window of {} days has passed",
                policy.policy.review.appeal_days
            )));
        }
        let db = &self.state.db;
        let txn = db.begin().await.map_err(db_error)?;
        let refs = [store::ConvRef {
            conversation_id: conv.conversation_id.clone(),
            ..Default::default()
        }];
        store::lock_conversations(&txn, &c.tenant, &refs)
            .await
            .map_err(db_error)?;
        let mut conv = store::conversation(&txn, &c.tenant, &conv.conversation_id)
            .await
            .map_err(db_error)?
            .ok_or_else(|| not_found("conversation"))?;
        if conv.appeal != AppealStatus::None {
            return Err(Status::failed_precondition(
                "the result was already appealed (once per result)",
            ));
        }
        conv.appeal = AppealStatus::Open;
        conv.appeal_comment = r.comment;
        conv.appealed_at = Some(now);
        store::save_conversation(&txn, conv.clone())
            .await
            .map_err(db_error)?;
        txn.commit().await.map_err(db_error)?;
        reply(self.result_json(&conv).await?)
    }

    async fn settle_appeal(
        &self,
        request: Request<pb::SettleAppealRequest>,
    ) -> Result<Response<pb::JsonReply>, Status> {
        let r = request.into_inner();
        let c = caller(r.actor)?;
        c.require_supervisor()?;
        check_comment("comment", &r.comment, false)?;
        let upheld = match r.decision.as_str() {
            "upheld" => true,
            "dismissed" => false,
            _ => return Err(invalid("decision", "one of upheld, dismissed")),
        };
        if r.finding_ids.len() > MAX_VERDICTS {
            return Err(invalid("finding_ids", format!("at most {MAX_VERDICTS}")));
        }
        let conv = self.visible(&c, &r.conversation_id).await?;
        let Some(policy) = self.policy(&c.tenant).await? else {
            return Err(Status::failed_precondition("the tenant has no QA policy"));
        };
        let db = &self.state.db;
        let txn = db.begin().await.map_err(db_error)?;
        let refs = [store::ConvRef {
            conversation_id: conv.conversation_id.clone(),
            ..Default::default()
        }];
        store::lock_conversations(&txn, &c.tenant, &refs)
            .await
            .map_err(db_error)?;
        let mut conv = store::conversation(&txn, &c.tenant, &conv.conversation_id)
            .await
            .map_err(db_error)?
            .ok_or_else(|| not_found("conversation"))?;
        if conv.appeal != AppealStatus::Open {
            return Err(Status::failed_precondition(
                "there is no open appeal to settle",
            ));
        }
        if upheld {
            let findings = store::findings(&txn, &c.tenant, &conv.conversation_id)
                .await
                .map_err(db_error)?;
            let withdrawn: Vec<String> = if r.finding_ids.is_empty() {
                findings
                    .iter()
                    .filter(|f| f.status != FindingStatus::Rejected)
                    .map(|f| f.id.clone())
                    .collect()
            } else {
                for (i, id) in r.finding_ids.iter().enumerate() {
                    if !findings.iter().any(|f| &f.id == id) {
                        return Err(invalid(
                            format!("finding_ids[{i}]"),
                            "is not a finding of this conversation",
                        ));
                    }
                }
                r.finding_ids.clone()
            };
            for id in withdrawn {
                store::set_finding_status(
                    &txn,
                    &c.tenant,
                    &conv.conversation_id,
                    &id,
                    FindingStatus::Rejected,
                )
                .await
                .map_err(db_error)?;
            }
        }
        conv.appeal = if upheld {
            AppealStatus::Upheld
        } else {
            AppealStatus::Dismissed
        };
        conv.settled_by = if c.agent.is_empty() {
            "admin".into()
        } else {
            c.agent.clone()
        };
        conv.settle_comment = r.comment;
        store::save_conversation(&txn, conv.clone())
            .await
            .map_err(db_error)?;
        let conv = scoring::rescore(&txn, conv, &policy)
            .await
            .map_err(db_error)?;
        txn.commit().await.map_err(db_error)?;
        reply(self.result_json(&conv).await?)
    }

    async fn rule_accuracy(
        &self,
        request: Request<pb::RuleAccuracyRequest>,
    ) -> Result<Response<pb::JsonReply>, Status> {
        let c = caller(request.into_inner().actor)?;
        c.require_supervisor()?;
        let verdicts = store::rule_verdicts(&self.state.db, &c.tenant)
            .await
            .map_err(db_error)?;
        let rules: Vec<Value> = verdicts
            .iter()
            .map(|(rule, (confirmed, rejected))| {
                let total = confirmed + rejected;
                json!({
                    "rule": rule,
                    "confirmed": confirmed,
                    "rejected": rejected,
                    "confirm_rate": (total > 0).then(|| *confirmed as f64 / total as f64),
                })
            })
            .collect();
        reply(json!({"rules": rules}))
    }
}
