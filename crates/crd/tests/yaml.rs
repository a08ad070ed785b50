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
            "RoutingPolicy",
            "QaPolicy"
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

/// The demo tenant's QaPolicy carries exactly the rules of `demo/qa-policy.yaml` (the file
/// `kefu qa check` reads), so the two cannot drift apart.
#[test]
fn the_demo_qa_policy_matches_the_policy_file() {
    let resources = document::parse(&read("../../demo/demo-tenant.yaml")).unwrap();
    let policy = resources
        .iter()
        .find_map(|r| match r {
            KefuResource::QaPolicy(p) => Some(p),
            _ => None,
        })
        .expect("a QaPolicy in demo-tenant.yaml");
    let file = kefu_crd::qa::parse_policy(&read("../../demo/qa-policy.yaml")).unwrap();
    assert_eq!(policy.spec.rules, file.rules);
    assert_eq!(policy.spec.tenant, "demo");
    assert_eq!(policy.spec.review.reviewers, ["zhao"]);
}

#[test]
fn qa_policy_problems_are_named_by_field() {
    let doc = |spec: &str| {
        format!(
            "apiVersion: kefu.dev/v1alpha1\nkind: QaPolicy\nmetadata: {{name: qa}}\nspec:\n  tenant: shop\n{spec}"
        )
    };
    let e = document::parse(&doc(
        "  rules:\n    - {id: x, kind: shouting, severity: minor}\n",
    ))
    .unwrap_err();
    assert_eq!(paths(&e), ["spec.rules[0].kind"]);
    assert!(
        e[0].error.message.contains("forbidden_phrase"),
        "lists the kinds: {}",
        e[0]
    );
    let e = document::parse(&doc(concat!(
        "  rules:\n",
        "    - {id: a, kind: forbidden_phrase, severity: critical}\n",
        "    - {id: b, kind: regex, severity: major, pattern: '[a-'}\n",
        "    - {id: c, kind: first_response_time, severity: minor, max_seconds: 30, threshold: 0.5}\n",
        "    - {id: a, kind: agent_tone, severity: critical, threshold: 2}\n",
    )))
    .unwrap_err();
    assert_eq!(
        paths(&e),
        [
            "spec.rules[0].phrases",
            "spec.rules[1].pattern",
            "spec.rules[2].threshold",
            "spec.rules[3].id",
            "spec.rules[3].threshold",
        ]
    );
    let e = document::parse(&doc(
        "  rules:\n    - {id: a, kind: agent_tone, severity: fatal}\n",
    ))
    .unwrap_err();
    assert_eq!(paths(&e), ["spec.rules[0].severity"]);
    let e = document::parse(&doc("  rules: []\n  review: {sample_percent: 120}\n")).unwrap_err();
    assert_eq!(paths(&e), ["spec.rules", "spec.review.sample_percent"]);
    let e = document::parse(&doc(
        "  rules:\n    - {id: a, kind: agent_tone, severity: major, category: vibes}\n",
    ))
    .unwrap_err();
    assert_eq!(paths(&e), ["spec.rules[0].category"]);
}

fn channel(spec: &str) -> Result<Vec<KefuResource>, Vec<DocumentError>> {
    document::parse(&format!(
        "apiVersion: kefu.dev/v1alpha1\nkind: Channel\nmetadata: {{name: c}}\nspec:\n{spec}"
    ))
}

#[test]
fn a_channel_s_settings_and_credentials_fit_its_type() {
    // A WeChat account in safe mode: its AppID, AppSecret and EncodingAESKey, no webhook.
    let ok = channel(
        "  tenant: shop\n  type: wechat\n  credentials:\n    secretRef: {name: wx, key: token}\n    appSecretRef: {name: wx, key: appSecret}\n    aesKeyRef: {name: wx, key: aesKey}\n  settings:\n    wechat: {appId: wx0123456789abcdef, mode: safe, quota: 20}\n",
    );
    assert!(ok.is_ok(), "{ok:?}");
    // Without its settings block and its key, each problem is named.
    let e = channel(
        "  tenant: shop\n  type: wechat\n  credentials:\n    secretRef: {name: wx, key: token}\n",
    )
    .unwrap_err();
    assert_eq!(
        paths(&e),
        [
            "spec.settings.wechat",
            "spec.credentials.appSecretRef",
            "spec.credentials.aesKeyRef"
        ]
    );
    // Another type's block, a bad AppID and an out-of-range window.
    let e = channel(
        "  tenant: shop\n  type: miniprogram\n  credentials:\n    secretRef: {name: wx, key: token}\n    appSecretRef: {name: wx, key: s}\n  settings:\n    wechat: {appId: wx-nope, mode: plain, windowHours: 72}\n    sms: {provider: twilio, from: '+15550100', account: AC1}\n",
    )
    .unwrap_err();
    assert_eq!(
        paths(&e),
        [
            "spec.settings.sms",
            "spec.settings.wechat.appId",
            "spec.settings.wechat.windowHours"
        ]
    );
    // Aliyun SMS replies only through an approved template.
    let e = channel(
        "  tenant: shop\n  type: sms\n  credentials:\n    secretRef: {name: s, key: token}\n    appSecretRef: {name: s, key: key}\n  settings:\n    sms: {provider: aliyun, from: 某商城, account: LTAI1}\n",
    )
    .unwrap_err();
    assert_eq!(paths(&e), ["spec.settings.sms.templateCode"]);
    // An API channel still needs its webhook; a voice channel needs nothing more.
    let e =
        channel("  tenant: shop\n  type: api\n  credentials:\n    secretRef: {name: a, key: s}\n")
            .unwrap_err();
    assert_eq!(paths(&e), ["spec.webhook.url"]);
    assert!(
        channel(
            "  tenant: shop\n  type: voice\n  credentials:\n    secretRef: {name: v, key: s}\n"
        )
        .is_ok()
    );
}

#[test]
fn a_tenants_ticketing_block_is_read_and_checked() {
    let ok = document::parse(&read("tests/fixtures/ticketing.yaml")).expect("valid");
    let KefuResource::Tenant(t) = &ok[0] else {
        panic!("not a Tenant: {ok:?}");
    };
    let tk = &t.spec.ticketing;
    assert_eq!(tk.sub_statuses.len(), 2);
    assert!(!tk.sla_policies[1].business_hours);
    assert_eq!(tk.calendar.as_ref().unwrap().hours["mon"].len(), 2);
    let e = errors("bad-ticketing.yaml");
    assert_eq!(
        paths(&e),
        [
            "spec.ticketing.subStatuses[1].name",
            "spec.ticketing.slaPolicies[1].priority",
            "spec.ticketing.calendar.timeZone",
            "spec.ticketing.calendar.hours.funday",
            "spec.ticketing.calendar.hours.mon",
            "spec.ticketing.calendar.hours.tue[0]",
            "spec.ticketing.calendar.holidays[1]",
            "spec.ticketing.calendar.workdays",
        ]
    );
}
