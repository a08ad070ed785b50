//! The channel providers' protocols, without I/O: what the gateway's channel adapters use to
//! verify, decrypt and parse a provider's call and to render what they send back. Pure
//! functions over bytes and strings, so each parser is fuzzed on its own (`fuzz/`) and tested
//! against the providers' independent implementations (wechatpy, twilio) in the gateway's
//! tests.
//!
//! - [`wechat`]: WeChat Official Accounts, mini-programs and WeCom (WeChat Customer Service):
//!   signatures, the AES message crypto, XML and JSON pushes, passive replies, API bodies.
//! - [`Inbound`]: a provider's message normalised to what every channel has.

pub mod wechat;

/// A customer's message as a provider delivered it, normalised: what the gateway turns into its
/// content model.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inbound {
    /// The provider's id of the message (deduplication).
    pub external_message_id: String,
    /// The provider's id of the customer on this channel.
    pub external_user_id: String,
    pub kind: Kind,
    /// The text (for media, a description with its link).
    pub text: String,
    /// An image's URL.
    pub image_url: String,
    /// A menu button or card action's key.
    pub action: String,
    /// Identities the provider vouches for: `(kind, value)`, e.g. `("wechat_openid", …)`.
    pub identities: Vec<(String, String)>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Kind {
    #[default]
    Text,
    Image,
    /// A button or menu press ([`Inbound::action`]).
    Action,
}

/// Why a provider's payload was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("malformed {what}: {detail}")]
    Malformed { what: &'static str, detail: String },
    #[error("{field}: {reason}")]
    Field { field: String, reason: String },
    #[error("the payload is over {limit} bytes")]
    TooLarge { limit: usize },
}

impl ParseError {
    pub fn field(field: &str, reason: impl Into<String>) -> Self {
        Self::Field {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }

    pub fn malformed(what: &'static str, detail: impl std::fmt::Display) -> Self {
        Self::Malformed {
            what,
            detail: detail.to_string(),
        }
    }
}

/// Compares two byte strings in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
