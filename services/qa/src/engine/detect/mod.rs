//! The semantic detectors behind `agent_tone`, `customer_sentiment` and `sensitive_data`: what
//! no phrase list can cover, because the wording is new every time.
//!
//! - [`features`]: what a classifier sees of a message (character and word n-grams of the
//!   normalised text, number classes, negation scopes).
//! - [`model`]: a linear classifier and its deterministic training.
//! - Four classifiers are trained from the project's own labelled lines
//!   (`data/train/*.tsv`, Simplified, Traditional and English, written for this purpose) when
//!   a process first needs them — a fraction of a second — so the data is the source and there
//!   is no weight file to drift from it: rude agent lines (rude, impatient, blaming, sarcastic,
//!   dismissive) against polite or merely curt ones; angry or strongly negative customer lines
//!   against calm ones; agent lines that apologise or offer a concrete remedy against ones that
//!   restate a rule or deflect; agent lines that ask for or reveal a password, a verification
//!   code, a card or an ID number against harmless mentions. Held-out lines the training never
//!   sees (`tests/data/heldout/*.tsv`) measure them (`tests/classifiers.rs`, `kefu qa eval`).
//! - [`numbers`]: card and identity numbers recognised by their check digits.
//! - [`cues`]: greetings, closings, apologies and insults, where the wording is narrow.
//! - [`SentenceEncoder`]: where sentence embeddings join the n-grams when a model is available.

pub mod cues;
pub mod features;
pub mod model;
pub mod numbers;

use super::text::{Prepared, normalize};
use features::Features;
use model::{Example, LinearModel, Metrics, Training};
use std::sync::{Arc, LazyLock};

/// Dense sentence features (a multilingual sentence-embedding model) the classifiers can take
/// besides their hashed n-grams. None is built in yet; [`Detectors::train_with`] accepts one,
/// and the features it returns are learned alongside the n-grams.
pub trait SentenceEncoder: Send + Sync {
    /// The length of every vector [`Self::encode`] returns.
    fn dim(&self) -> usize;
    /// The vector of a normalised text.
    fn encode(&self, normalized: &str) -> Vec<f32>;
}

/// The four classifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Detector {
    /// Agent lines: rude, impatient, blaming, sarcastic or dismissive.
    Rude,
    /// Customer lines: angry or strongly negative.
    Angry,
    /// Agent lines: an apology or a concrete remedy.
    Remedy,
    /// Agent lines: asking for or revealing credentials, card or ID numbers.
    Sensitive,
}

impl Detector {
    pub const ALL: [Detector; 4] = [
        Detector::Rude,
        Detector::Angry,
        Detector::Remedy,
        Detector::Sensitive,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Detector::Rude => "tone",
            Detector::Angry => "anger",
            Detector::Remedy => "remedy",
            Detector::Sensitive => "sensitive",
        }
    }

    /// The training lines, compiled in.
    fn training_data(self) -> &'static str {
        match self {
            Detector::Rude => include_str!("../../../data/train/tone.tsv"),
            Detector::Angry => include_str!("../../../data/train/anger.tsv"),
            Detector::Remedy => include_str!("../../../data/train/remedy.tsv"),
            Detector::Sensitive => include_str!("../../../data/train/sensitive.tsv"),
        }
    }

    /// Other detectors' lines that are also examples *against* this one (`Some(label)`: only
    /// those with that label): a request for a card number is not rude, and no rude or polite
    /// remark asks for one, so each classifier also learns from the other files what ordinary
    /// agent talk looks like.
    fn borrowed_negatives(self) -> &'static [(Detector, Option<bool>)] {
        match self {
            Detector::Rude => &[(Detector::Sensitive, None), (Detector::Remedy, Some(true))],
            Detector::Sensitive => &[(Detector::Rude, None), (Detector::Remedy, None)],
            Detector::Angry | Detector::Remedy => &[],
        }
    }

    /// The probability at or above which a line is of the class, unless a rule sets
    /// `threshold`.
    pub fn default_threshold(self) -> f32 {
        0.5
    }
}

/// One labelled line of a training or held-out file: `label<TAB>language<TAB>text`, label
/// `1` for the class and `0` against it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Labelled {
    pub positive: bool,
    pub language: String,
    pub text: String,
}

/// Reads labelled lines; `#` starts a comment line. The error names the line.
pub fn parse_labelled(data: &str) -> Result<Vec<Labelled>, String> {
    let mut out = Vec::new();
    for (n, line) in data.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.splitn(3, '\t');
        let (Some(label), Some(language), Some(text)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!(
                "line {}: expected label<TAB>language<TAB>text",
                n + 1
            ));
        };
        let positive = match label {
            "1" => true,
            "0" => false,
            other => return Err(format!("line {}: label {other:?} is not 0 or 1", n + 1)),
        };
        if !matches!(language, "zh-Hans" | "zh-Hant" | "en") {
            return Err(format!("line {}: language {language:?}", n + 1));
        }
        out.push(Labelled {
            positive,
            language: language.to_owned(),
            text: text.trim().to_owned(),
        });
    }
    Ok(out)
}

/// The trained classifiers (and the encoder whose features they learned, if any).
pub struct Detectors {
    models: [LinearModel; 4],
    encoder: Option<Arc<dyn SentenceEncoder>>,
}

/// The built-in detectors, trained on first use.
pub static DETECTORS: LazyLock<Detectors> = LazyLock::new(|| Detectors::train_with(None));

/// Trains the built-in detectors now (a service does at start, not on its first message).
pub fn warm_up() {
    LazyLock::force(&DETECTORS);
    LazyLock::force(&cues::CUE_LISTS);
}

fn with_dense(mut f: Features, encoder: Option<&Arc<dyn SentenceEncoder>>, norm: &str) -> Features {
    if let Some(e) = encoder {
        f.dense = e.encode(norm);
    }
    f
}

impl Detectors {
    /// Trains the four classifiers on the built-in data, with `encoder`'s vectors as extra
    /// features when given.
    pub fn train_with(encoder: Option<Arc<dyn SentenceEncoder>>) -> Self {
        let read = |d: Detector| {
            parse_labelled(d.training_data())
                .unwrap_or_else(|e| panic!("data/train/{}.tsv: {e}", d.name()))
        };
        let models = Detector::ALL.map(|d| {
            let mut lines = read(d);
            for (other, label) in d.borrowed_negatives() {
                lines.extend(
                    read(*other)
                        .into_iter()
                        .filter(|l| label.is_none_or(|want| l.positive == want))
                        .map(|l| Labelled {
                            positive: false,
                            ..l
                        }),
                );
            }
            let examples: Vec<Example> = lines
                .iter()
                .map(|l| {
                    let norm = normalize(&l.text);
                    Example {
                        features: with_dense(Features::extract(&norm), encoder.as_ref(), &norm),
                        positive: l.positive,
                    }
                })
                .collect();
            LinearModel::train(&examples, Training::default())
        });
        Self { models, encoder }
    }

    /// The probability that the prepared message is of `detector`'s class.
    pub fn score(&self, detector: Detector, message: &Prepared) -> f32 {
        let model = &self.models[detector as usize];
        match &self.encoder {
            None => model.score(message.features()),
            Some(e) => {
                let f = with_dense(message.features().clone(), Some(e), &message.norm);
                model.score(&f)
            }
        }
    }

    /// Precision and recall of `detector` on labelled lines, at `threshold`, per language and
    /// overall (`"all"`).
    pub fn evaluate(
        &self,
        detector: Detector,
        lines: &[Labelled],
        threshold: f32,
    ) -> Vec<(String, Metrics)> {
        let mut per: Vec<(String, Metrics)> = ["zh-Hans", "zh-Hant", "en", "all"]
            .iter()
            .map(|l| ((*l).to_owned(), Metrics::default()))
            .collect();
        for l in lines {
            let predicted = self.score(detector, &Prepared::new(&l.text)) >= threshold;
            for (lang, m) in per.iter_mut() {
                if lang == &l.language || lang == "all" {
                    m.add(predicted, l.positive);
                }
            }
        }
        per.retain(|(_, m)| m.total() > 0);
        per
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_training_files_parse_and_cover_each_language_and_class() {
        for d in Detector::ALL {
            let lines = parse_labelled(d.training_data()).unwrap();
            for lang in ["zh-Hans", "zh-Hant", "en"] {
                for positive in [true, false] {
                    let n = lines
                        .iter()
                        .filter(|l| l.language == lang && l.positive == positive)
                        .count();
                    assert!(n >= 100, "{}: {lang} {positive}: only {n} lines", d.name());
                }
            }
        }
    }

    #[test]
    fn labelled_lines_are_checked() {
        assert!(parse_labelled("1\ten\tfine\n").is_ok());
        assert!(
            parse_labelled("x\ten\tbad label")
                .unwrap_err()
                .starts_with("line 1")
        );
        assert!(
            parse_labelled("# c\n1\tfr\ttext")
                .unwrap_err()
                .starts_with("line 2")
        );
        assert!(parse_labelled("1 en no tabs").is_err());
    }

    /// A toy encoder (the length of the text) is learned alongside the n-grams.
    #[test]
    fn an_encoder_adds_features() {
        struct Length;
        impl SentenceEncoder for Length {
            fn dim(&self) -> usize {
                1
            }
            fn encode(&self, normalized: &str) -> Vec<f32> {
                vec![normalized.chars().count() as f32 / 100.0]
            }
        }
        let d = Detectors::train_with(Some(Arc::new(Length)));
        let p = Prepared::new("你自己不会看吗？");
        let s = d.score(Detector::Rude, &p);
        assert!((0.0..=1.0).contains(&s));
    }
}
