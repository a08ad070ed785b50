//! `make chaos`: the full chaos run — by default 10,000 customer messages through a distributed
//! Kefu (two replicas each of bot, session and gateway, a RabbitMQ node of its own, the shared
//! PostgreSQL) while replicas, the broker and PostgreSQL backends are killed on a schedule and
//! at random (see `kefu_tests::chaos`). Ends with the line
//! `chaos_messages=<n> lost=<n> customer_duplicates=<n> kills=<n>`; exits non-zero unless
//! nothing was lost, duplicated or reordered.

use clap::Parser;
use kefu_tests::chaos::{Fault, Plan, run};
use std::time::Duration;

#[derive(Parser)]
struct Args {
    /// Messages in the stream (at least; it goes on until every fault struck --min-each times).
    #[arg(long, default_value_t = 10_000)]
    messages: usize,
    /// Concurrent customers, each waiting for the answer before its next message.
    #[arg(long, default_value_t = 40)]
    customers: usize,
    /// Fault kinds, comma-separated: session, bot, gateway, broker, postgres.
    #[arg(long, default_value = "session,bot,gateway,broker,postgres")]
    faults: String,
    /// How many times each fault kind strikes at least.
    #[arg(long, default_value_t = 3)]
    min_each: usize,
    /// Mean seconds between two faults.
    #[arg(long, default_value_t = 3.0)]
    every: f64,
    /// Seed of the fault schedule's randomness (printed, so a run can be repeated).
    #[arg(long)]
    seed: Option<u64>,
}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let faults = args
        .faults
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| Fault::parse(s.trim()).ok_or_else(|| anyhow::anyhow!("unknown fault {s:?}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let seed = args.seed.unwrap_or_else(|| fastrand::u64(..));
    eprintln!("chaos: seed {seed}");
    let plan = Plan {
        customers: args.customers,
        messages: args.messages,
        faults,
        min_each: args.min_each,
        every: Duration::from_secs_f64(args.every),
        seed,
        reply_timeout: Duration::from_secs(120),
    };
    let outcome = run(&plan).await;
    eprintln!("chaos: {}", outcome.details());
    println!("{}", outcome.line());
    let clean = outcome.lost.is_empty()
        && outcome.customer_duplicates == 0
        && outcome.out_of_order.is_empty();
    if !clean {
        anyhow::bail!(
            "lost {:?}, out of order {:?}",
            &outcome.lost[..outcome.lost.len().min(20)],
            outcome.out_of_order
        );
    }
    Ok(())
}
