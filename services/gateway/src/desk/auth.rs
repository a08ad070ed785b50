//! Who is calling the desk API. Agents sign in with `POST /v1/tenants/{t}/auth/login` and get
//! an HS256 token (12 h) signed with `agent_token_secret`; the tenant's admin bearer token is
//! also accepted, as a platform admin without an agent id. Every desk request turns its
//! credential into an [`Actor`], which every `Desk` call carries: the session enforces roles and
//! merchant scopes, the gateway only turns away what is plainly not allowed.

use super::json::{self, LoginBody, LoginResponse};
use crate::admin::{bearer_matches, check_id, parse_json};
use crate::error::ApiError;
use crate::{AppState, GatewayConfig};
use axum::Json;
use axum::extract::{FromRequestParts, Path, RawPathParams, State};
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};

/// How long an agent token is valid: one working day and some.
pub const TOKEN_TTL_S: i64 = 12 * 3600;
/// Clock difference tolerated between replicas when checking `iat`.
const CLOCK_SKEW_S: i64 = 60;

/// Desk roles: defined once, with the desk's limits, in `kefu_proto::desk`.
pub use kefu_proto::desk::Role;

/// The authenticated caller of one desk request or socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub tenant_id: String,
    /// Empty for the admin token.
    pub agent_id: String,
    pub role: Role,
    /// Empty for platform staff (who cover every merchant of the tenant).
    pub merchant_id: String,
    /// Unix time the credential expires; `None` for the admin token.
    pub expires_at: Option<i64>,
}

impl Actor {
    /// The tenant's admin token acting on `tenant_id`.
    pub fn platform_admin(tenant_id: &str) -> Self {
        Self {
            tenant_id: tenant_id.to_owned(),
            agent_id: String::new(),
            role: Role::Admin,
            merchant_id: String::new(),
            expires_at: None,
        }
    }

    pub fn proto(&self) -> kefu_proto::session::Actor {
        kefu_proto::session::Actor {
            tenant_id: self.tenant_id.clone(),
            agent_id: self.agent_id.clone(),
            role: self.role.as_str().to_owned(),
            merchant_id: self.merchant_id.clone(),
        }
    }

    /// 403 unless the actor has at least `role`.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this needs the {} role or above; the token's role is {}",
                role.as_str(),
                self.role.as_str()
            )))
        }
    }

    /// 403 for the admin token where the work must be done by a person (an agent account):
    /// accepting, replying, monitoring.
    pub fn require_agent(&self) -> Result<&str, ApiError> {
        if self.agent_id.is_empty() {
            Err(ApiError::Forbidden(
                "this needs an agent's token (sign in with /auth/login); the admin token is not an agent"
                    .into(),
            ))
        } else {
            Ok(&self.agent_id)
        }
    }
}

/// The claims of an agent token.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    tenant: String,
    sub: String,
    role: String,
    #[serde(default)]
    merchant: String,
    exp: i64,
    iat: i64,
}

/// Signs a token for `agent` at unix time `now`; returns it with its expiry.
pub fn issue(agent: &kefu_proto::session::Agent, secret: &[u8], now: i64) -> (String, i64) {
    let exp = now + TOKEN_TTL_S;
    let claims = Claims {
        tenant: agent.tenant_id.clone(),
        sub: agent.agent_id.clone(),
        role: agent.role.clone(),
        merchant: agent.merchant_id.clone(),
        exp,
        iat: now,
    };
    let claims = serde_json::to_value(&claims).expect("claims serialize");
    (crate::identity_token::sign(&claims, secret), exp)
}

/// Verifies an agent token at unix time `now`; the error says what is wrong with it.
pub fn verify(token: &str, secret: &[u8], now: i64) -> Result<Actor, String> {
    if secret.is_empty() {
        return Err("cannot be checked: agent sign-in is not configured".into());
    }
    let payload = crate::identity_token::verify_hs256(token, secret)?;
    let c: Claims = serde_json::from_slice(&payload)
        .map_err(|_| "is not an agent token (tenant, sub, role, exp, iat)".to_owned())?;
    if c.exp <= now {
        return Err("has expired; sign in again".into());
    }
    if c.iat > now + CLOCK_SKEW_S || c.exp - c.iat > TOKEN_TTL_S {
        return Err("has an impossible lifetime".into());
    }
    let role = Role::parse(&c.role).ok_or("has an unknown role")?;
    if c.tenant.is_empty() || c.sub.is_empty() {
        return Err("names no tenant or agent".into());
    }
    Ok(Actor {
        tenant_id: c.tenant,
        agent_id: c.sub,
        role,
        merchant_id: c.merchant,
        expires_at: Some(c.exp),
    })
}

/// The actor behind a bearer credential for a request on `tenant_id`: the admin token, or an
/// agent token of that tenant (a token of another tenant answers 404, revealing nothing).
pub fn authenticate(
    config: &GatewayConfig,
    tenant_id: &str,
    bearer: Option<&str>,
    field: &'static str,
    now: i64,
) -> Result<Actor, ApiError> {
    let unauthenticated = |reason: &str| ApiError::Unauthenticated {
        field,
        reason: reason.to_owned(),
    };
    let token = bearer
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unauthenticated("is required (a bearer token)"))?;
    if bearer_matches(
        config.admin_token.expose(),
        Some(&format!("Bearer {token}")),
    ) {
        return Ok(Actor::platform_admin(tenant_id));
    }
    let secret = config.agent_token_secret.expose().as_bytes();
    let actor =
        verify(token, secret, now).map_err(|why| unauthenticated(&format!("token {why}")))?;
    if actor.tenant_id != tenant_id {
        return Err(ApiError::NotFound {
            what: "tenant",
            id: tenant_id.chars().take(64).collect(),
        });
    }
    Ok(actor)
}

/// Every desk handler takes an [`Actor`]: the `Authorization: Bearer` credential checked
/// against the route's `{tenant_id}`.
impl FromRequestParts<AppState> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::Internal(format!("desk route path: {e}")))?;
        let tenant_id = params
            .iter()
            .find(|(k, _)| *k == "tenant_id")
            .map(|(_, v)| v.to_owned())
            .ok_or_else(|| ApiError::Internal("desk route without {tenant_id}".into()))?;
        let header = parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let bearer = match header {
            None => None,
            Some(h) => Some(h.strip_prefix("Bearer ").ok_or(ApiError::Unauthenticated {
                field: "authorization",
                reason: "must be `Bearer <token>`".into(),
            })?),
        };
        authenticate(
            &state.config,
            &tenant_id,
            bearer,
            "authorization",
            chrono::Utc::now().timestamp(),
        )
    }
}

/// `POST /v1/tenants/{tenant_id}/auth/login`: checks the password through the session and
/// returns a token for the other desk routes.
#[utoipa::path(
    post,
    path = "/v1/tenants/{tenant_id}/auth/login",
    tag = "auth",
    params(("tenant_id" = String, Path, description = "The tenant")),
    request_body = LoginBody,
    responses(
        (status = 200, description = "Signed in", body = LoginResponse),
        (status = 400, description = "The body is not JSON (or not UTF-8)", body = json::Error),
        (status = 401, description = "Unknown login or wrong password", body = json::Error),
        (status = 413, description = "The body is over the size limit", body = json::Error),
        (status = 422, description = "A field is missing or too long", body = json::Error),
        (status = 429, description = "Too many wrong passwords for this login: locked out for \
            the seconds in `Retry-After`", body = json::Error),
        (status = 503, description = "Agent sign-in is not configured", body = json::Error),
    ),
)]
pub async fn login(
    State(state): State<AppState>,
    Path(tenant_id): Path<String>,
    body: bytes::Bytes,
) -> Result<Json<LoginResponse>, ApiError> {
    check_id("tenant_id", &tenant_id)?;
    let b: LoginBody = parse_json(&body)?;
    json::bounded("login", &b.login, 1, 128)?;
    json::bounded("password", &b.password, 1, 128)?;
    let secret = state.config.agent_token_secret.expose();
    if secret.is_empty() {
        return Err(ApiError::NotConfigured(
            "agent sign-in (agent_token_secret)",
        ));
    }
    let now = std::time::Instant::now();
    if let Some(left) = state.lockout.locked_for(&tenant_id, &b.login, now) {
        return Err(ApiError::LoginLocked {
            retry_after_s: left.as_secs().max(1),
        });
    }
    let login = b.login.clone();
    let agent = state
        .desk
        .clone()
        .login(kefu_proto::session::LoginRequest {
            tenant_id: tenant_id.clone(),
            login: b.login,
            password: b.password,
        })
        .await
        .map_err(|s| match s.code() {
            // One answer for both, so logins cannot be probed; both count towards a lockout.
            tonic::Code::Unauthenticated | tonic::Code::NotFound => {
                state.lockout.failed(&tenant_id, &login, now);
                ApiError::Unauthenticated {
                    field: "password",
                    reason: "does not match the login (or the login is unknown)".into(),
                }
            }
            _ => ApiError::from_session(s, "tenant", &tenant_id),
        })?
        .into_inner();
    state.lockout.succeeded(&tenant_id, &login);
    if agent.tenant_id != tenant_id || Role::parse(&agent.role).is_none() {
        return Err(ApiError::Internal(format!(
            "session signed in agent {} of tenant {} with role {:?}",
            agent.agent_id, agent.tenant_id, agent.role
        )));
    }
    let (token, exp) = issue(&agent, secret.as_bytes(), chrono::Utc::now().timestamp());
    Ok(Json(LoginResponse {
        token,
        agent: json::Agent::from(&agent),
        expires_at: chrono::DateTime::from_timestamp(exp, 0).unwrap_or_default(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;
    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn agent(role: &str, merchant: &str) -> kefu_proto::session::Agent {
        kefu_proto::session::Agent {
            tenant_id: "acme".into(),
            agent_id: "a-1".into(),
            role: role.into(),
            merchant_id: merchant.into(),
            ..Default::default()
        }
    }

    #[test]
    fn an_issued_token_verifies_to_its_actor() {
        let (token, exp) = issue(&agent("supervisor", "m-1"), SECRET, NOW);
        assert_eq!(exp, NOW + TOKEN_TTL_S);
        let actor = verify(&token, SECRET, NOW + 10).unwrap();
        assert_eq!(
            actor,
            Actor {
                tenant_id: "acme".into(),
                agent_id: "a-1".into(),
                role: Role::Supervisor,
                merchant_id: "m-1".into(),
                expires_at: Some(exp),
            }
        );
        let p = actor.proto();
        assert_eq!(
            (p.role.as_str(), p.merchant_id.as_str()),
            ("supervisor", "m-1")
        );
    }

    #[test]
    fn expired_forged_and_odd_tokens_are_refused() {
        let (token, exp) = issue(&agent("agent", ""), SECRET, NOW);
        assert!(verify(&token, SECRET, exp).unwrap_err().contains("expired"));
        assert!(
            verify(&token, b"another-secret-another-secret-!!", NOW)
                .unwrap_err()
                .contains("signature")
        );
        assert!(verify(&token, b"", NOW).is_err());
        // Issued in the future, or for longer than the lifetime.
        let (future, _) = issue(&agent("agent", ""), SECRET, NOW + 3600);
        assert!(
            verify(&future, SECRET, NOW)
                .unwrap_err()
                .contains("lifetime")
        );
        let long = crate::identity_token::sign(
            &serde_json::json!({"tenant":"acme","sub":"a-1","role":"agent","exp":NOW + 30*86400,"iat":NOW}),
            SECRET,
        );
        assert!(verify(&long, SECRET, NOW).is_err());
        let (bad_role, _) = issue(&agent("root", ""), SECRET, NOW);
        assert!(verify(&bad_role, SECRET, NOW).unwrap_err().contains("role"));
        // A customer identity token signed with the same key is not an agent token.
        let identity =
            crate::identity_token::sign(&serde_json::json!({"sub":"u-1","exp":NOW + 60}), SECRET);
        assert!(verify(&identity, SECRET, NOW).is_err());
    }

    #[test]
    fn roles_are_ordered_and_checked() {
        let actor = verify(&issue(&agent("agent", ""), SECRET, NOW).0, SECRET, NOW).unwrap();
        assert!(actor.require(Role::Agent).is_ok());
        let e = actor.require(Role::Admin).unwrap_err();
        assert_eq!(e.code(), "forbidden");
        assert!(e.to_string().contains("admin role"));
        assert_eq!(actor.require_agent().unwrap(), "a-1");
    }

    fn config() -> GatewayConfig {
        GatewayConfig {
            admin_token: kefu_config::Secret::new("admin-t0ken"),
            agent_token_secret: kefu_config::Secret::new(String::from_utf8_lossy(SECRET)),
            ..GatewayConfig::default()
        }
    }

    #[test]
    fn a_token_of_another_tenant_is_not_found_and_a_bad_one_unauthenticated() {
        let cfg = config();
        let (token, _) = issue(&agent("agent", ""), SECRET, NOW);
        let ok = authenticate(&cfg, "acme", Some(&token), "authorization", NOW).unwrap();
        assert_eq!(ok.agent_id, "a-1");
        let other = authenticate(&cfg, "globex", Some(&token), "authorization", NOW).unwrap_err();
        assert_eq!(other.code(), "not_found");
        assert!(!other.to_string().contains("acme"));
        for bad in [None, Some(""), Some("nope")] {
            let e = authenticate(&cfg, "acme", bad, "authorization", NOW).unwrap_err();
            assert_eq!(e.code(), "unauthenticated");
        }
        let late = authenticate(&cfg, "acme", Some(&token), "token", NOW + TOKEN_TTL_S);
        let e = late.unwrap_err();
        assert!(matches!(
            e,
            ApiError::Unauthenticated { field: "token", .. }
        ));
        assert!(e.to_string().contains("expired"));
    }

    #[test]
    fn the_admin_token_acts_on_any_tenant_as_platform_admin() {
        let cfg = config();
        let a = authenticate(&cfg, "globex", Some("admin-t0ken"), "authorization", NOW).unwrap();
        assert_eq!(a, Actor::platform_admin("globex"));
        // Without an admin token configured, nothing matches it.
        let none = GatewayConfig {
            admin_token: kefu_config::Secret::default(),
            ..cfg
        };
        assert!(authenticate(&none, "acme", Some(""), "authorization", NOW).is_err());
    }

    #[test]
    fn the_admin_token_is_a_platform_admin_without_an_agent() {
        let admin = Actor::platform_admin("acme");
        assert_eq!(admin.role, Role::Admin);
        assert!(admin.merchant_id.is_empty() && admin.agent_id.is_empty());
        assert!(admin.require(Role::Admin).is_ok());
        assert_eq!(admin.require_agent().unwrap_err().code(), "forbidden");
        let p = admin.proto();
        assert_eq!((p.tenant_id.as_str(), p.role.as_str()), ("acme", "admin"));
    }
}
