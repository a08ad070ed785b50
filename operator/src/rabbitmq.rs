//! Dedicated tenants' RabbitMQ vhosts, through the broker's management HTTP API: the vhost and
//! the platform user's permissions on it. The queues, exchanges and bindings inside are declared
//! by the tenant's services at start-up from `kefu_proto::queues` — the one place their
//! arguments (quorum, delivery limit, dead-lettering) are defined; declaring them from here too
//! would risk two definitions that disagree, which RabbitMQ rejects.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("RabbitMQ management API unreachable: {0}")]
    Unreachable(#[source] reqwest::Error),
    #[error("RabbitMQ management API answered {status} to {what}: {body}")]
    Status {
        what: String,
        status: u16,
        body: String,
    },
}

#[derive(Clone)]
pub struct Broker {
    base: String,
    user: String,
    password: String,
    http: reqwest::Client,
}

/// `/` and other reserved characters in a vhost name must be escaped in the path.
fn escape(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Broker {
    pub fn new(base: &str, user: &str, password: &str) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Self {
            base: base.trim_end_matches('/').to_owned(),
            user: user.to_owned(),
            password: password.to_owned(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("static client configuration"),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: String,
        body: Option<serde_json::Value>,
    ) -> Result<u16, BrokerError> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .basic_auth(&self.user, Some(&self.password));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.map_err(BrokerError::Unreachable)?;
        let status = resp.status().as_u16();
        if resp.status().is_success() {
            return Ok(status);
        }
        Err(BrokerError::Status {
            what: format!("{method} {path}"),
            status,
            body: resp.text().await.unwrap_or_default(),
        })
    }

    /// Creates the vhost (idempotent) and grants the platform user full rights on it.
    pub async fn ensure_vhost(&self, vhost: &str) -> Result<(), BrokerError> {
        let v = escape(vhost);
        self.call(
            reqwest::Method::PUT,
            format!("/api/vhosts/{v}"),
            Some(serde_json::json!({"description": "kefu dedicated tenant", "tags": "kefu"})),
        )
        .await?;
        self.call(
            reqwest::Method::PUT,
            format!("/api/permissions/{v}/{}", escape(&self.user)),
            Some(serde_json::json!({"configure": ".*", "write": ".*", "read": ".*"})),
        )
        .await?;
        Ok(())
    }

    /// Deletes the vhost and everything in it. A vhost that is already gone is success; a broker
    /// that is gone altogether is reported as [`BrokerError::Unreachable`] for the caller to judge.
    pub async fn delete_vhost(&self, vhost: &str) -> Result<(), BrokerError> {
        match self
            .call(
                reqwest::Method::DELETE,
                format!("/api/vhosts/{}", escape(vhost)),
                None,
            )
            .await
        {
            Err(BrokerError::Status { status: 404, .. }) => Ok(()),
            other => other.map(drop),
        }
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use axum::extract::{Path, State};
    use axum::http::StatusCode;
    use std::sync::{Arc, Mutex};

    /// A local stand-in for the management API: records calls, keeps a set of vhosts.
    #[derive(Clone, Default)]
    pub struct MockBroker {
        pub calls: Arc<Mutex<Vec<String>>>,
        pub vhosts: Arc<Mutex<std::collections::BTreeSet<String>>>,
    }

    impl MockBroker {
        pub async fn serve(self) -> String {
            use axum::routing::put;
            let app = axum::Router::new()
                .route(
                    "/api/vhosts/{vhost}",
                    put(|State(m): State<MockBroker>, Path(v): Path<String>| async move {
                        m.calls.lock().unwrap().push(format!("PUT vhost {v}"));
                        m.vhosts.lock().unwrap().insert(v);
                        StatusCode::CREATED
                    })
                    .delete(|State(m): State<MockBroker>, Path(v): Path<String>| async move {
                        m.calls.lock().unwrap().push(format!("DELETE vhost {v}"));
                        if m.vhosts.lock().unwrap().remove(&v) {
                            StatusCode::NO_CONTENT
                        } else {
                            StatusCode::NOT_FOUND
                        }
                    }),
                )
                .route(
                    "/api/permissions/{vhost}/{user}",
                    put(|State(m): State<MockBroker>, Path((v, u)): Path<(String, String)>| async move {
                        m.calls.lock().unwrap().push(format!("PUT permissions {v} {u}"));
                        StatusCode::CREATED
                    }),
                )
                .with_state(self);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(listener, app).await });
            format!("http://{addr}")
        }
    }

    #[tokio::test]
    async fn vhost_is_created_granted_and_deleted_idempotently() {
        let mock = MockBroker::default();
        let url = mock.clone().serve().await;
        let broker = Broker::new(&url, "kefu", "pw");
        broker.ensure_vhost("kefu-acme").await.unwrap();
        broker.ensure_vhost("kefu-acme").await.unwrap();
        broker.delete_vhost("kefu-acme").await.unwrap();
        broker.delete_vhost("kefu-acme").await.unwrap(); // already gone: fine
        assert_eq!(
            *mock.calls.lock().unwrap(),
            [
                "PUT vhost kefu-acme",
                "PUT permissions kefu-acme kefu",
                "PUT vhost kefu-acme",
                "PUT permissions kefu-acme kefu",
                "DELETE vhost kefu-acme",
                "DELETE vhost kefu-acme",
            ]
        );
    }

    #[tokio::test]
    async fn a_broker_that_is_gone_is_unreachable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let err = Broker::new(&url, "u", "p")
            .delete_vhost("v")
            .await
            .unwrap_err();
        assert!(matches!(err, BrokerError::Unreachable(_)), "{err}");
    }
}
