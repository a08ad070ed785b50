//! Kefu's routing engine: decides which agent takes which waiting conversation.
//!
//! The engine is pure and in memory: no IO, no clock, no async. The session service builds
//! a [`Router`] for one tenant from a database snapshot, feeds it changes (agents going
//! online, conversations entering the queue, slots freed), asks it for decisions with an
//! explicit `now_ms`, and persists each decision with a conditional update. Because time is
//! always passed in, every behaviour here is reproducible in tests.
//!
//! **Priority.** A waiting conversation's priority is the queue's base priority plus weighted
//! customer tier, page (checkout > cart > product > other), negative sentiment and seconds
//! waited. Within one router the aging weight is shared, so `priority(t) = static + aging·(t −
//! enqueued)` and the ordering by the time-independent key `static − aging·enqueued` is the
//! same at every `t`: waiting conversations sit in ordered sets that never need re-sorting.
//! Left messages (conversations that timed out) always rank below every live conversation.
//!
//! **Eligibility.** An agent may take a conversation when Online, of the queue's merchant
//! scope (merchant agents for merchant queues, platform agents for the platform), holding
//! every skill the queue requires (ignored once the conversation has waited
//! `skill_relaxation_ms`), with spare capacity for the conversation's channel type, and not
//! among the agents who let an offer of it expire. Among eligible agents the last agent wins
//! when sticky, then speakers of the customer's language, then the strategy (least load,
//! round robin or longest idle).
//!
//! **Indexes.** Conversations are bucketed per (queue, channel type), each bucket split into
//! "fresh" and "relaxed" sets ordered by priority key; a global set orders the buckets by
//! their best conversation. Free agents sit in pools per (queue, channel type[, language])
//! and per (merchant scope, channel type[, language]) for relaxed matching, ordered by the
//! strategy key and updated on every load change. A decision therefore walks a handful of
//! ordered sets: O(log n) instead of scanning agents or conversations. Housekeeping
//! (overflow and timeouts) reads per-bucket sets ordered by time entered, touching only the
//! conversations that actually move.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

#[cfg(test)]
mod tests;

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

// ---------------------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------------------

/// FxHash-style hasher for the internal integer-keyed maps: SipHash would dominate a
/// decision's cost, and these keys are never attacker-chosen strings.
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.add(u64::from(b));
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Pool language meaning "any language".
const ANY_LANG: u32 = u32::MAX;
/// Pool scopes with this bit are merchant scopes (relaxed matching); others are queue ids.
const SCOPE_BIT: u32 = 1 << 31;

fn merchant_scope(merchant: Option<u32>) -> u32 {
    SCOPE_BIT | merchant.map_or(0, |m| m + 1)
}

/// Primary language subtag, lower-cased: `zh-Hans` and `zh` match.
fn primary_subtag(tag: &str) -> String {
    tag.split(['-', '_'])
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct PoolKey {
    scope: u32,
    channel: u32,
    lang: u32,
}

/// Position of a free agent in a pool: strategy key, then agent id for ties.
#[derive(Clone, Debug)]
struct AKey {
    k1: u64,
    k2: u64,
    id: Arc<str>,
    idx: u32,
}

impl Ord for AKey {
    fn cmp(&self, o: &Self) -> Ordering {
        (self.k1, self.k2)
            .cmp(&(o.k1, o.k2))
            .then_with(|| self.id.cmp(&o.id))
            .then(self.idx.cmp(&o.idx))
    }
}
impl PartialOrd for AKey {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl PartialEq for AKey {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for AKey {}

/// Position of a waiting conversation: smaller = served first. Live before left messages,
/// then higher time-independent priority key, then earlier enqueued, then conversation id.
#[derive(Clone, Debug)]
struct WKey {
    live: bool,
    prio: f64,
    enq: u64,
    id: Arc<str>,
    slot: u32,
}

impl Ord for WKey {
    fn cmp(&self, o: &Self) -> Ordering {
        o.live
            .cmp(&self.live)
            .then(o.prio.total_cmp(&self.prio))
            .then(self.enq.cmp(&o.enq))
            .then_with(|| self.id.cmp(&o.id))
            .then(self.slot.cmp(&o.slot))
    }
}
impl PartialOrd for WKey {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl PartialEq for WKey {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for WKey {}

#[derive(Default)]
struct Interner {
    map: HashMap<Arc<str>, u32>,
    names: Vec<Arc<str>>,
}

impl Interner {
    fn get(&self, s: &str) -> Option<u32> {
        self.map.get(s).copied()
    }
    /// Returns the id and whether it is new.
    fn intern(&mut self, s: &str) -> (u32, bool) {
        if let Some(&id) = self.map.get(s) {
            return (id, false);
        }
        let id = self.names.len() as u32;
        let name: Arc<str> = Arc::from(s);
        self.names.push(name.clone());
        self.map.insert(name, id);
        (id, true)
    }
    fn name(&self, id: u32) -> &Arc<str> {
        &self.names[id as usize]
    }
}

#[derive(Default)]
struct QueueState {
    def: Option<QueueDef>,
    merchant: Option<u32>,
    skills: Vec<u32>,
    /// Agents who may serve the queue (any status).
    agents: BTreeSet<u32>,
    /// How many of them are Online.
    online: usize,
    buckets: Vec<u32>,
}

struct AgentState {
    def: AgentDef,
    id: Arc<str>,
    merchant: Option<u32>,
    skills: Vec<u32>,
    langs: Vec<u32>,
    default_cap: u32,
    /// Per channel id.
    cap: Vec<u32>,
    load: Vec<u32>,
    total_load: u64,
    last_assigned: u64,
    idle_since: u64,
    /// Queues the agent may serve, by id.
    queues: Vec<u32>,
    /// Per channel id: the key under which the agent sits in that channel's pools, if any.
    indexed: Vec<Option<AKey>>,
}

struct Entry {
    w: Waiting,
    key: WKey,
    bucket: u32,
    relaxed: bool,
    lang: Option<u32>,
}

/// Conversations of one (queue, channel type).
struct Bucket {
    queue: u32,
    channel: u32,
    /// `[fresh, relaxed]`, ordered by [`WKey`]. Sub-bucket id = bucket * 2 + index.
    sets: [BTreeSet<WKey>; 2],
    /// Live conversations by (queue_entered_ms, slot): overflow and timeout candidates.
    by_entered: BTreeSet<(u64, u32)>,
    /// All conversations by (enqueued_ms, slot): longest wait.
    by_enqueued: BTreeSet<(u64, u32)>,
}

fn agent_key(strategy: Strategy, a: &AgentState, idx: u32, ch: usize) -> AKey {
    let (k1, k2) = match strategy {
        Strategy::LeastLoad => (
            (f64::from(a.load[ch]) / f64::from(a.cap[ch])).to_bits(),
            a.last_assigned,
        ),
        Strategy::RoundRobin => (a.last_assigned, 0),
        Strategy::LongestIdle => (a.idle_since, 0),
    };
    AKey {
        k1,
        k2,
        id: a.id.clone(),
        idx,
    }
}

fn agent_pools(a: &AgentState, ch: u32, out: &mut Vec<PoolKey>) {
    out.clear();
    let scopes = a
        .queues
        .iter()
        .copied()
        .chain(std::iter::once(merchant_scope(a.merchant)));
    for scope in scopes {
        out.push(PoolKey {
            scope,
            channel: ch,
            lang: ANY_LANG,
        });
        for &lang in &a.langs {
            out.push(PoolKey {
                scope,
                channel: ch,
                lang,
            });
        }
    }
}

fn serves(q: &QueueState, a: &AgentState) -> bool {
    q.def.is_some()
        && q.merchant == a.merchant
        && q.skills.iter().all(|s| a.skills.binary_search(s).is_ok())
}

fn set_insert(buckets: &mut [Bucket], order: &mut BTreeSet<(WKey, u32)>, sb: u32, key: WKey) {
    let set = &mut buckets[(sb >> 1) as usize].sets[(sb & 1) as usize];
    if set.first().is_none_or(|top| key < *top) {
        if let Some(top) = set.first() {
            order.remove(&(top.clone(), sb));
        }
        order.insert((key.clone(), sb));
    }
    set.insert(key);
}

fn set_remove(buckets: &mut [Bucket], order: &mut BTreeSet<(WKey, u32)>, sb: u32, key: &WKey) {
    let set = &mut buckets[(sb >> 1) as usize].sets[(sb & 1) as usize];
    let was_top = set.first() == Some(key);
    set.remove(key);
    if was_top {
        order.remove(&(key.clone(), sb));
        if let Some(top) = set.first() {
            order.insert((top.clone(), sb));
        }
    }
}

/// The routing engine of one tenant. See the crate docs for the model.
pub struct Router {
    policy: Policy,
    channels: Interner,
    langs: Interner,
    skills: Interner,
    merchants: Interner,
    queue_ids: Interner,
    queues: Vec<QueueState>,
    agent_ids: HashMap<Arc<str>, u32>,
    agents: Vec<Option<AgentState>>,
    convs: HashMap<Arc<str>, u32>,
    slots: Vec<Option<Entry>>,
    free: Vec<u32>,
    buckets: Vec<Bucket>,
    bucket_map: FxMap<(u32, u32), u32>,
    /// Sub-buckets by their best conversation.
    order: BTreeSet<(WKey, u32)>,
    /// Not yet relaxed conversations by (enqueued_ms, slot): promoted as time passes.
    fresh: BTreeSet<(u64, u32)>,
    pools: FxMap<PoolKey, BTreeSet<AKey>>,
    scratch: Vec<PoolKey>,
}

impl Default for Router {
    fn default() -> Self {
        Self::new(Policy::default())
    }
}

impl Router {
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            channels: Interner::default(),
            langs: Interner::default(),
            skills: Interner::default(),
            merchants: Interner::default(),
            queue_ids: Interner::default(),
            queues: Vec::new(),
            agent_ids: HashMap::new(),
            agents: Vec::new(),
            convs: HashMap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            buckets: Vec::new(),
            bucket_map: FxMap::default(),
            order: BTreeSet::new(),
            fresh: BTreeSet::new(),
            pools: FxMap::default(),
            scratch: Vec::new(),
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    // ----- channels, queues -----

    /// Interns a channel type. A new one gives every agent its `"*"` capacity there.
    fn channel(&mut self, name: &str) -> u32 {
        let (ch, new) = self.channels.intern(name);
        if new {
            for idx in 0..self.agents.len() {
                if let Some(a) = self.agents[idx].as_mut() {
                    a.cap.push(a.default_cap);
                    a.load.push(0);
                    a.indexed.push(None);
                    self.index(idx as u32, ch);
                }
            }
        }
        ch
    }

    fn queue_id(&mut self, name: &str) -> u32 {
        let (q, new) = self.queue_ids.intern(name);
        if new {
            self.queues.push(QueueState::default());
        }
        q
    }

    /// Adds or replaces a queue. Agents gaining or losing it are re-indexed; its waiting
    /// conversations are re-ranked when the base priority changed.
    pub fn upsert_queue(&mut self, def: QueueDef) {
        let qid = self.queue_id(&def.name);
        let merchant = def.merchant.as_deref().map(|m| self.merchants.intern(m).0);
        let mut skills: Vec<u32> = def.skills.iter().map(|s| self.skills.intern(s).0).collect();
        skills.sort_unstable();
        skills.dedup();
        let q = &mut self.queues[qid as usize];
        let rekey = q.def.as_ref().map(|d| d.base_priority) != Some(def.base_priority);
        q.def = Some(def);
        q.merchant = merchant;
        q.skills = skills;
        self.refresh_membership(qid);
        if rekey {
            let slots: Vec<u32> = self.queues[qid as usize]
                .buckets
                .iter()
                .flat_map(|&b| self.buckets[b as usize].by_enqueued.iter().map(|&(_, s)| s))
                .collect();
            for s in slots {
                self.unlink(s);
                self.place(s);
            }
        }
    }

    /// Removes a queue definition. Its conversations stay waiting (unservable) until the
    /// queue comes back or they are moved. Returns whether the queue was defined.
    pub fn remove_queue(&mut self, name: &str) -> bool {
        let Some(qid) = self.queue_ids.get(name) else {
            return false;
        };
        if self.queues[qid as usize].def.take().is_none() {
            return false;
        }
        self.refresh_membership(qid);
        self.pools.retain(|k, _| k.scope != qid);
        true
    }

    /// Recomputes which agents serve queue `qid`, re-indexing only those who change.
    fn refresh_membership(&mut self, qid: u32) {
        for idx in 0..self.agents.len() as u32 {
            let Some(a) = self.agents[idx as usize].as_ref() else {
                continue;
            };
            let was = a.queues.contains(&qid);
            let now = serves(&self.queues[qid as usize], a);
            if was == now {
                continue;
            }
            self.unindex_all(idx);
            let a = self.agents[idx as usize].as_mut().expect("agent");
            let q = &mut self.queues[qid as usize];
            let online = usize::from(a.def.status == AgentStatus::Online);
            if now {
                a.queues.push(qid);
                q.agents.insert(idx);
                q.online += online;
            } else {
                a.queues.retain(|&x| x != qid);
                q.agents.remove(&idx);
                q.online -= online;
            }
            self.index_all(idx);
        }
    }

    // ----- agents -----

    /// Adds or replaces an agent, including status, load and timestamps.
    pub fn upsert_agent(&mut self, def: AgentDef) {
        let idx = match self.agent_ids.get(def.id.as_str()) {
            Some(&idx) => {
                self.detach_agent(idx);
                idx
            }
            None => {
                let idx = self.agents.len() as u32;
                self.agents.push(None);
                self.agent_ids.insert(Arc::from(def.id.as_str()), idx);
                idx
            }
        };
        for name in def.capacity.keys().chain(def.load.keys()) {
            if name != "*" {
                self.channel(name);
            }
        }
        let merchant = def.merchant.as_deref().map(|m| self.merchants.intern(m).0);
        let mut skills: Vec<u32> = def.skills.iter().map(|s| self.skills.intern(s).0).collect();
        skills.sort_unstable();
        skills.dedup();
        let mut langs: Vec<u32> = def
            .languages
            .iter()
            .map(|l| self.langs.intern(&primary_subtag(l)).0)
            .collect();
        langs.sort_unstable();
        langs.dedup();
        let default_cap = def.capacity.get("*").copied().unwrap_or(0);
        let n = self.channels.names.len();
        let mut cap = vec![default_cap; n];
        let mut load = vec![0; n];
        for (name, &c) in &def.capacity {
            if let Some(ch) = self.channels.get(name) {
                cap[ch as usize] = c;
            }
        }
        for (name, &l) in &def.load {
            if let Some(ch) = self.channels.get(name) {
                load[ch as usize] = l;
            }
        }
        let mut a = AgentState {
            id: self.agent_id_arc(&def.id),
            merchant,
            skills,
            langs,
            default_cap,
            cap,
            total_load: load.iter().map(|&l| u64::from(l)).sum(),
            load,
            last_assigned: def.last_assigned_ms,
            idle_since: def.idle_since_ms,
            queues: Vec::new(),
            indexed: vec![None; n],
            def,
        };
        let online = usize::from(a.def.status == AgentStatus::Online);
        for (qid, q) in self.queues.iter_mut().enumerate() {
            if serves(q, &a) {
                a.queues.push(qid as u32);
                q.agents.insert(idx);
                q.online += online;
            }
        }
        self.agents[idx as usize] = Some(a);
        self.index_all(idx);
    }

    fn agent_id_arc(&self, id: &str) -> Arc<str> {
        self.agent_ids
            .get_key_value(id)
            .expect("agent id")
            .0
            .clone()
    }

    /// Unindexes an agent and removes it from its queues; leaves the slot empty.
    fn detach_agent(&mut self, idx: u32) -> Option<AgentState> {
        self.unindex_all(idx);
        let a = self.agents[idx as usize].take()?;
        let online = usize::from(a.def.status == AgentStatus::Online);
        for &qid in &a.queues {
            let q = &mut self.queues[qid as usize];
            q.agents.remove(&idx);
            q.online -= online;
        }
        Some(a)
    }

    /// Removes an agent (e.g. account deleted). Returns whether it existed.
    pub fn remove_agent(&mut self, id: &str) -> bool {
        let Some(&idx) = self.agent_ids.get(id) else {
            return false;
        };
        self.detach_agent(idx).is_some()
    }

    /// Changes an agent's presence. Returns whether the agent exists.
    pub fn set_status(&mut self, id: &str, status: AgentStatus) -> bool {
        let Some(&idx) = self.agent_ids.get(id) else {
            return false;
        };
        if self.agents[idx as usize].is_none() {
            return false;
        }
        self.unindex_all(idx);
        let a = self.agents[idx as usize].as_mut().expect("agent");
        let was = a.def.status == AgentStatus::Online;
        let now = status == AgentStatus::Online;
        a.def.status = status;
        if was != now {
            for &qid in &a.queues {
                let q = &mut self.queues[qid as usize];
                if now {
                    q.online += 1;
                } else {
                    q.online -= 1;
                }
            }
        }
        self.index_all(idx);
        true
    }

    /// A conversation of `channel_type` ended or was handed off: frees one slot. When the
    /// agent's total load reaches zero it becomes idle from `now_ms`. Returns whether a slot
    /// was actually freed.
    pub fn release(&mut self, agent: &str, channel_type: &str, now_ms: u64) -> bool {
        let Some(&idx) = self.agent_ids.get(agent) else {
            return false;
        };
        let Some(ch) = self.channels.get(channel_type) else {
            return false;
        };
        let Some(a) = self.agents[idx as usize].as_ref() else {
            return false;
        };
        if a.load[ch as usize] == 0 {
            return false;
        }
        let all = a.total_load == 1 && self.policy.strategy == Strategy::LongestIdle;
        if all {
            self.unindex_all(idx);
        } else {
            self.unindex(idx, ch);
        }
        let a = self.agents[idx as usize].as_mut().expect("agent");
        a.load[ch as usize] -= 1;
        a.total_load -= 1;
        if a.total_load == 0 {
            a.idle_since = now_ms;
        }
        if all {
            self.index_all(idx);
        } else {
            self.index(idx, ch);
        }
        true
    }

    /// Current load of an agent on a channel type.
    pub fn load(&self, agent: &str, channel_type: &str) -> Option<u32> {
        let a = self.agents[*self.agent_ids.get(agent)? as usize].as_ref()?;
        Some(
            self.channels
                .get(channel_type)
                .map_or(0, |ch| a.load[ch as usize]),
        )
    }

    /// The agent as the router sees it now (status, load and timestamps included), for
    /// persisting or display.
    pub fn agent(&self, id: &str) -> Option<AgentDef> {
        let a = self.agents[*self.agent_ids.get(id)? as usize].as_ref()?;
        let mut def = a.def.clone();
        def.load = a
            .load
            .iter()
            .enumerate()
            .filter(|&(_, &l)| l > 0)
            .map(|(ch, &l)| (self.channels.name(ch as u32).to_string(), l))
            .collect();
        def.last_assigned_ms = a.last_assigned;
        def.idle_since_ms = a.idle_since;
        Some(def)
    }

    fn assign(&mut self, idx: u32, ch: u32, now_ms: u64) {
        // Round robin and least-load ties read last_assigned on every channel.
        let all = self.policy.strategy != Strategy::LongestIdle;
        if all {
            self.unindex_all(idx);
        } else {
            self.unindex(idx, ch);
        }
        let a = self.agents[idx as usize].as_mut().expect("agent");
        a.load[ch as usize] += 1;
        a.total_load += 1;
        a.last_assigned = now_ms;
        if all {
            self.index_all(idx);
        } else {
            self.index(idx, ch);
        }
    }

    fn unindex(&mut self, idx: u32, ch: u32) {
        let Some(a) = self.agents[idx as usize].as_mut() else {
            return;
        };
        let Some(key) = a.indexed[ch as usize].take() else {
            return;
        };
        agent_pools(a, ch, &mut self.scratch);
        for pk in &self.scratch {
            if let Some(set) = self.pools.get_mut(pk) {
                set.remove(&key);
            }
        }
    }

    fn index(&mut self, idx: u32, ch: u32) {
        let Some(a) = self.agents[idx as usize].as_mut() else {
            return;
        };
        let c = ch as usize;
        if a.def.status != AgentStatus::Online || a.load[c] >= a.cap[c] || a.indexed[c].is_some() {
            return;
        }
        let key = agent_key(self.policy.strategy, a, idx, c);
        agent_pools(a, ch, &mut self.scratch);
        for pk in &self.scratch {
            self.pools.entry(*pk).or_default().insert(key.clone());
        }
        a.indexed[c] = Some(key);
    }

    fn unindex_all(&mut self, idx: u32) {
        for ch in 0..self.channels.names.len() as u32 {
            self.unindex(idx, ch);
        }
    }

    fn index_all(&mut self, idx: u32) {
        for ch in 0..self.channels.names.len() as u32 {
            self.index(idx, ch);
        }
    }

    fn pool(&self, scope: u32, channel: u32, lang: u32) -> Option<&BTreeSet<AKey>> {
        self.pools
            .get(&PoolKey {
                scope,
                channel,
                lang,
            })
            .filter(|s| !s.is_empty())
    }

    // ----- waiting conversations -----

    /// Priority at `now_ms` (higher is served first). Left messages rank below every live
    /// conversation whatever this number says.
    pub fn priority(&self, w: &Waiting, now_ms: u64) -> f64 {
        self.static_priority(w)
            + self.policy.weights.aging * (now_ms.saturating_sub(w.enqueued_ms) as f64 / 1000.0)
    }

    fn static_priority(&self, w: &Waiting) -> f64 {
        let p = &self.policy;
        let base = self
            .queue_ids
            .get(&w.queue)
            .and_then(|q| self.queues[q as usize].def.as_ref())
            .map_or(0.0, |d| d.base_priority);
        let tier = w
            .tier
            .as_ref()
            .and_then(|t| p.tier_weights.get(t))
            .copied()
            .unwrap_or(0.0);
        base + p.weights.tier * tier
            + p.weights.page * w.page.score()
            + if w.negative { p.weights.sentiment } else { 0.0 }
    }

    /// Adds a waiting conversation, or replaces the one with the same id.
    pub fn enqueue(&mut self, w: Waiting) {
        let slot = match self.convs.get(w.conversation.as_str()) {
            Some(&slot) => {
                self.unlink(slot);
                slot
            }
            None => {
                let slot = self.free.pop().unwrap_or_else(|| {
                    self.slots.push(None);
                    (self.slots.len() - 1) as u32
                });
                self.convs.insert(Arc::from(w.conversation.as_str()), slot);
                slot
            }
        };
        let id = self
            .convs
            .get_key_value(w.conversation.as_str())
            .expect("conv")
            .0
            .clone();
        let key = WKey {
            live: true,
            prio: 0.0,
            enq: 0,
            id,
            slot,
        };
        self.slots[slot as usize] = Some(Entry {
            w,
            key,
            bucket: 0,
            relaxed: false,
            lang: None,
        });
        self.place(slot);
    }

    /// Removes a waiting conversation (customer left, offer accepted elsewhere...).
    pub fn remove(&mut self, conversation: &str) -> Option<Waiting> {
        let slot = self.convs.remove(conversation)?;
        Some(self.take_slot(slot))
    }

    fn take_slot(&mut self, slot: u32) -> Waiting {
        self.unlink(slot);
        self.free.push(slot);
        self.slots[slot as usize].take().expect("entry").w
    }

    pub fn get(&self, conversation: &str) -> Option<&Waiting> {
        let slot = *self.convs.get(conversation)?;
        self.slots[slot as usize].as_ref().map(|e| &e.w)
    }

    /// Waiting conversations, left messages included.
    pub fn waiting_len(&self) -> usize {
        self.convs.len()
    }

    /// Computes an entry's queue, channel, bucket, language and key from its `Waiting`, then
    /// links it into the indexes.
    fn place(&mut self, slot: u32) {
        let e = self.slots[slot as usize].as_ref().expect("entry");
        let queue = e.w.queue.clone();
        let channel = e.w.channel_type.clone();
        let lang = e.w.language.as_deref().map(primary_subtag);
        let prio = self.static_priority(&e.w)
            - self.policy.weights.aging * (e.w.enqueued_ms as f64 / 1000.0);
        let qid = self.queue_id(&queue);
        let ch = self.channel(&channel);
        let lang = lang.map(|l| self.langs.intern(&l).0);
        let bucket = match self.bucket_map.get(&(qid, ch)) {
            Some(&b) => b,
            None => {
                let b = self.buckets.len() as u32;
                self.buckets.push(Bucket {
                    queue: qid,
                    channel: ch,
                    sets: [BTreeSet::new(), BTreeSet::new()],
                    by_entered: BTreeSet::new(),
                    by_enqueued: BTreeSet::new(),
                });
                self.bucket_map.insert((qid, ch), b);
                self.queues[qid as usize].buckets.push(b);
                b
            }
        };
        let e = self.slots[slot as usize].as_mut().expect("entry");
        e.bucket = bucket;
        e.lang = lang;
        e.key.live = !e.w.left_message;
        e.key.prio = prio;
        e.key.enq = e.w.enqueued_ms;
        self.link(slot);
    }

    fn link(&mut self, slot: u32) {
        let e = self.slots[slot as usize].as_ref().expect("entry");
        let sb = e.bucket * 2 + u32::from(e.relaxed);
        let b = &mut self.buckets[e.bucket as usize];
        if !e.w.left_message {
            b.by_entered.insert((e.w.queue_entered_ms, slot));
        }
        b.by_enqueued.insert((e.w.enqueued_ms, slot));
        if !e.relaxed {
            self.fresh.insert((e.w.enqueued_ms, slot));
        }
        set_insert(&mut self.buckets, &mut self.order, sb, e.key.clone());
    }

    fn unlink(&mut self, slot: u32) {
        let e = self.slots[slot as usize].as_ref().expect("entry");
        let sb = e.bucket * 2 + u32::from(e.relaxed);
        let b = &mut self.buckets[e.bucket as usize];
        if !e.w.left_message {
            b.by_entered.remove(&(e.w.queue_entered_ms, slot));
        }
        b.by_enqueued.remove(&(e.w.enqueued_ms, slot));
        if !e.relaxed {
            self.fresh.remove(&(e.w.enqueued_ms, slot));
        }
        set_remove(&mut self.buckets, &mut self.order, sb, &e.key);
    }

    /// Moves conversations that have waited `skill_relaxation_ms` to their relaxed sets.
    fn promote(&mut self, now_ms: u64) {
        let r = self.policy.skill_relaxation_ms;
        while let Some(&(enq, slot)) = self.fresh.first() {
            if enq.saturating_add(r) > now_ms {
                break;
            }
            self.unlink(slot);
            self.slots[slot as usize].as_mut().expect("entry").relaxed = true;
            self.link(slot);
        }
    }

    // ----- decisions -----

    /// Assigns the highest-priority waiting conversation that can be served right now, if
    /// any, and applies it (agent load +1, conversation removed).
    pub fn decide(&mut self, now_ms: u64) -> Option<Assignment> {
        self.promote(now_ms);
        let mut best: Option<(WKey, u32, bool)> = None;
        for (top, sb) in &self.order {
            if best.as_ref().is_some_and(|b| *top >= b.0) {
                break;
            }
            let bucket = &self.buckets[(sb >> 1) as usize];
            let relaxed = sb & 1 == 1;
            let q = &self.queues[bucket.queue as usize];
            if q.def.is_none() {
                continue;
            }
            let scope = if relaxed {
                merchant_scope(q.merchant)
            } else {
                bucket.queue
            };
            if self.pool(scope, bucket.channel, ANY_LANG).is_none() {
                continue;
            }
            for key in &bucket.sets[usize::from(relaxed)] {
                if best.as_ref().is_some_and(|b| *key >= b.0) {
                    break;
                }
                let e = self.slots[key.slot as usize].as_ref().expect("entry");
                if let Some((agent, sticky)) = self.choose(e, bucket, scope, relaxed) {
                    best = Some((key.clone(), agent, sticky));
                    break;
                }
            }
        }
        let (key, agent, sticky) = best?;
        let slot = key.slot;
        self.convs.remove(&*key.id);
        let bucket = self.slots[slot as usize].as_ref().expect("entry").bucket;
        let w = self.take_slot(slot);
        let (qid, ch) = {
            let b = &self.buckets[bucket as usize];
            (b.queue, b.channel)
        };
        self.assign(agent, ch, now_ms);
        let a = self.agents[agent as usize].as_ref().expect("agent");
        Some(Assignment {
            conversation: w.conversation,
            agent: a.id.to_string(),
            queue: w.queue,
            channel_type: w.channel_type,
            relaxed: !a.queues.contains(&qid),
            sticky,
        })
    }

    /// Repeats [`Router::decide`] until nothing more can be assigned.
    pub fn decide_all(&mut self, now_ms: u64) -> Vec<Assignment> {
        std::iter::from_fn(|| self.decide(now_ms)).collect()
    }

    /// Picks the agent for one conversation: sticky, then language speakers, then strategy
    /// order (the pools are sorted by strategy key). Returns (agent, sticky).
    fn choose(&self, e: &Entry, bucket: &Bucket, scope: u32, relaxed: bool) -> Option<(u32, bool)> {
        let ch = bucket.channel;
        let excluded = |id: &str| e.w.excluded_agents.iter().any(|x| x == id);
        if self.policy.sticky
            && let Some(last) = e.w.last_agent.as_deref()
            && let Some(&idx) = self.agent_ids.get(last)
            && let Some(a) = self.agents[idx as usize].as_ref()
            && a.indexed[ch as usize].is_some()
            && a.merchant == self.queues[bucket.queue as usize].merchant
            && (relaxed || a.queues.contains(&bucket.queue))
            && !excluded(&a.id)
        {
            return Some((idx, true));
        }
        let first = |lang: u32| {
            self.pool(scope, ch, lang)?
                .iter()
                .find(|k| !excluded(&k.id))
                .map(|k| (k.idx, false))
        };
        if let Some(lang) = e.lang
            && let Some(found) = first(lang)
        {
            return Some(found);
        }
        first(ANY_LANG)
    }

    // ----- housekeeping and stats -----

    /// Applies overflow and timeout rules at `now_ms`; returns what moved. Reads only the
    /// oldest conversations of each (queue, channel type), so it is cheap to run often.
    pub fn housekeeping(&mut self, now_ms: u64) -> Vec<Move> {
        let mut moves = Vec::new();
        for b in 0..self.buckets.len() {
            let (qid, ch) = (self.buckets[b].queue, self.buckets[b].channel);
            let q = &self.queues[qid as usize];
            let Some(def) = q.def.as_ref() else { continue };
            let (name, timeout) = (def.name.clone(), def.timeout_ms);
            if let Some(ov) = def.overflow.clone()
                && ov.to_queue != name
                && self
                    .queue_ids
                    .get(&ov.to_queue)
                    .is_some_and(|t| self.queues[t as usize].def.is_some())
            {
                let go = match ov.mode {
                    OverflowMode::Never => false,
                    OverflowMode::Always => true,
                    OverflowMode::Busy => self.pool(qid, ch, ANY_LANG).is_none(),
                    OverflowMode::Offline => q.online == 0,
                };
                if go {
                    for slot in self.due(b, ov.after_ms, now_ms) {
                        self.unlink(slot);
                        let e = self.slots[slot as usize].as_mut().expect("entry");
                        e.w.queue = ov.to_queue.clone();
                        e.w.queue_entered_ms = now_ms;
                        moves.push(Move::Overflow {
                            conversation: e.w.conversation.clone(),
                            from: name.clone(),
                            to: ov.to_queue.clone(),
                        });
                        self.place(slot);
                    }
                }
            }
            if timeout > 0 {
                for slot in self.due(b, timeout, now_ms) {
                    self.unlink(slot);
                    let e = self.slots[slot as usize].as_mut().expect("entry");
                    e.w.left_message = true;
                    moves.push(Move::LeftMessage {
                        conversation: e.w.conversation.clone(),
                        queue: name.clone(),
                    });
                    self.place(slot);
                }
            }
        }
        moves
    }

    /// Live conversations of bucket `b` that have been in the queue at least `after_ms`.
    fn due(&self, b: usize, after_ms: u64, now_ms: u64) -> Vec<u32> {
        self.buckets[b]
            .by_entered
            .iter()
            .take_while(|&&(entered, _)| entered.saturating_add(after_ms) <= now_ms)
            .map(|&(_, slot)| slot)
            .collect()
    }

    /// Figures per queue (defined, or holding conversations), sorted by queue name.
    pub fn queue_stats(&self, now_ms: u64) -> Vec<QueueStats> {
        let mut out: Vec<QueueStats> = self
            .queues
            .iter()
            .enumerate()
            .filter(|(_, q)| {
                q.def.is_some()
                    || q.buckets
                        .iter()
                        .any(|&b| !self.buckets[b as usize].by_enqueued.is_empty())
            })
            .map(|(qid, q)| {
                let mut s = QueueStats {
                    queue: self.queue_ids.name(qid as u32).to_string(),
                    waiting: 0,
                    left_messages: 0,
                    longest_wait_ms: 0,
                    agents_online: q.online,
                    free_slots: 0,
                };
                for &b in &q.buckets {
                    let b = &self.buckets[b as usize];
                    s.waiting += b.by_entered.len();
                    s.left_messages += b.by_enqueued.len() - b.by_entered.len();
                    if let Some(&(enq, _)) = b.by_enqueued.first() {
                        s.longest_wait_ms = s.longest_wait_ms.max(now_ms.saturating_sub(enq));
                    }
                }
                for &idx in &q.agents {
                    let a = self.agents[idx as usize].as_ref().expect("agent");
                    if a.def.status == AgentStatus::Online {
                        s.free_slots += a
                            .cap
                            .iter()
                            .zip(&a.load)
                            .map(|(&c, &l)| u64::from(c.saturating_sub(l)))
                            .sum::<u64>();
                    }
                }
                s
            })
            .collect();
        out.sort_by(|a, b| a.queue.cmp(&b.queue));
        out
    }
}
