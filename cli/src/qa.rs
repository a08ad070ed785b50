//! `kefu qa …`: the QA service and its commands.
//!
//! - `kefu qa`: the QA service in distributed mode, exactly like the `kefu-qa` binary.
//! - `kefu qa check --policy FILE`: transcripts as JSON lines on stdin, one result line each
//!   on stdout (see [`kefu_qa::cli::check`]).
//! - `kefu qa eval --data DIR`: the classifiers' precision and recall on labelled lines.

use std::path::PathBuf;

#[derive(clap::Args)]
pub struct QaArgs {
    #[command(subcommand)]
    command: Option<QaCommand>,
}

#[derive(clap::Subcommand)]
enum QaCommand {
    /// Inspect transcripts (JSON lines on stdin) with a QA policy; one result line each.
    Check {
        /// The policy: a QA policy file (`rules:` …) or a QaPolicy resource.
        #[arg(long)]
        policy: PathBuf,
    },
    /// Precision and recall of the tone, anger, remedy and sensitive-data classifiers on
    /// labelled lines (`<name>.tsv` in DIR; the held-out sets are in
    /// services/qa/tests/data/heldout).
    Eval {
        #[arg(long)]
        data: PathBuf,
    },
}

pub fn main(args: QaArgs) -> anyhow::Result<()> {
    match args.command {
        None => kefu_lifecycle::service_main("kefu-qa", kefu_qa::run),
        Some(QaCommand::Check { policy }) => kefu_qa::cli::check_stdio(&policy),
        Some(QaCommand::Eval { data }) => kefu_qa::cli::eval(&data, std::io::stdout().lock()),
    }
}
