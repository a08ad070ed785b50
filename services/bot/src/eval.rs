//! Scoring the bot on labelled messages (`kefu bot eval`): one JSON object per line,
//! `{"text", "expect", "lang", "style", "merchant"}` — `expect` an FAQ id, or `greeting`,
//! `thanks`, `fallback` (no FAQ: small talk, a clarifying question or the menu); `lang`
//! `zh-Hans`, `zh-Hant` or `en`; `style` free text such as `plain` or `colloquial`; `merchant`
//! optional (the customer's merchant). A line is right when the bot answers with the expected
//! FAQ (a handoff FAQ must also hand off), or gives the expected small talk / fallback without an
//! FAQ and without handing off; a suggestion list counts as a fallback, never as the FAQ.
//! Besides accuracy per language × style, the report counts handoff misses (the expected FAQ
//! hands off, the bot did not) and false handoffs (the bot handed off when it should not).

use crate::Engine;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

/// Expectations that are not FAQ ids.
pub const NO_FAQ: &[&str] = &["greeting", "thanks", "fallback"];
/// Largest evaluation file accepted.
pub const MAX_EVAL_LINES: usize = 100_000;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Labelled {
    pub text: String,
    pub expect: String,
    pub lang: String,
    #[serde(default = "plain")]
    pub style: String,
    #[serde(default)]
    pub merchant: Option<String>,
}

fn plain() -> String {
    "plain".into()
}

/// Parses labelled lines (blank lines skipped); the error names the first bad line.
pub fn parse_labelled(text: &str) -> Result<Vec<Labelled>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if out.len() >= MAX_EVAL_LINES {
            return Err(format!("more than {MAX_EVAL_LINES} lines"));
        }
        let l: Labelled = serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1))?;
        if l.expect.trim().is_empty() {
            return Err(format!("line {}: expect: must not be empty", i + 1));
        }
        out.push(l);
    }
    Ok(out)
}

/// Right and total of one group of lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub right: usize,
    pub total: usize,
}

impl Tally {
    pub fn accuracy(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.right as f64 / self.total as f64
        }
    }

    fn add(&mut self, right: bool) {
        self.total += 1;
        self.right += usize::from(right);
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3} ({}/{})", self.accuracy(), self.right, self.total)
    }
}

/// What went wrong on one line, for the report.
#[derive(Clone, Debug)]
pub struct Miss {
    pub text: String,
    pub expect: String,
    pub got: String,
}

impl fmt::Display for Miss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} → expected {}, got {}",
            self.text, self.expect, self.got
        )
    }
}

#[derive(Clone, Debug, Default)]
pub struct Report {
    pub overall: Tally,
    /// By (lang, style).
    pub groups: BTreeMap<(String, String), Tally>,
    /// By lang alone.
    pub languages: BTreeMap<String, Tally>,
    /// Lines whose detected language is the labelled one.
    pub language_detected: Tally,
    /// Lines whose expected FAQ hands off.
    pub handoffs_expected: usize,
    pub handoff_misses: Vec<Miss>,
    pub false_handoffs: Vec<Miss>,
    /// Every wrong line (handoff misses and false handoffs included).
    pub wrong: Vec<Miss>,
}

/// Answers every line with `engine` and scores it; `merchant` stands in for lines without one.
pub fn evaluate(engine: &Engine, lines: &[Labelled], merchant: Option<&str>) -> Report {
    let hands_off = |id: &str| {
        engine
            .faqs()
            .iter()
            .any(|f| f.id == id && f.action.as_deref() == Some("handoff"))
    };
    let mut r = Report::default();
    for l in lines {
        let a = engine.answer(&l.text, l.merchant.as_deref().or(merchant));
        let expect_handoff = hands_off(&l.expect);
        let right = if NO_FAQ.contains(&l.expect.as_str()) {
            a.faq_id.is_none() && a.intent == l.expect && !a.handoff
        } else {
            a.faq_id.as_deref() == Some(l.expect.as_str()) && a.handoff == expect_handoff
        };
        r.overall.add(right);
        r.groups
            .entry((l.lang.clone(), l.style.clone()))
            .or_default()
            .add(right);
        r.languages.entry(l.lang.clone()).or_default().add(right);
        r.language_detected.add(a.language.as_str() == l.lang);
        let miss = || {
            let mut got = match (&a.faq_id, a.suggestion_ids.is_empty()) {
                (Some(id), _) => format!("{id} ({:.2})", a.confidence),
                (None, false) => format!("suggestions {:?}", a.suggestion_ids),
                (None, true) => a.intent.clone(),
            };
            if a.handoff {
                got.push_str(&format!(" handoff:{}", a.reason));
            }
            Miss {
                text: l.text.clone(),
                expect: l.expect.clone(),
                got,
            }
        };
        if expect_handoff {
            r.handoffs_expected += 1;
            if !a.handoff {
                r.handoff_misses.push(miss());
            }
        } else if a.handoff {
            r.false_handoffs.push(miss());
        }
        if !right {
            r.wrong.push(miss());
        }
    }
    r
}

impl Report {
    /// The summary: accuracy overall, per language and per language × style, handoff misses
    /// and false handoffs with their lines; every wrong line too when `all_misses`.
    pub fn write(&self, mut out: impl std::io::Write, all_misses: bool) -> std::io::Result<()> {
        writeln!(out, "{:<22} {}", "overall", self.overall)?;
        for (lang, t) in &self.languages {
            writeln!(out, "{lang:<22} {t}")?;
        }
        for ((lang, style), t) in &self.groups {
            writeln!(out, "{:<22} {t}", format!("{lang} {style}"))?;
        }
        writeln!(
            out,
            "{:<22} {}",
            "language detected", self.language_detected
        )?;
        writeln!(
            out,
            "handoff misses         {} of {}",
            self.handoff_misses.len(),
            self.handoffs_expected
        )?;
        for m in &self.handoff_misses {
            writeln!(out, "  {m}")?;
        }
        writeln!(out, "false handoffs         {}", self.false_handoffs.len())?;
        for m in &self.false_handoffs {
            writeln!(out, "  {m}")?;
        }
        if all_misses {
            writeln!(out, "wrong                  {}", self.wrong.len())?;
            for m in &self.wrong {
                writeln!(out, "  {m}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kb::parse_jsonl;

    const KB: &str = concat!(
        r#"{"id":"logistics.where","intent":"logistics","question":"我的快递到哪了","similar":["查物流"],"answer":"a","scope":"platform"}"#,
        "\n",
        r#"{"id":"handoff.human","intent":"handoff","question":"转人工","similar":["找个人工来"],"answer":"b","action":"handoff","scope":"platform"}"#,
        "\n"
    );

    fn line(text: &str, expect: &str, lang: &str) -> Labelled {
        Labelled {
            text: text.into(),
            expect: expect.into(),
            lang: lang.into(),
            style: "plain".into(),
            merchant: None,
        }
    }

    #[test]
    fn scores_groups_handoff_misses_and_false_handoffs() {
        let engine = Engine::new(parse_jsonl(KB).unwrap());
        let lines = [
            line("我的快递到哪了", "logistics.where", "zh-Hans"),
            line("转人工", "handoff.human", "zh-Hans"),
            // Labelled wrongly on purpose: a handoff where none is expected, and a handoff
            // expected where the bot answers an FAQ.
            line("给我找个真人", "logistics.where", "zh-Hans"),
            line("查物流", "handoff.human", "zh-Hans"),
            line("hello", "greeting", "en"),
            line("hello", "thanks", "en"),
        ];
        let r = evaluate(&engine, &lines, None);
        assert_eq!(r.overall, Tally { right: 3, total: 6 });
        assert_eq!(
            r.groups[&("en".to_owned(), "plain".to_owned())],
            Tally { right: 1, total: 2 }
        );
        assert_eq!(r.handoffs_expected, 2);
        assert_eq!(r.handoff_misses.len(), 1);
        assert_eq!(r.handoff_misses[0].text, "查物流");
        assert_eq!(r.false_handoffs.len(), 1);
        assert_eq!(r.false_handoffs[0].text, "给我找个真人");
        assert_eq!(r.wrong.len(), 3);
        let mut out = Vec::new();
        r.write(&mut out, true).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(
            out.starts_with("overall                0.500 (3/6)"),
            "{out}"
        );
        assert!(out.contains("handoff misses         1 of 2"), "{out}");
    }

    #[test]
    fn a_bad_line_is_named() {
        let e =
            parse_labelled("{\"text\":\"a\",\"expect\":\"b\",\"lang\":\"en\"}\n\n{\"text\":1}\n")
                .unwrap_err();
        assert!(e.starts_with("line 3"), "{e}");
        let ok = parse_labelled("{\"text\":\"a\",\"expect\":\"b\",\"lang\":\"en\"}\n").unwrap();
        assert_eq!(ok[0].style, "plain");
    }
}
