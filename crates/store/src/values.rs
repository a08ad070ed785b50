//! Typed values in text columns, for every service's entities: states as sea-orm active enums
//! ([`text_enum!`]) and lists or maps as JSON ([`json_text!`]).
//!
//! Why text and not PostgreSQL `enum` or `jsonb` column types: SQLite (`kefu dev`) has
//! neither, a type change on a deployed table is a rewrite under an exclusive lock, and no
//! query looks inside a list. The typing is for the Rust side: a state is one of its variants,
//! a list is a `Vec`, and no caller formats or parses either.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A state stored as its name: a sea-orm active enum over a text column, with `ALL`,
/// `as_str` (the stored name, which the APIs and events carry too) and `parse`.
///
/// ```ignore
/// kefu_store::text_enum! {
///     /// Where a delivery stands.
///     pub enum DeliveryStatus { Pending = "pending", Delivered = "delivered", Dead = "dead" }
/// }
/// ```
#[macro_export]
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, sea_orm::EnumIter, sea_orm::DeriveActiveEnum,
        )]
        #[sea_orm(rs_type = "String", db_type = "Text")]
        $vis enum $name {
            $( $(#[$vmeta])* #[sea_orm(string_value = $text)] $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The value of a stored name.
            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A value kept as JSON in a text column (`pub struct Tags(pub Vec<String>);`): a sea-orm value
/// type that derefs to what it holds. A row with something else in it reads as the default
/// (empty) value rather than failing every query on the table.
#[macro_export]
macro_rules! json_text {
    ($(#[$meta:meta])* $vis:vis struct $name:ident(pub $inner:ty);) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, sea_orm::DeriveValueType)]
        #[sea_orm(
            value_type = "String",
            column_type = "Text",
            from_str = "kefu_store::values::from_json",
            to_str = "kefu_store::values::to_json"
        )]
        $vis struct $name(pub $inner);

        impl $crate::values::JsonText for $name {
            type Inner = $inner;
            fn wrap(inner: $inner) -> Self {
                $name(inner)
            }
            fn inner(&self) -> &$inner {
                &self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = $inner;
            fn deref(&self) -> &$inner {
                &self.0
            }
        }

        impl From<$inner> for $name {
            fn from(inner: $inner) -> Self {
                $name(inner)
            }
        }
    };
}

/// What [`json_text!`] types have in common (used by its generated code).
pub trait JsonText: Sized {
    type Inner: Serialize + DeserializeOwned + Default;
    fn wrap(inner: Self::Inner) -> Self;
    fn inner(&self) -> &Self::Inner;
}

/// Reads a [`json_text!`] value; what is not valid JSON of its type reads as the default.
pub fn from_json<T: JsonText>(json: &str) -> Result<T, std::convert::Infallible> {
    Ok(T::wrap(serde_json::from_str(json).unwrap_or_default()))
}

/// Writes a [`json_text!`] value.
pub fn to_json<T: JsonText>(value: &T) -> String {
    // Lists and maps of strings and numbers always serialize.
    serde_json::to_string(value.inner()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use sea_orm::ActiveEnum;
    use std::collections::BTreeMap;

    crate::text_enum! {
        /// A test state.
        pub enum Light {
            Red = "red",
            /// Two words.
            LeftTurn = "left_turn",
        }
    }

    crate::json_text! {
        /// A test list.
        pub struct Names(pub Vec<String>);
    }

    crate::json_text! {
        pub struct Limits(pub BTreeMap<String, u32>);
    }

    #[test]
    fn names_are_the_stored_values() {
        for l in Light::ALL {
            assert_eq!(l.as_str(), l.to_value());
            assert_eq!(Light::parse(l.as_str()), Some(*l));
            assert_eq!(l.to_string(), l.as_str());
        }
        assert_eq!(Light::LeftTurn.as_str(), "left_turn");
        assert_eq!(Light::parse("green"), None);
    }

    #[test]
    fn json_values_read_back_and_junk_reads_empty() {
        use super::{from_json, to_json};
        let n = Names(vec!["a".into(), "b\"c".into()]);
        assert_eq!(from_json::<Names>(&to_json(&n)).unwrap(), n);
        assert_eq!(to_json(&Names::default()), "[]");
        assert_eq!(from_json::<Names>("not json").unwrap(), Names::default());
        let l = Limits([("web".to_owned(), 2)].into());
        assert_eq!(to_json(&l), r#"{"web":2}"#);
        assert_eq!(from_json::<Limits>(r#"{"web":2}"#).unwrap(), l);
        assert_eq!(l.get("web"), Some(&2));
    }
}
