//! Tenant and channel configuration, over REST (`/v1/admin/...`, bearer admin token) and gRPC
//! (`kefu.gateway.v1.Gateway`); both validate through the same functions here.

use crate::AppState;
use crate::error::ApiError;
use crate::store::ChannelSpec;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Ids in URLs and YAML: lowercase ASCII letters, digits, `-`, `_`; 1–64 bytes.
pub fn check_id(field: &str, id: &str) -> Result<(), ApiError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ApiError::field(
            field,
            "must be 1-64 characters of a-z, 0-9, '-' or '_'",
        ))
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TenantBody {
    pub display_name: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TenantView {
    pub tenant_id: String,
    pub display_name: String,
}

#[derive(Debug, Deserialize)]
pub struct ChannelBody {
    pub tenant_id: String,
    pub channel_type: String,
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub webhook_url: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The type's settings, as the Channel resource's `spec.settings` has them.
    #[serde(default)]
    pub settings: kefu_crd::channel::ChannelSettings,
    /// Further secrets by name (`app_secret`, `aes_key`): one not named keeps its stored
    /// value, an empty one removes it.
    #[serde(default)]
    pub credentials: std::collections::BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChannelView {
    pub channel_id: String,
    pub tenant_id: String,
    pub channel_type: String,
    pub webhook_url: String,
    pub enabled: bool,
    #[schema(value_type = Object)]
    pub settings: kefu_crd::channel::ChannelSettings,
    /// The names of the further secrets that are set (never their values).
    pub credentials: Vec<String>,
}

impl From<&crate::store::entities::channel::Model> for ChannelView {
    fn from(c: &crate::store::entities::channel::Model) -> Self {
        Self {
            channel_id: c.id.clone(),
            tenant_id: c.tenant_id.clone(),
            channel_type: c.channel_type.clone(),
            webhook_url: c.webhook_url.clone(),
            enabled: c.enabled,
            settings: c.settings.0.clone(),
            credentials: c.credentials.0.keys().cloned().collect(),
        }
    }
}

pub fn validate_tenant(tenant_id: &str, display_name: &str) -> Result<(), ApiError> {
    check_id("tenant_id", tenant_id)?;
    if display_name.trim().is_empty() || display_name.chars().count() > 200 {
        return Err(ApiError::field("display_name", "must be 1-200 characters"));
    }
    Ok(())
}

/// Checks a channel's configuration as it will be once stored over `stored`: the type has an
/// adapter, the settings fit the type, the credentials it needs are there (given now or
/// before) and in their form, and the webhook URL is one where replies go to a webhook.
pub fn validate_channel(
    spec: &ChannelSpec,
    stored: Option<&crate::store::entities::channel::Model>,
) -> Result<(), ApiError> {
    check_id("channel_id", &spec.id)?;
    check_id("tenant_id", &spec.tenant_id)?;
    let types = crate::channels::types();
    let (Some(adapter), Some(t)) = (
        crate::channels::adapter(&spec.channel_type),
        kefu_crd::ChannelType::parse(&spec.channel_type),
    ) else {
        return Err(ApiError::field(
            "channel_type",
            format!("must be one of {}", types.join(", ")),
        ));
    };
    if let Some(secret) = &spec.secret
        && (secret.len() < 16 || secret.len() > 256)
    {
        return Err(ApiError::field("secret", "must be 16-256 bytes"));
    }
    if let Some(e) = kefu_crd::validate::channel_settings(t, &spec.settings, "settings")
        .into_iter()
        .next()
    {
        return Err(ApiError::field(&e.path, e.message));
    }
    let known: Vec<&str> = kefu_crd::channel::credential::ALL
        .iter()
        .map(|(name, _)| *name)
        .collect();
    for (name, value) in &spec.credentials {
        let field = format!("credentials.{name}");
        if !known.contains(&name.as_str()) {
            return Err(ApiError::field(
                &field,
                format!("is not a credential; known: {}", known.join(", ")),
            ));
        }
        if value.len() > 1024 || value.chars().any(char::is_control) {
            return Err(ApiError::field(
                &field,
                "must be at most 1024 bytes without control characters",
            ));
        }
    }
    let credentials = spec.merged_credentials(stored);
    for name in kefu_crd::validate::required_credentials(t, &spec.settings) {
        if !credentials.contains_key(name) {
            return Err(ApiError::field(
                &format!("credentials.{name}"),
                format!("is required by a {} channel", spec.channel_type),
            ));
        }
    }
    adapter.check(&credentials)?;
    let url = &spec.webhook_url;
    // Only the API protocol's types reply through a webhook.
    if !adapter.needs_webhook() && url.is_empty() {
        return Ok(());
    }
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    if !scheme_ok || url.len() > 2048 || url.parse::<http::Uri>().is_err() {
        return Err(ApiError::field(
            "webhook_url",
            "must be an http(s) URL of at most 2048 bytes",
        ));
    }
    Ok(())
}

/// Whether an `Authorization` header value carries the admin token. An empty configured token
/// disables the admin API: nothing matches it.
pub fn bearer_matches(expected: &str, authorization: Option<&str>) -> bool {
    if expected.is_empty() {
        return false;
    }
    let given = authorization
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // Constant-time: compare HMACs of both under a per-call key rather than the strings.
    let key = Uuid::new_v4();
    let a = crate::signature::sign(key.as_bytes(), given.as_bytes());
    let b = crate::signature::sign(key.as_bytes(), expected.as_bytes());
    a == b
}

/// The session client for an admin handler, once the admin token checked out (the first
/// extractor, so a request without the token learns nothing about its body or path).
pub(crate) struct AdminSession(pub crate::Session);

impl axum::extract::FromRequestParts<AppState> for AdminSession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        state: &AppState,
    ) -> Result<Self, ApiError> {
        authorize(state, &parts.headers)?;
        Ok(AdminSession(state.session.clone()))
    }
}

pub(crate) fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let given = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if bearer_matches(state.config.admin_token.expose(), given) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}

/// A request body as `T` (see [`crate::strict_json`]: 400 for what is not JSON, 422 naming
/// the field otherwise).
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    crate::strict_json::typed(body)
}

#[utoipa::path(put, path = "/v1/admin/tenants/{tenant_id}", tag = "admin",
    params(("tenant_id" = String, Path, description = "The tenant")), request_body = TenantBody,
    responses((status = 200, description = "The tenant as stored", body = TenantView), crate::openapi::AdminErrors),
    security(("bearer" = [])))]
pub async fn put_tenant(
    State(state): State<AppState>,
    Path(tenant_id): Path<String>,
    headers: HeaderMap,
    body: bytes::Bytes,
) -> Result<Json<TenantView>, ApiError> {
    authorize(&state, &headers)?;
    let body: TenantBody = parse_json(&body)?;
    validate_tenant(&tenant_id, &body.display_name)?;
    let t = crate::store::upsert_tenant(&state.db, &tenant_id, &body.display_name).await?;
    Ok(Json(TenantView {
        tenant_id: t.id,
        display_name: t.display_name,
    }))
}

#[utoipa::path(put, path = "/v1/admin/channels/{channel_id}", tag = "admin",
    params(("channel_id" = String, Path, description = "The channel")),
    request_body(content = Object, description = "`{tenant_id, channel_type, secret, webhook_url, enabled, settings, credentials}` (the Channel resource's spec)"),
    responses((status = 200, description = "The channel as stored (secrets never shown)", body = ChannelView), crate::openapi::AdminErrors),
    security(("bearer" = [])))]
pub async fn put_channel(
    State(state): State<AppState>,
    Path(channel_id): Path<String>,
    headers: HeaderMap,
    body: bytes::Bytes,
) -> Result<Json<ChannelView>, ApiError> {
    authorize(&state, &headers)?;
    let body: ChannelBody = parse_json(&body)?;
    let spec = ChannelSpec {
        id: channel_id,
        tenant_id: body.tenant_id,
        channel_type: body.channel_type,
        secret: body.secret,
        webhook_url: body.webhook_url,
        enabled: body.enabled,
        settings: body.settings,
        credentials: body.credentials,
    };
    let saved = upsert_channel(&state, &spec).await?;
    Ok(Json(ChannelView::from(&saved)))
}

pub async fn upsert_channel(
    state: &AppState,
    spec: &ChannelSpec,
) -> Result<crate::store::entities::channel::Model, ApiError> {
    let stored = crate::store::get_channel(&state.db, &spec.id).await?;
    validate_channel(spec, stored.as_ref())?;
    let saved = crate::store::upsert_channel(&state.db, spec).await?;
    state.channels.invalidate(&spec.id);
    Ok(saved)
}

#[utoipa::path(get, path = "/v1/admin/channels/{channel_id}", tag = "admin",
    params(("channel_id" = String, Path, description = "The channel")),
    responses((status = 200, description = "The channel (secrets never shown)", body = ChannelView), crate::openapi::AdminErrors),
    security(("bearer" = [])))]
pub async fn get_channel(
    State(state): State<AppState>,
    Path(channel_id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<ChannelView>, ApiError> {
    authorize(&state, &headers)?;
    let c = crate::store::get_channel(&state.db, &channel_id)
        .await?
        .ok_or(ApiError::NotFound {
            what: "channel",
            id: channel_id,
        })?;
    Ok(Json(ChannelView::from(&c)))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    #[schema(value_type = String)]
    pub message_id: Uuid,
    pub channel_id: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
}

/// A delivery that needed retries (a first-attempt success leaves no row).
#[utoipa::path(get, path = "/v1/admin/deliveries/{message_id}", tag = "admin",
    params(("message_id" = String, Path, description = "The outbound message's id")),
    responses((status = 200, description = "A delivery that needed retries", body = DeliveryView), crate::openapi::AdminErrors),
    security(("bearer" = [])))]
pub async fn get_delivery(
    State(state): State<AppState>,
    Path(message_id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<DeliveryView>, ApiError> {
    authorize(&state, &headers)?;
    let not_found = || ApiError::NotFound {
        what: "delivery",
        id: message_id.clone(),
    };
    let id = Uuid::parse_str(&message_id).map_err(|_| not_found())?;
    let d = crate::store::get_delivery(&state.db, id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(DeliveryView {
        message_id: d.id,
        channel_id: d.channel_id,
        status: d.status.as_str().to_owned(),
        attempts: d.attempts,
        last_error: d.last_error,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ChannelSpec {
        ChannelSpec {
            id: "shop-api".into(),
            tenant_id: "demo".into(),
            channel_type: "api".into(),
            secret: Some("0123456789abcdef".into()),
            webhook_url: "https://example.com/hook".into(),
            enabled: true,
            settings: Default::default(),
            credentials: Default::default(),
        }
    }

    fn field(r: Result<(), ApiError>) -> String {
        match r {
            Err(ApiError::InvalidField { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn channel_validation_names_fields() {
        assert!(validate_channel(&spec(), None).is_ok());
        assert_eq!(
            field(validate_channel(
                &ChannelSpec {
                    id: "Bad Id".into(),
                    ..spec()
                },
                None
            )),
            "channel_id"
        );
        assert_eq!(
            field(validate_channel(
                &ChannelSpec {
                    channel_type: "fax".into(),
                    ..spec()
                },
                None
            )),
            "channel_type"
        );
        assert_eq!(
            field(validate_channel(
                &ChannelSpec {
                    secret: Some("short".into()),
                    ..spec()
                },
                None
            )),
            "secret"
        );
        assert_eq!(
            field(validate_channel(
                &ChannelSpec {
                    webhook_url: "ftp://x".into(),
                    ..spec()
                },
                None
            )),
            "webhook_url"
        );
    }
}
