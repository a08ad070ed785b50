//! What can happen to a ticket: created, updated (status, priority, group, assignee, subject,
//! tags), commented on, replied to by the customer from the linked conversation. Each is one
//! transaction: the ticket row, its comments, one audit row per change with its actor, its
//! SLA clocks and timers, and the domain events in the outbox. The caller dispatches the
//! returned events after the commit.
//!
//! Rules: a closed ticket is final (nothing changes it; a follow-up ticket links to it); a
//! customer's reply reopens a pending, on-hold or solved ticket; solving meets the resolution
//! target and stops the clocks; a sub-status that pauses the SLA stops them until the ticket
//! leaves it; an agent's first public reply meets the first-reply target.

use crate::settings::Settings;
use crate::sla::{self, Fire};
use crate::store::entities::ticket::{self, Clocks, Priority, Status, Strings};
use crate::store::entities::{ticket_audit, ticket_comment};
use crate::store::{self, ListFilter};
use chrono::{DateTime, Datelike, Utc};
use kefu_bus::Envelope;
use kefu_proto::desk::FieldError;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, TransactionTrait};
use uuid::Uuid;

/// Limits on what callers send.
pub const MAX_SUBJECT: usize = 200;
pub const MAX_TEXT: usize = 20_000;
pub const MAX_TAGS: usize = 20;
pub const MAX_ATTACHMENTS: usize = 10;
pub const MAX_URL: usize = 2048;
/// Transcript lines kept from the conversation a ticket is made from.
pub const MAX_TRANSCRIPT: usize = 500;

/// Who makes a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// agent | customer | system | api
    pub kind: String,
    pub id: String,
}

impl Actor {
    pub fn new(kind: &str, id: &str) -> Actor {
        Actor {
            kind: kind.to_owned(),
            id: id.to_owned(),
        }
    }

    pub fn system() -> Actor {
        Actor::new("system", "")
    }

    fn check(&self) -> Result<(), FieldError> {
        if !matches!(self.kind.as_str(), "agent" | "customer" | "system" | "api") {
            return Err(FieldError::new(
                "actor.kind",
                "must be agent, customer, system or api",
            ));
        }
        if self.id.len() > 128 {
            return Err(FieldError::new("actor.id", "at most 128 characters"));
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("ticket not found")]
    NotFound,
    #[error("{0}")]
    Invalid(FieldError),
    #[error("the ticket is closed; closed is final (open a follow-up ticket)")]
    Closed,
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl From<FieldError> for Error {
    fn from(e: FieldError) -> Self {
        Error::Invalid(e)
    }
}

fn field(f: &str, reason: impl Into<String>) -> Error {
    Error::Invalid(FieldError::new(f, reason))
}

/// A line of the conversation a ticket is made from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TranscriptLine {
    /// customer | bot | agent | system
    pub sender: String,
    pub text: String,
    pub at: DateTime<Utc>,
}

/// What a new ticket is.
#[derive(Clone, Debug, Default)]
pub struct NewTicket {
    pub tenant: String,
    pub subject: String,
    pub description: String,
    /// Empty: normal.
    pub priority: String,
    pub requester_id: String,
    pub merchant_id: String,
    pub conversation_id: String,
    pub channel_id: String,
    pub group_id: String,
    pub assignee_id: String,
    pub tags: Vec<String>,
    pub ticket_type: String,
    pub follow_up_of: String,
    pub idempotency_key: String,
    pub transcript: Vec<TranscriptLine>,
}

/// The changes an update asks for (`None`: unchanged).
#[derive(Clone, Debug, Default)]
pub struct Changes {
    pub status: Option<String>,
    pub sub_status: Option<String>,
    pub priority: Option<String>,
    pub group_id: Option<String>,
    pub assignee_id: Option<String>,
    pub subject: Option<String>,
    pub tags: Option<Vec<String>>,
}

/// The ticket after a change, and the events to dispatch once committed.
pub struct Done {
    pub ticket: ticket::Model,
    pub events: Vec<Envelope>,
}

fn text_field(name: &str, value: &str, max: usize, required: bool) -> Result<(), Error> {
    if required && value.trim().is_empty() {
        return Err(field(name, "is required"));
    }
    if value.chars().count() > max {
        return Err(field(name, format!("at most {max} characters")));
    }
    if let Some(reason) = kefu_proto::desk::control_character(value) {
        return Err(field(name, reason));
    }
    Ok(())
}

fn id_field(name: &str, value: &str) -> Result<(), Error> {
    if !value.is_empty() && (value.len() > 128 || value.chars().any(char::is_control)) {
        return Err(field(name, "at most 128 characters, no control characters"));
    }
    Ok(())
}

fn tags_field(tags: &[String]) -> Result<Vec<String>, Error> {
    if tags.len() > MAX_TAGS {
        return Err(field("tags", format!("at most {MAX_TAGS} tags")));
    }
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for (i, t) in tags.iter().enumerate() {
        let t = t.trim();
        if t.is_empty() || t.chars().count() > 64 || t.chars().any(char::is_control) {
            return Err(field(
                &format!("tags[{i}]"),
                "1-64 characters, no control characters",
            ));
        }
        if !out.iter().any(|x| x == t) {
            out.push(t.to_owned());
        }
    }
    Ok(out)
}

fn priority_field(p: &str) -> Result<Priority, Error> {
    if p.is_empty() {
        return Ok(Priority::Normal);
    }
    Priority::parse(p).ok_or_else(|| field("priority", "must be urgent, high, normal or low"))
}

/// The tenant's settings (the defaults when it has none stored).
pub async fn settings<C: ConnectionTrait>(db: &C, tenant: &str) -> Result<Settings, DbErr> {
    let Some(row) = store::settings(db, tenant).await? else {
        return Ok(Settings::default());
    };
    let doc: crate::settings::Document = serde_json::from_str(&row.document).unwrap_or_default();
    Ok(Settings::from_document(&doc).unwrap_or_default())
}

/// Stores `tenant`'s settings document after checking it; whether it was newer than the
/// stored one.
pub async fn put_settings(
    db: &DatabaseConnection,
    tenant: &str,
    json: &str,
    version: i64,
) -> Result<bool, Error> {
    let doc: crate::settings::Document =
        serde_json::from_str(json).map_err(|e| field("json", e.to_string()))?;
    Settings::from_document(&doc).map_err(|e| field(&e.field, e.reason))?;
    let normal = serde_json::to_string(&doc).expect("a document serializes");
    Ok(store::put_settings(db, tenant, &normal, version).await?)
}

fn audit_row(
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
async fn schedule<C: ConnectionTrait>(db: &C, x: &mut ticket::Model) -> Result<(), DbErr> {
    x.next_due_at = sla::next_due(&x.clocks);
    let wanted = sla::timers(&x.clocks);
    let rows: Vec<(Uuid, &str, &str, i64)> = wanted
        .iter()
        .map(|(fire, metric, due)| (Uuid::now_v7(), fire.as_str(), metric.as_str(), *due))
        .collect();
    store::replace_timers(db, &x.tenant_id, x.id, &rows).await
}

fn number(year: i32, n: i64) -> String {
    format!("T-{year}-{n:06}")
}

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

fn comment_row(
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

/// Moves `x` to `(status, sub)`, running the clocks' rules; returns whether anything changed.
fn move_to(
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

/// Fires the timers due by `now` (up to `limit`), each once: the timer row is deleted in the
/// transaction that records the warning or breach on the ticket and writes its event. Tickets
/// another transaction holds are left for the next round. Returns the events and each fired
/// timer's lag (ms past its instant).
pub async fn fire_due(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<(Vec<Envelope>, Vec<i64>, usize), DbErr> {
    let txn = db.begin().await?;
    let due = store::due_timers(&txn, now.timestamp_millis(), limit).await?;
    let found = due.len();
    let mut events = Vec::new();
    let mut lags = Vec::new();
    let mut by_tenant: std::collections::BTreeMap<
        &str,
        Vec<&crate::store::entities::ticket_timer::Model>,
    > = Default::default();
    for t in &due {
        by_tenant.entry(t.tenant_id.as_str()).or_default().push(t);
    }
    for (tenant, timers) in by_tenant {
        let mut ids: Vec<Uuid> = timers.iter().map(|t| t.ticket_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut tickets: std::collections::HashMap<Uuid, ticket::Model> =
            store::lock_tickets(&txn, tenant, &ids)
                .await?
                .into_iter()
                .map(|t| (t.id, t))
                .collect();
        let mut audit = Vec::new();
        let mut changed = std::collections::BTreeSet::new();
        for timer in timers {
            let Some(x) = tickets.get_mut(&timer.ticket_id) else {
                continue;
            };
            if !store::take_timer(&txn, timer.id).await? {
                continue;
            }
            let Some(fire) = Fire::parse(&timer.kind) else {
                continue;
            };
            if !sla::fired(&mut x.clocks.0, &timer.metric, fire, timer.due_at) {
                continue;
            }
            changed.insert(x.id);
            audit.push(audit_row(
                x,
                &Actor::system(),
                now,
                fire.as_str(),
                "",
                &timer.metric,
            ));
            events.push(crate::events::sla(
                x,
                fire,
                &timer.metric,
                timer.due_at,
                timer.id,
                now,
            ));
            lags.push(now.timestamp_millis() - timer.due_at);
        }
        // Only tickets whose clocks recorded a warning or breach (a stale timer changes none).
        for x in tickets.values_mut().filter(|x| changed.contains(&x.id)) {
            x.next_due_at = sla::next_due(&x.clocks);
            store::save_ticket(&txn, x).await?;
        }
        store::insert_audit(&txn, &audit).await?;
    }
    kefu_worker::outbox::enqueue_many(&txn, &events).await?;
    txn.commit().await?;
    Ok((events, lags, found))
}

/// A page of tickets and the cursor of the next.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    filter: ListFilter,
) -> Result<(Vec<ticket::Model>, Option<Uuid>), DbErr> {
    let limit = filter.limit;
    let mut f = filter;
    f.limit = limit + 1;
    let mut rows = store::list(db, &f).await?;
    let next = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.id)
    } else {
        None
    };
    Ok((rows, next))
}
