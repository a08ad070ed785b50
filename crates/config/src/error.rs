//! Configuration errors and the validation trait.

use std::fmt::Display;

/// Error returned by [`load`](crate::load) and [`Validate::validate`].
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value was loaded but is not acceptable.
    #[error("invalid configuration: {field}: {reason}")]
    Invalid {
        /// Dotted path of the offending field, e.g. `gateway.max_body_bytes`.
        field: String,
        /// Human-readable explanation.
        reason: String,
    },
    /// A source could not be read or a value could not be deserialised (missing file, TOML
    /// syntax error, wrong type, ...). figment's message names the key and the source.
    #[error(transparent)]
    Load(Box<figment::Error>),
}

impl ConfigError {
    /// Shorthand for [`ConfigError::Invalid`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Prefixes the field of an `Invalid` error with `parent.`, for nested `validate` calls.
    pub fn within(self, parent: &str) -> Self {
        match self {
            Self::Invalid { field, reason } => Self::Invalid {
                field: format!("{parent}.{field}"),
                reason,
            },
            other => other,
        }
    }
}

impl From<figment::Error> for ConfigError {
    fn from(err: figment::Error) -> Self {
        Self::Load(Box::new(err))
    }
}

/// Semantic checks run by [`load`](crate::load) after deserialisation.
pub trait Validate {
    /// Returns [`ConfigError::Invalid`] naming the first offending field.
    fn validate(&self) -> Result<(), ConfigError>;
}

/// Checks `min <= value <= max`, producing `"{field}: must be between {min} and {max}"`.
pub fn check_range<V>(field: &str, value: V, min: V, max: V) -> Result<(), ConfigError>
where
    V: PartialOrd + Display,
{
    if value < min || value > max {
        return Err(ConfigError::invalid(
            field,
            format!("must be between {min} and {max}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_message_names_the_field() {
        let err = check_range("max_body_bytes", 10u64, 1024, 16_777_216)
            .unwrap_err()
            .within("gateway");
        assert_eq!(
            err.to_string(),
            "invalid configuration: gateway.max_body_bytes: must be between 1024 and 16777216"
        );
        assert!(check_range("x", 5, 1, 10).is_ok());
        assert!(check_range("x", 1, 1, 10).is_ok());
        assert!(check_range("x", 10, 1, 10).is_ok());
    }

    #[test]
    fn load_errors_are_transparent() {
        let err = ConfigError::from(figment::Error::from("boom".to_owned()));
        assert_eq!(err.to_string(), "boom");
    }
}
