//! The inspection engine: a policy ([`kefu_crd::QaPolicySpec`]) compiled into rules, run on a
//! conversation message by message as it happens and as a whole when it ends, and scored.
//! Pure: no database, no bus, no clock — the QA service and `kefu qa check` call the same
//! functions.
//!
//! - [`transcript`]: messages with a role, text and time; the JSON-lines transcript format.
//! - [`text`]: the normalised form every rule matches; [`phrases`]: phrase automata;
//!   [`similarity`]: lexical similarity of texts.
//! - [`detect`]: the semantic detectors (trained classifiers, checksummed numbers, cues).
//! - [`rules`]: the compiled [`Policy`] — [`Policy::inspect`] (real time), [`Policy::finish`]
//!   (whole conversation), [`Policy::evaluate`] (both, with the [`score`]).
//! - [`check`]: `kefu qa check`'s line format.

pub mod check;
pub mod detect;
pub mod phrases;
pub mod rules;
pub mod score;
pub mod similarity;
pub mod text;
pub mod transcript;

pub use rules::{Inspection, Policy, Report, Rule, Violation};
pub use score::Score;
pub use transcript::{Message, Role, Transcript};

/// Loads what the engine needs before the first message (classifiers, cue lists, OpenCC).
pub fn warm_up() {
    kefu_text::warm_up();
    detect::warm_up();
}
