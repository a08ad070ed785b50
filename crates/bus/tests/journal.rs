//! The journal contract (`kefu_bus::contract::journal`) on the in-memory journal.

use futures::FutureExt;
use kefu_bus::contract::journal;
use kefu_bus::{Journal, MemoryJournal};
use std::sync::Arc;

fn memory() -> impl Fn() -> futures::future::BoxFuture<'static, Arc<dyn Journal>> + Sync {
    let kept = Arc::new(MemoryJournal::default());
    move || {
        let j: Arc<dyn Journal> = kept.clone();
        async move { j }.boxed()
    }
}

#[tokio::test]
async fn unsettled_messages_come_back_after_a_crash() {
    journal::unsettled_messages_come_back_after_a_crash(&memory()).await;
}

#[tokio::test]
async fn dead_letters_stay_dead_after_a_crash() {
    journal::dead_letters_stay_dead_after_a_crash(&memory()).await;
}
