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

mod comment;
mod create;
mod fire;
mod rows;
mod settings;
mod update;

pub use comment::{comment, customer_reply};
pub use create::create;
pub use fire::fire_due;
use rows::*;
pub use settings::{put_settings, settings};
use update::move_to;
pub use update::update;

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
