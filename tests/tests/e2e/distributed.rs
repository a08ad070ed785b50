//! Distributed mode: gateway, session, bot and analytics as separate OS processes on real PostgreSQL and
//! RabbitMQ, each test isolated by its own schemas and broker prefix.

use crate::platform::{ADMIN_TOKEN, OrderSystem, Platform};
use crate::scenario;
use kefu_bus::{Bus, Envelope, RabbitBus, Topology};
use kefu_tests::distributed::Distributed;
use kefu_tests::env::amqp_url;
use kefu_tests::{GatewayClient, Isolation, OtlpReceiver, eventually};
use std::time::Duration;

/// The queue the event tap reads the domain events from.
const TAP_QUEUE: &str = "e2e.domain";

async fn start(iso: &Isolation) -> Platform {
    start_logging(iso, "info").await
}

/// The platform with the services logging at `log` (a `RUST_LOG` directive).
async fn start_logging(iso: &Isolation, log: &str) -> Platform {
    iso.require_servers().await;
    let otlp = OtlpReceiver::start().await;
    let orders = OrderSystem::start().await;
    let extra = [
        ("KEFU_ORDERS__URL", orders.url.clone()),
        ("KEFU_ORDERS__TOKEN", orders.token.clone()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.endpoint.clone()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100".into()),
        ("RUST_LOG", log.into()),
        ("KEFU_WEBHOOK__BACKOFF_INITIAL_MS", "200".into()),
    ];
    // Bound before the services start, so it sees everything they publish.
    let tap_bus: std::sync::Arc<dyn Bus> = std::sync::Arc::new(
        RabbitBus::connect(&amqp_url(), Topology::new(iso.bus_prefix()))
            .await
            .expect("broker"),
    );
    let events = kefu_tests::events::EventTap::bus(tap_bus, TAP_QUEUE).await;
    let Distributed {
        bot,
        session,
        ticketing,
        qa,
        gateway,
        analytics,
    } = kefu_tests::distributed::start(iso, ADMIN_TOKEN, &extra).await;
    Platform {
        events,
        gateway: GatewayClient::new(format!("http://{}", gateway.addr("http")), ADMIN_TOKEN),
        session_grpc: format!("http://{}", session.addr("grpc")),
        analytics_grpc: format!("http://{}", analytics.addr("grpc")),
        otlp,
        expected_spans: vec![
            ("kefu-gateway", "POST /v1/channels"),
            ("kefu-session", "session.inbound process"),
            ("kefu-bot", "Bot/Answer"),
            ("kefu-gateway", "gateway.outbound process"),
        ],
        services: vec![bot, session, ticketing, analytics, qa, gateway],
        _orders: Some(orders),
    }
}

async fn with_platform<F, Fut>(f: F)
where
    F: FnOnce(Platform, Isolation) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let iso = Isolation::new();
    let id = iso.id.clone();
    let platform = start(&iso).await;
    f(platform, iso).await;
    let iso = Isolation { id };
    iso.cleanup_platform().await;
    iso.cleanup(&[], &[TAP_QUEUE]).await;
}

/// Every service logging at debug level through scenarios that handle secrets — channel
/// secrets and identity tokens, visitor credentials, agent passwords and tokens, the admin
/// token, customers' phone numbers — writes none of them to its log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_logs_hold_no_secrets_at_debug_level() {
    let iso = Isolation::new();
    let id = iso.id.clone();
    let p = start_logging(&iso, "debug").await;
    crate::customer::one_customer_across_channels(&p).await;
    crate::customer::web_chat_socket(&p).await;
    crate::desk::handoff_to_the_skilled_agent_and_through_to_csat(&p).await;
    crate::desk::repeated_wrong_passwords_lock_the_login_out(&p).await;
    let fixed = [
        ("the admin token", crate::platform::ADMIN_TOKEN.to_owned()),
        (
            "the agent token secret",
            "e2e-agent-token-secret-0123456789abcdef".to_owned(),
        ),
        ("an agent's password", crate::desk::PASSWORD.to_owned()),
        ("a wrong password", "wrong-password-123".to_owned()),
        ("a phone number", crate::customer::LILEI_PHONE.to_owned()),
        (
            "a phone number",
            crate::customer::HANMEIMEI_PHONE.to_owned(),
        ),
        // Issued tokens and signed credentials start with a base64 JSON header.
        ("a token or credential", "eyJ".to_owned()),
    ];
    let mut debug_lines = 0;
    for service in &p.services {
        let log = service.log();
        debug_lines += log.lines().filter(|l| l.contains("DEBUG")).count();
        for (what, needle) in &fixed {
            assert!(
                !log.contains(needle.as_str()),
                "{} logged {what}: {}",
                service.name,
                log.lines()
                    .find(|l| l.contains(needle.as_str()))
                    .unwrap_or_default()
            );
        }
        // Channel secrets are `secret-<32 hex>` (and `web-`, `desk-` ones) in these tests.
        for (at, _) in log.match_indices("secret-") {
            let tail = &log[at + "secret-".len()..];
            let hex = tail.chars().take_while(char::is_ascii_hexdigit).count();
            assert!(
                hex < 32,
                "{} logged a channel secret: {}",
                service.name,
                &log[at..(at + 60).min(log.len())]
            );
        }
    }
    assert!(debug_lines > 100, "the services logged at debug level");
    drop(p);
    let iso = Isolation { id };
    iso.cleanup_platform().await;
    iso.cleanup(&[], &[TAP_QUEUE]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_first_message_crosses_every_hop() {
    with_platform(|p, _| async move { scenario::first_message(&p).await }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_bad_input_is_refused_and_nothing_is_stored() {
    with_platform(|p, _| async move { scenario::bad_input(&p).await }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_webhook_failures_are_retried() {
    with_platform(|p, _| async move { scenario::webhook_retry(&p).await }).await;
}

/// A poison event (one no consumer can decode) is dead-lettered, visible in the queue's DLQ,
/// and does not stop the messages behind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_poison_event_is_dead_lettered() {
    with_platform(|p, iso| async move {
        let bus = RabbitBus::connect(&amqp_url(), Topology::new(iso.bus_prefix()))
            .await
            .expect("broker");
        let poison = Envelope::new(
            "demo",
            "message.received",
            b"\xff\xfe not protobuf".to_vec(),
        );
        bus.publish(&poison).await.expect("publish");
        let dead = eventually(
            "the poison event in session.inbound's DLQ",
            Duration::from_secs(20),
            || async {
                let got = bus.take_dead_letters("session.inbound", 10).await.ok()?;
                got.into_iter().find(|e| e.event_id == poison.event_id)
            },
        )
        .await;
        assert_eq!(dead.payload, poison.payload);
        // The queue still flows.
        scenario::first_message(&p).await;
        bus.close().await;
    })
    .await;
}

/// SIGTERM stops a service gracefully (exit code 0) after it drained its work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_services_stop_gracefully_on_sigterm() {
    with_platform(|mut p, _| async move {
        scenario::first_message(&p).await;
        for s in p.services.iter_mut().rev() {
            let code = s.stop(Duration::from_secs(15)).await;
            assert_eq!(code, Some(0), "{} exit code; log:\n{}", s.name, s.log());
        }
    })
    .await;
}

/// On a fresh broker the gateway may accept messages before the session service has ever
/// run: the messages wait in the session's queue (declared by the gateway at start) and are
/// answered once the session comes up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_messages_accepted_before_the_session_ever_ran_are_answered() {
    let iso = Isolation::new();
    iso.require_servers().await;
    let extra = [("RUST_LOG", "info".to_string())];
    let bot = kefu_tests::distributed::start_bot(&iso, &extra).await;
    let gateway = kefu_tests::distributed::start_gateway(&iso, ADMIN_TOKEN, &extra).await;
    let client = GatewayClient::new(format!("http://{}", gateway.addr("http")), ADMIN_TOKEN);
    let secret = "early-secret-0123456789";
    let hook = kefu_tests::WebhookReceiver::start(secret).await;
    assert_eq!(client.upsert_tenant("demo", "Early").await.status, 200);
    assert_eq!(
        client
            .upsert_channel("early-api", "demo", secret, &hook.url)
            .await
            .status,
        200
    );
    let body = serde_json::json!({"external_message_id": "early-1", "external_user_id": "u1", "text": "怎么开发票"});
    let accepted = client.send("early-api", secret, &body, &[]).await;
    assert_eq!(accepted.status, 202, "{:?}", accepted.body);
    let session = kefu_tests::distributed::start_session(&iso, &bot, &extra).await;
    let reply = eventually(
        "the reply once the session is up",
        Duration::from_secs(20),
        || async {
            hook.received()
                .into_iter()
                .find(|r| r.body["reply_to"] == "early-1")
        },
    )
    .await;
    assert_eq!(reply.body["bot"]["faq_id"], "invoice.issue");
    drop((bot, gateway, session));
    iso.cleanup_platform().await;
}

/// Each scenario of `crate::$module` as a test of its own, on a fresh distributed platform.
macro_rules! distributed_scenarios {
    ($module:ident: $($name:ident),* $(,)?) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::with_platform(|p, _| async move { crate::$module::$name(&p).await }).await;
                }
            )*
        }
    };
}

distributed_scenarios!(
    channels:
    wechat_official_account,
    wechat_window_and_quota,
    wechat_mini_program,
    wechat_customer_service,
);

distributed_scenarios!(
    customer:
    faq_in_each_script,
    order_card_buttons,
    handoffs,
    one_customer_across_channels,
    merge_then_unmerge,
    web_chat_socket,
    tenant_rules_from_config,
);

distributed_scenarios!(
    analytics:
    a_live_conversation_in_the_numbers,
);

/// A scripted day with known answers across midnight in the tenant's time zone, published on
/// the broker to the analytics process, then replayed: the figures do not move.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_analytics_scripted_day_and_its_replay() {
    let iso = Isolation::new();
    crate::analytics::scripted_day_replayed(&iso).await;
    iso.cleanup(
        &["analytics"],
        &kefu_proto::queues::ALL
            .iter()
            .map(|q| q.name)
            .collect::<Vec<_>>(),
    )
    .await;
}

distributed_scenarios!(
    monitoring:
    dashboards_and_alerts_use_exported_metrics,
);

distributed_scenarios!(
    desk:
    handoff_to_the_skilled_agent_and_through_to_csat,
    domain_events_once_per_change,
    a_merge_publishes_each_closure_once,
    desk_limits_agree_at_the_edge_and_behind_it,
    gold_on_checkout_is_served_first,
    merchant_queue_overflows_to_the_platform,
    an_unaccepted_offer_is_reoffered,
    merchant_staff_see_only_their_merchant,
    another_tenants_ids_answer_404,
    repeated_wrong_passwords_lock_the_login_out,
);

/// A handoff is an event on the bus for the routing side, carrying the transcript, intents,
/// reason and profile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_handoff_is_published_with_its_context() {
    with_platform(|p, iso| async move {
        use prost::Message as _;
        let bus = RabbitBus::connect(&amqp_url(), Topology::new(iso.bus_prefix()))
            .await
            .expect("broker");
        let spec =
            kefu_bus::QueueSpec::new("e2e.handoffs", [kefu_proto::event_types::HANDOFF_REQUESTED]);
        let mut sub = bus.subscribe(spec).await.expect("subscribe");
        let ch = p.channel("event-api").await;
        let body = serde_json::json!({
            "external_message_id": "ev-1", "external_user_id": "u-ev",
            "text": "我要投诉你们",
            "identities": [{"kind": "phone", "value": "13800000001"}],
        });
        assert_eq!(
            p.gateway.send(&ch.id, &ch.secret, &body, &[]).await.status,
            202
        );
        let delivery = tokio::time::timeout(Duration::from_secs(20), sub.next())
            .await
            .expect("a handoff event within 20 s")
            .expect("subscription open");
        let h = kefu_proto::events::HandoffRequested::decode(delivery.envelope.payload.clone())
            .expect("a HandoffRequested payload");
        assert_eq!(delivery.envelope.tenant_id, "demo");
        assert_eq!(h.channel_id, "event-api");
        assert!(
            h.transcript.iter().any(|l| l.text == "我要投诉你们"),
            "{h:?}"
        );
        assert!(!h.intents.is_empty(), "{h:?}");
        assert!(!h.reason.is_empty(), "{h:?}");
        let profile = h.profile.expect("profile");
        assert!(profile.identities.iter().any(|i| i.kind == "phone"));
        assert_eq!(profile.recent_orders.len(), 3, "李雷's orders: {profile:?}");
        delivery.ack().await.expect("ack");
        drop(sub);
        bus.close().await;
    })
    .await;
}

distributed_scenarios!(
    tickets:
    a_chat_becomes_a_ticket_and_the_customer_reopens_it,
);

distributed_scenarios!(
    qa:
    qa_alerts_scores_rescores_and_scopes,
);

/// SLA timers across replicas and a kill: two ticketing replicas share the timers; the one
/// that may hold the warning is killed (SIGKILL) at the warning's instant and restarted. The
/// warning and the breach each fire once, at or after their instants, and the ticket records
/// both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_sla_timers_fire_once_across_a_kill() {
    use kefu_proto::ticketing as pb;
    use kefu_proto::ticketing::ticketing_client::TicketingClient;
    let iso = Isolation::new();
    iso.require_servers().await;
    let tap_bus: std::sync::Arc<dyn Bus> = std::sync::Arc::new(
        RabbitBus::connect(&amqp_url(), Topology::new(iso.bus_prefix()))
            .await
            .expect("broker"),
    );
    let events = kefu_tests::events::EventTap::bus(tap_bus, TAP_QUEUE).await;
    let extra = [("RUST_LOG", "info".to_owned())];
    let d = kefu_tests::distributed::start(&iso, ADMIN_TOKEN, &extra).await;
    let mut first = d.ticketing;
    let second = kefu_tests::distributed::start_ticketing(&iso, &d.session, &extra).await;
    let mut client = TicketingClient::connect(format!("http://{}", second.addr("grpc")))
        .await
        .expect("ticketing");
    let tenant = format!("sla-{}", iso.id);
    // Urgent: first reply in 2 minutes of every hour, warned 1 minute before.
    client
        .put_settings(pb::Settings {
            tenant_id: tenant.clone(),
            json: r#"{"slaPolicies":[{"priority":"urgent","firstReplyMinutes":2,"businessHours":false,"warnBeforeMinutes":1}]}"#.into(),
        })
        .await
        .expect("settings");
    let created = client
        .create_ticket(pb::CreateTicketRequest {
            scope: Some(pb::Scope {
                tenant_id: tenant.clone(),
                merchant_id: String::new(),
            }),
            subject: "SLA across a kill".into(),
            priority: "urgent".into(),
            requester_id: "c1".into(),
            ..pb::CreateTicketRequest::default()
        })
        .await
        .expect("create")
        .into_inner();
    let ticket = created.ticket.unwrap();
    let clock = ticket
        .sla
        .iter()
        .find(|c| c.metric == "first_reply")
        .unwrap();
    let due = kefu_proto::time::from_timestamp(clock.due_at.as_ref().unwrap()).unwrap();
    let warn = due - chrono::Duration::minutes(1);
    let until =
        |t: chrono::DateTime<chrono::Utc>| (t - chrono::Utc::now()).to_std().unwrap_or_default();
    // Killed at the warning's instant, restarted at once.
    tokio::time::sleep(until(warn)).await;
    first.kill().await;
    let restarted = kefu_tests::distributed::start_ticketing(&iso, &d.session, &extra).await;
    let of = |all: &[serde_json::Value], t: &str| {
        all.iter()
            .filter(|e| e["event_type"] == t && e["ticket_id"] == ticket.ticket_id.as_str())
            .cloned()
            .collect::<Vec<_>>()
    };
    let warned = eventually("the warning", Duration::from_secs(30), || async {
        let all = events.events(&tenant).await;
        let w = of(&all, "ticket.sla_warning");
        (!w.is_empty()).then_some(w)
    })
    .await;
    assert_eq!(warned[0]["metric"], "first_reply");
    tokio::time::sleep(until(due)).await;
    let breached = eventually("the breach", Duration::from_secs(30), || async {
        let all = events.events(&tenant).await;
        let b = of(&all, "ticket.sla_breached");
        (!b.is_empty()).then_some(b)
    })
    .await;
    let fired_at =
        chrono::DateTime::parse_from_rfc3339(breached[0]["occurred_at"].as_str().unwrap())
            .unwrap()
            .with_timezone(&chrono::Utc);
    assert!(
        fired_at >= due,
        "the breach fired before its instant: {fired_at} < {due}"
    );
    // Both replicas kept polling a while longer: still once each.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let all = events.events(&tenant).await;
    assert_eq!(of(&all, "ticket.sla_warning").len(), 1);
    assert_eq!(of(&all, "ticket.sla_breached").len(), 1);
    let detail = client
        .get_ticket(pb::GetTicketRequest {
            scope: Some(pb::Scope {
                tenant_id: tenant.clone(),
                merchant_id: String::new(),
            }),
            ticket: ticket.number.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    let c = detail
        .ticket
        .unwrap()
        .sla
        .into_iter()
        .find(|c| c.metric == "first_reply")
        .unwrap();
    assert!(c.warned && c.breached, "{c:?}");
    let audited = detail
        .audit
        .iter()
        .filter(|a| a.field.starts_with("sla_"))
        .count();
    assert_eq!(audited, 2);
    drop((d.bot, d.session, d.gateway, second, restarted));
    iso.cleanup_platform().await;
    iso.cleanup(&[], &[TAP_QUEUE]).await;
}
