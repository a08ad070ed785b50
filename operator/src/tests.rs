//! `reconcile()` against a mocked API server (each request checked in order), a real gateway
//! for the admin API, and a local stand-in for RabbitMQ's management API.

use crate::context::Context;
use crate::rabbitmq::tests::MockBroker;
use crate::testing::*;
use crate::{config, tenant};
use chrono::{DateTime, Utc};
use kefu_crd::{Channel, Queue, Tenant};
use kube::runtime::controller::Action;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const TENANTS: &str = "/apis/kefu.dev/v1alpha1/namespaces/shop/tenants/acme";
const EVENTS: &str = "/apis/events.k8s.io/v1/namespaces/shop/events";

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn fixed(t: &str) -> crate::context::Clock {
    let t = utc(t);
    Arc::new(move || t)
}

fn status_patch(obj: &impl serde::Serialize) -> Expect {
    expect("PATCH", format!("{TENANTS}/status")).reply(200, serde_json::to_value(obj).unwrap())
}

fn ready(seen: &Seen) -> &Value {
    let conditions = seen.body["status"]["conditions"].as_array().unwrap();
    conditions.iter().find(|c| c["type"] == "Ready").unwrap()
}

fn keda_crd() -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "scaledobjects.keda.sh"},
        "spec": {"group": "keda.sh", "names": {"kind": "ScaledObject", "plural": "scaledobjects"}, "scope": "Namespaced", "versions": []}})
}

/// The requests of one reconciliation of the dedicated tenant `acme`.
fn dedicated_script(t: &Tenant, keda: bool, events: usize) -> Vec<Expect> {
    let mut s = vec![expect(
        "PATCH",
        "/api/v1/namespaces/shop/secrets/kefu-acme-platform?",
    )];
    for c in ["gateway", "session", "bot", "ticketing", "analytics", "qa"] {
        s.push(expect(
            "PATCH",
            format!("/apis/apps/v1/namespaces/shop/deployments/kefu-acme-{c}?"),
        ));
        s.push(expect(
            "PATCH",
            format!("/api/v1/namespaces/shop/services/kefu-acme-{c}?"),
        ));
    }
    let crd = expect(
        "GET",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/scaledobjects.keda.sh",
    );
    if keda {
        s.push(crd.reply(200, keda_crd()));
        s.push(expect(
            "PATCH",
            "/apis/keda.sh/v1alpha1/namespaces/shop/triggerauthentications/kefu-acme-rabbitmq?",
        ));
        for c in ["gateway", "session", "ticketing", "analytics", "qa"] {
            s.push(expect(
                "PATCH",
                format!("/apis/keda.sh/v1alpha1/namespaces/shop/scaledobjects/kefu-acme-{c}?"),
            ));
        }
    } else {
        s.push(crd.reply(404, not_found()));
        for c in ["gateway", "session", "ticketing", "analytics", "qa"] {
            s.push(expect(
                "PATCH",
                format!(
                    "/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers/kefu-acme-{c}?"
                ),
            ));
        }
    }
    for _ in 0..events {
        s.push(expect("POST", EVENTS));
    }
    s.push(status_patch(t));
    s
}

async fn reconcile_tenant(t: Tenant, ctx: Arc<Context>) -> Action {
    tenant::reconcile(Arc::new(t), ctx)
        .await
        .expect("reconcile")
}

#[tokio::test]
async fn a_new_tenant_first_gets_the_finalizer() {
    let (ctx, api) = context(settings(), fixed("2027-11-01T00:00:00Z"));
    let t = shared_tenant();
    let server =
        api.run(vec![expect("PATCH", TENANTS).reply(
            200,
            serde_json::to_value(t.clone().finalized()).unwrap(),
        )]);
    assert_eq!(reconcile_tenant(t, ctx).await, Action::await_change());
    let seen = server.await.unwrap();
    assert_eq!(seen[0].body[1]["path"], "/metadata/finalizers");
    assert_eq!(seen[0].body[1]["value"], json!(["kefu.dev/cleanup"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_tenant_is_configured_through_the_admin_api() {
    let gw = gateway().await;
    let mut s = settings();
    s.admin_url = gw.url.clone();
    let admin = kefu_crd::admin::AdminClient::new(&s.admin_url, "t0ken");
    let (ctx, api) = context(s, fixed("2027-11-10T12:00:00Z"));
    let t = shared_tenant().finalized();
    let server = api.run(vec![expect("POST", EVENTS), status_patch(&t)]);

    let action = reconcile_tenant(t, ctx).await;
    // Back when the pre-scaling starts (00:00 Shanghai − 60 min = 15:00 UTC), not before.
    assert_eq!(action, Action::requeue(Duration::from_secs(3 * 3600)));
    let seen = server.await.unwrap();
    assert_eq!(seen[0].body["reason"], "Configured");
    let status = &seen[1];
    assert!(status.uri.contains("fieldManager=kefu-operator") && status.uri.contains("force=true"));
    assert_eq!(ready(status)["status"], "True");
    assert_eq!(status.body["status"]["observedGeneration"], 3);
    assert_eq!(status.body["status"]["minReplicas"], 2);
    assert_eq!(
        status.body["status"]["nextScaleChange"],
        "2027-11-10T15:00:00+00:00"
    );
    let stored = admin.get_config("acme", "tenant", "acme").await.unwrap();
    assert_eq!(stored.spec["peakEvents"][0]["trafficMultiplier"], 10.0);
}

#[tokio::test]
async fn an_invalid_spec_is_reported_with_its_field_path() {
    let (ctx, api) = context(settings(), fixed("2027-11-01T00:00:00Z"));
    let mut t = shared_tenant().finalized();
    t.spec.peak_events[0].end = "2027-11-10T00:00:00".into();
    let server = api.run(vec![expect("POST", EVENTS), status_patch(&t)]);
    assert_eq!(
        reconcile_tenant(t, ctx).await,
        Action::await_change(),
        "retrying cannot help"
    );
    let seen = server.await.unwrap();
    assert_eq!(seen[0].body["type"], "Warning");
    let r = ready(&seen[1]);
    assert_eq!(
        (r["status"].as_str(), r["reason"].as_str()),
        (Some("False"), Some("InvalidSpec"))
    );
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .starts_with("spec.peakEvents[0].end: "),
        "{r}"
    );
}

#[tokio::test]
async fn an_unreachable_admin_api_is_reported_and_retried() {
    let (ctx, api) = context(settings(), fixed("2027-11-01T00:00:00Z"));
    let t = shared_tenant().finalized();
    let server = api.run(vec![expect("POST", EVENTS), status_patch(&t)]);
    assert_eq!(
        reconcile_tenant(t, ctx).await,
        Action::requeue(tenant::RETRY)
    );
    let seen = server.await.unwrap();
    assert_eq!(ready(&seen[1])["reason"], "AdminUnavailable");
}

#[tokio::test]
async fn an_unchanged_condition_keeps_its_time_and_records_no_event() {
    let (ctx, api) = context(settings(), fixed("2027-11-01T00:00:00Z"));
    let mut t = shared_tenant().finalized();
    let before = kefu_crd::common::make_condition(
        "Ready",
        false,
        "AdminUnavailable",
        "x",
        Some(3),
        utc("2027-10-01T00:00:00Z"),
    );
    t.status = Some(kefu_crd::TenantStatus {
        common: kefu_crd::CommonStatus {
            observed_generation: Some(3),
            conditions: vec![before],
        },
        ..Default::default()
    });
    // No event this time: straight to the status.
    let server = api.run(vec![status_patch(&t)]);
    reconcile_tenant(t, ctx).await;
    let seen = server.await.unwrap();
    assert_eq!(
        ready(&seen[0])["lastTransitionTime"],
        "2027-10-01T00:00:00Z"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dedicated_tenant_gets_its_resources_and_an_hpa_without_keda() {
    let gw = gateway().await;
    let broker = MockBroker::default();
    let mut s = settings();
    s.rabbitmq_management_url = broker.clone().serve().await;
    s.dedicated_admin_url = gw.url.clone();
    let (ctx, api) = context(s, fixed("2027-11-10T12:00:00Z"));
    let t = dedicated_tenant().finalized();
    let server = api.run(dedicated_script(&t, false, 1));
    let action = reconcile_tenant(t, ctx).await;
    assert_eq!(action, Action::requeue(Duration::from_secs(3 * 3600)));
    let seen = server.await.unwrap();
    for applied in seen.iter().filter(|s| s.method == "PATCH") {
        assert!(
            applied.uri.contains("fieldManager=kefu-operator"),
            "{}",
            applied.uri
        );
        if !applied.uri.contains("/status") {
            assert_eq!(
                applied.body["metadata"]["ownerReferences"][0]["uid"], "uid-acme",
                "{}",
                applied.uri
            );
        }
    }
    // The first HorizontalPodAutoscaler applied (the gateway's, with KEDA off).
    let hpa = &seen
        .iter()
        .find(|s| s.body["kind"] == "HorizontalPodAutoscaler")
        .expect("an HPA was applied")
        .body;
    assert_eq!(
        (
            hpa["spec"]["minReplicas"].as_u64(),
            hpa["spec"]["maxReplicas"].as_u64()
        ),
        (Some(2), Some(30))
    );
    let status = &seen.last().unwrap().body["status"];
    assert_eq!(status["autoscaler"], "hpa");
    let autoscaling = status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Autoscaling")
        .unwrap();
    assert_eq!(
        (
            autoscaling["status"].as_str(),
            autoscaling["reason"].as_str()
        ),
        (Some("False"), Some("KedaMissing"))
    );
    assert_eq!(ready(seen.last().unwrap())["status"], "True");
    assert!(broker.vhosts.lock().unwrap().contains("kefu-acme"));
}

/// Before the event, during it (from start − lead) and after it: the ScaledObjects' minimum
/// follows the schedule, and each reconciliation asks to come back exactly at the next change.
#[tokio::test]
async fn peak_event_pre_scales_at_the_right_instants() {
    let gw = gateway().await;
    let broker = MockBroker::default();
    let mut s = settings();
    s.rabbitmq_management_url = broker.clone().serve().await;
    s.dedicated_admin_url = gw.url.clone();
    // The clock follows tokio's, which `advance` moves while time is paused; the
    // reconciliations themselves run on ordinary time (they do real HTTP).
    let origin = tokio::time::Instant::now();
    let clock = paused_clock(utc("2027-11-10T12:00:00Z"), origin);
    let mut t = dedicated_tenant().finalized();
    let hours = |h: u64| Duration::from_secs(h * 3600);
    let steps = [
        // 12:00 UTC: the normal floor; back at 15:00 (00:00 Shanghai − 60 min lead).
        (0, 2, None, "Configured", Action::requeue(hours(3))),
        // 15:00: floor 2 × 10 = 20, until the end at 20:00 UTC (04:00 Shanghai).
        (
            3,
            20,
            Some("double-11"),
            "PeakScaling",
            Action::requeue(hours(5)),
        ),
        // 20:00: back to 2; nothing more is scheduled, so no requeue.
        (8, 2, None, "PeakScaling", Action::await_change()),
    ];
    for (at, min, active, reason, expected_action) in steps {
        // Where the previous reconciliation asked to be requeued.
        advance_to(origin, hours(at)).await;
        let (ctx, api) = context(s.clone(), clock.clone());
        let server = api.run(dedicated_script(&t, true, 1));
        let action = reconcile_tenant(t.clone(), ctx).await;
        let seen = server.await.unwrap();
        assert_eq!(action, expected_action);
        let scaled: Vec<_> = seen
            .iter()
            .filter(|s| s.uri.contains("/scaledobjects/"))
            .collect();
        // One ScaledObject per queue-consuming component.
        let consumers = crate::desired::COMPONENTS
            .iter()
            .filter(|c| c.queue.is_some())
            .count();
        assert_eq!(scaled.len(), consumers);
        for so in scaled {
            assert_eq!(so.body["spec"]["minReplicaCount"], min, "{}", so.uri);
            assert_eq!(so.body["spec"]["triggers"][0]["type"], "rabbitmq");
        }
        let event = seen.iter().find(|s| s.method == "POST").unwrap();
        assert_eq!(event.body["reason"], reason);
        let status: kefu_crd::TenantStatus =
            serde_json::from_value(seen.last().unwrap().body["status"].clone()).unwrap();
        assert_eq!(status.min_replicas, Some(min));
        assert_eq!(status.active_peak_event.as_deref(), active);
        assert_eq!(status.autoscaler.as_deref(), Some("keda"));
        assert_eq!(ready(seen.last().unwrap())["status"], "True");
        t.status = Some(status);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_dedicated_tenant_removes_its_vhost_and_tolerates_a_gone_broker() {
    let broker = MockBroker::default();
    broker.vhosts.lock().unwrap().insert("kefu-acme".into());
    let mut s = settings();
    s.rabbitmq_management_url = broker.clone().serve().await;
    let (ctx, api) = context(s.clone(), fixed("2027-11-01T00:00:00Z"));
    let t = dedicated_tenant().finalized().deleting();
    let server = api.run(vec![
        expect("POST", EVENTS),
        expect("PATCH", TENANTS).reply(200, serde_json::to_value(dedicated_tenant()).unwrap()),
    ]);
    assert_eq!(
        reconcile_tenant(t.clone(), ctx).await,
        Action::await_change()
    );
    let seen = server.await.unwrap();
    assert_eq!(
        seen[1].body[1]["op"], "remove",
        "the finalizer goes once the vhost is gone"
    );
    assert!(broker.vhosts.lock().unwrap().is_empty());

    // The broker is gone too: a warning event, and the deletion still completes.
    s.rabbitmq_management_url = "http://127.0.0.1:9".into();
    let (ctx, api) = context(s, fixed("2027-11-01T00:00:00Z"));
    let server = api.run(vec![
        expect("POST", EVENTS),
        expect("POST", EVENTS),
        expect("PATCH", TENANTS).reply(200, serde_json::to_value(dedicated_tenant()).unwrap()),
    ]);
    assert_eq!(reconcile_tenant(t, ctx).await, Action::await_change());
    let seen = server.await.unwrap();
    assert_eq!(seen[0].body["reason"], "BrokerGone");
    assert_eq!(seen[2].body[1]["op"], "remove");
}

fn queue() -> Queue {
    let mut q = Queue::new("vip", serde_json::from_value(json!({
        "tenant": "acme", "sla": {"targetPercent": 80, "withinSeconds": 20}, "timeoutSeconds": 600
    })).unwrap());
    q.metadata.namespace = Some("shop".into());
    q.metadata.generation = Some(1);
    q
}

#[tokio::test]
async fn a_queue_naming_a_missing_tenant_is_reported_on_spec_tenant() {
    let (ctx, api) = context(settings(), fixed("2027-11-01T00:00:00Z"));
    let q = queue().finalized();
    let server = api.run(vec![
        expect(
            "GET",
            "/apis/kefu.dev/v1alpha1/namespaces/shop/tenants/acme",
        )
        .reply(404, not_found()),
        expect("POST", EVENTS),
        expect(
            "PATCH",
            "/apis/kefu.dev/v1alpha1/namespaces/shop/queues/vip/status",
        )
        .reply(200, serde_json::to_value(&q).unwrap()),
    ]);
    let action = config::reconcile(Arc::new(q), ctx).await.unwrap();
    assert_eq!(action, Action::requeue(tenant::RETRY));
    let seen = server.await.unwrap();
    let r = ready(&seen[2]);
    assert_eq!(r["reason"], "TenantNotFound");
    assert!(r["message"].as_str().unwrap().starts_with("spec.tenant: "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_is_applied_with_its_secret_and_disabled_on_deletion() {
    let gw = gateway().await;
    let mut s = settings();
    s.admin_url = gw.url.clone();
    let admin = kefu_crd::admin::AdminClient::new(&s.admin_url, "t0ken");
    admin.put_tenant("acme", "Acme").await.unwrap();
    let (ctx, api) = context(s.clone(), fixed("2027-11-01T00:00:00Z"));
    let mut ch = Channel::new(
        "acme-web",
        serde_json::from_value(json!({
            "tenant": "acme", "type": "web",
            "credentials": {"secretRef": {"name": "acme-web", "key": "secret"}},
            "webhook": {"url": "https://acme.example/hook"},
        }))
        .unwrap(),
    );
    ch.metadata.namespace = Some("shop".into());
    let ch = ch.finalized();
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "acme-web"},
        "data": {"secret": "c2l4dGVlbi1ieXRlcy1zZWNyZXQ="}}); // "sixteen-bytes-secret"
    let server = api.run(vec![
        expect(
            "GET",
            "/apis/kefu.dev/v1alpha1/namespaces/shop/tenants/acme",
        )
        .reply(200, serde_json::to_value(shared_tenant()).unwrap()),
        expect("GET", "/api/v1/namespaces/shop/secrets/acme-web").reply(200, secret),
        expect("POST", EVENTS),
        expect(
            "PATCH",
            "/apis/kefu.dev/v1alpha1/namespaces/shop/channels/acme-web/status",
        )
        .reply(200, serde_json::to_value(&ch).unwrap()),
    ]);
    assert_eq!(
        config::reconcile(Arc::new(ch.clone()), ctx).await.unwrap(),
        Action::await_change()
    );
    let seen = server.await.unwrap();
    assert_eq!(ready(&seen[3])["status"], "True");
    let url = format!("{}/v1/admin/channels/acme-web", s.admin_url);
    let view = admin_view(&url).await;
    assert_eq!(
        (view["channel_type"].as_str(), view["enabled"].as_bool()),
        (Some("web"), Some(true))
    );

    let (ctx, api) = context(s, fixed("2027-11-01T00:00:00Z"));
    let server = api.run(vec![
        expect(
            "GET",
            "/apis/kefu.dev/v1alpha1/namespaces/shop/tenants/acme",
        )
        .reply(200, serde_json::to_value(shared_tenant()).unwrap()),
        expect("POST", EVENTS),
        expect(
            "PATCH",
            "/apis/kefu.dev/v1alpha1/namespaces/shop/channels/acme-web",
        )
        .reply(200, serde_json::to_value(&ch).unwrap()),
    ]);
    config::reconcile(Arc::new(ch.deleting()), ctx)
        .await
        .unwrap();
    server.await.unwrap();
    let view = admin_view(&url).await;
    assert_eq!(view["enabled"], false);
}

/// What the admin API shows at `url`.
async fn admin_view(url: &str) -> Value {
    reqwest::Client::new()
        .get(url)
        .bearer_auth("t0ken")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A changed spec (new generation): the autoscalers get the new bounds, the status the new
/// generation, and an unchanged `Ready` neither moves its transition time nor records an event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_updated_dedicated_tenant_is_re_applied() {
    let gw = gateway().await;
    let broker = MockBroker::default();
    let mut s = settings();
    s.rabbitmq_management_url = broker.clone().serve().await;
    s.dedicated_admin_url = gw.url.clone();
    let admin = kefu_crd::admin::AdminClient::new(&s.dedicated_admin_url, "t0ken");
    let (ctx, api) = context(s, fixed("2027-11-01T00:00:00Z"));
    let mut t = dedicated_tenant().finalized();
    let earlier = utc("2027-10-01T00:00:00Z");
    t.status = Some(kefu_crd::TenantStatus {
        common: kefu_crd::CommonStatus {
            observed_generation: Some(3),
            conditions: vec![kefu_crd::common::make_condition(
                "Ready",
                true,
                "Configured",
                "x",
                Some(3),
                earlier,
            )],
        },
        ..Default::default()
    });
    t.metadata.generation = Some(4);
    t.spec.scaling.max_replicas = 40;
    t.spec.display_name = "Acme Global".into();
    let server = api.run(dedicated_script(&t, true, 0));
    reconcile_tenant(t, ctx).await;
    let seen = server.await.unwrap();
    for so in seen.iter().filter(|s| s.uri.contains("/scaledobjects/")) {
        assert_eq!(so.body["spec"]["maxReplicaCount"], 40);
    }
    let status = seen.last().unwrap();
    assert_eq!(status.body["status"]["observedGeneration"], 4);
    let r = ready(status);
    assert_eq!(
        (r["status"].as_str(), r["observedGeneration"].as_i64()),
        (Some("True"), Some(4))
    );
    assert_eq!(r["lastTransitionTime"], "2027-10-01T00:00:00Z");
    let stored = admin.get_config("acme", "tenant", "acme").await.unwrap();
    assert_eq!(stored.spec["displayName"], "Acme Global");
    assert_eq!(stored.spec["scaling"]["maxReplicas"], 40);
}

/// A shared tenant's Double 11 raises the platform's own autoscalers (owned by the Deployments
/// they scale), combined over every shared tenant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_tenants_peak_raises_the_platform_autoscalers() {
    let gw = gateway().await;
    let mut s = settings();
    s.admin_url = gw.url.clone();
    s.platform = Some(serde_json::from_value(json!({
        "namespace": "kefu", "secretName": "kefu-secrets",
        "deployments": [
            {"component": "gateway", "name": "kefu-gateway", "minReplicas": 2, "maxReplicas": 10},
            {"component": "session", "name": "kefu-session", "minReplicas": 3, "maxReplicas": 40},
        ],
    })).unwrap());
    // 23:30 Shanghai: within the hour of lead before midnight.
    let (ctx, api) = context(s, fixed("2027-11-10T15:30:00Z"));
    let t = shared_tenant().finalized();
    let mut other = shared_tenant();
    other.metadata.name = Some("quiet".into());
    other.spec.peak_events.clear();
    let list = json!({"apiVersion": "kefu.dev/v1alpha1", "kind": "TenantList", "metadata": {},
        "items": [serde_json::to_value(&t).unwrap(), serde_json::to_value(&other).unwrap()]});
    let deployment = |name: &str| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "kefu", "uid": format!("uid-{name}")}})
    };
    let server = api.run(vec![
        expect("GET", "/apis/kefu.dev/v1alpha1/tenants?").reply(200, list),
        expect(
            "GET",
            "/apis/apps/v1/namespaces/kefu/deployments/kefu-gateway",
        )
        .reply(200, deployment("kefu-gateway")),
        expect(
            "GET",
            "/apis/apps/v1/namespaces/kefu/deployments/kefu-session",
        )
        .reply(200, deployment("kefu-session")),
        expect(
            "GET",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/scaledobjects.keda.sh",
        )
        .reply(200, keda_crd()),
        expect(
            "PATCH",
            "/apis/keda.sh/v1alpha1/namespaces/kefu/triggerauthentications/kefu-platform-rabbitmq?",
        ),
        expect(
            "PATCH",
            "/apis/keda.sh/v1alpha1/namespaces/kefu/scaledobjects/kefu-gateway?",
        ),
        expect(
            "PATCH",
            "/apis/keda.sh/v1alpha1/namespaces/kefu/scaledobjects/kefu-session?",
        ),
        expect("POST", EVENTS),
        expect("POST", EVENTS),
        status_patch(&t),
    ]);
    let action = reconcile_tenant(t, ctx).await;
    assert_eq!(
        action,
        Action::requeue(Duration::from_secs(4 * 3600 + 1800)),
        "until the end"
    );
    let seen = server.await.unwrap();
    let (gw, session) = (&seen[5].body, &seen[6].body);
    assert_eq!(
        (
            gw["spec"]["minReplicaCount"].as_u64(),
            gw["spec"]["maxReplicaCount"].as_u64()
        ),
        (Some(10), Some(10)),
        "2 × 10, capped at 10"
    );
    assert_eq!(session["spec"]["minReplicaCount"], 30, "3 × 10");
    assert_eq!(
        session["metadata"]["ownerReferences"][0]["uid"],
        "uid-kefu-session"
    );
    assert_eq!(
        seen[4].body["metadata"]["ownerReferences"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(seen[8].body["reason"], "PeakScaling");
    let status = &seen[9].body["status"];
    assert_eq!(
        (
            status["minReplicas"].as_u64(),
            status["activePeakEvent"].as_str()
        ),
        (Some(30), Some("double-11"))
    );
}

/// Deleting a shared tenant withdraws its config document and recomputes the platform's floor
/// without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_shared_tenant_lowers_the_platform_floor() {
    let gw = gateway().await;
    let mut s = settings();
    s.admin_url = gw.url.clone();
    let admin = kefu_crd::admin::AdminClient::new(&s.admin_url, "t0ken");
    admin
        .apply(
            &kefu_crd::KefuResource::Tenant(shared_tenant()),
            &Default::default(),
        )
        .await
        .unwrap();
    s.platform = Some(serde_json::from_value(json!({
        "namespace": "kefu", "secretName": "kefu-secrets",
        "deployments": [{"component": "session", "name": "kefu-session", "minReplicas": 3, "maxReplicas": 40}],
    })).unwrap());
    let (ctx, api) = context(s, fixed("2027-11-10T17:00:00Z")); // during Double 11
    let t = shared_tenant().finalized().deleting();
    let list = json!({"apiVersion": "kefu.dev/v1alpha1", "kind": "TenantList", "metadata": {},
        "items": [serde_json::to_value(&t).unwrap()]});
    let server = api.run(vec![
        expect("GET", "/apis/kefu.dev/v1alpha1/tenants?").reply(200, list),
        expect("GET", "/apis/apps/v1/namespaces/kefu/deployments/kefu-session").reply(200,
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "kefu-session", "uid": "u1"}})),
        expect("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/scaledobjects.keda.sh").reply(404, not_found()),
        expect("PATCH", "/apis/autoscaling/v2/namespaces/kefu/horizontalpodautoscalers/kefu-session?"),
        expect("POST", EVENTS),
        expect("PATCH", TENANTS).reply(200, serde_json::to_value(shared_tenant()).unwrap()),
    ]);
    assert_eq!(reconcile_tenant(t, ctx).await, Action::await_change());
    let seen = server.await.unwrap();
    assert_eq!(
        seen[3].body["spec"]["minReplicas"], 3,
        "the deleted tenant's event no longer counts"
    );
    let gone = admin
        .get_config("acme", "tenant", "acme")
        .await
        .unwrap_err();
    assert!(matches!(
        gone,
        kefu_crd::admin::AdminError::Rejected { status: 404, .. }
    ));
}
