//! The states QA keeps in text columns.

kefu_store::text_enum! {
    /// Whether the conversation is still going on.
    pub enum ConversationStatus {
        Open = "open",
        Closed = "closed",
    }
}

kefu_store::text_enum! {
    /// Who found a finding.
    pub enum Origin {
        /// The engine, in real time or at close.
        Auto = "auto",
        /// A reviewer.
        Manual = "manual",
    }
}

kefu_store::text_enum! {
    /// A finding's standing after human review.
    pub enum FindingStatus {
        /// Not reviewed (counts towards the score).
        Open = "open",
        Confirmed = "confirmed",
        /// Rejected by a reviewer or withdrawn by a settled appeal: no longer counts.
        Rejected = "rejected",
    }
}

kefu_store::text_enum! {
    /// A review assignment's state.
    pub enum ReviewStatus {
        Open = "open",
        Done = "done",
    }
}

kefu_store::text_enum! {
    /// Where an agent's appeal of a result stands.
    pub enum AppealStatus {
        None = "",
        Open = "open",
        Upheld = "upheld",
        Dismissed = "dismissed",
    }
}

kefu_store::json_text! {
    /// Each scorecard category's own score.
    pub struct Categories(pub Vec<(String, u32)>);
}
