//! `make bench`: Kefu's end-to-end message path under load, next to the raw broker rate.
//!
//! 1. Broker: a lapin publisher (persistent messages, publisher confirms, pipelined) and a
//!    consumer (manual acks) on a quorum queue — the ceiling any bus user can reach here.
//! 2. End to end: gateway, session and bot as separate release processes on RabbitMQ and
//!    PostgreSQL; `--customers` simulated customers each send a signed message, wait for the
//!    signed reply on a local webhook, and send the next (closed loop). Latency is from just
//!    before the POST to the reply's arrival.
//!
//! The last line is `e2e_msgs_per_s=<n> p50_ms=<n> p99_ms=<n> broker_msgs_per_s=<n>`.

use clap::Parser;
use futures::StreamExt;
use kefu_tests::distributed::Distributed;
use kefu_tests::env::amqp_url;
use kefu_tests::{GatewayClient, Isolation, WebhookReceiver};
use lapin::options::*;
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

#[derive(Parser)]
struct Args {
    /// Concurrent simulated customers.
    #[arg(long, default_value_t = 64)]
    customers: usize,
    /// Seconds of measured load (after the warm-up).
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Seconds of warm-up load, not measured.
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// Messages for the raw broker measurement.
    #[arg(long, default_value_t = 50_000)]
    broker_messages: usize,
}

const ADMIN: &str = "bench-admin-token";
const SECRET: &str = "bench-secret-0123456789";
const QUESTIONS: &[&str] = &[
    "我的快递到哪了",
    "怎么还不发货",
    "一般几天能到",
    "怎么申请退货",
    "退款多久到账",
    "怎么开发票",
    "优惠券怎么用",
    "双十一有什么活动",
    "会员有什么权益",
    "门店几点关门",
];

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let iso = Isolation::new();
    iso.require_servers().await;

    let broker = broker_rate(&iso, args.broker_messages).await?;
    eprintln!("broker: {broker:.0} msg/s (quorum queue, persistent, confirms, manual acks)");

    let result = e2e(&iso, &args).await;
    iso.cleanup(
        &["gateway", "session"],
        &["session.inbound", "gateway.outbound", "session.config"],
    )
    .await;
    let (rate, p50, p99, n) = result?;
    eprintln!(
        "e2e: {n} replies in {}s with {} customers",
        args.duration, args.customers
    );
    println!(
        "e2e_msgs_per_s={rate:.0} p50_ms={p50:.1} p99_ms={p99:.1} broker_msgs_per_s={broker:.0}"
    );
    Ok(())
}

async fn broker_rate(iso: &Isolation, n: usize) -> anyhow::Result<f64> {
    let conn = Connection::connect(&amqp_url(), ConnectionProperties::default()).await?;
    let queue = format!("{}.raw", iso.bus_prefix());
    let publisher = conn.create_channel().await?;
    let consumer_ch = conn.create_channel().await?;
    let mut qargs = FieldTable::default();
    qargs.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    publisher
        .queue_declare(queue.as_str().into(), QueueDeclareOptions::durable(), qargs)
        .await?;
    publisher
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    consumer_ch
        .basic_qos(256, BasicQosOptions::default())
        .await?;
    let consumer = consumer_ch
        .basic_consume(
            queue.as_str().into(),
            "bench".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let payload = vec![b'x'; 256];
    let started = Instant::now();
    let consume = tokio::spawn(async move {
        let mut consumer = consumer;
        let mut got = 0usize;
        while let Some(Ok(d)) = consumer.next().await {
            d.ack(BasicAckOptions::default()).await?;
            got += 1;
            if got == n {
                break;
            }
        }
        anyhow::Ok(Instant::now())
    });
    let mut pending = std::collections::VecDeque::new();
    for _ in 0..n {
        let confirm = publisher
            .basic_publish(
                "".into(),
                queue.as_str().into(),
                BasicPublishOptions::default(),
                &payload,
                BasicProperties::default().with_delivery_mode(2),
            )
            .await?;
        pending.push_back(confirm);
        if pending.len() >= 512 {
            pending.pop_front().expect("pending").await?;
        }
    }
    for c in pending {
        c.await?;
    }
    let finished = consume.await??;
    // Clean-up failures don't change the measurement: report them and go on.
    if let Err(e) = consumer_ch.close(200, "done".into()).await {
        eprintln!("closing the bench consumer channel: {e}");
    }
    if let Err(e) = publisher
        .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
        .await
    {
        eprintln!("deleting {queue}: {e}");
    }
    let _ = conn.close(200, "bye".into()).await;
    Ok(n as f64 / (finished - started).as_secs_f64())
}

type Waiters = Arc<Mutex<HashMap<String, oneshot::Sender<Instant>>>>;

async fn e2e(iso: &Isolation, args: &Args) -> anyhow::Result<(f64, f64, f64, usize)> {
    let Distributed {
        bot,
        session,
        ticketing,
        qa: _qa,
        gateway,
        analytics,
    } = kefu_tests::distributed::start(iso, ADMIN, &[("RUST_LOG", "warn".into())]).await;

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let hook = WebhookReceiver::start_with(SECRET, Some(tx)).await;
    let waiters: Waiters = Arc::default();
    {
        let waiters = waiters.clone();
        tokio::spawn(async move {
            while let Some(r) = rx.recv().await {
                let key = r.body["reply_to"].as_str().unwrap_or_default().to_owned();
                if let Some(w) = waiters.lock().expect("lock").remove(&key) {
                    let _ = w.send(r.at);
                }
            }
        });
    }
    let client = GatewayClient::new(format!("http://{}", gateway.addr("http")), ADMIN);
    anyhow::ensure!(
        client.upsert_tenant("demo", "Bench").await.status == 200,
        "tenant"
    );
    anyhow::ensure!(
        client
            .upsert_channel("bench-api", "demo", SECRET, &hook.url)
            .await
            .status
            == 200,
        "channel"
    );

    let warm_until = Instant::now() + Duration::from_secs(args.warmup);
    let stop_at = warm_until + Duration::from_secs(args.duration);
    let mut tasks = Vec::new();
    for c in 0..args.customers {
        let (client, waiters) = (client.clone(), waiters.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut seq = 0usize;
            while Instant::now() < stop_at {
                seq += 1;
                let ext = format!("c{c}-m{seq}");
                let (tx, rx) = oneshot::channel();
                waiters.lock().expect("lock").insert(ext.clone(), tx);
                let body = serde_json::json!({
                    "external_message_id": ext,
                    "external_user_id": format!("customer-{c}"),
                    "text": QUESTIONS[(c + seq) % QUESTIONS.len()],
                });
                let sent = Instant::now();
                let r = client.send("bench-api", SECRET, &body, &[]).await;
                if r.status != 202 {
                    return Err(anyhow::anyhow!("gateway answered {}: {}", r.status, r.body));
                }
                let got = tokio::time::timeout(Duration::from_secs(30), rx)
                    .await
                    .map_err(|_| {
                        anyhow::anyhow!("no reply to {} within 30 s", body["external_message_id"])
                    })??;
                if sent >= warm_until && got <= stop_at {
                    latencies.push(got - sent);
                }
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    drop((bot, session, ticketing, gateway, analytics));
    anyhow::ensure!(
        !all.is_empty(),
        "no message completed in the measured window"
    );
    all.sort();
    let pct =
        |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0;
    Ok((
        all.len() as f64 / args.duration as f64,
        pct(0.50),
        pct(0.99),
        all.len(),
    ))
}
