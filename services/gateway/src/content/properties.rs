//! Properties of content parsing on generated input: whatever JSON a channel sends, parsing
//! never panics and either accepts it or names one of the body's fields; what it accepts is
//! within the limits and keeps the text as sent.

use super::*;
use proptest::prelude::*;

/// Any JSON value, a few levels deep, with strings that include control characters, CJK and
/// emoji.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,40}".prop_map(Value::String),
        prop::sample::select(vec![
            "text",
            "image",
            "action",
            "product",
            "checkout",
            "phone",
            "13800000001",
            ""
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Keys a body has, and some it should not.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "type",
            "text",
            "image_url",
            "action",
            "page",
            "merchant_id",
            "identities",
            "kind",
            "value",
            "page_type",
            "url",
            "product_id",
            "order_id",
        ])
        .prop_map(str::to_owned),
        "[a-z_]{1,12}",
    ]
}

fn body() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(key(), json(), 0..8).prop_map(|m| m.into_iter().collect())
}

const TOP_FIELDS: &[&str] = &["type", "text", "image_url", "action", "page", "merchant_id"];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parsing_accepts_or_names_a_field(obj in body()) {
        match Content::parse(&obj) {
            Ok(c) => {
                prop_assert!(MESSAGE_TYPES.contains(&c.message_type.as_str()));
                prop_assert!(c.text.chars().count() <= MAX_TEXT_CHARS);
                prop_assert!(c.image_url.len() <= MAX_URL_LEN);
                if let Some(Value::String(t)) = obj.get("text") {
                    prop_assert_eq!(&c.text, t);
                }
            }
            Err(ApiError::InvalidField { field, .. }) => {
                let top = field.split(['.', '[']).next().unwrap_or_default();
                prop_assert!(TOP_FIELDS.contains(&top), "unexpected field {field:?}");
            }
            Err(other) => prop_assert!(false, "not a field error: {other:?}"),
        }
    }

    #[test]
    fn identities_are_accepted_normalised_or_named(obj in body()) {
        match parse_identities(&obj) {
            Ok(ids) => {
                prop_assert!(ids.len() <= MAX_IDENTITIES);
                for id in ids {
                    prop_assert!(IDENTITY_KINDS.contains(&id.kind.as_str()));
                    prop_assert!(!id.value.is_empty());
                    // Normalising is idempotent: one spelling per identity.
                    prop_assert_eq!(normalize_identity(&id.kind, &id.value).ok(), Some(id.value.clone()));
                }
            }
            Err(ApiError::InvalidField { field, .. }) => {
                prop_assert!(field.starts_with("identities"), "unexpected field {field:?}");
            }
            Err(other) => prop_assert!(false, "not a field error: {other:?}"),
        }
    }

    #[test]
    fn any_text_within_the_limit_is_kept_exactly(text in "\\PC{0,300}") {
        let mut obj = Map::new();
        obj.insert("text".into(), Value::String(text.clone()));
        let parsed = Content::parse(&obj);
        if text.trim().is_empty() {
            // Nothing to say: refused, naming the text.
            let field = match &parsed {
                Err(ApiError::InvalidField { field, .. }) => Some(field.as_str()),
                _ => None,
            };
            prop_assert_eq!(field, Some("text"));
        } else {
            prop_assert_eq!(parsed.map(|c| c.text).ok(), Some(text));
        }
    }
}
