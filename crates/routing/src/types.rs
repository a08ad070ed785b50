//! The engine's inputs and outputs: policy, queues, agents, waiting conversations, decisions.

use super::*;

/// How an agent is chosen among the eligible ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Lowest load/capacity ratio on the conversation's channel type; spreads work evenly.
    #[default]
    LeastLoad,
    /// Least recently assigned agent first; rotates work regardless of load.
    RoundRobin,
    /// Agent idle (load zero) for the longest time first.
    LongestIdle,
}

/// Weights of the priority terms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Weights {
    /// Multiplies the tier weight looked up in [`Policy::tier_weights`].
    pub tier: f64,
    /// Multiplies [`Page::score`].
    pub page: f64,
    /// Added once for a conversation with negative sentiment.
    pub sentiment: f64,
    /// Per second waited since `enqueued_ms`: keeps old conversations from starving.
    pub aging: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Self {
            tier: 1.0,
            page: 2.0,
            sentiment: 1.5,
            aging: 0.1,
        }
    }
}

/// A tenant's routing policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Policy {
    pub strategy: Strategy,
    pub weights: Weights,
    /// How long an offer may stay unanswered; enforced by the session service, kept here so
    /// the whole policy travels together.
    pub accept_timeout_ms: u64,
    /// After this much waiting (since `enqueued_ms`) skills are ignored; merchant scope is not.
    pub skill_relaxation_ms: u64,
    /// Prefer the conversation's last agent when eligible.
    pub sticky: bool,
    /// Weight per customer tier name; unknown or missing tiers weigh 0.
    pub tier_weights: HashMap<String, f64>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            strategy: Strategy::LeastLoad,
            weights: Weights::default(),
            accept_timeout_ms: 30_000,
            skill_relaxation_ms: 120_000,
            sticky: true,
            tier_weights: HashMap::new(),
        }
    }
}

/// The storefront page the customer was on: a proxy for purchase intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Page {
    Checkout,
    Cart,
    Product,
    #[default]
    Other,
}

impl Page {
    /// `checkout`, `cart` or `product` (ASCII case-insensitive); anything else is `Other`.
    pub fn parse(s: &str) -> Page {
        let s = s.trim();
        if s.eq_ignore_ascii_case("checkout") {
            Page::Checkout
        } else if s.eq_ignore_ascii_case("cart") {
            Page::Cart
        } else if s.eq_ignore_ascii_case("product") {
            Page::Product
        } else {
            Page::Other
        }
    }

    /// Checkout 3 > cart 2 > product 1 > other 0: closer to paying ranks higher.
    pub fn score(self) -> f64 {
        match self {
            Page::Checkout => 3.0,
            Page::Cart => 2.0,
            Page::Product => 1.0,
            Page::Other => 0.0,
        }
    }
}

/// When a queue hands its waiting conversations to another queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverflowMode {
    #[default]
    Never,
    /// After `after_ms` in the queue, whatever the agents' state.
    Always,
    /// After `after_ms`, when no online agent of the queue has a free slot for the channel.
    Busy,
    /// After `after_ms`, when no agent of the queue is online at all.
    Offline,
}

/// Overflow rule of a queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overflow {
    pub to_queue: String,
    pub mode: OverflowMode,
    pub after_ms: u64,
}

/// A queue: who may serve it and how its conversations are ranked and moved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueDef {
    pub name: String,
    /// `None` is the platform queue, served by platform agents only.
    pub merchant: Option<String>,
    /// Required: an agent needs every one (until relaxation).
    pub skills: Vec<String>,
    /// Informational; language preference comes from the conversation.
    pub languages: Vec<String>,
    pub base_priority: f64,
    /// A live conversation older than this in the queue becomes a left message; 0 = never.
    pub timeout_ms: u64,
    pub overflow: Option<Overflow>,
}

/// Agent presence. Only `Online` agents receive new work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    Online,
    Busy,
    Away,
    #[default]
    Offline,
}

/// An agent as stored by the session service.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AgentDef {
    pub id: String,
    /// `None` = platform agent.
    pub merchant: Option<String>,
    pub skills: Vec<String>,
    pub languages: Vec<String>,
    /// Per channel type; key `"*"` is the default for channel types not listed.
    pub capacity: HashMap<String, u32>,
    pub status: AgentStatus,
    /// Current conversations per channel type.
    pub load: HashMap<String, u32>,
    pub last_assigned_ms: u64,
    pub idle_since_ms: u64,
}

/// A conversation waiting for an agent.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Waiting {
    pub conversation: String,
    pub queue: String,
    pub channel_type: String,
    pub tier: Option<String>,
    pub page: Page,
    pub negative: bool,
    pub language: Option<String>,
    pub last_agent: Option<String>,
    /// First entered waiting; kept across re-offers and transfers. Drives aging and SLA.
    pub enqueued_ms: u64,
    /// Entered the current queue. Drives overflow and timeout.
    pub queue_entered_ms: u64,
    /// Agents who let an offer expire: never offered this conversation again.
    pub excluded_agents: Vec<String>,
    pub left_message: bool,
}

/// A routing decision; the router has already applied it to its own state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub conversation: String,
    pub agent: String,
    pub queue: String,
    pub channel_type: String,
    /// The agent lacks some of the queue's skills: matched after skill relaxation.
    pub relaxed: bool,
    /// The conversation went back to its last agent.
    pub sticky: bool,
}

/// A change made by [`Router::housekeeping`], already applied to the router.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Move {
    Overflow {
        conversation: String,
        from: String,
        to: String,
    },
    LeftMessage {
        conversation: String,
        queue: String,
    },
}

/// Per-queue figures for the supervisor board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueStats {
    pub queue: String,
    /// Live waiting conversations (left messages excluded).
    pub waiting: usize,
    pub left_messages: usize,
    /// Longest wait since `enqueued_ms` among all the queue's conversations.
    pub longest_wait_ms: u64,
    /// Online agents who may serve the queue (merchant scope and skills).
    pub agents_online: usize,
    /// Free slots of those agents, summed over every channel type the router knows.
    pub free_slots: u64,
}
