//! Gateway, session, bot, ticketing, analytics and QA as six processes on the shared PostgreSQL and RabbitMQ, isolated
//! by the test's schemas and broker prefix.

use crate::env::{amqp_url, database_url};
use crate::{Isolation, Service};

/// The demo knowledge base of the checkout being run (`cargo test` and `cargo run` set
/// `CARGO_MANIFEST_DIR` at run time; a shared target directory may hold this binary from
/// another checkout).
pub fn demo_kb() -> String {
    let dir = std::env::var("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
    format!("{dir}/../demo/faq-kb.jsonl")
}

pub struct Distributed {
    pub bot: Service,
    pub session: Service,
    pub ticketing: Service,
    pub qa: Service,
    pub gateway: Service,
    pub analytics: Service,
}

/// The environment of one service process of this test: listeners on free ports, the
/// test's schema and broker prefix, then `extra` and `own`.
pub fn env<'a>(
    iso: &Isolation,
    service: &str,
    extra: &[(&'a str, String)],
    own: &[(&'a str, String)],
) -> Vec<(&'a str, String)> {
    let mut env: Vec<(&str, String)> = vec![
        ("KEFU_HTTP_ADDR", "127.0.0.1:0".into()),
        ("KEFU_GRPC_ADDR", "127.0.0.1:0".into()),
        ("DATABASE_URL", database_url()),
        ("AMQP_URL", amqp_url()),
        ("KEFU_DATABASE_SCHEMA", iso.schema(service)),
        ("KEFU_BUS_PREFIX", iso.bus_prefix()),
    ];
    env.extend(extra.iter().cloned());
    env.extend(own.iter().cloned());
    env
}

/// Starts the bot with the demo knowledge base.
pub async fn start_bot(iso: &Isolation, extra: &[(&str, String)]) -> Service {
    Service::start(
        "kefu-bot",
        &[],
        &env(iso, "bot", extra, &[("KEFU_KB__DEMO", demo_kb())]),
    )
    .await
}

/// Starts the session service, calling `bot`.
pub async fn start_session(iso: &Isolation, bot: &Service, extra: &[(&str, String)]) -> Service {
    let bot_url = format!("http://{}", bot.addr("grpc"));
    Service::start(
        "kefu-session",
        &[],
        &env(iso, "session", extra, &[("KEFU_BOT_URL", bot_url)]),
    )
    .await
}

/// Starts the ticketing service, taking conversations from `session`.
pub async fn start_ticketing(
    iso: &Isolation,
    session: &Service,
    extra: &[(&str, String)],
) -> Service {
    let session_url = format!("http://{}", session.addr("grpc"));
    Service::start(
        "kefu-ticketing",
        &[],
        &env(
            iso,
            "ticketing",
            extra,
            &[("KEFU_SESSION_URL", session_url)],
        ),
    )
    .await
}

/// Starts the analytics service (it needs no other service: it reads the bus).
pub async fn start_analytics(iso: &Isolation, extra: &[(&str, String)]) -> Service {
    Service::start("kefu-analytics", &[], &env(iso, "analytics", extra, &[])).await
}

/// Starts the QA service.
pub async fn start_qa(iso: &Isolation, extra: &[(&str, String)]) -> Service {
    Service::start("kefu-qa", &[], &env(iso, "qa", extra, &[])).await
}

/// Starts the gateway with an admin token.
pub async fn start_gateway(
    iso: &Isolation,
    admin_token: &str,
    extra: &[(&str, String)],
) -> Service {
    Service::start(
        "kefu-gateway",
        &[],
        &env(
            iso,
            "gateway",
            extra,
            &[
                ("KEFU_ADMIN_TOKEN", admin_token.into()),
                (
                    "KEFU_AGENT_TOKEN_SECRET",
                    "e2e-agent-token-secret-0123456789abcdef".into(),
                ),
            ],
        ),
    )
    .await
}

/// Starts bot, session, ticketing, analytics, QA and gateway (in that order: each needs the ones
/// before), all listening on free loopback ports. `extra` is added to every process's environment.
pub async fn start(iso: &Isolation, admin_token: &str, extra: &[(&str, String)]) -> Distributed {
    let bot = start_bot(iso, extra).await;
    let session = start_session(iso, &bot, extra).await;
    let ticketing = start_ticketing(iso, &session, extra).await;
    let analytics = start_analytics(iso, extra).await;
    let qa = start_qa(iso, extra).await;
    let mut with_services = extra.to_vec();
    with_services.push((
        "KEFU_SESSION_URL",
        format!("http://{}", session.addr("grpc")),
    ));
    with_services.push((
        "KEFU_TICKETING_URL",
        format!("http://{}", ticketing.addr("grpc")),
    ));
    with_services.push((
        "KEFU_ANALYTICS_URL",
        format!("http://{}", analytics.addr("grpc")),
    ));
    with_services.push(("KEFU_QA_URL", format!("http://{}", qa.addr("grpc"))));
    let gateway = start_gateway(iso, admin_token, &with_services).await;
    Distributed {
        bot,
        session,
        ticketing,
        qa,
        gateway,
        analytics,
    }
}
