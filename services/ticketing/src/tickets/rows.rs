//! The rows a change writes beside the ticket: audit entries, comments, SLA timers, numbers.

use super::*;

pub(super) fn audit_row(
    x: &ticket::Model,
    by: &Actor,
    at: DateTime<Utc>,
    name: &str,
    from: &str,
    to: &str,
) -> ticket_audit::Model {
    ticket_audit::Model {
        id: Uuid::now_v7(),
        tenant_id: x.tenant_id.clone(),
        ticket_id: x.id,
        at,
        actor_kind: by.kind.clone(),
        actor_id: by.id.clone(),
        field: name.to_owned(),
        from_value: from.to_owned(),
        to_value: to.to_owned(),
    }
}

/// Writes the clocks' timers and deadline onto `x` and its timer rows.
pub(super) async fn schedule<C: ConnectionTrait>(
    db: &C,
    x: &mut ticket::Model,
) -> Result<(), DbErr> {
    x.next_due_at = sla::next_due(&x.clocks);
    let wanted = sla::timers(&x.clocks);
    let rows: Vec<(Uuid, &str, &str, i64)> = wanted
        .iter()
        .map(|(fire, metric, due)| (Uuid::now_v7(), fire.as_str(), metric.as_str(), *due))
        .collect();
    store::replace_timers(db, &x.tenant_id, x.id, &rows).await
}

pub(super) fn number(year: i32, n: i64) -> String {
    format!("T-{year}-{n:06}")
}

pub(super) fn comment_row(
    x: &ticket::Model,
    by: &Actor,
    public: bool,
    kind: &str,
    text: &str,
    attachments: &[String],
    now: DateTime<Utc>,
) -> ticket_comment::Model {
    ticket_comment::Model {
        id: Uuid::now_v7(),
        tenant_id: x.tenant_id.clone(),
        ticket_id: x.id,
        author_kind: by.kind.clone(),
        author_id: by.id.clone(),
        public,
        kind: kind.to_owned(),
        text: text.to_owned(),
        attachments: Strings(attachments.to_vec()),
        created_at: now,
    }
}
