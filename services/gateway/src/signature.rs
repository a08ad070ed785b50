//! HMAC-SHA256 signatures over raw bodies, `X-Kefu-Signature: sha256=<hex>`, used for inbound
//! verification and outbound webhook signing with the channel's secret.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const HEADER: &str = "x-kefu-signature";
const PREFIX: &str = "sha256=";

type HmacSha256 = Hmac<Sha256>;

/// The header value for `body` under `secret`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(body);
    format!("{PREFIX}{}", hex::encode(mac.finalize().into_bytes()))
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the X-Kefu-Signature header is missing")]
    Missing,
    #[error("the X-Kefu-Signature header must be sha256=<64 hex digits>")]
    Malformed,
    #[error("the signature does not match the body")]
    Mismatch,
}

/// Checks a header value in constant time.
pub fn verify(secret: &[u8], body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?.trim();
    let hex_part = header
        .strip_prefix(PREFIX)
        .ok_or(SignatureError::Malformed)?;
    let expected = hex::decode(hex_part).map_err(|_| SignatureError::Malformed)?;
    if expected.len() != 32 {
        return Err(SignatureError::Malformed);
    }
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_openssl() {
        // printf '%s' '{"a":1}' | openssl dgst -sha256 -hmac secret
        assert_eq!(
            sign(b"secret", br#"{"a":1}"#),
            "sha256=aa9e2e3575f5d7098b6caccd790888c36d5fdb63342a73bada2d6a51747a8494"
        );
    }

    #[test]
    fn verifies_round_trip_and_rejects_tampering() {
        let sig = sign(b"k", b"body");
        assert_eq!(verify(b"k", b"body", Some(&sig)), Ok(()));
        assert_eq!(
            verify(b"k", b"bodY", Some(&sig)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"other", b"body", Some(&sig)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify(b"k", b"body", None), Err(SignatureError::Missing));
        assert_eq!(
            verify(b"k", b"body", Some("md5=abc")),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(b"k", b"body", Some("sha256=zz")),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(b"k", b"body", Some("sha256=abcd")),
            Err(SignatureError::Malformed)
        );
    }
}
