//! Typed column values of the session's tables: states (text columns read as active enums) and
//! lists and maps kept as JSON text. See `kefu_store::values` for why text.

use kefu_proto::desk::Role;
use sea_orm::entity::prelude::*;
use std::collections::BTreeMap;

kefu_store::text_enum! {
    /// Where a handed-off conversation is in routing.
    #[derive(Default)]
    pub enum WorkState {
        /// In a queue, for the router to offer.
        #[default]
        Waiting = "waiting",
        /// Offered to an agent, who has until the offer expires to accept.
        Offered = "offered",
        /// An agent serves it.
        Active = "active",
        /// Queued outside the queue's hours: the customer left a message.
        LeftMessage = "left_message",
        Closed = "closed",
    }
}

impl WorkState {
    /// States that count against an agent's capacity.
    pub const OPEN: &[WorkState] = &[WorkState::Offered, WorkState::Active];
    /// States the router may hand out.
    pub const QUEUED: &[WorkState] = &[WorkState::Waiting, WorkState::LeftMessage];
    /// Every state but closed.
    pub const NOT_CLOSED: &[WorkState] = &[
        WorkState::Waiting,
        WorkState::Offered,
        WorkState::Active,
        WorkState::LeftMessage,
    ];

    pub fn is_queued(self) -> bool {
        Self::QUEUED.contains(&self)
    }
}

kefu_store::text_enum! {
    /// An agent's presence (the desk API's statuses); only `online` agents are offered work.
    pub enum Presence {
        Online = "online",
        Busy = "busy",
        Away = "away",
        Offline = "offline",
    }
}

impl Presence {
    /// Away and offline agents keep no offers.
    pub fn gone(self) -> bool {
        matches!(self, Presence::Away | Presence::Offline)
    }
}

kefu_store::text_enum! {
    /// Whether a conversation is going on; the customer's next message after close opens a
    /// new one.
    pub enum ConversationStatus {
        Open = "open",
        Closed = "closed",
    }
}

kefu_store::text_enum! {
    /// Who answers an open conversation.
    pub enum Mode {
        /// The bot answers.
        Bot = "bot",
        /// Handed off: waiting for (or with) a person; the bot stays quiet.
        Queued = "queued",
    }
}

kefu_store::text_enum! {
    /// Who wrote a message.
    pub enum Sender {
        Customer = "customer",
        Bot = "bot",
        Agent = "agent",
        /// A supervisor who joined, or whispered to the agent.
        Supervisor = "supervisor",
        /// Kefu itself: notices such as "an agent will be with you shortly".
        System = "system",
    }
}

kefu_store::json_text! {
    /// A list of names (skills, languages, tags, monitors, exclusions).
    pub struct Strings(pub Vec<String>);
}

impl Strings {
    pub fn contains(&self, s: &str) -> bool {
        self.0.iter().any(|x| x == s)
    }
}

kefu_store::json_text! {
    /// An agent's capacity per channel type (`*` for the rest).
    pub struct Capacity(pub BTreeMap<String, u32>);
}

impl Capacity {
    /// The capacity for one channel type (`*` when the type is not listed; 0 when neither).
    pub fn of(&self, channel_type: &str) -> u32 {
        self.0
            .get(channel_type)
            .or_else(|| self.0.get("*"))
            .copied()
            .unwrap_or(0)
    }
}

/// A desk account's role, stored by its name (the roles themselves are the desk's rules, in
/// `kefu_proto::desk::Role`). A row with a name that is not a role fails to read rather than
/// granting anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, DeriveValueType)]
#[sea_orm(
    value_type = "String",
    column_type = "Text",
    from_str = "AgentRole::parse",
    to_str = "AgentRole::name"
)]
pub struct AgentRole(pub Role);

impl AgentRole {
    fn parse(s: &str) -> Result<AgentRole, UnknownRole> {
        Role::parse(s).map(AgentRole).ok_or(UnknownRole)
    }

    fn name(&self) -> &'static str {
        self.0.as_str()
    }
}

impl Default for AgentRole {
    fn default() -> Self {
        AgentRole(Role::Agent)
    }
}

#[derive(Debug)]
pub struct UnknownRole;

impl std::fmt::Display for UnknownRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not a desk role (must be {})", Role::choices())
    }
}

impl std::error::Error for UnknownRole {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The desk API's statuses are exactly the stored presences.
    #[test]
    fn presences_are_the_desk_statuses() {
        let names: Vec<_> = Presence::ALL.iter().map(|p| p.as_str()).collect();
        assert_eq!(names, kefu_proto::desk::STATUSES);
    }

    #[test]
    fn roles_read_back_and_unknown_ones_fail() {
        for r in Role::ALL {
            assert_eq!(AgentRole::parse(AgentRole(r).name()).unwrap(), AgentRole(r));
        }
        assert!(AgentRole::parse("root").is_err());
    }

    #[test]
    fn capacity_falls_back_to_the_star() {
        let c = Capacity([("web".to_owned(), 2), ("*".to_owned(), 1)].into());
        assert_eq!((c.of("web"), c.of("email")), (2, 1));
        assert_eq!(Capacity::default().of("web"), 0);
    }
}
