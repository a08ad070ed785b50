//! What a customer sends, whatever the channel: text, an image, or a card button pressed, with
//! the page they were on and — when the channel vouches for it — who they are. The API channel
//! and the web chat socket parse the same JSON shape with the same limits, and errors name the
//! field (`page.page_type`, `identities[1].value`, …).

use crate::error::ApiError;
use kefu_proto::events::{CardAction, Identity, PageContext, ProfileHints};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub const MAX_ID_LEN: usize = 128;
pub const MAX_TEXT_CHARS: usize = 5_000;
pub const MAX_URL_LEN: usize = 2_048;
pub const MAX_IDENTITIES: usize = 8;
pub const PAGE_TYPES: &[&str] = &[
    "home", "list", "product", "cart", "checkout", "order", "other",
];
pub const MESSAGE_TYPES: &[&str] = &["text", "image", "action"];
/// Identity kinds a channel may vouch for (`external` is the channel's own user id).
pub const IDENTITY_KINDS: &[&str] = &[
    "phone",
    "email",
    "member_id",
    "wechat_openid",
    "wechat_unionid",
];
pub const LANGUAGES: &[&str] = &["zh-Hans", "zh-Hant", "en"];

/// A validated message body.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Content {
    /// text | image | action
    pub message_type: String,
    pub text: String,
    pub image_url: String,
    pub action: Option<CardAction>,
    pub page: Option<PageContext>,
    pub merchant_id: String,
}

impl Content {
    /// Parses the content fields of `obj`: `type` (default text), `text`, `image_url`,
    /// `action`, `page`, `merchant_id`.
    pub fn parse(obj: &Map<String, Value>) -> Result<Self, ApiError> {
        let message_type = match optional_str(obj, "type", "type", 16)?.as_str() {
            "" => "text".to_owned(),
            t if MESSAGE_TYPES.contains(&t) => t.to_owned(),
            _ => {
                return Err(ApiError::field(
                    "type",
                    format!("must be one of {}", MESSAGE_TYPES.join(", ")),
                ));
            }
        };
        let text = match obj.get("text") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(ApiError::field("text", "must be a string")),
        };
        if let Some(reason) = kefu_proto::desk::control_character(&text) {
            return Err(ApiError::field("text", reason));
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(ApiError::field(
                "text",
                format!("must be at most {MAX_TEXT_CHARS} characters"),
            ));
        }
        let image_url = optional_str(obj, "image_url", "image_url", MAX_URL_LEN)?;
        let action = match obj.get("action") {
            None | Some(Value::Null) => None,
            Some(Value::Object(a)) => Some(parse_action(a)?),
            Some(_) => return Err(ApiError::field("action", "must be an object")),
        };
        match message_type.as_str() {
            "text" if text.trim().is_empty() => {
                if obj.contains_key("text") {
                    return Err(ApiError::field("text", "must not be blank"));
                }
                return Err(ApiError::field("text", "is required"));
            }
            "image" if !(image_url.starts_with("https://") || image_url.starts_with("http://")) => {
                return Err(ApiError::field(
                    "image_url",
                    "is required for an image and must be an http(s) URL",
                ));
            }
            "action" if action.is_none() => {
                return Err(ApiError::field("action", "is required for type action"));
            }
            _ => {}
        }
        let page = match obj.get("page") {
            None | Some(Value::Null) => None,
            Some(Value::Object(p)) => Some(parse_page(p)?),
            Some(_) => return Err(ApiError::field("page", "must be an object")),
        };
        let merchant_id = optional_str(obj, "merchant_id", "merchant_id", MAX_ID_LEN)?;
        // Present means a merchant's id: empty is a mistake (omit it for the platform).
        if obj.get("merchant_id").is_some_and(|v| !v.is_null()) {
            check_id(&merchant_id, "merchant_id")?;
        }
        Ok(Self {
            message_type,
            text,
            image_url,
            action,
            page,
            merchant_id,
        })
    }

    /// Feeds the meaningful content into a fingerprint (to tell a re-send from a reused id).
    pub fn digest(&self, h: &mut Sha256) {
        for part in [
            &self.message_type,
            &self.text,
            &self.image_url,
            &self.merchant_id,
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        if let Some(a) = &self.action {
            for part in [&a.action, &a.order_id, &a.product_id] {
                h.update(part.as_bytes());
                h.update([0]);
            }
        }
        if let Some(p) = &self.page {
            for part in [&p.url, &p.page_type, &p.product_id, &p.order_id] {
                h.update(part.as_bytes());
                h.update([0]);
            }
        }
    }
}

pub fn required_str(obj: &Map<String, Value>, field: &str) -> Result<String, ApiError> {
    match obj.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        None | Some(Value::Null) => Err(ApiError::field(field, "is required")),
        Some(_) => Err(ApiError::field(field, "must be a string")),
    }
}

pub fn required_id(obj: &Map<String, Value>, field: &str) -> Result<String, ApiError> {
    let s = required_str(obj, field)?;
    check_id(&s, field)?;
    Ok(s)
}

pub fn check_id(s: &str, field: &str) -> Result<(), ApiError> {
    if s.is_empty() {
        return Err(ApiError::field(field, "must not be empty"));
    }
    if s.len() > MAX_ID_LEN {
        return Err(ApiError::field(
            field,
            format!("must be at most {MAX_ID_LEN} bytes"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(ApiError::field(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

pub fn optional_str(
    obj: &Map<String, Value>,
    field: &str,
    path: &str,
    max: usize,
) -> Result<String, ApiError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) if s.len() <= max => Ok(s.clone()),
        Some(Value::String(_)) => Err(ApiError::field(
            path,
            format!("must be at most {max} bytes"),
        )),
        Some(_) => Err(ApiError::field(path, "must be a string")),
    }
}

pub fn parse_page(p: &Map<String, Value>) -> Result<PageContext, ApiError> {
    let page_type = optional_str(p, "page_type", "page.page_type", 16)?;
    if !page_type.is_empty() && !PAGE_TYPES.contains(&page_type.as_str()) {
        return Err(ApiError::field(
            "page.page_type",
            format!("must be one of {}", PAGE_TYPES.join(", ")),
        ));
    }
    Ok(PageContext {
        url: optional_str(p, "url", "page.url", MAX_URL_LEN)?,
        page_type,
        product_id: optional_str(p, "product_id", "page.product_id", MAX_ID_LEN)?,
        order_id: optional_str(p, "order_id", "page.order_id", MAX_ID_LEN)?,
    })
}

/// The 1–5 rating of a `csat:<n>` action (the buttons the session sends when a conversation
/// closes; the customer rates by pressing one, on any channel); the error says what is wrong.
pub fn csat_rating(action: &str) -> Option<Result<u32, ApiError>> {
    action
        .starts_with(kefu_proto::actions::CSAT_PREFIX)
        .then(|| {
            kefu_proto::actions::csat_rating(action).ok_or_else(|| {
                ApiError::field("action.action", "a csat rating must be csat:1 to csat:5")
            })
        })
}

fn parse_action(a: &Map<String, Value>) -> Result<CardAction, ApiError> {
    let action = optional_str(a, "action", "action.action", 32)?;
    if let Some(rating) = csat_rating(&action) {
        rating?;
    } else if !kefu_proto::actions::is_button_action(&action) {
        return Err(ApiError::field(
            "action.action",
            format!(
                "must be one of {}, {}, {}, {} or csat:1 to csat:5",
                kefu_proto::actions::ORDER.join(", "),
                kefu_proto::actions::STORE_STOCK_LOOKUP,
                kefu_proto::actions::HANDOFF,
                kefu_proto::actions::SELECT_ORDER
            ),
        ));
    }
    Ok(CardAction {
        action,
        order_id: optional_str(a, "order_id", "action.order_id", MAX_ID_LEN)?,
        product_id: optional_str(a, "product_id", "action.product_id", MAX_ID_LEN)?,
    })
}

/// Parses `identities: [{"kind", "value"}]`, normalising each value.
pub fn parse_identities(obj: &Map<String, Value>) -> Result<Vec<Identity>, ApiError> {
    let list = match obj.get("identities") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(ApiError::field("identities", "must be an array")),
    };
    if list.len() > MAX_IDENTITIES {
        return Err(ApiError::field(
            "identities",
            format!("must have at most {MAX_IDENTITIES} entries"),
        ));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let Value::Object(o) = item else {
            return Err(ApiError::field(
                &format!("identities[{i}]"),
                "must be an object",
            ));
        };
        let kind = optional_str(o, "kind", &format!("identities[{i}].kind"), 32)?;
        let value = optional_str(o, "value", &format!("identities[{i}].value"), MAX_ID_LEN)?;
        out.push(identity(&kind, &value, &format!("identities[{i}]"))?);
    }
    Ok(out)
}

/// A normalised identity; `path` names the field in errors.
pub fn identity(kind: &str, value: &str, path: &str) -> Result<Identity, ApiError> {
    if !IDENTITY_KINDS.contains(&kind) {
        return Err(ApiError::field(
            &format!("{path}.kind"),
            format!("must be one of {}", IDENTITY_KINDS.join(", ")),
        ));
    }
    let value = normalize_identity(kind, value)
        .map_err(|reason| ApiError::field(&format!("{path}.value"), reason))?;
    Ok(Identity {
        kind: kind.to_owned(),
        value,
    })
}

/// One spelling per identity: phone numbers as digits with the country code of mainland China
/// dropped, e-mail addresses in lower case.
pub fn normalize_identity(kind: &str, value: &str) -> Result<String, &'static str> {
    let v = value.trim();
    if v.is_empty() {
        return Err("must not be empty");
    }
    match kind {
        "phone" => {
            if !v.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c)) {
                return Err("must be a phone number");
            }
            let digits: String = v.chars().filter(char::is_ascii_digit).collect();
            let digits = match digits.strip_prefix("86") {
                Some(rest) if rest.len() == 11 && rest.starts_with('1') => rest.to_owned(),
                _ => digits,
            };
            if !(6..=15).contains(&digits.len()) {
                return Err("must be a phone number of 6 to 15 digits");
            }
            Ok(digits)
        }
        "email" => {
            let lower = v.to_lowercase();
            match lower.split_once('@') {
                Some((user, domain)) if !user.is_empty() && domain.contains('.') => Ok(lower),
                _ => Err("must be an e-mail address"),
            }
        }
        _ => {
            if v.chars().any(char::is_control) {
                return Err("must not contain control characters");
            }
            Ok(v.to_owned())
        }
    }
}

/// Parses `profile: {display_name, tier, region, language}`.
pub fn parse_profile(obj: &Map<String, Value>) -> Result<Option<ProfileHints>, ApiError> {
    let p = match obj.get("profile") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(p)) => p,
        Some(_) => return Err(ApiError::field("profile", "must be an object")),
    };
    let language = optional_str(p, "language", "profile.language", 16)?;
    if !language.is_empty() && !LANGUAGES.contains(&language.as_str()) {
        return Err(ApiError::field(
            "profile.language",
            format!("must be one of {}", LANGUAGES.join(", ")),
        ));
    }
    Ok(Some(ProfileHints {
        display_name: optional_str(p, "display_name", "profile.display_name", 128)?,
        tier: optional_str(p, "tier", "profile.tier", 32)?,
        region: optional_str(p, "region", "profile.region", 64)?,
        language,
    }))
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(json: &str) -> Map<String, Value> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn phones_and_emails_have_one_spelling() {
        assert_eq!(
            normalize_identity("phone", "+86 138-0000-0001").unwrap(),
            "13800000001"
        );
        assert_eq!(
            normalize_identity("phone", "13800000001").unwrap(),
            "13800000001"
        );
        assert_eq!(
            normalize_identity("phone", "+852 9123 4567").unwrap(),
            "85291234567"
        );
        assert!(normalize_identity("phone", "call me").is_err());
        assert_eq!(
            normalize_identity("email", " Li.Lei@Example.COM ").unwrap(),
            "li.lei@example.com"
        );
        assert!(normalize_identity("email", "nobody").is_err());
    }

    #[test]
    fn text_keeps_tabs_and_line_breaks() {
        let c =
            Content::parse(&obj(r#"{"text":"第一行\r\n\t第二行","merchant_id":"m1"}"#)).unwrap();
        assert_eq!(c.text, "第一行\r\n\t第二行");
        assert_eq!(c.merchant_id, "m1");
        assert_eq!(
            Content::parse(&obj(r#"{"text":"x","merchant_id":null}"#))
                .unwrap()
                .merchant_id,
            ""
        );
    }

    #[test]
    fn content_errors_name_the_field() {
        let cases: &[(&str, &str)] = &[
            (r#"{}"#, "text"),
            (r#"{"text":" "}"#, "text"),
            (r#"{"type":"video","text":"x"}"#, "type"),
            (r#"{"type":"image"}"#, "image_url"),
            (
                r#"{"type":"image","image_url":"file:///etc/passwd"}"#,
                "image_url",
            ),
            (r#"{"type":"action"}"#, "action"),
            (
                r#"{"type":"action","action":{"action":"explode"}}"#,
                "action.action",
            ),
            (
                r#"{"text":"x","page":{"page_type":"moon"}}"#,
                "page.page_type",
            ),
            // Control characters (NUL, ANSI escapes, C1) never reach storage.
            (r#"{"text":"a\u0000b"}"#, "text"),
            (r#"{"text":"\u001b[31mred"}"#, "text"),
            (r#"{"text":"x\u0085y"}"#, "text"),
            // A merchant's id, when given, is a real one.
            (r#"{"text":"x","merchant_id":""}"#, "merchant_id"),
            (r#"{"text":"x","merchant_id":"m\u0001"}"#, "merchant_id"),
        ];
        for (body, field) in cases {
            assert_eq!(
                Content::parse(&obj(body)).unwrap_err().into_field(),
                *field,
                "{body}"
            );
        }
        let ids =
            obj(r#"{"identities":[{"kind":"phone","value":"138"},{"kind":"ssn","value":"1"}]}"#);
        assert_eq!(
            parse_identities(&ids).unwrap_err().into_field(),
            "identities[0].value"
        );
        let ids = obj(
            r#"{"identities":[{"kind":"phone","value":"13800000001"},{"kind":"ssn","value":"1"}]}"#,
        );
        assert_eq!(
            parse_identities(&ids).unwrap_err().into_field(),
            "identities[1].kind"
        );
    }

    #[test]
    fn an_action_needs_no_text() {
        let c = Content::parse(&obj(
            r#"{"type":"action","action":{"action":"urge_shipment","order_id":"D1"}}"#,
        ))
        .unwrap();
        assert_eq!(c.action.unwrap().order_id, "D1");
        assert!(c.text.is_empty());
    }

    #[test]
    fn csat_ratings_are_one_to_five() {
        for n in 1..=5 {
            let body = format!(r#"{{"type":"action","action":{{"action":"csat:{n}"}}}}"#);
            let c = Content::parse(&obj(&body)).unwrap();
            assert_eq!(c.action.unwrap().action, format!("csat:{n}"));
        }
        for bad in [
            "csat:0", "csat:6", "csat:", "csat:x", "csat:05", "csat:+3", "csat:-1",
        ] {
            let body = format!(r#"{{"type":"action","action":{{"action":"{bad}"}}}}"#);
            assert_eq!(
                Content::parse(&obj(&body)).unwrap_err().into_field(),
                "action.action",
                "{bad}"
            );
        }
        assert_eq!(csat_rating("csat:4").unwrap().unwrap(), 4);
        assert!(csat_rating("urge_shipment").is_none());
    }
}
