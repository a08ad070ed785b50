//! `POST /v1/channels/{channel_id}/messages`: the API channel's inbound endpoint.
//!
//! Checks run cheapest first and nothing is written unless all pass: body size, channel, signature
//! (over the raw bytes), JSON, fields. An accepted message and its `message.received` event are
//! committed together; a re-send of the same external message id returns the first answer.

use crate::AppState;
use crate::content::{self, Content, required_id};
use crate::error::ApiError;
use crate::signature;
use crate::store::{Acceptance, InboundRecord};
use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::Utc;
use kefu_bus::Envelope;
use kefu_proto::events::{Identity, MessageReceived, ProfileHints};
use prost::Message as _;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub use crate::content::{MAX_ID_LEN, MAX_TEXT_CHARS, MAX_URL_LEN, PAGE_TYPES};

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Accepted {
    pub message_id: Uuid,
    pub status: &'static str,
}

/// The validated body.
#[derive(Debug, Default, PartialEq)]
pub struct InboundBody {
    pub external_message_id: String,
    pub external_user_id: String,
    pub content: Content,
    /// Identities the tenant's server vouches for (the request is signed with the channel
    /// secret, so they are trusted like a signed identity token).
    pub identities: Vec<Identity>,
    pub profile: Option<ProfileHints>,
}

impl InboundBody {
    /// Parses and validates; errors name the offending field.
    pub fn parse(raw: &[u8]) -> Result<Self, ApiError> {
        let value: Value = crate::strict_json::value(raw)?;
        let obj = value
            .as_object()
            .ok_or_else(|| ApiError::MalformedJson("the body must be a JSON object".into()))?;
        let external_message_id = required_id(obj, "external_message_id")?;
        let external_user_id = required_id(obj, "external_user_id")?;
        let content = Content::parse(obj)?;
        Ok(Self {
            external_message_id,
            external_user_id,
            content,
            identities: content::parse_identities(obj)?,
            profile: content::parse_profile(obj)?,
        })
    }

    /// Hash of the meaningful content, to tell a re-send from a reused id.
    fn fingerprint(&self) -> String {
        fingerprint(&self.external_user_id, &self.content)
    }
}

/// Hash of a message's meaningful content, to tell a re-send from a reused id.
pub fn fingerprint(external_user_id: &str, content: &Content) -> String {
    let mut h = Sha256::new();
    h.update(external_user_id.as_bytes());
    h.update([0]);
    content.digest(&mut h);
    hex::encode(h.finalize())
}

pub async fn receive(
    State(state): State<AppState>,
    Path(channel_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let result = accept(&state, &channel_id, &headers, body).await;
    let outcome = match &result {
        Ok((_, true)) => "duplicate",
        Ok((_, false)) => "accepted",
        Err(e) => e.code(),
    };
    state
        .metrics
        .inbound
        .add(1, &[opentelemetry::KeyValue::new("outcome", outcome)]);
    let (accepted, duplicate) = result?;
    let mut resp = (StatusCode::ACCEPTED, Json(accepted)).into_response();
    if duplicate {
        resp.headers_mut()
            .insert("kefu-duplicate", HeaderValue::from_static("true"));
    }
    Ok(resp)
}

async fn accept(
    state: &AppState,
    channel_id: &str,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(Accepted, bool), ApiError> {
    let body = body.map_err(|rej| ApiError::unreadable_body(rej, state.config.max_body_bytes))?;
    if channel_id.is_empty() || channel_id.len() > MAX_ID_LEN {
        return Err(ApiError::UnknownChannel(
            channel_id.chars().take(64).collect(),
        ));
    }
    let channel = state
        .channels
        .get(channel_id)
        .await?
        .ok_or_else(|| ApiError::UnknownChannel(channel_id.to_owned()))?;
    if !channel.enabled {
        return Err(ApiError::ChannelDisabled(channel_id.to_owned()));
    }
    let sig = headers.get(signature::HEADER).and_then(|v| v.to_str().ok());
    signature::verify(channel.secret.as_bytes(), &body, sig).map_err(ApiError::BadSignature)?;
    let parsed = InboundBody::parse(&body)?;
    let fingerprint = parsed.fingerprint();
    submit(
        state,
        &channel,
        Submission {
            external_message_id: parsed.external_message_id,
            external_user_id: parsed.external_user_id,
            content: parsed.content,
            identities: parsed.identities,
            profile: parsed.profile,
            fingerprint,
        },
    )
    .await
}

/// A validated customer message from any channel.
pub struct Submission {
    pub external_message_id: String,
    pub external_user_id: String,
    pub content: Content,
    pub identities: Vec<Identity>,
    pub profile: Option<ProfileHints>,
    pub fingerprint: String,
}

/// Accepts a validated message: the inbound record and its `message.received` event are
/// committed together (group commit); a re-send answers like the first time, a reused id with
/// other content is refused.
pub async fn submit(
    state: &AppState,
    channel: &crate::store::entities::channel::Model,
    msg: Submission,
) -> Result<(Accepted, bool), ApiError> {
    let message_id = Uuid::now_v7();
    let received_at = Utc::now();
    let content = msg.content;
    let event = MessageReceived {
        message_id: message_id.to_string(),
        channel_id: channel.id.clone(),
        channel_type: channel.channel_type.clone(),
        external_message_id: msg.external_message_id.clone(),
        external_user_id: msg.external_user_id.clone(),
        text: content.text,
        page: content.page,
        received_at: Some(kefu_proto::time::to_timestamp(received_at)),
        message_type: content.message_type,
        image_url: content.image_url,
        identities: msg.identities,
        action: content.action,
        profile: msg.profile,
        merchant_id: content.merchant_id,
    };
    let envelope = Envelope::new(
        channel.tenant_id.clone(),
        kefu_proto::event_types::MESSAGE_RECEIVED,
        event.encode_to_vec(),
    );
    let record = InboundRecord {
        id: message_id,
        tenant_id: channel.tenant_id.clone(),
        channel_id: channel.id.clone(),
        external_message_id: msg.external_message_id.clone(),
        external_user_id: msg.external_user_id,
        body_sha256: msg.fingerprint,
        received_at,
    };
    let acceptance = state
        .inbound
        .accept(record, envelope)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    match acceptance {
        Acceptance::New { message_id } => {
            tracing::info!(%message_id, channel = %channel.id, "message accepted");
            Ok((accepted(message_id), false))
        }
        Acceptance::Duplicate {
            message_id,
            same_body: true,
        } => Ok((accepted(message_id), true)),
        Acceptance::Duplicate {
            same_body: false, ..
        } => Err(ApiError::ReusedMessageId(msg.external_message_id)),
    }
}

fn accepted(message_id: Uuid) -> Accepted {
    Accepted {
        message_id,
        status: "accepted",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_body() {
        let b = InboundBody::parse(
            br#"{"external_message_id":"m1","external_user_id":"u1","text":"hi",
                "page":{"page_type":"product","product_id":"p9","url":"https://shop/p9"}}"#,
        )
        .unwrap();
        assert_eq!(b.external_message_id, "m1");
        let page = b.content.page.unwrap();
        assert_eq!(page.page_type, "product");
        assert_eq!(page.product_id, "p9");
    }

    #[test]
    fn names_the_bad_field() {
        let cases: &[(&str, &str)] = &[
            (
                r#"{"external_user_id":"u","text":"x"}"#,
                "external_message_id",
            ),
            (
                r#"{"external_message_id":"m","text":"x"}"#,
                "external_user_id",
            ),
            (
                r#"{"external_message_id":"m","external_user_id":"u"}"#,
                "text",
            ),
            (
                r#"{"external_message_id":"m","external_user_id":"u","text":"  "}"#,
                "text",
            ),
            (
                r#"{"external_message_id":5,"external_user_id":"u","text":"x"}"#,
                "external_message_id",
            ),
            (
                r#"{"external_message_id":"m","external_user_id":"u","text":"x","page":{"page_type":"moon"}}"#,
                "page.page_type",
            ),
            (
                r#"{"external_message_id":"m","external_user_id":"u","text":"x","page":"cart"}"#,
                "page",
            ),
        ];
        for (body, field) in cases {
            assert_eq!(
                InboundBody::parse(body.as_bytes())
                    .unwrap_err()
                    .into_field(),
                *field,
                "{body}"
            );
        }
        let long = format!(
            r#"{{"external_message_id":"{}","external_user_id":"u","text":"x"}}"#,
            "a".repeat(129)
        );
        assert_eq!(
            InboundBody::parse(long.as_bytes())
                .unwrap_err()
                .into_field(),
            "external_message_id"
        );
    }

    #[test]
    fn malformed_json_is_not_a_field_error() {
        assert!(matches!(
            InboundBody::parse(b"{nope"),
            Err(ApiError::MalformedJson(_))
        ));
        assert!(matches!(
            InboundBody::parse(b"[1]"),
            Err(ApiError::MalformedJson(_))
        ));
    }

    #[test]
    fn fingerprint_ignores_message_id_but_not_text() {
        let a =
            InboundBody::parse(br#"{"external_message_id":"m","external_user_id":"u","text":"x"}"#)
                .unwrap();
        let b =
            InboundBody::parse(br#"{"text":"x","external_user_id":"u","external_message_id":"m"}"#)
                .unwrap();
        let c =
            InboundBody::parse(br#"{"external_message_id":"m","external_user_id":"u","text":"y"}"#)
                .unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), c.fingerprint());
    }
}
