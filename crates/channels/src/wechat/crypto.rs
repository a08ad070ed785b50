//! WeChat's message crypto, the same for Official Accounts, mini-programs and WeCom:
//!
//! - `signature` (plain mode, URL checks): SHA-1 of the sorted token, timestamp and nonce;
//!   `msg_signature` (safe mode): the same with the ciphertext as a fourth part.
//! - The ciphertext: base64 of AES-256-CBC under the EncodingAESKey (43 base64 characters, the
//!   key its 32 decoded bytes, the IV its first 16), no cipher padding, over
//!   `random(16) ‖ length(4, big-endian) ‖ message ‖ app id` padded PKCS#7-style to a
//!   multiple of **32** bytes (not the cipher's 16). The app id (AppID or CorpID) at the end
//!   must be the channel's own.

use aes::Aes256;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit, block_padding::NoPadding};
use sha1::{Digest, Sha1};

/// The padding block of WeChat's PKCS#7 variant.
const PAD_BLOCK: usize = 32;
/// The largest ciphertext accepted (base64 characters): pushes are small.
pub const MAX_CIPHERTEXT: usize = 64 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("the EncodingAESKey must be 43 base64 characters")]
    BadKey,
    #[error("the signature does not match")]
    BadSignature,
    #[error("the ciphertext is not valid base64 of whole AES blocks")]
    BadCiphertext,
    #[error("the decrypted message is malformed")]
    BadPlaintext,
    #[error("the message is for another app id")]
    WrongAppId,
}

/// SHA-1 hex of the parts sorted and joined: `signature` (token, timestamp, nonce) or
/// `msg_signature` (… and the ciphertext).
pub fn signature(parts: &[&str]) -> String {
    let mut sorted: Vec<&str> = parts.to_vec();
    sorted.sort_unstable();
    let mut h = Sha1::new();
    for p in sorted {
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Checks a signature (hex, either case) over the parts in constant time.
pub fn verify_signature(given: &str, parts: &[&str]) -> Result<(), CryptoError> {
    let expected = signature(parts);
    if crate::constant_time_eq(given.to_ascii_lowercase().as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(CryptoError::BadSignature)
    }
}

/// The message cipher of one channel.
#[derive(Clone)]
pub struct Cipher {
    key: [u8; 32],
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cipher([redacted])")
    }
}

impl Cipher {
    /// From the EncodingAESKey.
    pub fn new(encoding_aes_key: &str) -> Result<Self, CryptoError> {
        if encoding_aes_key.len() != 43 {
            return Err(CryptoError::BadKey);
        }
        // Any 43 characters WeChat generates: their last one usually has trailing bits set,
        // which a strict decoder refuses (WeChat's and wechatpy's ignore them).
        let lenient = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
        );
        let bytes = lenient
            .decode(format!("{encoding_aes_key}="))
            .map_err(|_| CryptoError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(Self { key })
    }

    fn iv(&self) -> [u8; 16] {
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&self.key[..16]);
        iv
    }

    /// Decrypts a ciphertext and checks it is for `app_id`; returns the message.
    pub fn decrypt(&self, ciphertext: &str, app_id: &str) -> Result<String, CryptoError> {
        if ciphertext.len() > MAX_CIPHERTEXT {
            return Err(CryptoError::BadCiphertext);
        }
        let mut buf = STANDARD
            .decode(ciphertext.trim())
            .map_err(|_| CryptoError::BadCiphertext)?;
        if buf.is_empty() || buf.len() % 16 != 0 {
            return Err(CryptoError::BadCiphertext);
        }
        let plain = cbc::Decryptor::<Aes256>::new(&self.key.into(), &self.iv().into())
            .decrypt_padded::<NoPadding>(&mut buf)
            .map_err(|_| CryptoError::BadCiphertext)?;
        let pad = *plain.last().ok_or(CryptoError::BadPlaintext)? as usize;
        if pad == 0 || pad > PAD_BLOCK || pad > plain.len() {
            return Err(CryptoError::BadPlaintext);
        }
        let body = &plain[..plain.len() - pad];
        if body.len() < 20 {
            return Err(CryptoError::BadPlaintext);
        }
        let len = u32::from_be_bytes([body[16], body[17], body[18], body[19]]) as usize;
        let rest = &body[20..];
        if len > rest.len() {
            return Err(CryptoError::BadPlaintext);
        }
        let (message, id) = rest.split_at(len);
        if !crate::constant_time_eq(id, app_id.as_bytes()) {
            return Err(CryptoError::WrongAppId);
        }
        String::from_utf8(message.to_vec()).map_err(|_| CryptoError::BadPlaintext)
    }

    /// Encrypts `message` for `app_id` with the 16 random bytes WeChat's format begins with.
    pub fn encrypt(&self, message: &str, app_id: &str, random: [u8; 16]) -> String {
        let mut buf = Vec::with_capacity(20 + message.len() + app_id.len() + PAD_BLOCK);
        buf.extend_from_slice(&random);
        buf.extend_from_slice(&(message.len() as u32).to_be_bytes());
        buf.extend_from_slice(message.as_bytes());
        buf.extend_from_slice(app_id.as_bytes());
        let pad = PAD_BLOCK - buf.len() % PAD_BLOCK;
        buf.extend(std::iter::repeat_n(pad as u8, pad));
        let len = buf.len();
        cbc::Encryptor::<Aes256>::new(&self.key.into(), &self.iv().into())
            .encrypt_padded::<NoPadding>(&mut buf, len)
            .expect("a whole number of blocks");
        STANDARD.encode(&buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

    /// Made by wechatpy's `WeChatCrypto("token", KEY, "wx1234").encrypt_message(xml, "123",
    /// "1700000000")`.
    const WECHATPY_ENCRYPT: &str = "AXfY4T5tg912yqqVzf3x49y5WsKDTJXLT+DSbqffFGixpmFt76VxD8Xzjyrvv/UrWzve3myR8kcUkX5otlNcWZYZ4ppmVZUffqzJ4iUDOHfpGTbjg23RE06SSNLNUeNxGgvhpSg3zFWLG1DymIndkxI+fW+eGAaUQi8WrkA7aQo=";
    const WECHATPY_SIGNATURE: &str = "92bf4918eb855262bc92608f78e97f0dc0dc8957";

    #[test]
    fn decrypts_and_verifies_what_wechatpy_made() {
        verify_signature(
            WECHATPY_SIGNATURE,
            &["token", "1700000000", "123", WECHATPY_ENCRYPT],
        )
        .unwrap();
        let c = Cipher::new(KEY).unwrap();
        let xml = c.decrypt(WECHATPY_ENCRYPT, "wx1234").unwrap();
        assert_eq!(
            xml,
            "<xml><ToUserName><![CDATA[gh]]></ToUserName><Content><![CDATA[你好]]></Content></xml>"
        );
        assert_eq!(
            c.decrypt(WECHATPY_ENCRYPT, "wx9999"),
            Err(CryptoError::WrongAppId)
        );
    }

    #[test]
    fn round_trips_and_refuses_tampering() {
        let c = Cipher::new(KEY).unwrap();
        for msg in ["", "a", &"长".repeat(100), &"x".repeat(12)] {
            let e = c.encrypt(msg, "wx1234", [7; 16]);
            assert_eq!(c.decrypt(&e, "wx1234").as_deref(), Ok(msg));
        }
        let e = c.encrypt("hello", "wx1234", [1; 16]);
        let mut raw = STANDARD.decode(&e).unwrap();
        raw[20] ^= 1;
        let tampered = STANDARD.encode(&raw);
        assert!(c.decrypt(&tampered, "wx1234").is_err());
        assert_eq!(
            c.decrypt("not base64!", "wx1234"),
            Err(CryptoError::BadCiphertext)
        );
        assert_eq!(c.decrypt("AAAA", "wx1234"), Err(CryptoError::BadCiphertext));
        assert_eq!(Cipher::new("short").unwrap_err(), CryptoError::BadKey);
        let other = Cipher::new("bbcdefghijklmnopqrstuvwxyz0123456789ABCDEFG").unwrap();
        assert!(other.decrypt(&e, "wx1234").is_err());
    }

    #[test]
    fn signatures_sort_their_parts() {
        assert_eq!(signature(&["b", "a"]), signature(&["a", "b"]));
        // wechatpy: WeChatSigner().add_data("t", "1", "n").signature
        assert_eq!(
            signature(&["t", "1", "n"]),
            "398bfe7627050416ec030766223864d8e756c09e"
        );
        assert!(
            verify_signature("398BFE7627050416EC030766223864D8E756C09E", &["t", "1", "n"]).is_ok()
        );
        assert_eq!(
            verify_signature("00", &["t", "1", "n"]),
            Err(CryptoError::BadSignature)
        );
    }
}
