//! Every JSON document from outside (request bodies, web chat frames) is read here, the same
//! way on every route:
//!
//! - not JSON at all (syntax, truncated): 400 `malformed_json`;
//! - a key given twice in one object: 422 naming the key's path (`capacity.web`), where plain
//!   serde_json would silently keep the last one and two readers could disagree on what was
//!   sent;
//! - into a type: a wrong type, a missing or an unknown field is 422 naming the field's path
//!   (`serde_path_to_error`), never the offending value.
//!
//! serde_json has no switch for duplicate keys, so [`value`] builds the `Value` with its own
//! visitor (about forty lines) instead of adding a crate for it; serde_json still does the
//! parsing and its recursion limit still applies.

use crate::error::ApiError;
use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::cell::RefCell;
use std::fmt;

/// The JSON document `body`, with every object's keys distinct.
pub fn value(body: &[u8]) -> Result<Value, ApiError> {
    let duplicate = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(body);
    let read = Unique {
        path: String::new(),
        duplicate: &duplicate,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v));
    match read {
        Ok(v) => Ok(v),
        Err(_) if duplicate.borrow().is_some() => {
            let path = duplicate.take().unwrap_or_default();
            Err(ApiError::field(
                &path,
                "is given more than once; send each key once",
            ))
        }
        Err(e) => Err(ApiError::MalformedJson(e.to_string())),
    }
}

/// The JSON object `body` as a `T`.
pub fn typed<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    typed_at(body, "")
}

/// [`typed`] for a document that sits at `prefix` of what the caller sees (`spec`), so
/// errors name the field as the caller wrote it (`spec.overflow.queue`).
pub fn typed_at<T: DeserializeOwned>(body: &[u8], prefix: &str) -> Result<T, ApiError> {
    let v = value(body)?;
    // Every body Kefu reads is an object (serde would also read a struct from an array).
    if !v.is_object() {
        return Err(ApiError::MalformedJson(
            "the body must be a JSON object".into(),
        ));
    }
    serde_path_to_error::deserialize(v).map_err(|e| {
        let message = e.inner().to_string();
        let path = kefu_crd::document::field_path(&e.path().to_string(), &message);
        let field = match (prefix, path.as_str()) {
            ("", "") => return ApiError::MalformedJson(format!("the body: {message}")),
            ("", p) => p.to_owned(),
            (pre, "") => pre.to_owned(),
            (pre, p) => format!("{pre}.{p}"),
        };
        ApiError::field(&field, message)
    })
}

/// Builds a `Value` like serde_json's own visitor, failing on a key seen twice in one object
/// (and recording where).
struct Unique<'a> {
    path: String,
    duplicate: &'a RefCell<Option<String>>,
}

impl Unique<'_> {
    fn at(&self, path: String) -> Self {
        Unique {
            path,
            duplicate: self.duplicate,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Unique<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Unique<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) =
            seq.next_element_seed(self.at(format!("{}[{}]", self.path, items.len())))?
        {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            if object.contains_key(&key) {
                *self.duplicate.borrow_mut() = Some(path);
                return Err(de::Error::custom("duplicate key"));
            }
            let v = map.next_value_seed(self.at(path))?;
            object.insert(key, v);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[test]
    fn values_read_like_serde_json() {
        let body = r#"{"a":[1,-2,3.5,"x",null,true,{"b":{}}],"c":"中文","d":18446744073709551615}"#;
        assert_eq!(
            value(body.as_bytes()).unwrap(),
            serde_json::from_str::<Value>(body).unwrap()
        );
    }

    #[test]
    fn a_key_given_twice_is_named() {
        for (body, field) in [
            (r#"{"text":"a","text":"b"}"#, "text"),
            (r#"{"capacity":{"web":1,"web":2}}"#, "capacity.web"),
            (r#"{"items":[{"id":1},{"id":2,"id":3}]}"#, "items[1].id"),
        ] {
            assert_eq!(
                value(body.as_bytes()).unwrap_err().into_field(),
                field,
                "{body}"
            );
        }
        // The same key in different objects is fine.
        assert!(value(br#"{"a":{"id":1},"b":{"id":1}}"#).is_ok());
    }

    #[test]
    fn syntax_is_400_and_types_name_the_field() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Body {
            status: String,
            capacity: Option<std::collections::BTreeMap<String, u32>>,
        }
        for body in [r#"{"status":"#, "{'status':1}", "", r#"{"status":"a"} x"#] {
            assert!(
                matches!(
                    typed::<Body>(body.as_bytes()),
                    Err(ApiError::MalformedJson(_))
                ),
                "{body}"
            );
        }
        for (body, field) in [
            (r#"{"status":0}"#, "status"),
            (r#"{"status":"a","capacity":{"web":1.5}}"#, "capacity.web"),
            (r#"{}"#, "status"),
            (r#"{"status":"a","colour":1}"#, "colour"),
        ] {
            assert_eq!(
                typed::<Body>(body.as_bytes()).unwrap_err().into_field(),
                field,
                "{body}"
            );
        }
        assert_eq!(
            typed_at::<Body>(b"{}", "spec").unwrap_err().into_field(),
            "spec.status"
        );
        // Not an object at all: the body is malformed for this route.
        assert!(matches!(
            typed::<Body>(b"[1]"),
            Err(ApiError::MalformedJson(_))
        ));
    }
}
