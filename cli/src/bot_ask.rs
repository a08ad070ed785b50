//! `kefu bot ask --kb FILE [--merchant ID]`: the bot on JSON lines, for trying a knowledge base
//! and measuring it. Each stdin line `{"text": …}` gets one stdout line
//! `{"text","faq_id","intent","confidence","answer","handoff","reason"}`, answered by
//! [`kefu_bot::BotApp::answer`] exactly as the gRPC service answers. Blank lines are skipped. A
//! line that is not such an object stops the run: the answers so far are written, the error names
//! the line on stderr, and the exit code is non-zero (a batch with a bad line is not silently
//! shortened or padded).
//!
//! `kefu bot eval --kb FILE [--merchant ID] [--misses] EVAL.jsonl`: accuracy on labelled lines
//! (see [`kefu_bot::eval`]) overall, per language and per language × style, with handoff misses
//! and false handoffs listed (and every wrong line with `--misses`).

use anyhow::Context;
use kefu_bot::{BotApp, Knowledge};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::path::PathBuf;

/// The tenant the knowledge base is loaded for (the CLI answers for one tenant).
const TENANT: &str = "cli";

#[derive(clap::Args)]
pub struct AskArgs {
    /// The knowledge base, in the format of `faq-kb.jsonl`.
    #[arg(long)]
    kb: PathBuf,
    /// Answer as a customer of this merchant (who also sees the platform's entries); without it,
    /// as a platform customer.
    #[arg(long)]
    merchant: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Question {
    text: String,
}

/// The output contract; field order is the order written.
#[derive(Serialize)]
struct Reply<'a> {
    text: &'a str,
    faq_id: Option<&'a str>,
    intent: &'a str,
    confidence: f64,
    answer: &'a str,
    handoff: bool,
    reason: &'a str,
}

pub fn main(args: AskArgs) -> anyhow::Result<()> {
    let kb = args.kb.to_string_lossy().into_owned();
    let faqs = kefu_bot::read_kb_file(&kb).context("--kb")?;
    let knowledge = Knowledge::default();
    knowledge.set(TENANT, faqs);
    let app = BotApp::new(knowledge);
    let stdin = std::io::stdin().lock();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let result = answer_lines(&app, args.merchant.as_deref(), stdin, &mut out);
    out.flush()?;
    result
}

fn answer_lines(
    app: &BotApp,
    merchant: Option<&str>,
    input: impl BufRead,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    for (i, line) in input.lines().enumerate() {
        let n = i + 1;
        let line = line.with_context(|| format!("stdin line {n}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let q: Question = serde_json::from_str(&line)
            .with_context(|| format!("stdin line {n}: expected {{\"text\": \"…\"}}"))?;
        kefu_bot::check_text(&q.text).map_err(|e| anyhow::anyhow!("stdin line {n}: {e}"))?;
        let a = app.answer(TENANT, &q.text, merchant);
        let reply = Reply {
            text: &q.text,
            faq_id: a.faq_id.as_deref(),
            intent: &a.intent,
            confidence: (a.confidence * 1000.0).round() / 1000.0,
            answer: &a.answer,
            handoff: a.handoff,
            reason: &a.reason,
        };
        serde_json::to_writer(&mut *out, &reply)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct EvalArgs {
    /// The knowledge base, in the format of `faq-kb.jsonl`.
    #[arg(long)]
    kb: PathBuf,
    /// The merchant of lines that name none (default: a platform customer).
    #[arg(long)]
    merchant: Option<String>,
    /// Also list every wrong line.
    #[arg(long)]
    misses: bool,
    /// Labelled lines `{"text","expect","lang","style","merchant"}`.
    file: PathBuf,
}

pub fn eval(args: EvalArgs) -> anyhow::Result<()> {
    let kb = args.kb.to_string_lossy().into_owned();
    let faqs = kefu_bot::read_kb_file(&kb).context("--kb")?;
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let lines = kefu_bot::eval::parse_labelled(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.file.display()))?;
    kefu_bot::nlu::warm_up();
    let engine = kefu_bot::Engine::new(faqs);
    let report = kefu_bot::eval::evaluate(&engine, &lines, args.merchant.as_deref());
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    report.write(&mut out, args.misses)?;
    out.flush()?;
    Ok(())
}
