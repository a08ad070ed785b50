//! Keeping credentials out of logs.

use std::fmt;

/// A string that never prints: `Debug` and `Display` show `[redacted]`. (De)serialises
/// transparently as a plain string; [`expose`](Self::expose) returns the value.
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret value; avoid logging it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the secret is the empty string (e.g. not configured).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

/// Query parameters whose values are treated as passwords.
const SECRET_PARAMS: &[&str] = &["password", "pass", "pwd", "secret", "token", "sslpassword"];

/// Replaces the password of a URL (`scheme://user:password@host/...`) with `***`, as well as the
/// values of password-like query parameters (`?password=...`). Other text is left unchanged.
pub fn redact_url(url: &str) -> String {
    let (before_query, query) = match url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (url, None),
    };
    let mut out = redact_userinfo(before_query);
    if let Some(query) = query {
        out.push('?');
        out.push_str(&redact_query(query));
    }
    out
}

fn redact_userinfo(url: &str) -> String {
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[authority_start..];
    let authority_end = rest.find(['/', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let Some(colon) = authority[..at].find(':') else {
        return url.to_owned();
    };
    let user_end = authority_start + colon + 1;
    let password_end = authority_start + at;
    format!("{}***{}", &url[..user_end], &url[password_end..])
}

fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if SECRET_PARAMS.iter().any(|p| p.eq_ignore_ascii_case(key)) => {
                format!("{key}=***")
            }
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(secret.to_string(), "[redacted]");
        assert_eq!(secret.expose(), "hunter2");
        assert!(!secret.is_empty());
        assert!(Secret::default().is_empty());
    }

    #[test]
    fn redacts_userinfo_password() {
        assert_eq!(
            redact_url("postgres://kefu:s3cr3t@db:5432/kefu"),
            "postgres://kefu:***@db:5432/kefu"
        );
        assert_eq!(
            redact_url("amqp://guest:p@ss@rabbit:5672/%2f"),
            "amqp://guest:***@rabbit:5672/%2f"
        );
        assert_eq!(redact_url("amqps://:tok@host"), "amqps://:***@host");
    }

    #[test]
    fn leaves_urls_without_password_alone() {
        for url in [
            "postgres://kefu@db/kefu",
            "sqlite::memory:",
            "sqlite://data/kefu.db?mode=rwc",
            "http://host:8080/path@x",
            "not a url",
        ] {
            assert_eq!(redact_url(url), url);
        }
    }

    #[test]
    fn redacts_password_query_parameters() {
        assert_eq!(
            redact_url("postgres://db/kefu?user=kefu&password=s3cr3t&sslmode=require"),
            "postgres://db/kefu?user=kefu&password=***&sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://u:p@db/kefu?PASSWORD=x"),
            "postgres://u:***@db/kefu?PASSWORD=***"
        );
    }
}
