//! The signed identity token a tenant's site gives the chat widget for a signed-in customer: a
//! JWT (HS256) signed with the web channel's secret, e.g.
//! `{"sub": "u-1001", "exp": 1795000000, "phone": "13800000001", "member_id": "M1001",
//!   "name": "李雷", "tier": "gold", "language": "zh-Hans"}`.
//! `sub` and `exp` are required; the identity claims become the customer's identities.

use crate::content;
use hmac::{Hmac, Mac};
use kefu_proto::events::{Identity, ProfileHints};
use serde::Deserialize;
use sha2::Sha256;

pub const MAX_TOKEN_BYTES: usize = 4 * 1024;
/// Tokens valid for longer than this are refused (a leaked token must expire).
pub const MAX_LIFETIME_S: i64 = 30 * 24 * 3600;

#[derive(Debug, PartialEq)]
pub struct VerifiedIdentity {
    pub user_id: String,
    pub identities: Vec<Identity>,
    pub profile: ProfileHints,
}

#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
    exp: Option<i64>,
    phone: Option<String>,
    email: Option<String>,
    member_id: Option<String>,
    wechat_openid: Option<String>,
    wechat_unionid: Option<String>,
    name: Option<String>,
    tier: Option<String>,
    region: Option<String>,
    language: Option<String>,
}

/// Checks an HS256 JWT's form and signature under `secret` (jsonwebtoken) and returns its
/// decoded payload. Shared by identity tokens and the desk's agent tokens, which check their
/// own claims (so each can say which is wrong); the error names what is wrong without echoing
/// the token.
pub fn verify_hs256(token: &str, secret: &[u8]) -> Result<Vec<u8>, String> {
    use jsonwebtoken::errors::ErrorKind;
    if token.len() > MAX_TOKEN_BYTES {
        return Err(format!("is longer than {MAX_TOKEN_BYTES} bytes"));
    }
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    // The callers check exp, iat and their claims themselves, with their own messages.
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    let key = jsonwebtoken::DecodingKey::from_secret(secret);
    match jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation) {
        Ok(data) => {
            serde_json::to_vec(&data.claims).map_err(|_| "has an unreadable payload".into())
        }
        Err(e) => Err(match e.kind() {
            ErrorKind::InvalidToken => "is not a JWT (header.payload.signature)",
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                "must be signed with HS256"
            }
            ErrorKind::InvalidSignature => "has a bad signature",
            ErrorKind::Base64(_) | ErrorKind::Json(_) | ErrorKind::Utf8(_) => {
                "has an unreadable header or payload"
            }
            _ => "cannot be checked",
        }
        .into()),
    }
}

/// Verifies `token` with the channel `secret` at unix time `now`; the error says what is wrong
/// without echoing the token.
pub fn verify(token: &str, secret: &[u8], now: i64) -> Result<VerifiedIdentity, String> {
    let payload = verify_hs256(token, secret)?;
    let claims: Claims =
        serde_json::from_slice(&payload).map_err(|_| "has an unreadable payload")?;
    let exp = claims.exp.ok_or("has no exp claim")?;
    if exp <= now {
        return Err("has expired".into());
    }
    if exp > now + MAX_LIFETIME_S {
        return Err("expires too far in the future (at most 30 days)".into());
    }
    let sub = claims.sub.unwrap_or_default();
    content::check_id(&sub, "sub").map_err(|e| format!("claim {e}"))?;
    let mut identities = Vec::new();
    for (kind, value) in [
        ("phone", &claims.phone),
        ("email", &claims.email),
        ("member_id", &claims.member_id),
        ("wechat_openid", &claims.wechat_openid),
        ("wechat_unionid", &claims.wechat_unionid),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            let value = content::normalize_identity(kind, v)
                .map_err(|reason| format!("claim {kind} {reason}"))?;
            identities.push(Identity {
                kind: kind.into(),
                value,
            });
        }
    }
    let clip = |s: Option<String>| s.unwrap_or_default().chars().take(64).collect::<String>();
    let language = clip(claims.language);
    Ok(VerifiedIdentity {
        user_id: sub,
        identities,
        profile: ProfileHints {
            display_name: clip(claims.name),
            tier: clip(claims.tier),
            region: clip(claims.region),
            language: if content::LANGUAGES.contains(&language.as_str()) {
                language
            } else {
                String::new()
            },
        },
    })
}

/// Signs claims as an HS256 JWT (for tenants' test tooling and Kefu's own tests).
pub fn sign(claims: &serde_json::Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .expect("HS256 signs any claims with any key")
}

/// An anonymous visitor's credential: a random id and its MAC under the channel secret, so a
/// visitor id cannot be guessed or forged to read someone else's history.
pub fn visitor_credential(visitor_id: &str, secret: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(b"visitor:");
    mac.update(visitor_id.as_bytes());
    let tag = hex::encode(&mac.finalize().into_bytes()[..16]);
    format!("{visitor_id}.{tag}")
}

/// The visitor id of a credential made by [`visitor_credential`].
pub fn verify_visitor(credential: &str, secret: &[u8]) -> Option<String> {
    let (id, _) = credential.split_once('.')?;
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let expected = visitor_credential(id, secret);
    // Constant-time comparison through the MAC check.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).ok()?;
    mac.update(expected.as_bytes());
    let want = mac.finalize().into_bytes();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).ok()?;
    mac.update(credential.as_bytes());
    mac.verify_slice(&want).ok()?;
    Some(id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_signed_token_yields_normalised_identities() {
        let t = sign(
            &json!({"sub":"u-1","exp":NOW+600,"phone":"+86 138 0000 0001","member_id":"M1001","name":"李雷","language":"zh-Hans"}),
            b"s3cret",
        );
        let v = verify(&t, b"s3cret", NOW).unwrap();
        assert_eq!(v.user_id, "u-1");
        assert_eq!(v.identities[0].value, "13800000001");
        assert_eq!(v.identities[1].kind, "member_id");
        assert_eq!(v.profile.display_name, "李雷");
    }

    #[test]
    fn forged_expired_or_endless_tokens_are_refused() {
        let claims = json!({"sub":"u-1","exp":NOW+600});
        let t = sign(&claims, b"s3cret");
        assert!(verify(&t, b"other", NOW).unwrap_err().contains("signature"));
        assert!(
            verify(&t, b"s3cret", NOW + 601)
                .unwrap_err()
                .contains("expired")
        );
        let endless = sign(&json!({"sub":"u-1","exp":NOW + 90 * 24 * 3600}), b"s3cret");
        assert!(verify(&endless, b"s3cret", NOW).is_err());
        let no_sub = sign(&json!({"exp":NOW+600}), b"s3cret");
        assert!(verify(&no_sub, b"s3cret", NOW).unwrap_err().contains("sub"));
        // Payload swapped under a valid signature.
        let other = sign(&json!({"sub":"admin","exp":NOW+600}), b"s3cret");
        let mut parts: Vec<&str> = t.split('.').collect();
        let other_parts: Vec<&str> = other.split('.').collect();
        parts[1] = other_parts[1];
        assert!(verify(&parts.join("."), b"s3cret", NOW).is_err());
        assert!(verify("nope", b"s3cret", NOW).is_err());
    }

    #[test]
    fn visitor_credentials_cannot_be_forged() {
        let id = "0123456789abcdef0123456789abcdef";
        let cred = visitor_credential(id, b"k");
        assert_eq!(verify_visitor(&cred, b"k").as_deref(), Some(id));
        assert_eq!(verify_visitor(&cred, b"other"), None);
        let forged = format!("{}.{}", "f".repeat(32), &cred[33..]);
        assert_eq!(verify_visitor(&forged, b"k"), None);
    }
}
