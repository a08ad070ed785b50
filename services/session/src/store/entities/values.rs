//! Typed column values: the states a row can be in (sea-orm active enums over text columns)
//! and lists kept as JSON text.
//!
//! Why text and not PostgreSQL enum or `jsonb` column types: the columns already exist as text
//! in deployed schemas (a type change is a table rewrite under an exclusive lock), SQLite has
//! neither type, and no query filters inside a list. The Rust side is what the typing is for:
//! a state is one of its variants, a list is a `Vec`, and no caller parses or formats them.

use kefu_proto::desk::Role;
use sea_orm::Iterable;
use sea_orm::entity::prelude::*;

/// Where a handed-off conversation is in routing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
pub enum WorkState {
    /// In a queue, for the router to offer.
    #[default]
    Waiting,
    /// Offered to an agent, who has until the offer expires to accept.
    Offered,
    /// An agent serves it.
    Active,
    /// Queued outside the queue's hours: the customer left a message.
    LeftMessage,
    Closed,
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

    /// The name the desk API and the stored rows use.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkState::Waiting => "waiting",
            WorkState::Offered => "offered",
            WorkState::Active => "active",
            WorkState::LeftMessage => "left_message",
            WorkState::Closed => "closed",
        }
    }

    pub fn is_queued(self) -> bool {
        Self::QUEUED.contains(&self)
    }

    pub fn is_open(self) -> bool {
        Self::OPEN.contains(&self)
    }
}

/// An agent's presence; only `online` agents are offered work.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
pub enum Presence {
    Online,
    Busy,
    Away,
    #[default]
    Offline,
}

impl Presence {
    /// The presence a desk request names (see `kefu_proto::desk::STATUSES`).
    pub fn parse(s: &str) -> Option<Presence> {
        Presence::iter().find(|p| p.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Presence::Online => "online",
            Presence::Busy => "busy",
            Presence::Away => "away",
            Presence::Offline => "offline",
        }
    }

    /// Away and offline agents keep no offers.
    pub fn gone(self) -> bool {
        matches!(self, Presence::Away | Presence::Offline)
    }
}

/// A list of strings kept as a JSON array in a text column (skills, tags, monitors, …). A row
/// written by hand with something else in it reads as the empty list.
#[derive(Clone, Debug, Default, PartialEq, Eq, DeriveValueType)]
#[sea_orm(
    value_type = "String",
    column_type = "Text",
    from_str = "Strings::parse",
    to_str = "Strings::json"
)]
pub struct Strings(pub Vec<String>);

impl Strings {
    fn parse(json: &str) -> Result<Strings, std::convert::Infallible> {
        Ok(Strings(serde_json::from_str(json).unwrap_or_default()))
    }

    fn json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "[]".to_owned())
    }

    pub fn contains(&self, s: &str) -> bool {
        self.0.iter().any(|x| x == s)
    }
}

impl From<Vec<String>> for Strings {
    fn from(v: Vec<String>) -> Self {
        Strings(v)
    }
}

impl std::ops::Deref for Strings {
    type Target = Vec<String>;
    fn deref(&self) -> &Vec<String> {
        &self.0
    }
}

/// An agent's capacity per channel type (`*` for the rest), kept as a JSON object.
#[derive(Clone, Debug, Default, PartialEq, Eq, DeriveValueType)]
#[sea_orm(
    value_type = "String",
    column_type = "Text",
    from_str = "Capacity::parse",
    to_str = "Capacity::json"
)]
pub struct Capacity(pub std::collections::BTreeMap<String, u32>);

impl Capacity {
    fn parse(json: &str) -> Result<Capacity, std::convert::Infallible> {
        Ok(Capacity(serde_json::from_str(json).unwrap_or_default()))
    }

    fn json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".to_owned())
    }

    /// The capacity for one channel type (`*` when the type is not listed; 0 when neither).
    pub fn of(&self, channel_type: &str) -> u32 {
        self.0
            .get(channel_type)
            .or_else(|| self.0.get("*"))
            .copied()
            .unwrap_or(0)
    }
}

/// Whether a conversation is going on; the customer's next message after close opens a new one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
pub enum ConversationStatus {
    #[default]
    Open,
    Closed,
}

/// Who answers an open conversation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
pub enum Mode {
    /// The bot answers.
    #[default]
    Bot,
    /// Handed off: waiting for (or with) a person; the bot stays quiet.
    Queued,
}

/// Who wrote a message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
pub enum Sender {
    #[default]
    Customer,
    Bot,
    Agent,
    /// A supervisor who joined, or whispered to the agent.
    Supervisor,
    /// Kefu itself: notices such as "an agent will be with you shortly".
    System,
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

impl ConversationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationStatus::Open => "open",
            ConversationStatus::Closed => "closed",
        }
    }
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Bot => "bot",
            Mode::Queued => "queued",
        }
    }
}

impl Sender {
    pub fn as_str(self) -> &'static str {
        match self {
            Sender::Customer => "customer",
            Sender::Bot => "bot",
            Sender::Agent => "agent",
            Sender::Supervisor => "supervisor",
            Sender::System => "system",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::ActiveEnum;

    /// `as_str` is the stored text, for every variant of every state.
    #[test]
    fn names_are_the_stored_values() {
        for v in WorkState::iter() {
            assert_eq!(v.as_str(), v.to_value());
        }
        for v in Presence::iter() {
            assert_eq!(v.as_str(), v.to_value());
            assert_eq!(Presence::parse(v.as_str()), Some(v));
        }
        for v in ConversationStatus::iter() {
            assert_eq!(v.as_str(), v.to_value());
        }
        for v in Mode::iter() {
            assert_eq!(v.as_str(), v.to_value());
        }
        for v in Sender::iter() {
            assert_eq!(v.as_str(), v.to_value());
        }
    }

    /// The desk API's statuses are exactly the stored presences.
    #[test]
    fn presences_are_the_desk_statuses() {
        let names: Vec<_> = Presence::iter().map(Presence::as_str).collect();
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
    fn lists_read_back_and_tolerate_junk() {
        let s = Strings(vec!["a".into(), "b\"c".into()]);
        assert_eq!(Strings::parse(&s.json()).unwrap(), s);
        assert_eq!(Strings::parse("not json").unwrap(), Strings::default());
        let c = Capacity([("web".to_owned(), 2), ("*".to_owned(), 1)].into());
        assert_eq!(Capacity::parse(&c.json()).unwrap(), c);
        assert_eq!((c.of("web"), c.of("email")), (2, 1));
        assert_eq!(Capacity::default().of("web"), 0);
    }
}
