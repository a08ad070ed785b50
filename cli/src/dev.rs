//! `kefu dev`: the embedded platform. The same service libraries as distributed mode, over
//! SQLite files (one per service, in `--data-dir`) and the in-process bus (its messages kept in
//! `bus.db` until settled, so a crash loses nothing), seeded with the demo tenant so a fresh
//! checkout answers its first message with `make run` alone.

use crate::inbox::Inbox;
use anyhow::Context;
use kefu_bot::{BotApp, Knowledge};
use kefu_bus::{Bus, InProcessBus, Topology};
use kefu_gateway::store::ChannelSpec;
use kefu_gateway::{GatewayApp, GatewayConfig};
use kefu_lifecycle::Readiness;
use kefu_proto::desk::Role;
use kefu_session::{SessionApp, SessionConfig};
use kefu_store::DbConfig;
use std::path::PathBuf;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub const DEMO_TENANT: &str = "demo";
pub const DEMO_CHANNEL: &str = "demo-api";
pub const DEMO_SECRET: &str = "demo-secret-change-me";
pub const DEMO_ADMIN_TOKEN: &str = "dev-admin-token";
/// Signs the desk's agent tokens in dev (32 bytes, the least the gateway accepts).
pub const DEMO_AGENT_TOKEN_SECRET: &str = "dev-agent-token-secret-change-me";
/// The demo tenant's web chat channel (the widget's socket) and its secret, which also signs
/// identity tokens.
pub const DEMO_WEB_CHANNEL: &str = "demo-web";
pub const DEMO_WEB_SECRET: &str = "demo-web-secret-change-me";
/// Where `kefu dev` serves the demo order system, and its token.
pub const DEMO_ORDERS_PATH: &str = "/demo/order-system";
pub const DEMO_ORDERS_TOKEN: &str = "demo-orders-token";
const DEMO_KB: &str = include_str!("../../demo/faq-kb.jsonl");
/// The demo tenant's Tenant, Queue and RoutingPolicy documents (its channels are seeded with
/// their dev secrets below).
const DEMO_TENANT_YAML: &str = include_str!("../../demo/demo-tenant.yaml");
/// The demo agents' password (printed at start; change it with the agents API).
pub const DEMO_AGENT_PASSWORD: &str = "kefu-demo-2026";
/// A demo staff member: (id, name, role, merchant, skills, languages).
type DemoAgent = (
    &'static str,
    &'static str,
    Role,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);
const DEMO_AGENTS: &[DemoAgent] = &[
    (
        "lin",
        "林晓 Lin Xiao",
        Role::Agent,
        "",
        &["general"],
        &["zh-Hans", "zh-Hant", "en"],
    ),
    (
        "chen",
        "陈立 Chen Li",
        Role::Agent,
        "",
        &["general"],
        &["zh-Hans"],
    ),
    (
        "wang",
        "王芳 Wang Fang",
        Role::Agent,
        "jinyuan",
        &["jewellery", "after-sales"],
        &["zh-Hans", "zh-Hant"],
    ),
    (
        "zhao",
        "赵敏 Zhao Min",
        Role::Supervisor,
        "",
        &["general"],
        &["zh-Hans", "en"],
    ),
    (
        "jinyuan-admin",
        "金缘管理员 Jinyuan Admin",
        Role::Admin,
        "jinyuan",
        &[],
        &["zh-Hans"],
    ),
];
/// Demo canned responses: (shortcut, title, text).
const DEMO_CANNED: &[(&str, &str, &str)] = &[
    (
        "/hello",
        "问候 Greeting",
        "您好，我是人工客服，很高兴为您服务。请问有什么可以帮您？",
    ),
    ("/wait", "稍等 One moment", "请稍等，我马上为您查询。"),
    (
        "/shipped",
        "已发货 Shipped",
        "您的订单已发货，物流信息可在订单卡片中查看。",
    ),
    (
        "/thanks",
        "结束语 Closing",
        "感谢您的耐心等待，祝您购物愉快！如还有问题，随时联系我们。",
    ),
];

#[derive(clap::Args)]
pub struct DevArgs {
    /// Where the SQLite files live.
    #[arg(long, default_value_os_t = crate::default_data_dir())]
    data_dir: PathBuf,
    /// Address of the HTTP API (channels, admin, /metrics, the dev inbox); port 0 picks one.
    #[arg(long, default_value = "127.0.0.1:8080", env = "KEFU_HTTP_ADDR")]
    http: String,
    /// Admin API bearer token.
    #[arg(long, default_value = DEMO_ADMIN_TOKEN, env = "KEFU_ADMIN_TOKEN")]
    admin_token: String,
    /// Key of the desk's agent tokens (at least 32 bytes).
    #[arg(long, default_value = DEMO_AGENT_TOKEN_SECRET, env = "KEFU_AGENT_TOKEN_SECRET")]
    agent_token_secret: String,
}

pub fn main(args: DevArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let telemetry =
            kefu_telemetry::init(&kefu_telemetry::TelemetryConfig::from_env("kefu-dev"))?;
        let result = run(args, kefu_lifecycle::shutdown_on_signals()).await;
        tokio::task::spawn_blocking(move || telemetry.shutdown()).await?;
        result
    })
}

async fn sqlite(
    dir: &std::path::Path,
    name: &str,
) -> anyhow::Result<kefu_store::sea_orm::DatabaseConnection> {
    let path = dir.join(format!("{name}.db"));
    let url = format!("sqlite://{}?mode=rwc", path.display());
    Ok(kefu_store::connect(&DbConfig::new(url, None)).await?)
}

pub async fn run(args: DevArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating --data-dir {}", args.data_dir.display()))?;
    let readiness = Readiness::new();
    let workers_ready = readiness.component("gateway.consumers");
    let session_ready = readiness.component("session.consumers");
    let qa_ready = readiness.component("qa.consumers");
    // The in-process bus keeps its messages in bus.db until they are settled, so a kill of
    // this process loses no accepted event: the restart delivers them again.
    let journal = kefu_worker::journal::SqliteJournal::open(sqlite(&args.data_dir, "bus").await?)
        .await
        .context("opening the bus journal")?;
    let bus: Arc<dyn Bus> = Arc::new(InProcessBus::durable(Topology::new("kefu"), journal).await?);

    let (http_listener, http_addr) = kefu_lifecycle::bind(&args.http)
        .await
        .with_context(|| format!("binding --http {}", args.http))?;
    // The demo order system, served on the same port: the connector calls it over HTTP exactly
    // like a tenant's real one.
    let orders = kefu_orders::OrderSystemConfig {
        url: format!("http://{http_addr}{DEMO_ORDERS_PATH}"),
        token: DEMO_ORDERS_TOKEN.into(),
        timeout_ms: 2_000,
    };
    let order_system = kefu_orders::demo::DemoOrderSystem::demo(DEMO_ORDERS_TOKEN);

    // Bot: the demo tenant's knowledge base, gRPC on a loopback port of its own.
    let knowledge = Knowledge::default();
    knowledge.set(DEMO_TENANT, kefu_bot::kb::parse_jsonl(DEMO_KB)?);
    let bot = BotApp::with_orders(knowledge, kefu_orders::OrderClient::new(&orders));
    let (bot_listener, bot_addr) = kefu_lifecycle::bind("127.0.0.1:0").await?;

    // Session, calling the bot over gRPC exactly as in distributed mode.
    let (session_listener, session_addr) = kefu_lifecycle::bind("127.0.0.1:0").await?;
    let session_cfg = SessionConfig {
        bot_url: format!("http://{bot_addr}"),
        orders: orders.clone(),
        ..SessionConfig::default()
    };
    let session = SessionApp::build(
        session_cfg,
        sqlite(&args.data_dir, "session").await?,
        bus.clone(),
    )
    .await?;

    // QA, inspecting what the session publishes; the gateway's desk API calls it over gRPC.
    let (qa_listener, qa_addr) = kefu_lifecycle::bind("127.0.0.1:0").await?;
    let qa = kefu_qa::QaApp::build(
        kefu_qa::QaConfig::default(),
        sqlite(&args.data_dir, "qa").await?,
        bus.clone(),
    )
    .await?;

    // Gateway.
    let (gateway_grpc_listener, gateway_grpc_addr) = kefu_lifecycle::bind("127.0.0.1:0").await?;
    let gateway_cfg = GatewayConfig {
        admin_token: kefu_config::Secret::new(args.admin_token.clone()),
        agent_token_secret: kefu_config::Secret::new(args.agent_token_secret.clone()),
        session_url: format!("http://{session_addr}"),
        qa_url: format!("http://{qa_addr}"),
        ..GatewayConfig::default()
    };
    let gateway = GatewayApp::build(
        gateway_cfg,
        sqlite(&args.data_dir, "gateway").await?,
        bus.clone(),
    )
    .await?;
    seed(&gateway, http_addr).await?;
    seed_desk(&gateway, &session).await?;

    let inbox = Inbox::new(gateway.state.channels.clone());
    let event_log = crate::events::EventLog::start(bus.clone(), shutdown.clone()).await?;
    let router = gateway
        .router()
        .merge(inbox.router())
        .merge(event_log.router())
        .merge(crate::shop::router())
        .nest(DEMO_ORDERS_PATH, order_system.router())
        .merge(kefu_lifecycle::admin_router(readiness.clone()));

    let mut tasks = tokio::task::JoinSet::new();
    // The bot stops after the session's consumers, which call it while they drain.
    let bot_stop = CancellationToken::new();
    let serve = |listener, routes, stop: CancellationToken| async move {
        anyhow::Ok(kefu_lifecycle::serve_grpc(listener, routes, stop).await?)
    };
    tasks.spawn(serve(
        bot_listener,
        tonic::service::Routes::new(bot.grpc()),
        bot_stop.clone(),
    ));
    tasks.spawn(serve(
        session_listener,
        tonic::service::Routes::new(session.grpc()).add_service(session.desk_grpc()),
        shutdown.clone(),
    ));
    tasks.spawn(serve(
        qa_listener,
        tonic::service::Routes::new(qa.grpc()),
        shutdown.clone(),
    ));
    tasks.spawn(serve(
        gateway_grpc_listener,
        tonic::service::Routes::new(gateway.grpc()),
        shutdown.clone(),
    ));
    {
        let stop = shutdown.clone();
        tasks.spawn(async move {
            anyhow::Ok(kefu_lifecycle::serve_http(http_listener, router, stop).await?)
        });
    }
    let session = Arc::new(session);
    {
        let (stop, session) = (shutdown.clone(), session.clone());
        let bot_stop = bot_stop.clone();
        tasks.spawn(async move {
            let result = session.run_workers(stop, session_ready).await;
            bot_stop.cancel();
            anyhow::Ok(result?)
        });
    }
    {
        let (stop, ready) = (shutdown.clone(), qa_ready);
        tasks.spawn(async move { anyhow::Ok(qa.run_workers(stop, ready).await?) });
    }
    let gateway = Arc::new(gateway);
    {
        let (stop, gateway) = (shutdown.clone(), gateway.clone());
        tasks.spawn(async move { anyhow::Ok(gateway.run_workers(stop, workers_ready).await?) });
    }
    kefu_lifecycle::announce(
        "dev",
        &[
            ("http", http_addr),
            ("grpc_gateway", gateway_grpc_addr),
            ("grpc_session", session_addr),
            ("grpc_bot", bot_addr),
            ("grpc_qa", qa_addr),
        ],
    );
    eprintln!(
        "\nKefu dev is up on http://{http_addr}\n  demo tenant: {DEMO_TENANT}\n  API channel: {DEMO_CHANNEL} (secret {DEMO_SECRET})\n  web chat:    ws://{http_addr}/v1/channels/{DEMO_WEB_CHANNEL}/ws\n  shop page:   http://{http_addr}{SHOP}/product/ring-7 (the chat widget, signed in as 李雷)\n  chat (H5):   http://{http_addr}/chat?channel={DEMO_WEB_CHANNEL}\n  workbench:   http://{http_addr}/desk (agents lin, chen, wang)\n  board:       http://{http_addr}/board (supervisor zhao)\n  orders:      http://{http_addr}{DEMO_ORDERS_PATH} (demo order system)\n  replies:     GET http://{http_addr}/dev/inbox/{DEMO_CHANNEL}\n  events:      GET http://{http_addr}/dev/events (what each change published)\n  admin token: {}\n  agents:      lin, chen (platform), wang (merchant jinyuan), zhao (supervisor), jinyuan-admin — password {DEMO_AGENT_PASSWORD}\n",
        // The demo's own token is shown; one the operator chose is never printed.
        if args.admin_token == DEMO_ADMIN_TOKEN {
            DEMO_ADMIN_TOKEN
        } else {
            "(the one you set in KEFU_ADMIN_TOKEN / --admin-token)"
        },
        SHOP = crate::shop::SHOP_PATH,
    );
    let mut first_error = None;
    while let Some(done) = tasks.join_next().await {
        let outcome = done.map_err(anyhow::Error::from).and_then(|r| r);
        if let Err(e) = outcome {
            tracing::error!(
                error = format!("{e:#}"),
                "a component of kefu dev failed; stopping"
            );
            shutdown.cancel();
            bot_stop.cancel();
            first_error.get_or_insert(e);
        }
    }
    bus.close().await;
    first_error.map_or(Ok(()), Err)
}

/// The demo tenant and its API channel, whose replies land in the dev inbox.
/// The demo tenant's routing documents (first start only) and its staff and canned responses.
async fn seed_desk(gateway: &GatewayApp, session: &SessionApp) -> anyhow::Result<()> {
    let db = &gateway.state.db;
    for doc in kefu_crd::document::parse(DEMO_TENANT_YAML)
        .map_err(|e| anyhow::anyhow!("demo tenant document: {e:?}"))?
    {
        let Some((kind, spec)) = doc.config_document() else {
            continue;
        };
        let spec = serde_json::to_vec(&spec)?;
        if kefu_gateway::store::tenant_config::get(db, DEMO_TENANT, kind, doc.name())
            .await?
            .is_none()
        {
            kefu_gateway::tenant_config::apply_document(
                &gateway.state,
                DEMO_TENANT,
                kind,
                doc.name(),
                &spec,
            )
            .await
            .map_err(|e| anyhow::anyhow!("applying the demo {kind} {}: {e}", doc.name()))?;
        }
    }
    let sdb = &session.state.db;
    let now = chrono::Utc::now();
    for (id, name, role, merchant, skills, languages) in DEMO_AGENTS {
        if kefu_session::store::desk::get_agent(sdb, DEMO_TENANT, id)
            .await?
            .is_some()
        {
            continue;
        }
        use kefu_session::store::desk::{AgentRole, Capacity, Presence, Strings};
        let list = |l: &[&str]| Strings(l.iter().map(|s| (*s).to_owned()).collect());
        kefu_session::store::desk::put_agent(
            sdb,
            kefu_session::store::entities::agent::Model {
                tenant_id: DEMO_TENANT.into(),
                id: (*id).into(),
                login: (*id).into(),
                display_name: (*name).into(),
                role: AgentRole(*role),
                merchant_id: (*merchant).into(),
                skills: list(skills),
                languages: list(languages),
                capacity: Capacity([("*".to_owned(), 3), ("web".to_owned(), 5)].into()),
                status: Presence::Offline,
                status_since: now,
                password_hash: kefu_session::desk::grpc::hash_password(DEMO_AGENT_PASSWORD)
                    .map_err(|e| anyhow::anyhow!("hashing: {e}"))?,
                assign_seq: 0,
                last_assigned_at: None,
                idle_since: now,
            },
        )
        .await?;
    }
    if kefu_session::store::desk::list_canned(sdb, DEMO_TENANT, None)
        .await?
        .is_empty()
    {
        for (shortcut, title, text) in DEMO_CANNED {
            kefu_session::store::desk::put_canned(
                sdb,
                kefu_session::store::entities::canned_response::Model {
                    id: uuid::Uuid::now_v7(),
                    tenant_id: DEMO_TENANT.into(),
                    merchant_id: String::new(),
                    shortcut: (*shortcut).into(),
                    title: (*title).into(),
                    text: (*text).into(),
                    updated_at: now,
                },
            )
            .await?;
        }
    }
    Ok(())
}

async fn seed(gateway: &GatewayApp, http_addr: std::net::SocketAddr) -> anyhow::Result<()> {
    let db = &gateway.state.db;
    if kefu_gateway::store::get_tenant(db, DEMO_TENANT)
        .await?
        .is_none()
    {
        kefu_gateway::store::upsert_tenant(db, DEMO_TENANT, "Kefu 演示商城 Demo Mall").await?;
    }
    let spec = ChannelSpec {
        id: DEMO_CHANNEL.into(),
        tenant_id: DEMO_TENANT.into(),
        channel_type: "api".into(),
        secret: Some(DEMO_SECRET.into()),
        webhook_url: format!("http://{http_addr}/dev/inbox/{DEMO_CHANNEL}"),
        enabled: true,
        settings: Default::default(),
        credentials: Default::default(),
    };
    kefu_gateway::admin::upsert_channel(&gateway.state, &spec)
        .await
        .map_err(|e| anyhow::anyhow!("seeding the demo channel: {e}"))?;
    let web = ChannelSpec {
        id: DEMO_WEB_CHANNEL.into(),
        tenant_id: DEMO_TENANT.into(),
        channel_type: "web".into(),
        secret: Some(DEMO_WEB_SECRET.into()),
        webhook_url: String::new(),
        enabled: true,
        settings: Default::default(),
        credentials: Default::default(),
    };
    kefu_gateway::admin::upsert_channel(&gateway.state, &web)
        .await
        .map_err(|e| anyhow::anyhow!("seeding the demo web channel: {e}"))?;
    Ok(())
}
