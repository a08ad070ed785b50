//! What the bot understood of one message and what it answers.

use super::text::Language;

/// Why the bot hands the customer to a person.
pub mod reason {
    pub const HUMAN_REQUEST: &str = "human_request";
    pub const COMPLAINT: &str = "complaint";
    pub const FAQ_HANDOFF: &str = "faq_handoff";
    pub const NEGATIVE_SENTIMENT: &str = "negative_sentiment";
}

/// The bot's understanding of one message and what it answers.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    /// The FAQ answered with (or handed off through); `None` for small talk, suggestions and
    /// the fallback.
    pub faq_id: Option<String>,
    /// The FAQ's intent, or `greeting`, `thanks`, `fallback`.
    pub intent: String,
    /// The FAQ's action (`logistics_lookup`, `handoff`, …).
    pub action: Option<String>,
    /// In [0, 1]: the share of the message the best FAQ explains, lowered when a second FAQ
    /// explains it almost as well. 1 for small talk and explicit handoff requests.
    pub confidence: f64,
    /// The text for the customer, in their script (English system texts for English).
    pub answer: String,
    /// A person must take over.
    pub handoff: bool,
    /// `human_request`, `complaint`, `faq_handoff`, `negative_sentiment`, or empty.
    pub reason: String,
    /// Standard questions offered when unsure (customer's script), best first.
    pub suggestions: Vec<String>,
    /// The FAQ ids of `suggestions`.
    pub suggestion_ids: Vec<String>,
    pub language: Language,
    /// In [-1, 1]; at or below [`super::signals::STRONG_NEGATIVE`] the bot hands off.
    pub sentiment: f64,
    /// The bot did not answer the question (suggestions or fallback, no handoff); small talk
    /// is not a miss.
    pub miss: bool,
}
