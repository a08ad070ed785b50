//! TLS to RabbitMQ: an `amqps://` URL is TLS (rustls with ring, like every TLS connection of
//! Kefu), verified against the system's roots plus `ca_cert`, with a client certificate when the
//! broker asks for one. Configured per service as `KEFU_AMQP_TLS__CA_CERT`,
//! `KEFU_AMQP_TLS__CLIENT_CERT` and `KEFU_AMQP_TLS__CLIENT_KEY` (docs/operations.md).

use std::path::{Path, PathBuf};

use lapin::tcp::{OwnedIdentity, OwnedTLSConfig};

use crate::BusError;

/// The files of TLS to the broker; all optional (an `amqps://` URL alone trusts the system's
/// roots).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AmqpTls {
    /// PEM file of the CA certificate(s) that signed the broker's certificate.
    pub ca_cert: Option<PathBuf>,
    /// PEM file of the client certificate (chain) for brokers that verify their peers.
    pub client_cert: Option<PathBuf>,
    /// PEM file of the client certificate's private key (PKCS#8, PKCS#1 or SEC1).
    pub client_key: Option<PathBuf>,
}

impl AmqpTls {
    /// Whether nothing is configured.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// The TLS configuration lapin connects `url` with: the files read and checked now, so a
    /// wrong path fails at start with the setting's name, not at the first handshake.
    pub(crate) fn load(&self, url: &str) -> Result<OwnedTLSConfig, BusError> {
        let fail = |reason: String| BusError::Connection {
            url: super::connection::redact(url),
            reason,
        };
        if self.is_empty() {
            return Ok(OwnedTLSConfig::default());
        }
        if !url.starts_with("amqps://") {
            return Err(fail(
                "amqp_tls is configured but the URL is not amqps:// (TLS is chosen by the URL)"
                    .into(),
            ));
        }
        let read = |field: &str, path: &Path| {
            std::fs::read(path).map_err(|e| {
                fail(format!(
                    "amqp_tls.{field}: cannot read {}: {e}",
                    path.display()
                ))
            })
        };
        let cert_chain =
            match &self.ca_cert {
                Some(path) => Some(String::from_utf8(read("ca_cert", path)?).map_err(|_| {
                    fail(format!("amqp_tls.ca_cert: {} is not PEM", path.display()))
                })?),
                None => None,
            };
        let identity = match (&self.client_cert, &self.client_key) {
            (Some(cert), Some(key)) => Some(OwnedIdentity::PKCS8 {
                pem: read("client_cert", cert)?,
                key: read("client_key", key)?,
            }),
            (None, None) => None,
            _ => {
                return Err(fail(
                    "amqp_tls.client_cert and amqp_tls.client_key go together".into(),
                ));
            }
        };
        Ok(OwnedTLSConfig {
            identity,
            cert_chain,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_configured_is_plain_defaults() {
        assert!(AmqpTls::default().is_empty());
        let tls = AmqpTls::default().load("amqp://guest:guest@h/%2f").unwrap();
        assert!(tls.cert_chain.is_none() && tls.identity.is_none());
    }

    #[test]
    fn files_need_an_amqps_url_and_must_exist() {
        let tls = AmqpTls {
            ca_cert: Some("/nonexistent/ca.pem".into()),
            ..AmqpTls::default()
        };
        let plain = tls.load("amqp://u:secret@h/%2f").unwrap_err().to_string();
        assert!(plain.contains("not amqps://"), "{plain}");
        assert!(!plain.contains("secret"), "credentials in {plain}");
        let missing = tls.load("amqps://u:secret@h/%2f").unwrap_err().to_string();
        assert!(
            missing.contains("amqp_tls.ca_cert: cannot read /nonexistent/ca.pem"),
            "{missing}"
        );
        let half = AmqpTls {
            client_cert: Some("/c.pem".into()),
            ..AmqpTls::default()
        }
        .load("amqps://h")
        .unwrap_err()
        .to_string();
        assert!(half.contains("go together"), "{half}");
    }
}
