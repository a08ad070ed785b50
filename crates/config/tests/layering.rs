//! Layering order, nesting, aliases and validation, isolated with `figment::Jail`.
#![allow(clippy::result_large_err)] // figment::Jail closures return figment::Error

use std::path::Path;

use figment::Jail;
use figment::providers::Serialized;
use kefu_config::{ConfigError, Secret, Validate, check_range, load};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
struct Gateway {
    listen: String,
    max_body_bytes: u64,
}

impl Default for Gateway {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:8080".into(),
            max_body_bytes: 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
struct AppConfig {
    name: String,
    log_level: String,
    database_url: Option<String>,
    api_key: Secret,
    gateway: Gateway,
}

impl Validate for AppConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        check_range(
            "max_body_bytes",
            self.gateway.max_body_bytes,
            1024,
            16 * 1024 * 1024,
        )
        .map_err(|e| e.within("gateway"))
    }
}

/// No `database_url`/`amqp_url` fields and unknown keys rejected.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Strict {
    port: u16,
}

impl Validate for Strict {
    fn validate(&self) -> Result<(), ConfigError> {
        Ok(())
    }
}

/// CLI-style overrides: only `Some` values override.
#[derive(Serialize, Default)]
struct Cli {
    #[serde(skip_serializing_if = "Option::is_none")]
    log_level: Option<String>,
}

fn no_overrides() -> Serialized<Cli> {
    Serialized::defaults(Cli::default())
}

fn into_figment(err: ConfigError) -> figment::Error {
    figment::Error::from(err.to_string())
}

#[test]
fn defaults_when_nothing_is_set() {
    Jail::expect_with(|jail| {
        jail.clear_env();
        let cfg: AppConfig = load(None, no_overrides()).map_err(into_figment)?;
        assert_eq!(cfg, AppConfig::default());
        Ok(())
    });
}

#[test]
fn file_then_env_then_overrides() {
    Jail::expect_with(|jail| {
        jail.clear_env();
        jail.create_file(
            "kefu.toml",
            r#"
                name = "from-file"
                log_level = "file"
                [gateway]
                listen = "127.0.0.1:9000"
                max_body_bytes = 2048
            "#,
        )?;
        jail.set_env("KEFU_LOG_LEVEL", "env");
        jail.set_env("KEFU_GATEWAY__MAX_BODY_BYTES", "4096");
        let cli = Serialized::defaults(Cli {
            log_level: Some("cli".into()),
        });
        let cfg: AppConfig = load(Some(Path::new("kefu.toml")), cli).map_err(into_figment)?;
        assert_eq!(cfg.name, "from-file"); // only in the file
        assert_eq!(cfg.gateway.listen, "127.0.0.1:9000"); // nested, only in the file
        assert_eq!(cfg.gateway.max_body_bytes, 4096); // env beats file (nested)
        assert_eq!(cfg.log_level, "cli"); // overrides beat env

        let cfg: AppConfig =
            load(Some(Path::new("kefu.toml")), no_overrides()).map_err(into_figment)?;
        assert_eq!(cfg.log_level, "env"); // env beats file
        Ok(())
    });
}

#[test]
fn aliases_and_secrets() {
    Jail::expect_with(|jail| {
        jail.clear_env();
        // The conventional variable is layered above `KEFU_*`.
        jail.set_env("KEFU_DATABASE_URL", "postgres://ignored@db/kefu");
        jail.set_env("DATABASE_URL", "postgres://kefu:pw@db/kefu");
        jail.set_env("AMQP_URL", "amqp://guest:guest@rabbit");
        jail.set_env("KEFU_API_KEY", "k-123");
        let cfg: AppConfig = load(None, no_overrides()).map_err(into_figment)?;
        assert_eq!(
            cfg.database_url.as_deref(),
            Some("postgres://kefu:pw@db/kefu")
        );
        assert_eq!(cfg.api_key.expose(), "k-123");
        assert!(!format!("{cfg:?}").contains("k-123"));
        jail.clear_env();
        jail.set_env("DATABASE_URL", "postgres://kefu:pw@db/kefu");
        jail.set_env("AMQP_URL", "amqp://guest:guest@rabbit");

        // `Strict` has neither alias field and rejects unknown keys: aliases must be skipped.
        let strict: Strict = load(None, no_overrides()).map_err(into_figment)?;
        assert_eq!(strict.port, 0);
        Ok(())
    });
}

#[test]
fn validation_error_names_the_field() {
    Jail::expect_with(|jail| {
        jail.clear_env();
        jail.set_env("KEFU_GATEWAY__MAX_BODY_BYTES", "12");
        let err = load::<AppConfig>(None, no_overrides()).unwrap_err();
        assert!(
            matches!(&err, ConfigError::Invalid { field, .. } if field == "gateway.max_body_bytes")
        );
        assert_eq!(
            err.to_string(),
            "invalid configuration: gateway.max_body_bytes: must be between 1024 and 16777216"
        );
        Ok(())
    });
}

#[test]
fn load_errors() {
    Jail::expect_with(|jail| {
        jail.clear_env();
        let err = load::<AppConfig>(Some(Path::new("missing.toml")), no_overrides()).unwrap_err();
        assert!(matches!(err, ConfigError::Load(_)));
        assert!(err.to_string().contains("missing.toml"), "{err}");

        jail.set_env("KEFU_GATEWAY__MAX_BODY_BYTES", "lots");
        let err = load::<AppConfig>(None, no_overrides()).unwrap_err();
        assert!(matches!(err, ConfigError::Load(_)));
        assert!(
            err.to_string().to_lowercase().contains("max_body_bytes"),
            "{err}"
        );
        Ok(())
    });
}
