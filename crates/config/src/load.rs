//! The layered loader.

use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::Value;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{ConfigError, Validate};

/// Prefix of the environment variables read by [`load`]; `__` separates nesting levels.
pub const ENV_PREFIX: &str = "KEFU_";

/// Conventional variables mapped onto top-level fields: (variable, field).
pub const URL_ALIASES: &[(&str, &str)] =
    &[("DATABASE_URL", "database_url"), ("AMQP_URL", "amqp_url")];

/// Loads `T` from defaults → `file` → `KEFU_*` env → aliases → `overrides`, then validates it.
///
/// `file`, when given, must exist. Keys that `T` does not know are ignored, so avoid
/// `#[serde(deny_unknown_fields)]` on the top-level struct: unrelated `KEFU_*` variables (such as
/// `KEFU_LOG_JSON`, read by telemetry) would then fail the load. Aliases are only applied for
/// fields present in the serialised `T::default()` (so don't `skip_serializing` them).
pub fn load<T>(file: Option<&Path>, overrides: impl figment::Provider) -> Result<T, ConfigError>
where
    T: DeserializeOwned + Serialize + Default + Validate,
{
    let defaults = T::default();
    let mut figment = Figment::from(Serialized::defaults(&defaults));
    if let Some(path) = file {
        if !path.is_file() {
            return Err(figment::Error::from(format!(
                "configuration file {} does not exist",
                path.display()
            ))
            .into());
        }
        figment = figment.merge(Toml::file_exact(path));
    }
    figment = figment.merge(Env::prefixed(ENV_PREFIX).split("__"));

    let aliases: Vec<&str> = URL_ALIASES
        .iter()
        .filter(|(_, field)| has_top_level_field(&defaults, field))
        .map(|(var, _)| *var)
        .collect();
    if !aliases.is_empty() {
        figment = figment.merge(Env::raw().only(&aliases));
    }

    let config: T = figment.merge(overrides).extract()?;
    config.validate()?;
    Ok(config)
}

fn has_top_level_field<T: Serialize>(value: &T, field: &str) -> bool {
    match Value::serialize(value) {
        Ok(Value::Dict(_, dict)) => dict.contains_key(field),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct WithDb {
        database_url: Option<String>,
        port: u16,
    }

    #[test]
    fn detects_top_level_fields() {
        let value = WithDb {
            database_url: None,
            port: 1,
        };
        assert!(has_top_level_field(&value, "database_url"));
        assert!(!has_top_level_field(&value, "amqp_url"));
        assert!(!has_top_level_field(&42u8, "database_url"));
    }
}
