//! WeChat Official Accounts (`wechat`) and mini-programs' customer service (`miniprogram`).
//!
//! In: WeChat calls `/v1/channels/{id}/messages` — a GET to check the URL (`echostr` echoed when
//! `signature` verifies), then a POST per message or event. In safe mode (the default) the push
//! is AES-encrypted and signed (`msg_signature`); in compatible mode Kefu reads the encrypted
//! copy; in plain mode only the query's `signature` vouches for it. Kefu answers `success` once
//! the message is stored (WeChat retries three times within 15 s otherwise; the retries are
//! recognised by `MsgId`), or a passive welcome to a new follower, encrypted like the push.
//!
//! Out: replies go through the customer-service message API (`message/custom/send`) within
//! the customer's window (48 hours, a quota of messages; [`super::window`]), with the access
//! token shared by the replicas ([`super::token`]). Outside the window an account with a
//! template sends a template message; otherwise the reply is reported back to the agent as
//! undeliverable.

mod api;

pub(crate) use api::{fetch_media, outcome};

use super::{Answer, Inbound, Outcome, window};
use crate::AppState;
use crate::content::Content;
use crate::error::ApiError;
use crate::inbound::{Submission, fingerprint, submit};
use crate::store::entities::channel;
use axum::http::{Method, StatusCode, header};
use kefu_channels::wechat::crypto::{self, Cipher};
use kefu_channels::wechat::push::{Meaning, Push};
use kefu_channels::wechat::reply;
use kefu_channels::{Kind, ParseError};
use kefu_crd::channel::{WechatMode, WechatSettings, credential};
use kefu_proto::events::{CardAction, Identity, MessageToSend};

/// How far a push's timestamp may be from now (WeChat retries within 15 seconds; an old
/// timestamp is a replay).
const MAX_SKEW_S: i64 = 300;
/// WeChat's text messages carry at most 2048 bytes.
const MAX_TEXT_BYTES: usize = 2048;

/// An Official Account (`mini: false`) or a mini-program.
pub struct Wechat {
    pub mini: bool,
}

impl Wechat {
    fn settings<'a>(&self, channel: &'a channel::Model) -> Result<&'a WechatSettings, ApiError> {
        channel
            .settings
            .wechat
            .as_ref()
            .ok_or(ApiError::NotConfigured("this channel's WeChat settings"))
    }

    fn rules(&self, s: &WechatSettings) -> window::Rules {
        window::Rules {
            hours: s.window_hours.unwrap_or(48),
            quota: s.quota.unwrap_or(if self.mini { 5 } else { 20 }),
        }
    }
}

/// A signature or decryption failure: 401 in the error table, naming what failed.
fn bad(what: &str) -> ApiError {
    ApiError::ProviderSignature(what.to_owned())
}

pub(crate) fn malformed(e: ParseError) -> ApiError {
    match e {
        ParseError::Field { field, reason } => ApiError::field(&field, reason),
        ParseError::TooLarge { limit } => ApiError::PayloadTooLarge { limit },
        other => ApiError::MalformedPayload(other.to_string()),
    }
}

fn text_answer(body: String, outcome: &'static str) -> Answer {
    Answer::new(
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            body,
        ),
        outcome,
    )
}

#[async_trait::async_trait]
impl super::Adapter for Wechat {
    fn channel_type(&self) -> &'static str {
        if self.mini { "miniprogram" } else { "wechat" }
    }

    fn check(
        &self,
        credentials: &std::collections::BTreeMap<String, String>,
    ) -> Result<(), ApiError> {
        if let Some(key) = credentials.get(credential::AES_KEY) {
            Cipher::new(key).map_err(|e| {
                ApiError::field(
                    &format!("credentials.{}", credential::AES_KEY),
                    e.to_string(),
                )
            })?;
        }
        Ok(())
    }

    async fn media(
        &self,
        state: &AppState,
        channel: &channel::Model,
        media_id: &str,
    ) -> Result<axum::response::Response, ApiError> {
        use axum::response::IntoResponse;
        let s = self.settings(channel)?;
        let (kind, bytes) = api::media(state, channel, s, media_id).await?;
        Ok(([(header::CONTENT_TYPE, kind)], bytes).into_response())
    }

    async fn receive(&self, state: &AppState, channel: &channel::Model, req: Inbound) -> Answer {
        match self.handle(state, channel, &req).await {
            Ok(answer) => answer,
            Err(e) => Answer::error(e),
        }
    }

    async fn send(
        &self,
        state: &AppState,
        channel: &channel::Model,
        message: &MessageToSend,
        _attempt: u32,
    ) -> Outcome {
        let s = match self.settings(channel) {
            Ok(s) => s,
            Err(e) => return Outcome::Reject(e.to_string()),
        };
        let text = super::render::plain_text(message);
        let text = reply::fit(&text, MAX_TEXT_BYTES);
        let user = &message.external_user_id;
        match window::claim(&state.db, &channel.id, user, self.rules(s)).await {
            Err(e) => Outcome::Retry(format!("claiming the window: {e}")),
            Ok(Err(blocked)) => match (&s.template, self.mini) {
                (Some(t), false) => {
                    let field = t.field.as_deref().unwrap_or("content");
                    let body = reply::template(user, &t.template_id, field, text);
                    api::post(state, channel, s, "/cgi-bin/message/template/send", &body).await
                }
                _ => Outcome::Undeliverable {
                    reason: blocked.code(),
                    detail: format!(
                        "WeChat allows {} messages within {} hours of the customer's last message",
                        self.rules(s).quota,
                        self.rules(s).hours
                    ),
                },
            },
            Ok(Ok(())) => {
                let body = reply::custom_text(user, text);
                let outcome =
                    api::post(state, channel, s, "/cgi-bin/message/custom/send", &body).await;
                if !matches!(outcome, Outcome::Delivered)
                    && let Err(e) = window::release(&state.db, &channel.id, user).await
                {
                    tracing::warn!(error = %e, "giving a window claim back failed");
                }
                outcome
            }
        }
    }
}

impl Wechat {
    async fn handle(
        &self,
        state: &AppState,
        channel: &channel::Model,
        req: &Inbound,
    ) -> Result<Answer, ApiError> {
        let s = self.settings(channel)?;
        let token = channel.secret.as_str();
        let timestamp = req.query("timestamp").unwrap_or_default();
        let nonce = req.query("nonce").unwrap_or_default();
        if req.method == Method::GET {
            // The URL check when the account's server is configured.
            let signature = req.query("signature").unwrap_or_default();
            crypto::verify_signature(&signature, &[token, &timestamp, &nonce])
                .map_err(|_| bad("signature"))?;
            let echo = req
                .query("echostr")
                .ok_or_else(|| ApiError::field("echostr", "is required"))?;
            return Ok(text_answer(echo, "verified"));
        }
        if req.method != Method::POST {
            return Err(ApiError::MethodNotAllowed {
                method: req.method.to_string(),
                path: req.uri.path().to_owned(),
            });
        }
        let ts: i64 = timestamp
            .parse()
            .map_err(|_| ApiError::field("timestamp", "must be a number"))?;
        if (chrono::Utc::now().timestamp() - ts).abs() > MAX_SKEW_S {
            return Err(bad("timestamp (too old or in the future)"));
        }
        let outer = Push::parse(&req.body).map_err(malformed)?;
        let encrypted = outer.get("Encrypt");
        let (push, cipher) = if !encrypted.is_empty() && s.mode != WechatMode::Plain {
            let msg_signature = req.query("msg_signature").unwrap_or_default();
            crypto::verify_signature(&msg_signature, &[token, &timestamp, &nonce, encrypted])
                .map_err(|_| bad("msg_signature"))?;
            let cipher = Cipher::new(channel.credential(credential::AES_KEY))
                .map_err(|_| ApiError::NotConfigured("this channel's EncodingAESKey"))?;
            let plain = cipher
                .decrypt(encrypted, &s.app_id)
                .map_err(|e| bad(&format!("ciphertext ({e})")))?;
            (
                Push::parse(plain.as_bytes()).map_err(malformed)?,
                Some(cipher),
            )
        } else if s.mode == WechatMode::Safe {
            return Err(bad("Encrypt (safe mode takes encrypted pushes only)"));
        } else {
            let signature = req.query("signature").unwrap_or_default();
            crypto::verify_signature(&signature, &[token, &timestamp, &nonce])
                .map_err(|_| bad("signature"))?;
            (outer, None)
        };
        let media = |id: &str| super::media::link(channel, id);
        match push.meaning(&media).map_err(malformed)? {
            Meaning::Ignored(what) => {
                tracing::debug!(channel = %channel.id, %what, "WeChat push acknowledged");
                Ok(text_answer("success".into(), "ignored"))
            }
            Meaning::Followed { openid, .. } => {
                window::open(&state.db, &channel.tenant_id, &channel.id, &openid).await?;
                match (&s.welcome, self.mini) {
                    (Some(welcome), false) => {
                        let xml = reply::text_xml(
                            &openid,
                            push.get("ToUserName"),
                            chrono::Utc::now().timestamp(),
                            welcome,
                        );
                        Ok(passive(xml, cipher.as_ref(), token, &s.app_id))
                    }
                    _ => Ok(text_answer("success".into(), "followed")),
                }
            }
            Meaning::Message(mut m) => {
                window::open(
                    &state.db,
                    &channel.tenant_id,
                    &channel.id,
                    &m.external_user_id,
                )
                .await?;
                if !self.mini
                    && let Some(unionid) =
                        self.unionid(state, channel, s, &m.external_user_id).await
                {
                    m.identities.push(("wechat_unionid".to_owned(), unionid));
                }
                let (_, duplicate) = submit(state, channel, submission(m)).await?;
                Ok(text_answer(
                    "success".into(),
                    if duplicate { "duplicate" } else { "accepted" },
                ))
            }
        }
    }
}

impl Wechat {
    /// The customer's UnionID: asked of WeChat at most once a day per customer (the answer
    /// is kept with the contact), and never holding the message up for long — when WeChat
    /// does not answer, the message goes on without it.
    async fn unionid(
        &self,
        state: &AppState,
        channel: &channel::Model,
        s: &WechatSettings,
        openid: &str,
    ) -> Option<String> {
        match window::looked_up(&state.db, &channel.id, openid).await {
            Ok(Some((unionid, at))) if chrono::Utc::now() - at < chrono::Duration::hours(24) => {
                return (!unionid.is_empty()).then_some(unionid);
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "reading a WeChat contact failed");
                return None;
            }
        }
        match api::unionid(state, channel, s, openid).await {
            Ok(unionid) => {
                if let Err(e) =
                    window::remember_lookup(&state.db, &channel.id, openid, &unionid).await
                {
                    tracing::warn!(error = %e, "remembering a WeChat UnionID failed");
                }
                (!unionid.is_empty()).then_some(unionid)
            }
            Err(e) => {
                tracing::info!(channel = %channel.id, error = %e, "no UnionID from WeChat this time");
                None
            }
        }
    }
}

/// An EncodingAESKey, when given, is one.
pub(crate) fn check_aes_key(
    credentials: &std::collections::BTreeMap<String, String>,
) -> Result<(), ApiError> {
    if let Some(key) = credentials.get(credential::AES_KEY) {
        Cipher::new(key).map_err(|e| {
            ApiError::field(
                &format!("credentials.{}", credential::AES_KEY),
                e.to_string(),
            )
        })?;
    }
    Ok(())
}

/// A passive reply: the XML itself, or in the encrypted envelope when the push came encrypted.
fn passive(xml: String, cipher: Option<&Cipher>, token: &str, app_id: &str) -> Answer {
    let body = match cipher {
        None => xml,
        Some(c) => {
            let random: [u8; 16] = rand::random();
            let encrypt = c.encrypt(&xml, app_id, random);
            let timestamp = chrono::Utc::now().timestamp().to_string();
            let nonce = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
            let sig = crypto::signature(&[token, &timestamp, &nonce, &encrypt]);
            reply::encrypted_xml(&encrypt, &sig, &timestamp, &nonce)
        }
    };
    Answer::new(
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
            body,
        ),
        "replied",
    )
}

/// A normalised provider message as the content model has it.
pub(crate) fn submission(m: kefu_channels::Inbound) -> Submission {
    let (message_type, action) = match m.kind {
        Kind::Image => ("image", None),
        // A menu key that names a button's action is that button; another is what the
        // customer asks, as text.
        Kind::Action if kefu_proto::actions::is_button_action(&m.action) => (
            "action",
            Some(CardAction {
                action: m.action.clone(),
                ..Default::default()
            }),
        ),
        _ => ("text", None),
    };
    let content = Content {
        message_type: message_type.to_owned(),
        text: if message_type == "action" {
            String::new()
        } else {
            m.text
        },
        image_url: m.image_url,
        action,
        page: None,
        merchant_id: String::new(),
    };
    Submission {
        fingerprint: fingerprint(&m.external_user_id, &content),
        external_message_id: m.external_message_id,
        external_user_id: m.external_user_id,
        content,
        identities: m
            .identities
            .into_iter()
            .map(|(kind, value)| Identity { kind, value })
            .collect(),
        profile: None,
    }
}
