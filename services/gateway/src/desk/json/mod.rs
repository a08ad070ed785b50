//! The desk API's JSON: serde structs mirroring the `kefu.session.v1` desk messages in
//! snake_case (timestamps as RFC 3339 strings, maps as objects), their conversions from and to
//! protobuf, and the checks of request bodies. The OpenAPI document is derived from these same
//! types, so the document and the wire cannot drift apart.

use crate::error::ApiError;
use chrono::{DateTime, Utc};
use kefu_proto::events as ev;
use kefu_proto::session as pb;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The desk's limits, shared with the session that enforces them (`kefu_proto::desk`).
pub use kefu_proto::desk::{MAX_LIST, MAX_TEXT_CHARS, STATUSES};
/// Most cards in one reply.
pub const MAX_CARDS: usize = 10;
pub const SCOPES: &[&str] = &["mine", "queued", "closed", "active"];

fn ts(t: &Option<prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    t.as_ref().and_then(kefu_proto::time::from_timestamp)
}

/// The error body of every 4xx/5xx (see `crate::error`).
#[derive(Serialize, ToSchema)]
pub struct Error {
    /// e.g. `invalid_field`, `unauthenticated`, `forbidden`, `not_found`.
    pub error: String,
    pub message: String,
    /// The field at fault, when one is.
    pub field: Option<String>,
}

// ---------------------------------------------------------------- checks

/// `value` must be `min..=max` characters.
pub fn bounded(field: &str, value: &str, min: usize, max: usize) -> Result<(), ApiError> {
    Ok(kefu_proto::desk::check_chars(field, value, min, max)?)
}

/// A list field: the desk's list limits.
fn short_list(field: &str, items: &[String]) -> Result<(), ApiError> {
    Ok(kefu_proto::desk::check_list(field, items)?)
}

/// An optional client-chosen id (idempotency key), at most 128 bytes of printable ASCII.
fn client_id(field: &str, v: &Option<String>) -> Result<String, ApiError> {
    let v = v.clone().unwrap_or_default();
    if v.len() > crate::content::MAX_ID_LEN || !v.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::field(
            field,
            "must be at most 128 printable ASCII characters",
        ));
    }
    Ok(v)
}

pub fn check_status(status: &str) -> Result<(), ApiError> {
    if STATUSES.contains(&status) {
        Ok(())
    } else {
        Err(ApiError::field(
            "status",
            format!("must be one of {}", STATUSES.join(", ")),
        ))
    }
}

mod accounts;
mod canned;
mod conversations;
mod messages;
mod requests;
mod supervision;
#[cfg(test)]
mod tests;

pub use accounts::*;
pub use canned::*;
pub use conversations::*;
pub use messages::*;
pub use requests::*;
pub use supervision::*;
