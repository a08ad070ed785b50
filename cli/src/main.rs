//! `kefu`: the command line. `kefu dev` runs the whole platform in one process (SQLite and the
//! in-process bus); `kefu gateway|session|bot|ticketing|analytics|qa` run one service in distributed mode, exactly like
//! the `kefu-<service>` binaries; `kefu validate|apply -f FILE` check and apply the operator's
//! YAML outside Kubernetes.

mod apply;
mod bot_ask;
mod dev;
mod events;
mod inbox;
mod qa;
mod shop;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "kefu", version, about = "Kefu omnichannel customer service")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run gateway, session, bot, ticketing and analytics in one process with SQLite and an in-process bus.
    Dev(dev::DevArgs),
    /// Run the gateway service (DATABASE_URL, AMQP_URL, KEFU_* variables).
    Gateway,
    /// Run the session service.
    Session,
    /// Run the ticketing service.
    Ticketing,
    /// Run the bot service, or `kefu bot ask|eval` to try or score a knowledge base on JSON lines.
    Bot(BotArgs),
    /// Run the analytics service.
    Analytics,
    /// Run the QA service, or `kefu qa check --policy FILE` to inspect transcripts (JSON lines
    /// on stdin).
    Qa(qa::QaArgs),
    /// Check Tenant/Channel/Queue/RoutingPolicy/QaPolicy YAML; every error is printed with its field path.
    Validate(apply::ValidateArgs),
    /// Apply Tenant/Channel/Queue/RoutingPolicy/QaPolicy YAML to a running gateway (`kefu dev`).
    Apply(apply::ApplyArgs),
}

#[derive(clap::Args)]
struct BotArgs {
    #[command(subcommand)]
    command: Option<BotCommand>,
}

#[derive(Subcommand)]
enum BotCommand {
    /// Answer JSON lines {"text": …} from stdin with a knowledge base, one JSON line each.
    Ask(bot_ask::AskArgs),
    /// Accuracy on labelled JSON lines {"text","expect","lang","style","merchant"}: overall,
    /// per language × style, handoff misses and false handoffs.
    Eval(bot_ask::EvalArgs),
}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Dev(args) => dev::main(args),
        Command::Gateway => kefu_lifecycle::service_main("kefu-gateway", kefu_gateway::run),
        Command::Session => kefu_lifecycle::service_main("kefu-session", kefu_session::run),
        Command::Ticketing => kefu_lifecycle::service_main("kefu-ticketing", kefu_ticketing::run),
        Command::Bot(BotArgs { command: None }) => {
            kefu_lifecycle::service_main("kefu-bot", kefu_bot::run)
        }
        Command::Bot(BotArgs {
            command: Some(BotCommand::Ask(args)),
        }) => bot_ask::main(args),
        Command::Bot(BotArgs {
            command: Some(BotCommand::Eval(args)),
        }) => bot_ask::eval(args),
        Command::Analytics => kefu_lifecycle::service_main("kefu-analytics", kefu_analytics::run),
        Command::Qa(args) => qa::main(args),
        Command::Validate(args) => apply::validate(args),
        Command::Apply(args) => apply::apply(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kefu: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}

/// Default data directory of `kefu dev`.
fn default_data_dir() -> PathBuf {
    PathBuf::from(".kefu-dev")
}
