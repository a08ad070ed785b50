//! A conversation's result: the engine's [`crate::engine::Policy::evaluate`] over its items (the
//! same call `kefu qa check` makes), stored as findings, scored from the findings that stand
//! (a reviewer's rejection takes one out, a confirmed manual one counts), rolled into the
//! agent's day, and sampled for human review.

use crate::engine::Rule;
use crate::store;
use crate::store::entities::values::{Categories, FindingStatus, Origin, ReviewStatus};
use crate::store::entities::{conversation, finding, review};
use crate::view::View;
use crate::{CompiledPolicy, QaState};
use sea_orm::{ConnectionTrait, DbErr};

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A stable id from parts (a UUID v5), so what is derived again is recognised.
pub fn derived_id(parts: &[&str]) -> String {
    let name = parts.join("\u{1f}");
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.as_bytes()).to_string()
}

/// The finding of a violation of `rule` at `message` (an index into `view`).
pub fn auto_finding(
    conv: &conversation::Model,
    rule: &Rule,
    view: &View,
    message: Option<usize>,
    realtime: bool,
    now: i64,
) -> finding::Model {
    let message_id = view.message_id(message).to_owned();
    let key = if message_id.is_empty() {
        message.map_or_else(|| "-".to_owned(), |i| format!("#{i}"))
    } else {
        message_id.clone()
    };
    finding::Model {
        id: derived_id(&[&conv.tenant_id, &conv.conversation_id, &rule.id, &key]),
        tenant_id: conv.tenant_id.clone(),
        conversation_id: conv.conversation_id.clone(),
        rule: rule.id.clone(),
        kind: rule.kind.as_str().to_owned(),
        severity: rule.severity.as_str().to_owned(),
        category: rule.category.clone(),
        message_id,
        origin: Origin::Auto,
        status: FindingStatus::Open,
        realtime,
        comment: String::new(),
        created_at: now,
    }
}

/// Evaluates the whole conversation with `policy`, replaces its automatic findings, scores it,
/// refreshes its agent's day and samples it for review. Returns the conversation as stored.
pub async fn score<C: ConnectionTrait>(
    state: &QaState,
    db: &C,
    conv: conversation::Model,
    policy: &CompiledPolicy,
) -> Result<conversation::Model, DbErr> {
    let tenant = conv.tenant_id.clone();
    let view = View::build(store::items(db, &tenant, &conv.conversation_id).await?);
    let report = policy.policy.evaluate(&view.transcript);
    let now = now_ms();
    let existing = store::findings(db, &tenant, &conv.conversation_id).await?;
    let mut found = Vec::with_capacity(report.violations.len());
    for v in &report.violations {
        let rule = &policy.policy.rules[v.rule];
        let mut f = auto_finding(&conv, rule, &view, v.message, false, now);
        if let Some(old) = existing.iter().find(|o| o.id == f.id) {
            f.realtime = old.realtime;
            f.created_at = old.created_at;
        } else {
            state.metrics.violation(rule, false);
        }
        found.push(f);
    }
    store::replace_auto_findings(db, &tenant, &conv.conversation_id, found).await?;
    let conv = rescore(db, conv, policy).await?;
    sample(db, &conv, policy, now).await?;
    Ok(conv)
}

/// Scores the conversation from its stored findings (those not rejected), stores the score and
/// refreshes the agent's day.
pub async fn rescore<C: ConnectionTrait>(
    db: &C,
    mut conv: conversation::Model,
    policy: &CompiledPolicy,
) -> Result<conversation::Model, DbErr> {
    let findings = store::findings(db, &conv.tenant_id, &conv.conversation_id).await?;
    let standing = findings
        .iter()
        .filter(|f| f.status != FindingStatus::Rejected)
        .filter_map(|f| policy.policy.rule(&f.rule).map(|(k, _)| k));
    let s = policy.policy.score(standing);
    conv.score = Some(s.score as i32);
    conv.failed = s.failed;
    conv.categories = Categories(s.categories);
    conv.policy_version = policy.version;
    conv.scored_at = Some(now_ms());
    store::save_conversation(db, conv.clone()).await?;
    store::refresh_agent_day(db, &conv.tenant_id, &conv.agent_id, &conv.day).await?;
    Ok(conv)
}

/// Why the policy's review rules pick the conversation, if they do.
pub fn review_reason(conv: &conversation::Model, policy: &CompiledPolicy) -> Option<&'static str> {
    let r = &policy.policy.review;
    let score = conv.score?;
    if r.critical && conv.failed {
        return Some("critical");
    }
    if r.below_score.is_some_and(|b| score < b as i32) {
        return Some("below_score");
    }
    if let (Some(max), Some(csat)) = (r.csat_at_most, conv.csat)
        && csat <= max as i32
    {
        return Some("csat");
    }
    // A share at random, the same draw every time for a conversation.
    if r.sample_percent > 0.0 {
        let id = uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_OID,
            format!("{}\u{1f}{}", conv.tenant_id, conv.conversation_id).as_bytes(),
        );
        let draw = u16::from_be_bytes([id.as_bytes()[0], id.as_bytes()[1]]) % 10_000;
        if f64::from(draw) < r.sample_percent * 100.0 {
            return Some("sampled");
        }
    }
    None
}

/// Creates the conversation's review assignment when the policy picks it (once per
/// conversation), for the next reviewer in turn.
pub async fn sample<C: ConnectionTrait>(
    db: &C,
    conv: &conversation::Model,
    policy: &CompiledPolicy,
    now: i64,
) -> Result<Option<review::Model>, DbErr> {
    let Some(reason) = review_reason(conv, policy) else {
        return Ok(None);
    };
    let tenant = conv.tenant_id.as_str();
    if store::review_of(db, tenant, &conv.conversation_id)
        .await?
        .is_some()
    {
        return Ok(None);
    }
    let reviewers = &policy.policy.review.reviewers;
    let reviewer = if reviewers.is_empty() {
        String::new()
    } else {
        let n = store::review_count(db, tenant).await?;
        reviewers[(n % reviewers.len() as u64) as usize].clone()
    };
    let row = review::Model {
        id: derived_id(&[tenant, &conv.conversation_id, "review"]),
        tenant_id: tenant.to_owned(),
        conversation_id: conv.conversation_id.clone(),
        merchant_id: conv.merchant_id.clone(),
        reviewer_id: reviewer,
        reason: reason.to_owned(),
        status: ReviewStatus::Open,
        comment: String::new(),
        created_at: now,
        done_at: None,
    };
    Ok(store::add_review(db, row.clone()).await?.then_some(row))
}
