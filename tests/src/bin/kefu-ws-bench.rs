//! `make bench` (web chat): how much memory a gateway needs per open customer socket.
//!
//! Starts `kefu dev` (release), opens `--sockets` anonymous web chat sockets from several
//! loopback source addresses, checks a sample of them still get bot replies, and reads the
//! process's resident memory before and after. The gateway shares the process with session and
//! bot here, so the per-socket figure is the growth divided by the sockets.
//!
//! The last line is `ws_sockets=<n> rss_mib=<n> rss_per_socket_kib=<n> projected_50k_mib=<n>`.

use clap::Parser;
use futures::{SinkExt, StreamExt};
use kefu_tests::Service;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

#[derive(Parser)]
struct Args {
    /// Sockets to open (the process's open-file limit bounds it).
    #[arg(long, default_value_t = 10_000)]
    sockets: usize,
    /// Connections opened at once.
    #[arg(long, default_value_t = 64)]
    parallel: usize,
    /// Sockets that each send a message and must get the bot's reply.
    #[arg(long, default_value_t = 50)]
    sample: usize,
}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no VmRSS for {pid}"))
}

type Socket = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn open(addr: std::net::SocketAddr, i: usize) -> anyhow::Result<Socket> {
    // Several source addresses, so the sockets are not bounded by one address's ports.
    let source = std::net::Ipv4Addr::new(127, 0, 0, 1 + (i % 8) as u8);
    let tcp = tokio::net::TcpSocket::new_v4()?;
    tcp.bind((source, 0).into())?;
    let stream = tcp.connect(addr).await?;
    stream.set_nodelay(true)?;
    let url = format!("ws://{addr}/v1/channels/demo-web/ws");
    let (mut ws, _) = tokio_tungstenite::client_async(url, stream).await?;
    // welcome and history
    for _ in 0..2 {
        ws.next()
            .await
            .ok_or_else(|| anyhow::anyhow!("socket closed before history"))??;
    }
    Ok(ws)
}

async fn ask(ws: &mut Socket, id: &str) -> anyhow::Result<()> {
    let frame = json!({"type": "message", "id": id, "text": "优惠券怎么用"});
    ws.send(Message::Text(frame.to_string().into())).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let next = tokio::time::timeout_at(deadline, ws.next())
            .await
            .map_err(|_| anyhow::anyhow!("no reply to {id} within 30 s"))?;
        let Some(Ok(Message::Text(t))) = next else {
            continue;
        };
        let f: Value = serde_json::from_str(t.as_str())?;
        if f["type"] == "message" && f["reply_to"] == id {
            return Ok(());
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let data = tempfile::tempdir()?;
    let dev = Service::start(
        "kefu",
        &[
            "dev",
            "--data-dir",
            data.path().to_str().expect("utf-8 path"),
            "--http",
            "127.0.0.1:0",
        ],
        &[
            ("RUST_LOG", "warn".into()),
            (
                "KEFU_WEBCHAT__MAX_CONNECTIONS",
                (args.sockets + 100).to_string(),
            ),
        ],
    )
    .await;
    let pid = dev.pid().expect("kefu dev runs");
    let addr: std::net::SocketAddr = dev.addr("http").parse()?;
    // Warm the process (first socket, first bot answer) before the baseline.
    let mut first = open(addr, 0).await?;
    ask(&mut first, "warm-up").await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kib(pid)?;
    let started = Instant::now();
    let mut sockets: Vec<Socket> = futures::stream::iter(1..=args.sockets)
        .map(|i| open(addr, i))
        .buffer_unordered(args.parallel)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    let connect_s = started.elapsed().as_secs_f64();
    // The sockets still work: a sample asks the bot and gets the reply.
    let step = (sockets.len() / args.sample.max(1)).max(1);
    for (n, ws) in sockets.iter_mut().step_by(step).enumerate() {
        ask(ws, &format!("sample-{n}")).await?;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib(pid)?;
    let grown = after.saturating_sub(before);
    let per_socket_kib = grown as f64 / sockets.len() as f64;
    let projected_50k_mib = (before as f64 + per_socket_kib * 50_000.0) / 1024.0;
    println!(
        "ws: {} sockets open in {connect_s:.1} s ({:.0}/s); rss {:.1} MiB before, {:.1} MiB after",
        sockets.len(),
        sockets.len() as f64 / connect_s,
        before as f64 / 1024.0,
        after as f64 / 1024.0
    );
    println!(
        "ws_sockets={} rss_mib={:.1} rss_per_socket_kib={per_socket_kib:.1} projected_50k_mib={projected_50k_mib:.0}",
        sockets.len(),
        after as f64 / 1024.0
    );
    drop(sockets);
    Ok(())
}
