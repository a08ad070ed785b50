//! Gateway, session and bot as three processes on the shared PostgreSQL and RabbitMQ, isolated
//! by the test's schemas and broker prefix.

use crate::env::{amqp_url, database_url};
use crate::{Isolation, Service};

/// The demo knowledge base shipped in the repository.
pub const DEMO_KB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../demo/faq-kb.jsonl");

pub struct Distributed {
    pub bot: Service,
    pub session: Service,
    pub gateway: Service,
}

/// Starts bot, session and gateway (in that order: each needs the one before), all listening
/// on free loopback ports. `extra` is added to every process's environment.
pub async fn start(iso: &Isolation, admin_token: &str, extra: &[(&str, String)]) -> Distributed {
    let env = |service: &str, own: &[(&'static str, String)]| {
        let mut env: Vec<(&str, String)> = vec![
            ("KEFU_HTTP_ADDR", "127.0.0.1:0".into()),
            ("KEFU_GRPC_ADDR", "127.0.0.1:0".into()),
            ("DATABASE_URL", database_url()),
            ("AMQP_URL", amqp_url()),
            ("KEFU_DATABASE_SCHEMA", iso.schema(service)),
            ("KEFU_BUS_PREFIX", iso.bus_prefix()),
        ];
        env.extend(extra.iter().map(|(k, v)| (*k, v.clone())));
        env.extend(own.iter().cloned());
        env
    };
    let bot = Service::start(
        "kefu-bot",
        &[],
        &env("bot", &[("KEFU_KB__DEMO", DEMO_KB.into())]),
    )
    .await;
    let bot_url = format!("http://{}", bot.addr("grpc"));
    let session = Service::start(
        "kefu-session",
        &[],
        &env("session", &[("KEFU_BOT_URL", bot_url)]),
    )
    .await;
    let gateway = Service::start(
        "kefu-gateway",
        &[],
        &env("gateway", &[("KEFU_ADMIN_TOKEN", admin_token.into())]),
    )
    .await;
    Distributed {
        bot,
        session,
        gateway,
    }
}
