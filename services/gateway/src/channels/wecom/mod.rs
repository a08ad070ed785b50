//! WeChat Customer Service (微信客服) through WeCom (`wecom`): one customer-service account
//! (`open_kfid`) per channel.
//!
//! In: WeCom calls `/v1/channels/{id}/messages` — a GET to check the URL (`echostr` encrypted:
//! decrypted and echoed when `msg_signature` verifies), then an encrypted POST whenever
//! something happened (`kf_msg_or_event`). Kefu then pulls with `kf/sync_msg` from the stored
//! cursor ([`super::cursor`]: one pull per channel across the replicas) and stores each
//! customer message once by its `msgid`, saving the cursor page by page only after the page is
//! stored; a failed pull answers 503 so WeCom calls again.
//!
//! Out: `kf/send_msg` within the customer's window (48 hours, 5 messages by default), Kefu's
//! message id as `msgid` so a retried send is the same message. The access token (`gettoken`)
//! is shared like WeChat's.

use super::{Answer, Inbound, Outcome, cursor, window};
use crate::AppState;
use crate::error::ApiError;
use crate::inbound::submit;
use crate::store::entities::channel;
use axum::http::{Method, StatusCode, header};
use kefu_channels::wechat::crypto::{self, Cipher};
use kefu_channels::wechat::kf::{Callback, Page};
use kefu_channels::wechat::push::Push;
use kefu_channels::wechat::reply;
use kefu_crd::channel::{WecomSettings, credential};
use kefu_proto::events::MessageToSend;
use serde_json::{Value, json};

pub const DEFAULT_BASE: &str = "https://qyapi.weixin.qq.com";
/// Pages read in one pull at most (a backlog beyond is read on the next callback).
const MAX_PAGES: usize = 20;
const MAX_TEXT_BYTES: usize = 2048;
const MAX_SKEW_S: i64 = 300;

pub struct Wecom;

fn settings(channel: &channel::Model) -> Result<&WecomSettings, ApiError> {
    channel
        .settings
        .wecom
        .as_ref()
        .ok_or(ApiError::NotConfigured("this channel's WeCom settings"))
}

fn base(s: &WecomSettings) -> &str {
    s.api_base
        .as_deref()
        .unwrap_or(DEFAULT_BASE)
        .trim_end_matches('/')
}

fn rules(s: &WecomSettings) -> window::Rules {
    window::Rules {
        hours: s.window_hours.unwrap_or(48),
        quota: s.quota.unwrap_or(5),
    }
}

fn bad(what: &str) -> ApiError {
    ApiError::ProviderSignature(what.to_owned())
}

fn text(body: String, outcome: &'static str) -> Answer {
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
impl super::Adapter for Wecom {
    fn channel_type(&self) -> &'static str {
        "wecom"
    }

    fn check(
        &self,
        credentials: &std::collections::BTreeMap<String, String>,
    ) -> Result<(), ApiError> {
        super::wechat::check_aes_key(credentials)
    }

    async fn receive(&self, state: &AppState, channel: &channel::Model, req: Inbound) -> Answer {
        match handle(state, channel, &req).await {
            Ok(answer) => answer,
            Err(e) => Answer::error(e),
        }
    }

    async fn media(
        &self,
        state: &AppState,
        channel: &channel::Model,
        media_id: &str,
    ) -> Result<axum::response::Response, ApiError> {
        use axum::response::IntoResponse;
        let s = settings(channel)?;
        let token = token(state, channel, s)
            .await
            .map_err(|_| ApiError::Unavailable("WeCom's media API"))?;
        let (kind, bytes) = super::wechat::fetch_media(state, base(s), &token, media_id).await?;
        Ok(([(header::CONTENT_TYPE, kind)], bytes).into_response())
    }

    async fn send(
        &self,
        state: &AppState,
        channel: &channel::Model,
        message: &MessageToSend,
        _attempt: u32,
    ) -> Outcome {
        let s = match settings(channel) {
            Ok(s) => s,
            Err(e) => return Outcome::Reject(e.to_string()),
        };
        let user = &message.external_user_id;
        match window::claim(&state.db, &channel.id, user, rules(s)).await {
            Err(e) => Outcome::Retry(format!("claiming the window: {e}")),
            Ok(Err(blocked)) => Outcome::Undeliverable {
                reason: blocked.code(),
                detail: format!(
                    "WeChat Customer Service allows {} messages within {} hours of the customer's last message",
                    rules(s).quota,
                    rules(s).hours
                ),
            },
            Ok(Ok(())) => {
                let content = super::render::plain_text(message);
                // Kefu's message id as WeCom's msgid: a retried send is the same message.
                let msgid = uuid::Uuid::parse_str(&message.message_id)
                    .map(|u| u.simple().to_string())
                    .unwrap_or_default();
                let body = reply::kf_text(
                    user,
                    &s.open_kf_id,
                    &msgid,
                    reply::fit(&content, MAX_TEXT_BYTES),
                );
                let outcome = post(state, channel, s, "/cgi-bin/kf/send_msg", &body).await;
                let outcome = match outcome {
                    Err((code, msg)) => super::wechat::outcome(code, msg, || async {}).await,
                    Ok(_) => Outcome::Delivered,
                };
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

async fn handle(
    state: &AppState,
    channel: &channel::Model,
    req: &Inbound,
) -> Result<Answer, ApiError> {
    let s = settings(channel)?;
    let token = channel.secret.as_str();
    let timestamp = req.query("timestamp").unwrap_or_default();
    let nonce = req.query("nonce").unwrap_or_default();
    let msg_signature = req.query("msg_signature").unwrap_or_default();
    let cipher = Cipher::new(channel.credential(credential::AES_KEY))
        .map_err(|_| ApiError::NotConfigured("this channel's EncodingAESKey"))?;
    if req.method == Method::GET {
        let echo = req
            .query("echostr")
            .ok_or_else(|| ApiError::field("echostr", "is required"))?;
        crypto::verify_signature(&msg_signature, &[token, &timestamp, &nonce, &echo])
            .map_err(|_| bad("msg_signature"))?;
        let plain = cipher
            .decrypt(&echo, &s.corp_id)
            .map_err(|e| bad(&format!("echostr ({e})")))?;
        return Ok(text(plain, "verified"));
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
    let outer = Push::parse_xml(&req.body).map_err(super::wechat::malformed)?;
    let encrypted = outer.get("Encrypt");
    crypto::verify_signature(&msg_signature, &[token, &timestamp, &nonce, encrypted])
        .map_err(|_| bad("msg_signature"))?;
    let plain = cipher
        .decrypt(encrypted, &s.corp_id)
        .map_err(|e| bad(&format!("ciphertext ({e})")))?;
    let push = Push::parse_xml(plain.as_bytes()).map_err(super::wechat::malformed)?;
    let Some(callback) = Callback::read(&push).map_err(super::wechat::malformed)? else {
        return Ok(text("success".into(), "ignored"));
    };
    if callback.open_kfid != s.open_kf_id {
        tracing::debug!(channel = %channel.id, "a callback for another customer-service account");
        return Ok(text("success".into(), "ignored"));
    }
    let pulled = pull(state, channel, s, &callback.token).await?;
    Ok(text(
        "success".into(),
        if pulled > 0 { "accepted" } else { "pulled" },
    ))
}

/// Pulls what the callback announced (unless another pull runs and will read it); returns
/// the messages stored.
async fn pull(
    state: &AppState,
    channel: &channel::Model,
    s: &WecomSettings,
    callback_token: &str,
) -> Result<usize, ApiError> {
    let Some((lease, mut cursor)) = cursor::begin(&state.db, channel).await? else {
        return Ok(0);
    };
    let mut stored = 0;
    let result: Result<(), ApiError> = async {
        loop {
            lease.round(&state.db).await?;
            for _ in 0..MAX_PAGES {
                let page = sync(state, channel, s, &cursor, callback_token).await?;
                for m in page.messages {
                    window::open(
                        &state.db,
                        &channel.tenant_id,
                        &channel.id,
                        &m.external_user_id,
                    )
                    .await?;
                    let mut m = m;
                    if let Some(u) = unionid(state, channel, s, &m.external_user_id).await {
                        m.identities.push(("wechat_unionid".to_owned(), u));
                    }
                    let (_, duplicate) =
                        submit(state, channel, super::wechat::submission(m)).await?;
                    stored += usize::from(!duplicate);
                }
                if !page.next_cursor.is_empty() {
                    cursor = page.next_cursor;
                    if !lease.save(&state.db, &cursor).await? {
                        return Ok(());
                    }
                }
                if !page.has_more {
                    break;
                }
            }
            match lease.finish(&state.db).await? {
                cursor::Finish::Again => cursor = lease.current(&state.db).await?,
                cursor::Finish::Done | cursor::Finish::Lost => return Ok(()),
            }
        }
    }
    .await;
    if let Err(e) = &result {
        tracing::warn!(channel = %channel.id, error = %e, "pulling WeChat Customer Service messages failed");
        if let Err(e) = lease.abandon(&state.db).await {
            tracing::warn!(error = %e, "letting go of a pull failed");
        }
    }
    result.map(|()| stored)
}

/// One page of `kf/sync_msg`.
async fn sync(
    state: &AppState,
    channel: &channel::Model,
    s: &WecomSettings,
    cursor: &str,
    callback_token: &str,
) -> Result<Page, ApiError> {
    let mut body = json!({"limit": 1000, "voice_format": 0, "open_kfid": s.open_kf_id});
    if !cursor.is_empty() {
        body["cursor"] = json!(cursor);
    }
    if !callback_token.is_empty() {
        body["token"] = json!(callback_token);
    }
    let raw = post(state, channel, s, "/cgi-bin/kf/sync_msg", &body)
        .await
        .map_err(|(code, msg)| {
            tracing::warn!(code, %msg, "kf/sync_msg refused");
            ApiError::Unavailable("WeCom's kf/sync_msg")
        })?;
    let media = |id: &str| super::media::link(channel, id);
    Page::read(raw.to_string().as_bytes(), &s.open_kf_id, &media).map_err(|e| {
        tracing::warn!(error = %e, "an unreadable kf/sync_msg page");
        ApiError::Unavailable("WeCom's kf/sync_msg")
    })
}

/// The customer's UnionID (`kf/customer/batchget`), once a day per customer at most.
async fn unionid(
    state: &AppState,
    channel: &channel::Model,
    s: &WecomSettings,
    user: &str,
) -> Option<String> {
    match window::looked_up(&state.db, &channel.id, user).await {
        Ok(Some((u, at))) if chrono::Utc::now() - at < chrono::Duration::hours(24) => {
            return (!u.is_empty()).then_some(u);
        }
        Ok(_) => {}
        Err(_) => return None,
    }
    let body = json!({"external_userid_list": [user], "need_enter_session_context": 0});
    let found = match post(state, channel, s, "/cgi-bin/kf/customer/batchget", &body).await {
        Ok(v) => v["customer_list"]
            .as_array()
            .and_then(|l| l.iter().find(|c| c["external_userid"] == user))
            .and_then(|c| c["unionid"].as_str())
            .unwrap_or_default()
            .to_owned(),
        Err((code, _)) => {
            tracing::info!(code, "no UnionID from WeCom this time");
            return None;
        }
    };
    let _ = window::remember_lookup(&state.db, &channel.id, user, &found).await;
    (!found.is_empty()).then_some(found)
}

/// Fetches a new access token with the CorpID and the Secret.
async fn fetch(
    state: &AppState,
    channel: &channel::Model,
    s: &WecomSettings,
) -> Result<super::token::Fetched, super::token::TokenError> {
    use super::token::{Fetched, TokenError};
    let resp = state
        .http
        .get(format!("{}/cgi-bin/gettoken", base(s)))
        .query(&[
            ("corpid", s.corp_id.as_str()),
            ("corpsecret", channel.credential(credential::APP_SECRET)),
        ])
        .send()
        .await
        .map_err(|e| TokenError::Unreachable(e.without_url().to_string()))?;
    let body: Value = resp
        .json()
        .await
        .map_err(|e| TokenError::Unreachable(e.without_url().to_string()))?;
    match (
        body["errcode"].as_i64().unwrap_or(0),
        body["access_token"].as_str(),
    ) {
        (0, Some(t)) if !t.is_empty() => Ok(Fetched {
            token: t.to_owned(),
            expires_in: body["expires_in"].as_i64().unwrap_or(7200),
        }),
        (-1, _) => Err(TokenError::Unreachable("WeCom is busy (errcode -1)".into())),
        (code, _) => Err(TokenError::Refused(format!(
            "errcode {code}: {}",
            body["errmsg"].as_str().unwrap_or("")
        ))),
    }
}

async fn token(
    state: &AppState,
    channel: &channel::Model,
    s: &WecomSettings,
) -> Result<String, super::token::TokenError> {
    state
        .tokens
        .get(&state.db, channel, || fetch(state, channel, s))
        .await
}

/// POSTs to WeCom with the access token: the answer when `errcode` is 0, else the code and
/// message (an expired token is forgotten first, so the retry fetches a new one).
async fn post(
    state: &AppState,
    channel: &channel::Model,
    s: &WecomSettings,
    path: &str,
    body: &Value,
) -> Result<Value, (i64, String)> {
    let token = token(state, channel, s).await.map_err(|e| {
        let code = if e.is_transient() { -1 } else { 40013 };
        (code, e.to_string())
    })?;
    let resp = state
        .http
        .post(format!("{}{path}", base(s)))
        .query(&[("access_token", token.as_str())])
        .json(body)
        .send()
        .await
        .map_err(|e| (-1, format!("WeCom unreachable: {}", e.without_url())))?;
    if resp.status().is_server_error() {
        return Err((-1, format!("WeCom answered {}", resp.status())));
    }
    let answer: Value = resp
        .json()
        .await
        .map_err(|e| (-1, format!("WeCom's answer: {}", e.without_url())))?;
    match answer["errcode"].as_i64().unwrap_or(0) {
        0 => Ok(answer),
        code => {
            if matches!(code, 40001 | 40014 | 42001)
                && let Err(e) = state
                    .tokens
                    .invalidate(&state.db, &channel.id, &token)
                    .await
            {
                tracing::warn!(error = %e, "forgetting an expired access token failed");
            }
            Err((
                code,
                format!(
                    "WeCom errcode {code}: {}",
                    answer["errmsg"].as_str().unwrap_or("")
                ),
            ))
        }
    }
}
