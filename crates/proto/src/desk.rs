//! The desk's rules in one place, for the gateway (which checks requests at the edge) and the
//! session (which enforces them): limits, roles, agent statuses, and request-field errors,
//! carried between them as structured gRPC details (`google.rpc.BadRequest`), never parsed out
//! of a message.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// Longest free text of a reply, note, whisper, canned response, summary or comment (the
/// same as a customer's message on a channel).
pub const MAX_TEXT_CHARS: usize = 5_000;
/// Longest display name or title.
pub const MAX_NAME_CHARS: usize = 200;
/// Most entries of a list field (skills, languages, tags, capacity).
pub const MAX_LIST: usize = 32;
/// Longest entry of a list field.
pub const MAX_LIST_ITEM_CHARS: usize = 64;
/// An agent's statuses; only `online` agents are offered work.
pub const STATUSES: &[&str] = &["online", "busy", "away", "offline"];

/// Desk roles, lowest first: each may do what the ones below it may.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Agent,
    Supervisor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Agent, Role::Supervisor, Role::Admin];

    pub fn parse(s: &str) -> Option<Role> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    /// "agent, supervisor or admin", for error messages.
    pub fn choices() -> &'static str {
        "agent, supervisor or admin"
    }
}

/// A request field that is wrong, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl From<FieldError> for Status {
    fn from(e: FieldError) -> Self {
        let details = ErrorDetails::with_bad_request_violation(e.field.clone(), e.reason.clone());
        Status::with_error_details(Code::InvalidArgument, e.to_string(), details)
    }
}

/// `InvalidArgument` naming `field` in its details.
pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Status {
    FieldError::new(field, reason).into()
}

/// The field a status names in its `BadRequest` details, if it names one.
pub fn field_error(status: &Status) -> Option<FieldError> {
    let violation = status
        .get_details_bad_request()?
        .field_violations
        .into_iter()
        .next()?;
    Some(FieldError::new(violation.field, violation.description))
}

/// Why `value` cannot be stored as text: the first control character in it (Unicode category
/// Cc: U+0000–U+001F, U+007F–U+009F) other than tab, line feed and carriage return. NUL cannot
/// be stored in a PostgreSQL text column at all, and escape sequences would reach terminals
/// and logs; both backends refuse them the same way, before anything is written.
pub fn control_character(value: &str) -> Option<String> {
    value
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        .map(|c| {
            format!(
                "must not contain control characters (found U+{:04X})",
                c as u32
            )
        })
}

/// `value` must be `min..=max` characters, without control characters other than tab and
/// line breaks.
pub fn check_chars(field: &str, value: &str, min: usize, max: usize) -> Result<(), FieldError> {
    if let Some(reason) = control_character(value) {
        return Err(FieldError::new(field, reason));
    }
    let n = value.chars().count();
    if n < min || n > max {
        let what = if min == 0 {
            format!("must be at most {max} characters")
        } else {
            format!("must be {min}-{max} characters")
        };
        return Err(FieldError::new(field, what));
    }
    Ok(())
}

/// A list field: at most [`MAX_LIST`] entries of 1–[`MAX_LIST_ITEM_CHARS`] characters.
pub fn check_list(field: &str, items: &[String]) -> Result<(), FieldError> {
    if items.len() > MAX_LIST {
        return Err(FieldError::new(
            field,
            format!("must have at most {MAX_LIST} entries"),
        ));
    }
    for (i, s) in items.iter().enumerate() {
        check_chars(&format!("{field}[{i}]"), s, 1, MAX_LIST_ITEM_CHARS)?;
    }
    Ok(())
}

/// An agent status: one of [`STATUSES`].
pub fn check_status(field: &str, status: &str) -> Result<(), FieldError> {
    if STATUSES.contains(&status) {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            "must be online, busy, away or offline",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_error_survives_the_trip_as_details() {
        let status = invalid("tags[3]", "must be 1-64 characters");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(
            field_error(&status),
            Some(FieldError::new("tags[3]", "must be 1-64 characters"))
        );
        // A status without details names no field, whatever its message looks like.
        assert_eq!(
            field_error(&Status::invalid_argument("text: too long")),
            None
        );
    }

    #[test]
    fn limits_count_characters_not_bytes() {
        let chinese = "字".repeat(MAX_TEXT_CHARS);
        assert!(check_chars("text", &chinese, 1, MAX_TEXT_CHARS).is_ok());
        let over = format!("{chinese}字");
        assert_eq!(
            check_chars("text", &over, 1, MAX_TEXT_CHARS)
                .unwrap_err()
                .field,
            "text"
        );
        let long: Vec<String> = (0..=MAX_LIST).map(|i| i.to_string()).collect();
        assert!(check_list("skills", &long).is_err());
        let bad = vec!["ok".to_owned(), String::new()];
        assert_eq!(check_list("skills", &bad).unwrap_err().field, "skills[1]");
    }

    #[test]
    fn roles_are_ordered_and_parsed_once() {
        assert!(Role::Admin > Role::Supervisor && Role::Supervisor > Role::Agent);
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
