//! `kefu dev`: the same scenarios against the single embedded process (SQLite, in-process bus).

use crate::platform::{ADMIN_TOKEN, Platform};
use crate::scenario;
use kefu_tests::{GatewayClient, OtlpReceiver, Service};
use std::time::Duration;

async fn start(data: &std::path::Path) -> Platform {
    let otlp = OtlpReceiver::start().await;
    let dev = Service::start(
        "kefu",
        &[
            "dev",
            "--data-dir",
            data.to_str().unwrap(),
            "--http",
            "127.0.0.1:0",
        ],
        &[
            ("KEFU_ADMIN_TOKEN", ADMIN_TOKEN.into()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.endpoint.clone()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100".into()),
            ("RUST_LOG", "info".into()),
        ],
    )
    .await;
    Platform {
        gateway: GatewayClient::new(format!("http://{}", dev.addr("http")), ADMIN_TOKEN),
        events: kefu_tests::events::EventTap::dev(format!("http://{}", dev.addr("http"))),
        session_grpc: format!("http://{}", dev.addr("grpc_session")),
        otlp,
        expected_spans: vec![
            ("kefu-dev", "POST /v1/channels"),
            ("kefu-dev", "session.inbound process"),
            ("kefu-dev", "Bot/Answer"),
            ("kefu-dev", "gateway.outbound process"),
        ],
        services: vec![dev],
        _orders: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_first_message_crosses_every_hop() {
    let data = tempfile::tempdir().unwrap();
    let p = start(data.path()).await;
    scenario::first_message(&p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_bad_input_is_refused_and_nothing_is_stored() {
    let data = tempfile::tempdir().unwrap();
    let p = start(data.path()).await;
    scenario::bad_input(&p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_webhook_failures_are_retried() {
    let data = tempfile::tempdir().unwrap();
    let p = start(data.path()).await;
    scenario::webhook_retry(&p).await;
}

/// The demo channel works out of the box, and its history survives a restart of `kefu dev`
/// (a re-send after the restart is still recognised as a duplicate).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_demo_channel_answers_and_survives_restart() {
    let data = tempfile::tempdir().unwrap();
    let mut p = start(data.path()).await;
    let body = serde_json::json!({"external_message_id": "demo-1", "external_user_id": "u1", "text": "您好"});
    let first = p
        .gateway
        .send("demo-api", "demo-secret-change-me", &body, &[])
        .await;
    assert_eq!(first.status, 202, "{:?}", first.body);
    let inbox = kefu_tests::eventually("the demo inbox reply", Duration::from_secs(20), || async {
        let r = p.gateway.get("/dev/inbox/demo-api").await;
        r.body.as_array().filter(|a| !a.is_empty()).cloned()
    })
    .await;
    assert_eq!(inbox[0]["bot"]["intent"], "greeting", "{inbox:?}");
    assert_eq!(
        p.services[0].stop(Duration::from_secs(15)).await,
        Some(0),
        "graceful exit"
    );
    let p2 = start(data.path()).await;
    let again = p2
        .gateway
        .send("demo-api", "demo-secret-change-me", &body, &[])
        .await;
    assert_eq!(again.status, 202);
    assert_eq!(again.body, first.body, "dedupe survives a restart");
}

/// Each scenario of `crate::$module` as a test of its own, on a fresh `kefu dev`.
macro_rules! dev_scenarios {
    ($module:ident: $($name:ident),* $(,)?) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let data = tempfile::tempdir().unwrap();
                    let p = super::start(data.path()).await;
                    crate::$module::$name(&p).await;
                }
            )*
        }
    };
}

dev_scenarios!(
    channels:
    wechat_official_account,
    wechat_window_and_quota,
    wechat_mini_program,
    wechat_customer_service,
);

dev_scenarios!(
    customer:
    faq_in_each_script,
    order_card_buttons,
    handoffs,
    one_customer_across_channels,
    merge_then_unmerge,
    web_chat_socket,
    tenant_rules_from_config,
);

dev_scenarios!(
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
