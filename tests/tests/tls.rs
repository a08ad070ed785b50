//! TLS to PostgreSQL and RabbitMQ, configured the way a service is (`KEFU_DATABASE_TLS__*`,
//! `KEFU_AMQP_TLS__*`): against a PostgreSQL instance and a RabbitMQ node of the test's own,
//! with certificates of a CA made for the test (`kefu_tests::tls`). What must connect does, and
//! what must be refused — no TLS, an unknown CA, the wrong host name, a missing client
//! certificate — is.

use kefu_bus::{AmqpTls, Bus, QueueSpec, RabbitBus, Topology};
use kefu_store::sea_orm::ConnectionTrait;
use kefu_store::{DbConfig, PgTls};
use kefu_tests::tls::{Certs, TlsPostgres, TlsRabbit};
use std::path::PathBuf;

fn db(url: String, tls: PgTls) -> DbConfig {
    DbConfig {
        tls,
        ..DbConfig::new(url, None)
    }
}

fn verify(mode: &str, root: Option<PathBuf>) -> PgTls {
    PgTls {
        mode: Some(mode.into()),
        root_cert: root,
        ..PgTls::default()
    }
}

async fn ssl_in_use(cfg: &DbConfig) -> Result<bool, String> {
    let conn = kefu_store::connect(cfg)
        .await
        .map_err(|e| format!("{e:#}"))?;
    let row = conn
        .query_one_raw(kefu_store::sea_orm::Statement::from_string(
            conn.get_database_backend(),
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        ))
        .await
        .map_err(|e| e.to_string())?
        .expect("a row");
    Ok(row.try_get::<bool>("", "ssl").unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_over_tls_verifies_the_server_and_presents_the_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let certs = Certs::generate(dir.path());
    let other_ca = Certs::other_ca(dir.path());
    let pg = TlsPostgres::start(&certs);
    let ca = Some(certs.path("ca.pem"));

    // verify-full against the test CA and the certificate's host name: TLS in use.
    let ok = db(
        pg.url("localhost", "postgres"),
        verify("verify-full", ca.clone()),
    );
    assert_eq!(ssl_in_use(&ok).await, Ok(true));
    // The server takes TLS only: without it, refused.
    let plain = db(pg.url("localhost", "postgres"), verify("disable", None));
    assert!(
        ssl_in_use(&plain).await.is_err(),
        "a plain connection was let in"
    );
    // A CA that did not sign the server's certificate, or none (the built-in roots): refused.
    for root in [Some(other_ca), None] {
        let cfg = db(
            pg.url("localhost", "postgres"),
            verify("verify-full", root.clone()),
        );
        let err = ssl_in_use(&cfg)
            .await
            .expect_err("an unverified server was trusted");
        assert!(
            err.contains("127.0.0.1") || err.contains("localhost"),
            "{err}"
        );
    }
    // The certificate names localhost, not 127.0.0.1: verify-full refuses, verify-ca (chain
    // only) accepts.
    let by_ip = db(
        pg.url("127.0.0.1", "postgres"),
        verify("verify-full", ca.clone()),
    );
    assert!(
        ssl_in_use(&by_ip).await.is_err(),
        "a host name mismatch was accepted"
    );
    let chain_only = db(
        pg.url("127.0.0.1", "postgres"),
        verify("verify-ca", ca.clone()),
    );
    assert_eq!(ssl_in_use(&chain_only).await, Ok(true));
    // The database with certificate authentication: in with the client certificate only.
    let with_cert = PgTls {
        client_cert: Some(certs.path("client.pem")),
        client_key: Some(certs.path("client.key")),
        ..verify("verify-full", ca.clone())
    };
    assert_eq!(
        ssl_in_use(&db(pg.url("localhost", "certdb"), with_cert)).await,
        Ok(true)
    );
    let without = db(
        pg.url("localhost", "certdb"),
        verify("verify-full", ca.clone()),
    );
    assert!(
        ssl_in_use(&without).await.is_err(),
        "certificate authentication passed without a client certificate"
    );
    // Mistakes in the settings are named before anything connects.
    let typo = db(
        pg.url("localhost", "postgres"),
        verify("verify_full", ca.clone()),
    );
    let err = ssl_in_use(&typo).await.unwrap_err();
    assert!(err.contains("database_tls.mode"), "{err}");
    let missing = db(
        pg.url("localhost", "postgres"),
        verify("verify-full", Some("/nonexistent/ca.pem".into())),
    );
    let err = ssl_in_use(&missing).await.unwrap_err();
    assert!(
        err.contains("database_tls.root_cert: cannot read /nonexistent/ca.pem"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rabbitmq_over_tls_verifies_the_broker_and_presents_the_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let certs = Certs::generate(dir.path());
    let other_ca = Certs::other_ca(dir.path());
    let broker = TlsRabbit::start(&certs);
    let tls = AmqpTls {
        ca_cert: Some(certs.path("ca.pem")),
        client_cert: Some(certs.path("client.pem")),
        client_key: Some(certs.path("client.key")),
    };
    let topology = Topology::new(format!(
        "tls{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    ));

    // The broker takes a moment after opening its port: retry the first connection briefly.
    let bus = {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            match RabbitBus::connect_tls(&broker.url(), topology.clone(), &tls).await {
                Ok(bus) => break bus,
                Err(_) if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                }
                Err(e) => panic!("amqps with the test CA and client certificate: {e}"),
            }
        }
    };
    // A round trip over TLS.
    let spec = QueueSpec::new("tls-roundtrip", ["tls.#"]);
    let mut sub = bus.subscribe(spec).await.unwrap();
    let mut sent = kefu_bus::testing::envelope("t1", 1);
    sent.event_type = "tls.check".into();
    bus.publish(&sent).await.unwrap();
    let got = tokio::time::timeout(std::time::Duration::from_secs(10), sub.next())
        .await
        .expect("a delivery over TLS")
        .expect("subscription open");
    assert_eq!(got.envelope, sent);
    got.ack().await.unwrap();
    bus.close().await;

    // Refused: an unknown CA, no client certificate, certificate files on a plain URL.
    let wrong_ca = AmqpTls {
        ca_cert: Some(other_ca),
        ..tls.clone()
    };
    let no_client = AmqpTls {
        ca_cert: tls.ca_cert.clone(),
        ..AmqpTls::default()
    };
    for (what, bad) in [
        ("an unknown CA", wrong_ca),
        ("no client certificate", no_client),
    ] {
        assert!(
            RabbitBus::connect_tls(&broker.url(), topology.clone(), &bad)
                .await
                .is_err(),
            "connected with {what}"
        );
    }
    let plain = broker.url().replacen("amqps://", "amqp://", 1);
    let err = RabbitBus::connect_tls(&plain, topology.clone(), &tls)
        .await
        .err()
        .expect("certificate files on an amqp:// URL")
        .to_string();
    assert!(err.contains("not amqps://"), "{err}");

    // A service configured through its environment, as the chart does, gets ready over both.
    let pg = TlsPostgres::start(&certs);
    let path = |name: &str| certs.path(name).to_string_lossy().into_owned();
    let session = kefu_tests::Service::start(
        "kefu-session",
        &[],
        &[
            ("KEFU_HTTP_ADDR", "127.0.0.1:0".into()),
            ("KEFU_GRPC_ADDR", "127.0.0.1:0".into()),
            ("DATABASE_URL", pg.url("localhost", "certdb")),
            ("KEFU_DATABASE_TLS__MODE", "verify-full".into()),
            ("KEFU_DATABASE_TLS__ROOT_CERT", path("ca.pem")),
            ("KEFU_DATABASE_TLS__CLIENT_CERT", path("client.pem")),
            ("KEFU_DATABASE_TLS__CLIENT_KEY", path("client.key")),
            ("AMQP_URL", broker.url()),
            ("KEFU_AMQP_TLS__CA_CERT", path("ca.pem")),
            ("KEFU_AMQP_TLS__CLIENT_CERT", path("client.pem")),
            ("KEFU_AMQP_TLS__CLIENT_KEY", path("client.key")),
            ("KEFU_BUS_PREFIX", topology.prefix.clone()),
        ],
    )
    .await;
    let readyz = format!("http://{}/readyz", session.addr("http"));
    kefu_tests::eventually(
        "the session ready over TLS",
        std::time::Duration::from_secs(30),
        || async {
            let r = reqwest::get(&readyz).await.ok()?;
            (r.status() == 200).then_some(())
        },
    )
    .await;
}
