//! The workspace's shape, checked: each service owns its tables, no service depends on another
//! service's crate (so none can read another's tables), and the storage crate knows nothing of
//! the bus.

use std::collections::BTreeMap;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
}

/// The `kefu-*` crates named in a manifest's `[dependencies]` section.
fn internal_dependencies(manifest: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(manifest)
        .unwrap_or_else(|e| panic!("reading {}: {e}", manifest.display()));
    let mut in_deps = false;
    let mut deps = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if in_deps && line.starts_with("kefu-") {
            deps.push(line.split([' ', '=']).next().unwrap_or_default().to_owned());
        }
    }
    deps
}

#[test]
fn no_service_table_belongs_to_two_services() {
    let owners: [(&str, &[&str]); 5] = [
        ("gateway", kefu_gateway::store::migration::TABLES),
        ("session", kefu_session::store::migration::TABLES),
        ("analytics", kefu_analytics::store::migration::TABLES),
        ("ticketing", kefu_ticketing::store::migration::TABLES),
        ("qa", kefu_qa::store::migration::TABLES),
    ];
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (service, tables) in owners {
        for table in tables {
            assert!(
                !kefu_store::migration::SHARED_TABLES.contains(table),
                "{service} lists the shared table {table} as its own"
            );
            if let Some(other) = seen.insert(table, service) {
                panic!("table {table} is created by both {other} and {service}");
            }
        }
    }
}

#[test]
fn services_do_not_depend_on_each_other_and_store_not_on_the_bus() {
    let services = ["gateway", "session", "bot", "analytics", "ticketing", "qa"];
    for service in services {
        let deps = internal_dependencies(&root().join("services").join(service).join("Cargo.toml"));
        for other in services {
            assert!(
                !deps.contains(&format!("kefu-{other}")),
                "services/{service} depends on kefu-{other}: services talk over gRPC and the bus"
            );
        }
    }
    let store = internal_dependencies(&root().join("crates/store/Cargo.toml"));
    for forbidden in ["kefu-bus", "kefu-telemetry", "kefu-worker"] {
        assert!(
            !store.iter().any(|d| d == forbidden),
            "kefu-store depends on {forbidden}"
        );
    }
}

/// Databases record each applied migration by name: a renamed migration is "missing" and the
/// service no longer starts on an existing database. The names, once released, stay.
#[test]
fn recorded_migration_names_never_change() {
    use kefu_store::MigratorTrait;
    fn names<M: MigratorTrait>() -> Vec<String> {
        M::migrations()
            .iter()
            .map(|m| m.name().to_owned())
            .collect()
    }
    assert_eq!(
        names::<kefu_gateway::store::migration::GatewayMigrator>(),
        [
            "gateway",
            "gateway_0002_tenant_configs",
            "gateway_0003_channel_settings",
            "gateway_0004_channel_state",
            "gateway_0005_channel_cursors"
        ]
    );
    assert_eq!(
        names::<kefu_session::store::migration::SessionMigrator>(),
        [
            "session",
            "session_m0002_unified_customer",
            "session_m0003_routing",
            "session_m0004_message_sequence"
        ]
    );
    assert_eq!(
        names::<kefu_analytics::store::migration::AnalyticsMigrator>(),
        [
            "analytics_0001_initial",
            "analytics_0002_counters",
            "analytics_0003_orders"
        ]
    );
    assert_eq!(
        names::<kefu_ticketing::store::migration::TicketingMigrator>(),
        ["ticketing_0001_initial"]
    );
    assert_eq!(
        names::<kefu_qa::store::migration::QaMigrator>(),
        ["qa_0001_initial"]
    );
}

/// The event catalogue names every event type Kefu publishes, so a new event cannot be added
/// without its row (producer, consumers, ordering).
#[test]
fn the_event_catalogue_lists_every_event_type() {
    use kefu_proto::event_types as t;
    let catalogue = std::fs::read_to_string(root().join("docs/events.md")).expect("docs/events.md");
    let mut all: Vec<&str> = t::DOMAIN.to_vec();
    all.extend(t::TICKET);
    all.extend([
        t::MESSAGE_RECEIVED,
        t::MESSAGE_TO_SEND,
        t::TENANT_CONFIG_CHANGED,
        t::DESK_EVENT,
        t::QA_ALERT_RAISED,
    ]);
    for event_type in all {
        assert!(
            catalogue.contains(&format!("| `{event_type}` |")),
            "docs/events.md has no row for {event_type}"
        );
    }
}
