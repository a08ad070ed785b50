//! Creating a ticket (from a conversation with its transcript, or directly).

use super::*;

/// Creates a ticket. A retried create with the same idempotency key returns the first one.
pub async fn create(
    db: &DatabaseConnection,
    new: NewTicket,
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<Done, Error> {
    by.check()?;
    text_field("subject", &new.subject, MAX_SUBJECT, true)?;
    text_field("description", &new.description, MAX_TEXT, false)?;
    let priority = priority_field(&new.priority)?;
    for (name, v) in [
        ("requester_id", &new.requester_id),
        ("conversation_id", &new.conversation_id),
        ("channel_id", &new.channel_id),
        ("group_id", &new.group_id),
        ("assignee_id", &new.assignee_id),
        ("type", &new.ticket_type),
        ("follow_up_of", &new.follow_up_of),
        ("idempotency_key", &new.idempotency_key),
    ] {
        id_field(name, v)?;
    }
    if new.requester_id.is_empty() {
        return Err(field(
            "requester_id",
            "is required (or a conversation_id to take it from)",
        ));
    }
    if !new.merchant_id.is_empty() && !kefu_crd::common::is_id(&new.merchant_id) {
        return Err(field(
            "merchant_id",
            "must be 1-64 characters of a-z, 0-9, '-' or '_'",
        ));
    }
    let tags = tags_field(&new.tags)?;
    let txn = db.begin().await?;
    if !new.idempotency_key.is_empty()
        && let Some(existing) =
            store::by_idempotency_key(&txn, &new.tenant, &new.idempotency_key).await?
    {
        txn.commit().await?;
        return Ok(Done {
            ticket: existing,
            events: Vec::new(),
        });
    }
    if !new.follow_up_of.is_empty() {
        let prior = store::find_ticket(
            &txn,
            &new.tenant,
            &new.merchant_id,
            &new.follow_up_of,
            false,
        )
        .await?
        .ok_or_else(|| field("follow_up_of", "no such ticket"))?;
        if prior.status != Status::Closed {
            return Err(field(
                "follow_up_of",
                "only a closed ticket gets a follow-up (reopen the ticket instead)",
            ));
        }
    }
    let s = settings(&txn, &new.tenant).await?;
    let year = now.with_timezone(&s.zone()).year();
    let n = store::next_number(&txn, &new.tenant, year).await?;
    let sub = s.default_sub_status(Status::New).clone();
    let hours = s.hours(priority);
    let clocks = sla::start(s.policy(priority), &hours, now, sub.pauses_sla);
    let mut x = ticket::Model {
        id: Uuid::now_v7(),
        tenant_id: new.tenant.clone(),
        number: number(year, n),
        subject: new.subject.trim().to_owned(),
        ticket_type: new.ticket_type.clone(),
        priority,
        status: Status::New,
        sub_status: sub.name.clone(),
        sla_paused: sub.pauses_sla,
        group_id: new.group_id.clone(),
        assignee_id: new.assignee_id.clone(),
        tags: Strings(tags),
        requester_id: new.requester_id.clone(),
        merchant_id: new.merchant_id.clone(),
        conversation_id: new.conversation_id.clone(),
        channel_id: new.channel_id.clone(),
        follow_up_of: new.follow_up_of.clone(),
        idempotency_key: new.idempotency_key.clone(),
        created_at: now,
        updated_at: now,
        clocks: Clocks(clocks),
        next_due_at: None,
    };
    schedule(&txn, &mut x).await?;
    store::insert_ticket(&txn, &x).await?;
    if !new.description.trim().is_empty() {
        store::insert_comment(
            &txn,
            &comment_row(&x, by, false, "description", &new.description, &[], now),
        )
        .await?;
    }
    if !new.transcript.is_empty() {
        let lines: Vec<String> = new
            .transcript
            .iter()
            .rev()
            .take(MAX_TRANSCRIPT)
            .rev()
            .map(|l| {
                format!(
                    "[{} {}] {}",
                    l.at.format("%Y-%m-%d %H:%M:%S"),
                    l.sender,
                    l.text
                )
            })
            .collect();
        store::insert_comment(
            &txn,
            &comment_row(
                &x,
                &Actor::system(),
                false,
                "transcript",
                &lines.join("\n"),
                &[],
                now,
            ),
        )
        .await?;
    }
    store::insert_audit(&txn, &[audit_row(&x, by, now, "created", "", &x.number)]).await?;
    let events = vec![crate::events::created(&x, by)];
    kefu_worker::outbox::enqueue_many(&txn, &events).await?;
    txn.commit().await?;
    Ok(Done { ticket: x, events })
}
