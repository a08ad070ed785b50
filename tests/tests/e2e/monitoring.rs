//! The chart's dashboards and alerts cannot drift from the code: every `kefu_…` series they
//! query is one the services export. A scenario exercises every figure they show — a customer
//! message answered (traffic, latency, bus, outbox), a handoff an agent accepts (routing wait) —
//! then the union of every service's `/metrics` must name each series
//! `charts/kefu/dashboards/*.json` and `charts/kefu/templates/monitoring.yaml` use.

use crate::desk::{Desk, Rules, Staff};
use crate::platform::Platform;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);

/// Every `kefu_…` name in the chart's dashboards and alerting rules.
fn used_by_the_chart() -> BTreeSet<String> {
    let chart = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../charts/kefu");
    let mut files = vec![chart.join("templates/monitoring.yaml")];
    for entry in std::fs::read_dir(chart.join("dashboards")).expect("charts/kefu/dashboards") {
        files.push(entry.unwrap().path());
    }
    let mut names = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("kefu_") {
            let boundary = rest[..at]
                .chars()
                .next_back()
                .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
            let name: String = rest[at..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if boundary {
                names.insert(name.clone());
            }
            rest = &rest[at + name.len()..];
        }
    }
    names
}

/// The series names in a Prometheus text exposition.
fn series(text: &str) -> impl Iterator<Item = String> + '_ {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next().map(str::to_owned))
}

pub async fn dashboards_and_alerts_use_exported_metrics(p: &Platform) {
    let used = used_by_the_chart();
    for expected in [
        "kefu_bus_dead_letters",
        "kefu_gateway_e2e_latency_ms_bucket",
    ] {
        assert!(
            used.contains(expected),
            "the scan missed {expected}: {used:?}"
        );
    }

    let d = Desk::new(p, Rules::default()).await;
    let staff = Staff {
        id: "watcher",
        role: "agent",
        merchant: "",
        skills: &["general"],
        capacity: 3,
    };
    let agent = d.staff(&staff, true).await;
    let user = "cust-metrics";
    d.say(p, user, "你好", json!({})).await;
    d.say(p, user, "我要转人工", json!({})).await;
    let conversation = d.queued_for(user).await;
    kefu_tests::eventually("the agent accepts the offer", WAIT, || async {
        (agent.accept(&conversation).await.status == 200).then_some(())
    })
    .await;

    let http = reqwest::Client::new();
    let deadline = Instant::now() + WAIT;
    loop {
        let mut exported = BTreeSet::new();
        for service in &p.services {
            let url = format!("http://{}/metrics", service.addr("http"));
            let text = http.get(&url).send().await.unwrap().text().await.unwrap();
            exported.extend(series(&text));
        }
        let missing: Vec<_> = used.difference(&exported).collect();
        if missing.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the chart's dashboards or alerts use series no service exports: {missing:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
