//! The journal contract (`kefu_bus::contract::journal`) on the SQLite journal `kefu dev` uses:
//! each "restart" opens a new connection and journal on the same file.

use futures::FutureExt;
use kefu_bus::Journal;
use kefu_bus::contract::journal;
use kefu_store::DbConfig;
use kefu_worker::journal::SqliteJournal;
use std::sync::Arc;

fn on_file(
    dir: &tempfile::TempDir,
) -> impl Fn() -> futures::future::BoxFuture<'static, Arc<dyn Journal>> + Sync + use<> {
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("bus.db").display());
    move || {
        let url = url.clone();
        async move {
            let db = kefu_store::connect(&DbConfig::new(url, None))
                .await
                .expect("sqlite");
            let j: Arc<dyn Journal> = SqliteJournal::open(db).await.expect("journal");
            j
        }
        .boxed()
    }
}

#[tokio::test]
async fn unsettled_messages_come_back_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    journal::unsettled_messages_come_back_after_a_crash(&on_file(&dir)).await;
}

#[tokio::test]
async fn dead_letters_stay_dead_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    journal::dead_letters_stay_dead_after_a_crash(&on_file(&dir)).await;
}
