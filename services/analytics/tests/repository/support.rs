//! What the suite's bodies share: an analytics app over the test's database, feeding it events.

use kefu_analytics::query::{Range, Spec};
use kefu_analytics::{AnalyticsApp, AnalyticsConfig, AnalyticsState};
use kefu_bus::{BatchItem, Envelope, InProcessBus, Topology};
use sea_orm::DatabaseConnection;
use std::collections::BTreeMap;
use std::sync::Arc;

pub async fn app(db: &DatabaseConnection) -> AnalyticsState {
    let bus = Arc::new(InProcessBus::new(Topology::new("t")));
    AnalyticsApp::build(AnalyticsConfig::default(), db.clone(), bus)
        .await
        .expect("the analytics app")
        .state
}

/// Feeds `events` in batches of `batch`, asserting every one is acknowledged.
pub async fn feed(state: &AnalyticsState, events: &[Envelope], batch: usize) {
    for chunk in events.chunks(batch.max(1)) {
        let items = chunk
            .iter()
            .map(|e| BatchItem {
                envelope: e.clone(),
                span: tracing::Span::none(),
            })
            .collect();
        let results = kefu_analytics::ingest::handle_batch(state.clone(), items).await;
        for r in results {
            r.unwrap_or_else(|e| panic!("a batch failed: {e}"));
        }
    }
}

/// The whole-range totals of `tenant` (merchant scope `merchant`) over `[from, to)`, grouped by
/// `group_by`: each group's dimension values → metric → value.
pub async fn report(
    state: &AnalyticsState,
    tenant: &str,
    merchant: &str,
    from: &str,
    to: &str,
    group_by: &[&str],
) -> BTreeMap<Vec<String>, BTreeMap<String, f64>> {
    let settings = state.settings.get(&state.db, tenant).await.unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    let range = Range::parse(from, to, settings.zone, now).unwrap();
    let group: Vec<String> = group_by.iter().map(|g| (*g).to_owned()).collect();
    let spec = Spec::new(
        tenant,
        merchant,
        range,
        "total",
        &group,
        &[],
        &[],
        settings.zone,
        now,
    )
    .unwrap();
    kefu_analytics::query::report(&state.db, &spec, settings.zone)
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.dims.into_iter().map(|(_, v)| v).collect(),
                r.values
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
            )
        })
        .collect()
}
