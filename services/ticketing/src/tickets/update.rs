//! Changing a ticket: status and sub-status with the clocks' rules, priority, group, assignee,
//! subject and tags, each change audited.

use super::*;

/// Moves `x` to `(status, sub)`, running the clocks' rules; returns whether anything changed.
pub(super) fn move_to(
    s: &Settings,
    x: &mut ticket::Model,
    status: Status,
    sub: &crate::settings::SubStatus,
    now: DateTime<Utc>,
) -> bool {
    if x.status == status && x.sub_status == sub.name {
        return false;
    }
    let hours = s.hours(x.priority);
    let was_done = matches!(x.status, Status::Solved | Status::Closed);
    let done = matches!(status, Status::Solved | Status::Closed);
    if done && !was_done {
        sla::meet(&mut x.clocks.0, sla::RESOLUTION, &hours, now);
        sla::pause(&mut x.clocks.0, &hours, now);
    } else if was_done && !done {
        sla::unmeet(&mut x.clocks.0, sla::RESOLUTION);
    }
    if !done {
        if sub.pauses_sla {
            sla::pause(&mut x.clocks.0, &hours, now);
        } else {
            sla::resume(&mut x.clocks.0, &hours, now);
        }
    }
    x.status = status;
    x.sub_status = sub.name.clone();
    x.sla_paused = sub.pauses_sla || done;
    true
}

/// Applies `changes` to the ticket `key` of `tenant` (within `merchant` when given).
pub async fn update(
    db: &DatabaseConnection,
    tenant: &str,
    merchant: &str,
    key: &str,
    changes: Changes,
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<Done, Error> {
    by.check()?;
    if let Some(v) = &changes.subject {
        text_field("subject", v, MAX_SUBJECT, true)?;
    }
    for (name, v) in [
        ("group_id", &changes.group_id),
        ("assignee_id", &changes.assignee_id),
    ] {
        if let Some(v) = v {
            id_field(name, v)?;
        }
    }
    let new_priority = changes
        .priority
        .as_deref()
        .map(priority_field)
        .transpose()?;
    let new_tags = changes.tags.as_deref().map(tags_field).transpose()?;
    let txn = db.begin().await?;
    let before = store::find_ticket(&txn, tenant, merchant, key, true)
        .await?
        .ok_or(Error::NotFound)?;
    if before.status == Status::Closed {
        return Err(Error::Closed);
    }
    let s = settings(&txn, tenant).await?;
    let mut x = before.clone();
    let mut audit = Vec::new();
    let mut events = Vec::new();
    let mut updated_fields = Vec::new();

    // Status and sub-status.
    if changes.status.is_some() || changes.sub_status.is_some() {
        let status = match &changes.status {
            Some(v) => Status::parse(v).ok_or_else(|| {
                field(
                    "status",
                    "must be new, open, pending, on_hold, solved or closed",
                )
            })?,
            None => x.status,
        };
        let sub = match &changes.sub_status {
            Some(name) => {
                let sub = s.sub_status(name).ok_or_else(|| {
                    field("sub_status", "is not one of the tenant's sub-statuses")
                })?;
                if sub.category != status {
                    return Err(field(
                        "sub_status",
                        format!("{name} is a sub-status of {}, not {status}", sub.category),
                    ));
                }
                sub.clone()
            }
            None if status == x.status => s
                .sub_status(&x.sub_status)
                .filter(|c| c.category == status)
                .unwrap_or_else(|| s.default_sub_status(status))
                .clone(),
            None => s.default_sub_status(status).clone(),
        };
        if status == Status::New && x.status != Status::New {
            return Err(field("status", "a ticket cannot go back to new"));
        }
        if move_to(&s, &mut x, status, &sub, now) {
            if before.status != x.status {
                audit.push(audit_row(
                    &x,
                    by,
                    now,
                    "status",
                    before.status.as_str(),
                    x.status.as_str(),
                ));
            }
            if before.sub_status != x.sub_status {
                audit.push(audit_row(
                    &x,
                    by,
                    now,
                    "sub_status",
                    &before.sub_status,
                    &x.sub_status,
                ));
            }
        }
    }
    // Priority: new targets, the time used kept.
    if let Some(p) = new_priority
        && p != x.priority
    {
        let old_hours = s.hours(x.priority);
        let hours = s.hours(p);
        sla::retarget(&mut x.clocks.0, s.policy(p), &old_hours, &hours, now);
        audit.push(audit_row(
            &x,
            by,
            now,
            "priority",
            x.priority.as_str(),
            p.as_str(),
        ));
        x.priority = p;
        updated_fields.push("priority".to_owned());
    }
    if let Some(v) = changes.subject.map(|v| v.trim().to_owned())
        && v != x.subject
    {
        audit.push(audit_row(&x, by, now, "subject", &x.subject, &v));
        x.subject = v;
        updated_fields.push("subject".to_owned());
    }
    if let Some(tags) = new_tags
        && tags != x.tags.0
    {
        audit.push(audit_row(
            &x,
            by,
            now,
            "tags",
            &x.tags.0.join(","),
            &tags.join(","),
        ));
        x.tags = Strings(tags);
        updated_fields.push("tags".to_owned());
    }
    if let Some(g) = changes.group_id
        && g != x.group_id
    {
        audit.push(audit_row(&x, by, now, "group_id", &x.group_id, &g));
        x.group_id = g;
    }
    if let Some(a) = changes.assignee_id
        && a != x.assignee_id
    {
        audit.push(audit_row(&x, by, now, "assignee_id", &x.assignee_id, &a));
        x.assignee_id = a;
    }
    if audit.is_empty() {
        txn.commit().await?;
        return Ok(Done {
            ticket: x,
            events: Vec::new(),
        });
    }
    x.updated_at = now;
    schedule(&txn, &mut x).await?;
    store::save_ticket(&txn, &x).await?;
    store::insert_audit(&txn, &audit).await?;
    if before.status != x.status || before.sub_status != x.sub_status {
        events.push(crate::events::status_changed(&before, &x, by, now));
    }
    if before.group_id != x.group_id || before.assignee_id != x.assignee_id {
        events.push(crate::events::assigned(&before, &x, by, now));
    }
    if !updated_fields.is_empty() {
        events.push(crate::events::updated(&x, updated_fields, by, now));
    }
    kefu_worker::outbox::enqueue_many(&txn, &events).await?;
    txn.commit().await?;
    Ok(Done { ticket: x, events })
}
