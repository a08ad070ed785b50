//! Compiles `proto/` with protox (pure Rust, no system `protoc`) and generates prost messages
//! and tonic clients/servers from the resulting descriptor set.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let files = [
        "kefu/bus/v1/envelope.proto",
        "kefu/events/v1/events.proto",
        "kefu/gateway/v1/gateway.proto",
        "kefu/session/v1/session.proto",
        "kefu/session/v1/desk.proto",
        "kefu/bot/v1/bot.proto",
        "kefu/analytics/v1/analytics.proto",
        "kefu/ticketing/v1/ticketing.proto",
        "kefu/qa/v1/qa.proto",
    ];
    let paths: Vec<PathBuf> = files.iter().map(|f| root.join(f)).collect();
    for p in &paths {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    // Events are generated once; the service APIs refer to them at their place in this crate
    // (`crate::events`), which the generated code's own relative paths would not reach.
    let services = protox::compile(&paths[2..], [&root])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .extern_path(".kefu.events.v1", "crate::events")
        .extern_path(".kefu.bus.v1", "crate::bus")
        .compile_fds(services)?;
    // Last, so that these files win over any written for them as imports above.
    let shared = protox::compile(&paths[..2], [&root])?;
    tonic_prost_build::configure()
        .build_server(false)
        .build_client(false)
        .compile_fds(shared)?;
    Ok(())
}
