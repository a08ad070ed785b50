//! `kefu-analytics-bench`: how fast analytics folds domain events into facts and rollups on
//! PostgreSQL (`DATABASE_URL`, a schema of its own, dropped at the end). Scripts a day of
//! conversations for four tenants — each one a customer's question, the bot's answer, a handoff,
//! an offer and an accept, a first response, a reply, the close and a rating — and feeds them
//! through the `analytics.events` handler in batches of up to 500, two batches at a time (the
//! service's defaults), as the queue would deliver them.
//!
//! Last line: `analytics_events_per_s=<n> events=<n>`.

use kefu_analytics::testing::Script;
use kefu_analytics::{AnalyticsApp, AnalyticsConfig, ingest};
use kefu_bus::{BatchItem, Envelope, InProcessBus, Topology};
use std::sync::Arc;
use std::time::Instant;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TENANTS: usize = 4;
const AGENTS: usize = 50;
/// 2026-03-02T00:00:00Z.
const DAY: i64 = 1_772_409_600_000;

/// Events of `n` conversations per tenant, interleaved across tenants in time order.
fn script(conversations: usize) -> Vec<Envelope> {
    let mut all: Vec<(i64, Envelope)> = Vec::new();
    for t in 0..TENANTS {
        let mut s = Script::new(&format!("bench-{t}"));
        let mut times = Vec::new();
        for i in 0..conversations {
            let at = DAY + (i as i64 * 86_400_000 / conversations as i64);
            let agent = format!("agent-{}", i % AGENTS);
            let channel = if i % 3 == 0 { "api" } else { "web" };
            let tier = if i % 5 == 0 { "gold" } else { "" };
            let mut c = s.conversation(
                &format!("c-{i}"),
                &format!("u-{}", i % 5_000),
                channel,
                "",
                tier,
            );
            let before = s.events.len();
            s.opened(&c, at);
            s.customer(&mut c, at);
            s.bot(
                &mut c,
                at + 1_000,
                "refund",
                "refund.how",
                false,
                "怎么退货",
            );
            s.handoff(&mut c, at + 20_000, "human_request", "platform");
            s.offered(&mut c, at + 30_000, &agent, 10_000);
            s.assigned(&mut c, at + 35_000, &agent, 15_000);
            s.agent(&mut c, at + 50_000, &agent);
            s.customer(&mut c, at + 80_000);
            s.agent(&mut c, at + 110_000, &agent);
            s.closed(&mut c, at + 300_000, "agent_closed", &agent, &["refund"]);
            s.rated(&mut c, at + 310_000, &agent, (i % 5) as i32 + 1);
            times.extend(std::iter::repeat_n(at, s.events.len() - before));
        }
        all.extend(times.into_iter().zip(s.events));
    }
    all.sort_by_key(|(at, _)| *at);
    all.into_iter().map(|(_, e)| e).collect()
}

fn main() -> anyhow::Result<()> {
    let mut conversations = 5_000usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--conversations" => {
                conversations = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| anyhow::anyhow!("--conversations takes a number"))?;
            }
            other => anyhow::bail!("unknown argument {other} (--conversations N)"),
        }
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(run(conversations))
}

async fn run(conversations: usize) -> anyhow::Result<()> {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!(
        "bench_analytics_{}",
        &uuid::Uuid::now_v7().simple().to_string()[20..]
    );
    let db = kefu_store::connect(&kefu_store::DbConfig::new(url.clone(), Some(&schema)))
        .await
        .map_err(|e| {
            anyhow::anyhow!("PostgreSQL is required for the bench ({e}); set DATABASE_URL")
        })?;
    let bus = Arc::new(InProcessBus::new(Topology::new("bench")));
    let app = AnalyticsApp::build(AnalyticsConfig::default(), db.clone(), bus).await?;
    let state = app.state.clone();
    let events = script(conversations);
    let total = events.len();
    let batches: Vec<Vec<Envelope>> = events
        .chunks(ingest::MAX_BATCH)
        .map(<[Envelope]>::to_vec)
        .collect();
    let queue = Arc::new(std::sync::Mutex::new(batches.into_iter()));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..state.config.concurrency {
        let (state, queue) = (state.clone(), queue.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let Some(batch) = queue.lock().expect("queue").next() else {
                    return anyhow::Ok(());
                };
                let items = batch
                    .into_iter()
                    .map(|envelope| BatchItem {
                        envelope,
                        span: tracing::Span::none(),
                    })
                    .collect();
                for r in ingest::handle_batch(state.clone(), items).await {
                    r.map_err(|e| anyhow::anyhow!("a batch failed: {e}"))?;
                }
            }
        }));
    }
    for w in workers {
        w.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let admin = kefu_store::connect(&kefu_store::DbConfig::new(url, None)).await?;
    kefu_store::db::drop_schema(&admin, &schema).await?;
    println!(
        "analytics_events_per_s={:.0} events={total}",
        total as f64 / elapsed
    );
    Ok(())
}
