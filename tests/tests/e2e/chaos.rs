//! Kill anything mid-stream and lose nothing — the short chaos run in `make test` (the full one
//! is `make chaos`): customers talk to the bot through the API channel of a distributed Kefu
//! while a session, a bot and a gateway replica are killed with SIGKILL and replaced, the
//! harness's own RabbitMQ node is killed and restarted, and the platform's PostgreSQL backends
//! are terminated, each mid-stream. Every accepted message is answered exactly once (a retried
//! delivery with the same `X-Kefu-Delivery-Id` counts once), in order (`kefu_tests::chaos`).

use kefu_tests::chaos::{Fault, Plan, run};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_anything_mid_stream_loses_and_repeats_nothing() {
    let plan = Plan {
        customers: 12,
        messages: 300,
        faults: Fault::ALL.to_vec(),
        min_each: 1,
        every: Duration::from_millis(1200),
        seed: 20261207,
        reply_timeout: Duration::from_secs(90),
    };
    let outcome = run(&plan).await;
    eprintln!("{}", outcome.details());
    assert!(outcome.messages >= plan.messages);
    for f in Fault::ALL {
        assert_eq!(
            outcome.kills.get(f.name()),
            Some(&1),
            "{}",
            outcome.details()
        );
    }
    outcome.assert_clean();
}
