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
        analytics_grpc: format!("http://{}", dev.addr("grpc_analytics")),
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

/// The analytics service inside `kefu dev` counts what the desk and the bot did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_analytics_counts_a_live_conversation() {
    let data = tempfile::tempdir().unwrap();
    let p = start(data.path()).await;
    crate::analytics::a_live_conversation_in_the_numbers(&p).await;
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

/// A SIGKILL of `kefu dev` mid-stream loses nothing: every message the gateway accepted (202) is
/// answered after the restart on the same data directory — the in-process bus kept its
/// unsettled events in its journal — and none is answered twice (a re-POST of one delivery
/// carries the same `X-Kefu-Delivery-Id`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_killed_mid_stream_answers_everything_after_restart() {
    const SECRET: &str = "crash-secret-0001";
    let data = tempfile::tempdir().unwrap();
    let mut p = start(data.path()).await;
    let hook = kefu_tests::WebhookReceiver::start(SECRET).await;
    let r = p
        .gateway
        .upsert_channel("crash-api", "demo", SECRET, &hook.url)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let questions = ["怎么开发票", "退款多久到账", "一般几天能到", "优惠券怎么用"];
    let mut sends = Vec::new();
    for c in 0..8 {
        for i in 0..15 {
            let gw = p.gateway.clone();
            let body = serde_json::json!({"external_message_id": format!("crash-{c}-{i}"),
                "external_user_id": format!("crash-customer-{c}"), "text": questions[(c + i) % 4]});
            sends.push(tokio::spawn(async move {
                gw.send("crash-api", SECRET, &body, &[]).await.status
            }));
        }
    }
    for s in sends {
        assert_eq!(s.await.unwrap(), 202);
    }
    // Killed once answers flow: by then the outbox has handed events to the bus that no
    // consumer has settled (without the journal they would be gone).
    kefu_tests::eventually("the first answers", Duration::from_secs(30), || async {
        (!hook.received().is_empty()).then_some(())
    })
    .await;
    p.services[0].kill().await;
    let answered_before = hook.received().len();
    assert!(
        answered_before < 120,
        "the kill must come mid-stream ({answered_before} of 120 were already answered)"
    );

    let _p2 = start(data.path()).await;
    let replies = kefu_tests::eventually(
        "an answer to each of the 120 messages",
        Duration::from_secs(60),
        || async {
            let got = hook.received();
            let ids: std::collections::HashSet<String> = got
                .iter()
                .filter_map(|r| r.body["reply_to"].as_str().map(str::to_owned))
                .collect();
            (ids.len() == 120).then_some(got)
        },
    )
    .await;
    let mut deliveries: std::collections::HashMap<String, std::collections::HashSet<String>> =
        std::collections::HashMap::new();
    for r in &replies {
        deliveries
            .entry(r.body["reply_to"].as_str().unwrap_or_default().to_owned())
            .or_default()
            .insert(r.delivery_id.clone().unwrap_or_default());
    }
    let twice: Vec<_> = deliveries.iter().filter(|(_, d)| d.len() > 1).collect();
    assert!(twice.is_empty(), "answered twice: {twice:?}");
    eprintln!(
        "kefu dev crash: {answered_before} of 120 answered before the kill, all 120 after the restart"
    );
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
    monitoring:
    dashboards_and_alerts_use_exported_metrics,
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

dev_scenarios!(
    tickets:
    a_chat_becomes_a_ticket_and_the_customer_reopens_it,
);

dev_scenarios!(
    qa:
    qa_alerts_scores_rescores_and_scopes,
);
