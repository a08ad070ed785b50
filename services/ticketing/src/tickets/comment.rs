//! Comments: staff's public replies and internal notes, and the customer's reply from the
//! linked conversation, which reopens the ticket.

use super::*;

/// Adds a public reply or an internal comment. A public reply by staff is the first reply when
/// it is the first.
#[allow(clippy::too_many_arguments)]
pub async fn comment(
    db: &DatabaseConnection,
    tenant: &str,
    merchant: &str,
    key: &str,
    text: &str,
    public: bool,
    attachments: &[String],
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<Done, Error> {
    by.check()?;
    text_field("text", text, MAX_TEXT, true)?;
    if attachments.len() > MAX_ATTACHMENTS {
        return Err(field("attachments", format!("at most {MAX_ATTACHMENTS}")));
    }
    for (i, a) in attachments.iter().enumerate() {
        if a.len() > MAX_URL
            || !(a.starts_with("https://") || a.starts_with("http://"))
            || a.chars().any(|c| c.is_control() || c.is_whitespace())
        {
            return Err(field(
                &format!("attachments[{i}]"),
                "must be an http(s) link of at most 2048 characters",
            ));
        }
    }
    let txn = db.begin().await?;
    let mut x = store::find_ticket(&txn, tenant, merchant, key, true)
        .await?
        .ok_or(Error::NotFound)?;
    if x.status == Status::Closed {
        return Err(Error::Closed);
    }
    let s = settings(&txn, tenant).await?;
    let kind = if public { "reply" } else { "note" };
    let row = comment_row(&x, by, public, kind, text, attachments, now);
    store::insert_comment(&txn, &row).await?;
    let mut audit = vec![audit_row(&x, by, now, "comment", "", &row.id.to_string())];
    if public && by.kind != "customer" {
        let hours = s.hours(x.priority);
        if sla::meet(&mut x.clocks.0, sla::FIRST_REPLY, &hours, now) {
            audit.push(audit_row(&x, by, now, "first_reply", "", &now.to_rfc3339()));
        }
    }
    x.updated_at = now;
    schedule(&txn, &mut x).await?;
    store::save_ticket(&txn, &x).await?;
    store::insert_audit(&txn, &audit).await?;
    let events = vec![crate::events::commented(&x, row.id, public, text, by, now)];
    kefu_worker::outbox::enqueue_many(&txn, &events).await?;
    txn.commit().await?;
    Ok(Done { ticket: x, events })
}

/// The customer wrote in `conversation`: the words land in its open ticket as a public
/// comment, and a pending, on-hold or solved ticket reopens. `None` when the conversation has
/// no open ticket, or the message is older than the ticket (it is in the transcript).
pub async fn customer_reply<C: ConnectionTrait>(
    txn: &C,
    tenant: &str,
    conversation: &str,
    customer: &str,
    text: &str,
    at: DateTime<Utc>,
) -> Result<Option<Done>, DbErr> {
    let Some(before) = store::open_for_conversation(txn, tenant, conversation).await? else {
        return Ok(None);
    };
    if at < before.created_at {
        return Ok(None);
    }
    let by = Actor::new("customer", customer);
    let s = settings(txn, tenant).await?;
    let mut x = before.clone();
    let text: String = text.chars().take(MAX_TEXT).collect();
    let row = comment_row(&x, &by, true, "reply", &text, &[], at);
    store::insert_comment(txn, &row).await?;
    let mut audit = vec![audit_row(&x, &by, at, "comment", "", &row.id.to_string())];
    if matches!(x.status, Status::Pending | Status::OnHold | Status::Solved) {
        let open = s.default_sub_status(Status::Open).clone();
        move_to(&s, &mut x, Status::Open, &open, at);
        audit.push(audit_row(
            &x,
            &by,
            at,
            "status",
            before.status.as_str(),
            "open",
        ));
        if before.sub_status != x.sub_status {
            audit.push(audit_row(
                &x,
                &by,
                at,
                "sub_status",
                &before.sub_status,
                &x.sub_status,
            ));
        }
    }
    x.updated_at = at;
    schedule(txn, &mut x).await?;
    store::save_ticket(txn, &x).await?;
    store::insert_audit(txn, &audit).await?;
    let mut events = vec![crate::events::commented(&x, row.id, true, &text, &by, at)];
    if before.status != x.status {
        events.push(crate::events::status_changed(&before, &x, &by, at));
    }
    kefu_worker::outbox::enqueue_many(txn, &events).await?;
    Ok(Some(Done { ticket: x, events }))
}
