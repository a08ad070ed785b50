//! The command-line side of QA, for `kefu qa …`:
//!
//! - [`check`]: a policy file and transcripts as JSON lines → one result line per input line
//!   (the engine's [`crate::engine::check`] format). A policy that does not read or check is
//!   an error before any input is read (every problem with its field path); an input line that
//!   cannot be read gets an `{"id","error"}` line in its place, is named on stderr, and makes
//!   the exit status 1 once the rest is done.
//! - [`eval`]: the classifiers' precision and recall on labelled lines (the held-out sets).

use crate::engine::Policy;
use crate::engine::check::{CheckError, check_line, line_id};
use crate::engine::detect::{DETECTORS, Detector, parse_labelled};
use anyhow::Context;
use std::io::{BufRead, Write};
use std::path::Path;

/// Reads and compiles a policy file (a plain policy or a `QaPolicy` resource).
pub fn load_policy(path: &Path) -> anyhow::Result<Policy> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the policy {}", path.display()))?;
    let spec = kefu_crd::qa::parse_policy(&text).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
        anyhow::anyhow!(
            "the policy {} is not valid:\n{}",
            path.display(),
            lines.join("\n")
        )
    })?;
    Policy::compile(&spec).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
        anyhow::anyhow!(
            "the policy {} is not valid:\n{}",
            path.display(),
            lines.join("\n")
        )
    })
}

/// What a check run saw.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CheckSummary {
    pub lines: usize,
    /// 1-based numbers of the input lines that could not be read.
    pub bad_lines: Vec<usize>,
}

/// Checks every transcript line of `input` against `policy`, writing one result line each to
/// `output` and a note for each bad line to `errors`.
pub fn check(
    policy: &Policy,
    input: impl BufRead,
    mut output: impl Write,
    mut errors: impl Write,
) -> anyhow::Result<CheckSummary> {
    let mut summary = CheckSummary::default();
    for (n, line) in input.lines().enumerate() {
        let number = n + 1;
        let line = line.with_context(|| format!("reading input line {number}"))?;
        if line.trim().is_empty() {
            continue;
        }
        summary.lines += 1;
        match check_line(policy, &line) {
            Ok(result) => serde_json::to_writer(&mut output, &result)?,
            Err(why) => {
                writeln!(errors, "kefu qa check: line {number}: {why}")?;
                summary.bad_lines.push(number);
                let error = CheckError {
                    id: line_id(&line),
                    error: format!("line {number}: {why}"),
                };
                serde_json::to_writer(&mut output, &error)?;
            }
        }
        output.write_all(b"\n")?;
    }
    output.flush()?;
    Ok(summary)
}

/// `kefu qa check --policy FILE`: stdin to stdout.
pub fn check_stdio(policy_path: &Path) -> anyhow::Result<()> {
    let policy = load_policy(policy_path)?;
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let summary = check(
        &policy,
        stdin.lock(),
        std::io::BufWriter::new(stdout.lock()),
        std::io::stderr(),
    )?;
    if !summary.bad_lines.is_empty() {
        anyhow::bail!(
            "{} of {} input lines could not be read (lines {})",
            summary.bad_lines.len(),
            summary.lines,
            summary
                .bad_lines
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}

/// `kefu qa eval --data DIR`: each classifier's precision and recall on `DIR/<name>.tsv`
/// (the held-out sets are `services/qa/tests/data/heldout`), per language and overall.
pub fn eval(dir: &Path, mut out: impl Write) -> anyhow::Result<()> {
    for d in Detector::ALL {
        let path = dir.join(format!("{}.tsv", d.name()));
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let lines =
            parse_labelled(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        for (lang, m) in DETECTORS.evaluate(d, &lines, d.default_threshold()) {
            writeln!(out, "{:<9} {:<7} n={:<4} {m}", d.name(), lang, m.total())?;
        }
    }
    Ok(())
}
