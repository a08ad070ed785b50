//! Layered configuration for Kefu services.
//!
//! [`load`] merges, lowest precedence first:
//! 1. `T::default()`;
//! 2. an optional TOML file (must exist when given);
//! 3. `KEFU_*` environment variables, `__` separating nesting levels
//!    (`KEFU_GATEWAY__MAX_BODY_BYTES` → `gateway.max_body_bytes`);
//! 4. well-known aliases `DATABASE_URL` → `database_url` and `AMQP_URL` → `amqp_url`, applied
//!    only when `T` has such a top-level field;
//! 5. caller `overrides` (CLI flags, usually `figment::providers::Serialized`);
//!
//! then runs [`Validate::validate`]. [`Secret`] and [`redact_url`] keep credentials out of logs.

mod error;
mod load;
mod secret;

pub use error::{ConfigError, Validate, check_range};
pub use load::{ENV_PREFIX, URL_ALIASES, load};
pub use secret::{Secret, redact_url};

/// Re-export so callers can build override providers without naming figment themselves.
pub use figment;
