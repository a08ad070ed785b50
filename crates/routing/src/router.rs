//! The router: one tenant's agents and waiting conversations, and its decisions.

use super::*;

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
    pub(crate) fn channel(&mut self, name: &str) -> u32 {
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

    pub(crate) fn queue_id(&mut self, name: &str) -> u32 {
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
    pub(crate) fn refresh_membership(&mut self, qid: u32) {
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

    pub(crate) fn agent_id_arc(&self, id: &str) -> Arc<str> {
        self.agent_ids
            .get_key_value(id)
            .expect("agent id")
            .0
            .clone()
    }

    /// Unindexes an agent and removes it from its queues; leaves the slot empty.
    pub(crate) fn detach_agent(&mut self, idx: u32) -> Option<AgentState> {
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

    pub(crate) fn assign(&mut self, idx: u32, ch: u32, now_ms: u64) {
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

    pub(crate) fn unindex(&mut self, idx: u32, ch: u32) {
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

    pub(crate) fn index(&mut self, idx: u32, ch: u32) {
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

    pub(crate) fn unindex_all(&mut self, idx: u32) {
        for ch in 0..self.channels.names.len() as u32 {
            self.unindex(idx, ch);
        }
    }

    pub(crate) fn index_all(&mut self, idx: u32) {
        for ch in 0..self.channels.names.len() as u32 {
            self.index(idx, ch);
        }
    }

    pub(crate) fn pool(&self, scope: u32, channel: u32, lang: u32) -> Option<&BTreeSet<AKey>> {
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

    pub(crate) fn static_priority(&self, w: &Waiting) -> f64 {
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

    pub(crate) fn take_slot(&mut self, slot: u32) -> Waiting {
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
    pub(crate) fn place(&mut self, slot: u32) {
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

    pub(crate) fn link(&mut self, slot: u32) {
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

    pub(crate) fn unlink(&mut self, slot: u32) {
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
    pub(crate) fn promote(&mut self, now_ms: u64) {
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
    pub(crate) fn choose(
        &self,
        e: &Entry,
        bucket: &Bucket,
        scope: u32,
        relaxed: bool,
    ) -> Option<(u32, bool)> {
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
    pub(crate) fn due(&self, b: usize, after_ms: u64, now_ms: u64) -> Vec<u32> {
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
