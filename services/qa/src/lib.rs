//! The QA service: every conversation inspected, in real time and after it closes, scored,
//! sampled for human review, with alerts to supervisors and appeals for agents.
//!
//! - [`engine`]: the inspection engine (pure): policy → rules, message-by-message and
//!   whole-conversation evaluation, scoring. The service and `kefu qa check` share it.
//! - [`cli`]: `kefu qa check` and `kefu qa eval`.

pub mod cli;
pub mod engine;
