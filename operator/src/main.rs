//! `kefu-operator`: run the operator (`run`, the default in the chart), print the CRDs, or run
//! the Double 11 scaling simulation.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "kefu-operator", version, about = "Kefu Kubernetes operator")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Reconcile Kefu resources in the cluster (in-cluster config or KUBECONFIG).
    Run(Box<kefu_operator::run::RunArgs>),
    /// Print the CustomResourceDefinitions as YAML.
    Crds,
    /// Replay a Double 11 traffic curve through the scaling decisions, with and without the
    /// peak event, and report replica-minutes, peak queue depth and under-provisioned time.
    Simulate(kefu_operator::sim::SimArgs),
}

fn main() -> std::process::ExitCode {
    let result = match Cli::parse().command {
        Command::Run(args) => run(*args),
        Command::Crds => {
            for (_, yaml) in kefu_crd::crdgen::render() {
                println!("---\n{yaml}");
            }
            Ok(())
        }
        Command::Simulate(args) => {
            kefu_operator::sim::main(&args);
            Ok(())
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kefu-operator: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}

fn run(args: kefu_operator::run::RunArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let telemetry =
            kefu_telemetry::init(&kefu_telemetry::TelemetryConfig::from_env("kefu-operator"))?;
        let result = kefu_operator::run::run(args, kefu_lifecycle::shutdown_on_signals()).await;
        tokio::task::spawn_blocking(move || telemetry.shutdown()).await?;
        result
    })
}
