//! TLS to PostgreSQL and RabbitMQ, configured the way a service is (`KEFU_DATABASE_TLS__*`,
//! `KEFU_AMQP_TLS__*`): against a PostgreSQL instance and a RabbitMQ node of the test's own,
//! with certificates of a CA made for the test (`kefu_tests::tls`). What must connect does, and
//! what must be refused — no TLS, an unknown CA, the wrong host name, a missing client
//! certificate — is.

use kefu_bus::{AmqpTls, Bus, QueueSpec, RabbitBus, Topology};
use kefu_store::sea_orm::ConnectionTrait;
use kefu_store::{DbConfig, PgTls};
use kefu_tests::chaos::broker::OwnBroker;
use kefu_tests::tls::{Certs, TlsPostgres};
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
    let with_client_cert = PgTls {
        client_cert: Some(certs.path("client.pem")),
        client_key: Some(certs.path("client.key")),
        ..verify("verify-full", ca.clone())
    };
    // (what, host, database, settings, Ok(TLS in use) or Err(part of the error)). The server
    // takes TLS only; its certificate names localhost (not 127.0.0.1); `certdb` authenticates by
    // client certificate.
    let refused = Err("");
    let cases = [
        (
            "verify-full with the test CA",
            "localhost",
            "postgres",
            verify("verify-full", ca.clone()),
            Ok(true),
        ),
        (
            "no TLS",
            "localhost",
            "postgres",
            verify("disable", None),
            refused,
        ),
        (
            "another CA",
            "localhost",
            "postgres",
            verify("verify-full", Some(other_ca)),
            refused,
        ),
        (
            "the built-in roots only",
            "localhost",
            "postgres",
            verify("verify-full", None),
            refused,
        ),
        (
            "the wrong host name",
            "127.0.0.1",
            "postgres",
            verify("verify-full", ca.clone()),
            refused,
        ),
        (
            "verify-ca ignores the name",
            "127.0.0.1",
            "postgres",
            verify("verify-ca", ca.clone()),
            Ok(true),
        ),
        (
            "a client certificate",
            "localhost",
            "certdb",
            with_client_cert,
            Ok(true),
        ),
        (
            "no client certificate",
            "localhost",
            "certdb",
            verify("verify-full", ca.clone()),
            refused,
        ),
        (
            "a misspelt mode",
            "localhost",
            "postgres",
            verify("verify_full", ca.clone()),
            Err("database_tls.mode"),
        ),
        (
            "a missing CA file",
            "localhost",
            "postgres",
            verify("verify-full", Some("/nonexistent/ca.pem".into())),
            Err("database_tls.root_cert: cannot read /nonexistent/ca.pem"),
        ),
    ];
    for (what, host, database, tls, expected) in cases {
        let got = ssl_in_use(&db(pg.url(host, database), tls)).await;
        match (&got, expected) {
            (Ok(ssl), Ok(want)) => assert_eq!(*ssl, want, "{what}"),
            (Err(error), Err(part)) => assert!(error.contains(part), "{what}: {error}"),
            _ => panic!("{what}: expected {expected:?}, got {got:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rabbitmq_over_tls_verifies_the_broker_and_presents_the_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let certs = Certs::generate(dir.path());
    let other_ca = Certs::other_ca(dir.path());
    let broker = OwnBroker::start_tls(
        &format!("tls-{}", uuid::Uuid::new_v4().simple()),
        &certs.path("ca.pem"),
        &certs.path("server.pem"),
        &certs.path("server.key"),
    )
    .await;
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
            match RabbitBus::connect_tls(&broker.amqps_url(), topology.clone(), &tls).await {
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
            RabbitBus::connect_tls(&broker.amqps_url(), topology.clone(), &bad)
                .await
                .is_err(),
            "connected with {what}"
        );
    }
    let plain = broker.amqps_url().replacen("amqps://", "amqp://", 1);
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
            ("AMQP_URL", broker.amqps_url()),
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
