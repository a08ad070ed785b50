//! The demo tenant file is valid; bad files are rejected with the field path of each problem.

use kefu_crd::document::{self, DocumentError};
use kefu_crd::{Isolation, KefuResource};
use std::path::PathBuf;

fn read(path: &str) -> String {
    let p = PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR")
            .expect("cargo sets CARGO_MANIFEST_DIR when it runs tests"),
    )
    .join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn errors(fixture: &str) -> Vec<DocumentError> {
    match document::parse(&read(&format!("tests/fixtures/{fixture}"))) {
        Ok(r) => panic!("{fixture} was accepted: {r:?}"),
        Err(e) => e,
    }
}

fn paths(errors: &[DocumentError]) -> Vec<&str> {
    errors.iter().map(|e| e.error.path.as_str()).collect()
}

#[test]
fn demo_tenant_file_is_valid() {
    let resources = document::parse(&read("../../demo/demo-tenant.yaml")).unwrap_or_else(|e| {
        panic!(
            "{}",
            e.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    let kinds: Vec<_> = resources.iter().map(|r| r.kind()).collect();
    assert_eq!(
        kinds,
        [
            "Tenant",
            "Channel",
            "Channel",
            "Queue",
            "Queue",
            "RoutingPolicy"
        ]
    );
    let KefuResource::Tenant(t) = &resources[0] else {
        panic!()
    };
    assert_eq!(t.spec.isolation, Isolation::Shared);
    assert_eq!(t.spec.bot.handoff_after_misses, 3);
    assert_eq!(t.spec.customers.merge_identity_kinds.len(), 3);
    let peak = &t.spec.peak_events[0];
    let (start, end) = peak.window().unwrap();
    // Midnight in Shanghai is 16:00 UTC the day before.
    assert_eq!(start.to_rfc3339(), "2027-11-10T16:00:00+00:00");
    assert_eq!((end - start).num_hours(), 4);
    assert!(resources.iter().all(|r| r.tenant() == "demo"));
}

#[test]
fn end_before_start_is_rejected_at_the_end_field() {
    let e = errors("end-before-start.yaml");
    assert_eq!(paths(&e), ["spec.peakEvents[0].end"]);
    assert!(e[0].to_string().contains("end must be after start"));
    assert_eq!(e[0].resource.as_deref(), Some("Tenant/shop"));
}

#[test]
fn negative_threshold_is_rejected_with_its_path() {
    let e = errors("negative-threshold.yaml");
    assert_eq!(paths(&e), ["spec.merchants[0].waitThresholdSeconds"]);
    assert!(e[0].error.message.contains("-5"), "{}", e[0]);
}

#[test]
fn unknown_channel_type_is_rejected_with_its_path() {
    let e = errors("unknown-channel-type.yaml");
    assert_eq!(paths(&e), ["spec.type"]);
    assert!(e[0].error.message.contains("fax"), "{}", e[0]);
    assert!(
        e[0].error.message.contains("wechat"),
        "lists the known types"
    );
}

#[test]
fn unknown_field_is_rejected_with_its_path() {
    let e = errors("unknown-field.yaml");
    assert_eq!(paths(&e), ["spec.sla.withinMinutes"]);
}

#[test]
fn reference_to_a_missing_tenant_is_reported() {
    let e = errors("missing-tenant.yaml");
    assert_eq!(paths(&e), ["spec.tenant"]);
    assert_eq!(e[0].document, 2);
    assert!(e[0].error.message.contains("shpo"));
}

#[test]
fn every_problem_of_a_file_is_reported() {
    let e = errors("bad-time-zone-and-weights.yaml");
    assert_eq!(
        paths(&e),
        [
            "spec.peakEvents[0].timeZone",
            "spec.peakEvents[0].trafficMultiplier",
            "spec.analytics.timeZone",
            "spec.analytics.attributionWindowHours",
            "spec.weights.tier",
        ]
    );
}

#[test]
fn wrong_api_version_kind_and_syntax_are_named() {
    let e = document::parse("apiVersion: kefu.dev/v1\nkind: Tenant\n").unwrap_err();
    assert_eq!(paths(&e), ["apiVersion"]);
    let e = document::parse("apiVersion: kefu.dev/v1alpha1\nkind: Agent\n").unwrap_err();
    assert_eq!(paths(&e), ["kind"]);
    let e = document::parse("apiVersion: [unclosed\n").unwrap_err();
    assert!(e[0].error.message.contains("not valid YAML"));
    let e = document::parse(
        "apiVersion: kefu.dev/v1alpha1\nkind: Queue\nmetadata: {name: q}\nspec: {tenant: t, timeoutSeconds: 5}\n",
    )
    .unwrap_err();
    assert_eq!(paths(&e), ["spec.sla"], "a missing field is named");
}
