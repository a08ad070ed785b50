//! The engine's indexes: interned ids, priority and strategy keys, the ordered sets.

use super::*;

/// The internal integer-keyed maps hash with rustc-hash's Fx: SipHash would dominate a
/// decision's cost, and these keys are never attacker-chosen strings.
pub(crate) type FxMap<K, V> = rustc_hash::FxHashMap<K, V>;

/// Pool language meaning "any language".
pub(crate) const ANY_LANG: u32 = u32::MAX;
/// Pool scopes with this bit are merchant scopes (relaxed matching); others are queue ids.
pub(crate) const SCOPE_BIT: u32 = 1 << 31;

pub(crate) fn merchant_scope(merchant: Option<u32>) -> u32 {
    SCOPE_BIT | merchant.map_or(0, |m| m + 1)
}

/// Primary language subtag, lower-cased: `zh-Hans` and `zh` match.
pub(crate) fn primary_subtag(tag: &str) -> String {
    tag.split(['-', '_'])
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct PoolKey {
    pub(crate) scope: u32,
    pub(crate) channel: u32,
    pub(crate) lang: u32,
}

/// Position of a free agent in a pool: strategy key, then agent id for ties.
#[derive(Clone, Debug)]
pub(crate) struct AKey {
    pub(crate) k1: u64,
    pub(crate) k2: u64,
    pub(crate) id: Arc<str>,
    pub(crate) idx: u32,
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
pub(crate) struct WKey {
    pub(crate) live: bool,
    pub(crate) prio: f64,
    pub(crate) enq: u64,
    pub(crate) id: Arc<str>,
    pub(crate) slot: u32,
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
pub(crate) struct Interner {
    pub(crate) map: HashMap<Arc<str>, u32>,
    pub(crate) names: Vec<Arc<str>>,
}

impl Interner {
    pub(crate) fn get(&self, s: &str) -> Option<u32> {
        self.map.get(s).copied()
    }
    /// Returns the id and whether it is new.
    pub(crate) fn intern(&mut self, s: &str) -> (u32, bool) {
        if let Some(&id) = self.map.get(s) {
            return (id, false);
        }
        let id = self.names.len() as u32;
        let name: Arc<str> = Arc::from(s);
        self.names.push(name.clone());
        self.map.insert(name, id);
        (id, true)
    }
    pub(crate) fn name(&self, id: u32) -> &Arc<str> {
        &self.names[id as usize]
    }
}

#[derive(Default)]
pub(crate) struct QueueState {
    pub(crate) def: Option<QueueDef>,
    pub(crate) merchant: Option<u32>,
    pub(crate) skills: Vec<u32>,
    /// Agents who may serve the queue (any status).
    pub(crate) agents: BTreeSet<u32>,
    /// How many of them are Online.
    pub(crate) online: usize,
    pub(crate) buckets: Vec<u32>,
}

pub(crate) struct AgentState {
    pub(crate) def: AgentDef,
    pub(crate) id: Arc<str>,
    pub(crate) merchant: Option<u32>,
    pub(crate) skills: Vec<u32>,
    pub(crate) langs: Vec<u32>,
    pub(crate) default_cap: u32,
    /// Per channel id.
    pub(crate) cap: Vec<u32>,
    pub(crate) load: Vec<u32>,
    pub(crate) total_load: u64,
    pub(crate) last_assigned: u64,
    pub(crate) idle_since: u64,
    /// Queues the agent may serve, by id.
    pub(crate) queues: Vec<u32>,
    /// Per channel id: the key under which the agent sits in that channel's pools, if any.
    pub(crate) indexed: Vec<Option<AKey>>,
}

pub(crate) struct Entry {
    pub(crate) w: Waiting,
    pub(crate) key: WKey,
    pub(crate) bucket: u32,
    pub(crate) relaxed: bool,
    pub(crate) lang: Option<u32>,
}

/// Conversations of one (queue, channel type).
pub(crate) struct Bucket {
    pub(crate) queue: u32,
    pub(crate) channel: u32,
    /// `[fresh, relaxed]`, ordered by [`WKey`]. Sub-bucket id = bucket * 2 + index.
    pub(crate) sets: [BTreeSet<WKey>; 2],
    /// Live conversations by (queue_entered_ms, slot): overflow and timeout candidates.
    pub(crate) by_entered: BTreeSet<(u64, u32)>,
    /// All conversations by (enqueued_ms, slot): longest wait.
    pub(crate) by_enqueued: BTreeSet<(u64, u32)>,
}

pub(crate) fn agent_key(strategy: Strategy, a: &AgentState, idx: u32, ch: usize) -> AKey {
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

pub(crate) fn agent_pools(a: &AgentState, ch: u32, out: &mut Vec<PoolKey>) {
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

pub(crate) fn serves(q: &QueueState, a: &AgentState) -> bool {
    q.def.is_some()
        && q.merchant == a.merchant
        && q.skills.iter().all(|s| a.skills.binary_search(s).is_ok())
}

pub(crate) fn set_insert(
    buckets: &mut [Bucket],
    order: &mut BTreeSet<(WKey, u32)>,
    sb: u32,
    key: WKey,
) {
    let set = &mut buckets[(sb >> 1) as usize].sets[(sb & 1) as usize];
    if set.first().is_none_or(|top| key < *top) {
        if let Some(top) = set.first() {
            order.remove(&(top.clone(), sb));
        }
        order.insert((key.clone(), sb));
    }
    set.insert(key);
}

pub(crate) fn set_remove(
    buckets: &mut [Bucket],
    order: &mut BTreeSet<(WKey, u32)>,
    sb: u32,
    key: &WKey,
) {
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
