//! WeChat's HTTP API for Official Accounts and mini-programs: the access token
//! (`cgi-bin/token`, shared by the replicas) and message sends, each answer's `errcode` mapped
//! to a delivery outcome.

use super::super::Outcome;
use super::super::token::{Fetched, TokenError};
use crate::AppState;
use crate::store::entities::channel;
use kefu_crd::channel::{WechatSettings, credential};
use serde_json::Value;

pub const DEFAULT_BASE: &str = "https://api.weixin.qq.com";

fn base(s: &WechatSettings) -> &str {
    s.api_base
        .as_deref()
        .unwrap_or(DEFAULT_BASE)
        .trim_end_matches('/')
}

/// Fetches a new access token with the AppID and AppSecret.
async fn fetch(
    http: &reqwest::Client,
    channel: &channel::Model,
    s: &WechatSettings,
) -> Result<Fetched, TokenError> {
    let resp = http
        .get(format!("{}/cgi-bin/token", base(s)))
        .query(&[
            ("grant_type", "client_credential"),
            ("appid", s.app_id.as_str()),
            ("secret", channel.credential(credential::APP_SECRET)),
        ])
        .send()
        .await
        .map_err(|e| TokenError::Unreachable(e.without_url().to_string()))?;
    let status = resp.status();
    let body: Value = resp
        .json()
        .await
        .map_err(|e| TokenError::Unreachable(format!("{status}: {}", e.without_url())))?;
    match body["access_token"].as_str() {
        Some(token) if !token.is_empty() => Ok(Fetched {
            token: token.to_owned(),
            expires_in: body["expires_in"].as_i64().unwrap_or(7200),
        }),
        _ => {
            let code = body["errcode"].as_i64().unwrap_or(0);
            let msg = format!("errcode {code}: {}", body["errmsg"].as_str().unwrap_or(""));
            // -1: WeChat is busy.
            if code == -1 || status.is_server_error() {
                Err(TokenError::Unreachable(msg))
            } else {
                Err(TokenError::Refused(msg))
            }
        }
    }
}

/// The channel's access token.
async fn token(
    state: &AppState,
    channel: &channel::Model,
    s: &WechatSettings,
) -> Result<String, TokenError> {
    state
        .tokens
        .get(&state.db, channel, || fetch(&state.http, channel, s))
        .await
}

/// POSTs `body` to `path` with the access token; WeChat's `errcode` decides the outcome.
pub async fn post(
    state: &AppState,
    channel: &channel::Model,
    s: &WechatSettings,
    path: &str,
    body: &Value,
) -> Outcome {
    let token = match token(state, channel, s).await {
        Ok(t) => t,
        Err(e) if e.is_transient() => return Outcome::Retry(e.to_string()),
        Err(e) => return Outcome::Reject(e.to_string()),
    };
    // The token is a query parameter: errors are reported without the URL.
    let sent = state
        .http
        .post(format!("{}{path}", base(s)))
        .query(&[("access_token", token.as_str())])
        .json(body)
        .send()
        .await;
    let resp = match sent {
        Ok(r) => r,
        Err(e) => return Outcome::Retry(format!("WeChat unreachable: {}", e.without_url())),
    };
    let status = resp.status();
    if status.is_server_error() {
        return Outcome::Retry(format!("WeChat answered {status}"));
    }
    let answer: Value = match resp.json().await {
        Ok(v) => v,
        Err(e) => return Outcome::Retry(format!("WeChat's answer: {}", e.without_url())),
    };
    let code = answer["errcode"].as_i64().unwrap_or(0);
    let msg = format!(
        "WeChat errcode {code}: {}",
        answer["errmsg"].as_str().unwrap_or("")
    );
    outcome(code, msg, || async {
        if let Err(e) = state
            .tokens
            .invalidate(&state.db, &channel.id, &token)
            .await
        {
            tracing::warn!(error = %e, "forgetting an expired access token failed");
        }
    })
    .await
}

/// WeChat's (and WeCom's) error codes as outcomes; `expired` runs when the token is no longer
/// valid, before the retry.
pub(crate) async fn outcome<F, Fut>(code: i64, msg: String, expired: F) -> Outcome
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    match code {
        0 => Outcome::Delivered,
        // Invalid or expired access token: a new one is fetched on the next attempt.
        40001 | 40014 | 42001 => {
            expired().await;
            Outcome::Retry(msg)
        }
        // Busy, or a rate limit.
        -1 | 45009 | 45011 => Outcome::Retry(msg),
        // Out of the customer-service window / over its quota (WeChat's own count).
        45015 => Outcome::Undeliverable {
            reason: "window_closed",
            detail: msg,
        },
        45047 | 95001 => Outcome::Undeliverable {
            reason: "quota_exhausted",
            detail: msg,
        },
        _ => Outcome::Reject(msg),
    }
}

/// The customer's UnionID (`cgi-bin/user/info`), empty when the account is bound to no open
/// platform (WeChat then gives none). Accounts only: mini-programs have no such call.
pub async fn unionid(
    state: &AppState,
    channel: &channel::Model,
    s: &WechatSettings,
    openid: &str,
) -> Result<String, String> {
    let token = token(state, channel, s).await.map_err(|e| e.to_string())?;
    let resp = state
        .http
        .get(format!("{}/cgi-bin/user/info", base(s)))
        .query(&[
            ("access_token", token.as_str()),
            ("openid", openid),
            ("lang", "zh_CN"),
        ])
        .timeout(std::time::Duration::from_secs(2))
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    let body: Value = resp.json().await.map_err(|e| e.without_url().to_string())?;
    match body["errcode"].as_i64().unwrap_or(0) {
        0 => Ok(body["unionid"].as_str().unwrap_or_default().to_owned()),
        code @ (40001 | 40014 | 42001) => {
            let _ = state
                .tokens
                .invalidate(&state.db, &channel.id, &token)
                .await;
            Err(format!("errcode {code}"))
        }
        code => Err(format!(
            "errcode {code}: {}",
            body["errmsg"].as_str().unwrap_or("")
        )),
    }
}

/// The most media bytes relayed (WeChat's voice and video messages are far smaller).
const MAX_MEDIA: usize = 20 * 1024 * 1024;

/// A customer's media (`cgi-bin/media/get`): its content type and bytes.
pub async fn media(
    state: &AppState,
    channel: &channel::Model,
    s: &WechatSettings,
    media_id: &str,
) -> Result<(String, bytes::Bytes), crate::error::ApiError> {
    let token = token(state, channel, s)
        .await
        .map_err(|_| crate::error::ApiError::Unavailable("WeChat's media API"))?;
    fetch_media(state, base(s), &token, media_id).await
}

/// `{base}/cgi-bin/media/get` with `token` (the same call on WeChat and WeCom).
pub async fn fetch_media(
    state: &AppState,
    base: &str,
    token: &str,
    media_id: &str,
) -> Result<(String, bytes::Bytes), crate::error::ApiError> {
    use crate::error::ApiError;
    let resp = state
        .http
        .get(format!("{base}/cgi-bin/media/get"))
        .query(&[("access_token", token), ("media_id", media_id)])
        .send()
        .await
        .map_err(|_| ApiError::Unavailable("the provider's media API"))?;
    let kind = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    if resp
        .content_length()
        .is_some_and(|n| n as usize > MAX_MEDIA)
    {
        return Err(ApiError::PayloadTooLarge { limit: MAX_MEDIA });
    }
    let bytes = resp
        .bytes()
        .await
        .map_err(|_| ApiError::Unavailable("the provider's media API"))?;
    // Errors (an expired media id, …) come as JSON.
    if kind.starts_with("application/json") || kind.starts_with("text/plain") {
        return Err(ApiError::NotFound {
            what: "media",
            id: media_id.chars().take(64).collect(),
        });
    }
    Ok((kind, bytes))
}
