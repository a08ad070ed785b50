//! The gateway's HTTP error table: every error is a status plus a JSON body
//! `{"error": <code>, "message": <text>, "field": <name, when one field is at fault>}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct ErrorBody {
    pub error: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("could not read the request body: {0}")]
    BadBody(String),
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    #[error("{field}: {reason}")]
    InvalidField { field: String, reason: String },
    #[error("unknown channel {0}")]
    UnknownChannel(String),
    #[error("channel {0} is disabled")]
    ChannelDisabled(String),
    #[error("{0}")]
    BadSignature(crate::signature::SignatureError),
    /// A provider's call whose signature, or decryption, fails (what failed).
    #[error("the provider's {0} does not verify")]
    ProviderSignature(String),
    /// A provider's payload that is not the format it should be (XML, a form, …).
    #[error("malformed payload: {0}")]
    MalformedPayload(String),
    #[error("external_message_id {0} was already used for a different message")]
    ReusedMessageId(String),
    #[error("missing or invalid admin token")]
    Unauthorized,
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("{0}")]
    Conflict(String),
    #[error("internal error: {0}")]
    Internal(String),
    #[error("{0} is unavailable; retry shortly")]
    Unavailable(&'static str),
    #[error("token {0}")]
    BadToken(String),
    #[error("visitor is not a credential this channel issued")]
    BadVisitor,
    #[error("a WebSocket upgrade is required: {0}")]
    WebSocketRequired(String),
    #[error("this gateway has no room for more chat sockets; retry shortly")]
    TooManyConnections,
    /// A desk credential (agent token, admin token, login) that is missing or not valid.
    #[error("{field} {reason}")]
    Unauthenticated { field: &'static str, reason: String },
    /// A valid credential whose role is not enough; the message names the role needed.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} is not configured on this gateway")]
    NotConfigured(&'static str),
    #[error("{method} is not allowed on {path}")]
    MethodNotAllowed { method: String, path: String },
    /// Too many wrong passwords for this login: refused for `retry_after_s` more seconds.
    #[error("too many failed sign-ins for this login; retry in {retry_after_s} s")]
    LoginLocked { retry_after_s: u64 },
}

/// The answer for a path no route serves: 404 in the error table's JSON.
pub async fn no_route(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound {
        what: "route",
        id: uri.path().to_owned(),
    }
}

/// The answer for a route asked with a method it does not serve: 405 in the error table's JSON
/// (axum adds the `Allow` header naming the methods it does serve).
pub async fn no_method(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::MethodNotAllowed {
        method: method.to_string(),
        path: uri.path().to_owned(),
    }
}

/// Every error answer in the error table's JSON: a rejection axum (or a layer) wrote as plain
/// text — a path segment that is not UTF-8, a WebSocket handshake header — becomes
/// `{"error", "message", "field": null}` with its status kept, so no client ever has to parse
/// two error formats. Answers that are already JSON, and every success, pass untouched.
pub async fn json_errors(resp: axum::response::Response) -> axum::response::Response {
    let status = resp.status();
    let is_text = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !is_text {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let message = String::from_utf8_lossy(&text).trim().to_owned();
    let code = status
        .canonical_reason()
        .unwrap_or("error")
        .to_ascii_lowercase()
        .replace([' ', '-'], "_");
    let body = serde_json::json!({"error": code, "message": message, "field": null}).to_string();
    parts.headers.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    axum::response::Response::from_parts(parts, axum::body::Body::from(body))
}

impl ApiError {
    /// The field a field error names (tests: panics on any other error).
    #[cfg(test)]
    pub(crate) fn into_field(self) -> String {
        match self {
            ApiError::InvalidField { field, .. } => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    /// A request body that could not be read: over `limit` bytes (413) or broken (400).
    pub fn unreadable_body(rej: axum::extract::rejection::BytesRejection, limit: usize) -> Self {
        if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge { limit }
        } else {
            ApiError::BadBody(rej.body_text())
        }
    }

    pub fn field(field: &str, reason: impl Into<String>) -> Self {
        Self::InvalidField {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }

    /// The `error` code of the JSON body, e.g. `bad_signature`.
    pub fn code(&self) -> &'static str {
        self.parts().1
    }

    fn parts(&self) -> (StatusCode, &'static str, Option<String>) {
        use ApiError::*;
        match self {
            PayloadTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", None),
            BadBody(_) => (StatusCode::BAD_REQUEST, "bad_body", None),
            MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed_json", None),
            InvalidField { field, .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                Some(field.clone()),
            ),
            UnknownChannel(_) => (
                StatusCode::NOT_FOUND,
                "unknown_channel",
                Some("channel_id".into()),
            ),
            ChannelDisabled(_) => (
                StatusCode::FORBIDDEN,
                "channel_disabled",
                Some("channel_id".into()),
            ),
            BadSignature(_) => (
                StatusCode::UNAUTHORIZED,
                "bad_signature",
                Some("X-Kefu-Signature".into()),
            ),
            ProviderSignature(_) => (StatusCode::UNAUTHORIZED, "bad_signature", None),
            MalformedPayload(_) => (StatusCode::BAD_REQUEST, "malformed_payload", None),
            ReusedMessageId(_) => (
                StatusCode::CONFLICT,
                "external_message_id_reused",
                Some("external_message_id".into()),
            ),
            Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", None),
            LoginLocked { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                Some("login".into()),
            ),
            MethodNotAllowed { .. } => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", None),
            NotFound { .. } => (StatusCode::NOT_FOUND, "not_found", None),
            Conflict(_) => (StatusCode::CONFLICT, "conflict", None),
            Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", None),
            Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", None),
            BadToken(_) => (StatusCode::UNAUTHORIZED, "bad_token", Some("token".into())),
            BadVisitor => (
                StatusCode::UNAUTHORIZED,
                "bad_visitor",
                Some("visitor".into()),
            ),
            WebSocketRequired(_) => (StatusCode::UPGRADE_REQUIRED, "websocket_required", None),
            TooManyConnections => (
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_connections",
                Some("channel_id".into()),
            ),
            Unauthenticated { field, .. } => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                Some((*field).into()),
            ),
            Forbidden(_) => (
                StatusCode::FORBIDDEN,
                "forbidden",
                Some("authorization".into()),
            ),
            NotConfigured(_) => (StatusCode::SERVICE_UNAVAILABLE, "not_configured", None),
        }
    }
}

impl ApiError {
    /// A session service error (`what` `id` is the thing the call was about) as the HTTP error
    /// table has it. The session names the field at fault in the status's `BadRequest`
    /// details (`kefu_proto::desk::invalid`).
    pub fn from_session(s: tonic::Status, what: &'static str, id: &str) -> Self {
        use tonic::Code;
        match s.code() {
            Code::NotFound => ApiError::NotFound {
                what,
                id: id.chars().take(64).collect(),
            },
            Code::InvalidArgument | Code::OutOfRange => match kefu_proto::desk::field_error(&s) {
                Some(e) => e.into(),
                None => ApiError::field("body", s.message()),
            },
            Code::FailedPrecondition | Code::AlreadyExists | Code::Aborted => {
                ApiError::Conflict(s.message().into())
            }
            Code::PermissionDenied => ApiError::Forbidden(s.message().into()),
            Code::Unauthenticated => ApiError::Unauthenticated {
                field: "authorization",
                reason: s.message().into(),
            },
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
                ApiError::Unavailable("the session service")
            }
            _ => ApiError::Internal(format!("session: {s}")),
        }
    }
}

impl From<kefu_proto::desk::FieldError> for ApiError {
    fn from(e: kefu_proto::desk::FieldError) -> Self {
        ApiError::field(&e.field, e.reason)
    }
}

impl From<kefu_store::StoreError> for ApiError {
    fn from(err: kefu_store::StoreError) -> Self {
        match err {
            kefu_store::StoreError::Conflict(msg) => ApiError::Conflict(msg),
            other => ApiError::Internal(error_chain(&other)),
        }
    }
}

/// An error and its causes on one line, for logs and 5xx bodies.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(cause) = cur {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        cur = cause.source();
    }
    out
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, field) = self.parts();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        } else {
            tracing::debug!(error = %self, code, "request rejected");
        }
        // Internal details (database errors, host names) stay in the log.
        let message = if matches!(
            self,
            ApiError::Unavailable(_) | ApiError::TooManyConnections | ApiError::NotConfigured(_)
        ) {
            self.to_string()
        } else if status.is_server_error() {
            "internal error; the request was not processed, it is safe to retry".to_owned()
        } else {
            self.to_string()
        };
        let retry_after = match &self {
            ApiError::LoginLocked { retry_after_s } => Some(retry_after_s.to_string()),
            _ => None,
        };
        let body = ErrorBody {
            error: code,
            message,
            field,
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(v) = retry_after.and_then(|v| http::HeaderValue::from_str(&v).ok()) {
            response.headers_mut().insert(http::header::RETRY_AFTER, v);
        }
        response
    }
}
