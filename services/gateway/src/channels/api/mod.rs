//! The API channel (`api`, and `weibo` and `marketplace`, which a tenant's bridge speaks it
//! for): `POST /v1/channels/{channel_id}/messages` with a JSON body signed with the channel
//! secret (`X-Kefu-Signature`), answered 202; replies are POSTed, signed, to the channel's
//! webhook ([`webhook`]).
//!
//! Checks run cheapest first and nothing is written unless all pass: body size, channel, signature
//! (over the raw bytes), JSON, fields. An accepted message and its `message.received` event are
//! committed together; a re-send of the same external message id returns the first answer.

pub mod webhook;

use super::{Answer, Inbound, Outcome};
use crate::AppState;
use crate::content::{self, Content, required_id};
use crate::error::ApiError;
use crate::inbound::{Accepted, Submission, fingerprint, submit};
use crate::signature;
use crate::store::entities::channel;
use axum::Json;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::IntoResponse;
use kefu_proto::events::{Identity, MessageToSend, ProfileHints};
use serde_json::Value;

/// The API protocol, under the channel type it serves.
pub struct Api(pub &'static str);

#[async_trait::async_trait]
impl super::Adapter for Api {
    fn channel_type(&self) -> &'static str {
        self.0
    }

    fn needs_webhook(&self) -> bool {
        true
    }

    async fn receive(&self, state: &AppState, channel: &channel::Model, req: Inbound) -> Answer {
        receive(state, channel, req).await
    }

    async fn send(
        &self,
        state: &AppState,
        channel: &channel::Model,
        message: &MessageToSend,
        attempt: u32,
    ) -> Outcome {
        webhook::send(
            &state.http,
            &channel.webhook_url,
            &channel.secret,
            message,
            attempt,
        )
        .await
    }
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

/// The API protocol's inbound call (also the web channel's: a tenant's server may write for
/// a web customer).
pub async fn receive(state: &AppState, channel: &channel::Model, req: Inbound) -> Answer {
    if req.method != Method::POST {
        return Answer::error(ApiError::MethodNotAllowed {
            method: req.method.to_string(),
            path: req.uri.path().to_owned(),
        });
    }
    match accept(state, channel, &req).await {
        Ok((accepted, duplicate)) => {
            let mut resp = (StatusCode::ACCEPTED, Json(accepted)).into_response();
            if duplicate {
                resp.headers_mut()
                    .insert("kefu-duplicate", HeaderValue::from_static("true"));
            }
            Answer::new(resp, if duplicate { "duplicate" } else { "accepted" })
        }
        Err(e) => Answer::error(e),
    }
}

async fn accept(
    state: &AppState,
    channel: &channel::Model,
    req: &Inbound,
) -> Result<(Accepted, bool), ApiError> {
    let sig = req
        .headers
        .get(signature::HEADER)
        .and_then(|v| v.to_str().ok());
    signature::verify(channel.secret.as_bytes(), &req.body, sig).map_err(ApiError::BadSignature)?;
    let parsed = InboundBody::parse(&req.body)?;
    let fingerprint = parsed.fingerprint();
    submit(
        state,
        channel,
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
