//! [`InProcessBus`]: the in-memory backend with RabbitMQ's observable semantics
//! (topic routing, prefetch, redelivery counting, delivery limit, dead-lettering), and, when
//! opened on a [`Journal`], RabbitMQ's durability too: messages of durable queues survive a
//! crash of the process ([`InProcessBus::durable`]).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::journal::{Journal, JournalEntry, Settlement};
use crate::subscription::{Acknowledger, DeliverySource};
use crate::{Bus, BusError, Delivery, Envelope, QueueSpec, Subscription, Topology, topic_matches};

/// In-process bus for tests and single-binary deployments.
#[derive(Clone, Debug)]
pub struct InProcessBus {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    topology: Topology,
    state: Mutex<State>,
    /// Where messages are kept until settled (none: memory only).
    journal: Option<Arc<dyn Journal>>,
    next_id: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    closed: bool,
    next_subscription: u64,
    queues: HashMap<String, Queue>,
    /// Journal entries of queues not declared since the bus opened; a queue takes its own when
    /// it is declared.
    pending: HashMap<String, Vec<JournalEntry>>,
}

#[derive(Debug)]
struct Queue {
    bindings: Vec<String>,
    delivery_limit: u32,
    /// Not journaled: a transient queue keeps nothing across a crash (as on RabbitMQ).
    transient: bool,
    ready: VecDeque<Stored>,
    dead: VecDeque<Dead>,
    /// Unsettled deliveries per subscription id.
    in_flight: HashMap<u64, usize>,
    /// Woken on every publish, settlement and on close.
    notify: Arc<Notify>,
}

#[derive(Debug)]
struct Dead {
    id: u64,
    envelope: Envelope,
}

#[derive(Debug)]
struct Stored {
    /// The journal's id of this copy (0 without a journal).
    id: u64,
    envelope: Envelope,
    /// Deliveries so far.
    deliveries: u32,
}

impl InProcessBus {
    /// An empty bus; queues appear on first subscribe.
    pub fn new(topology: Topology) -> Self {
        Self {
            inner: Arc::new(Inner {
                topology,
                state: Mutex::new(State::default()),
                journal: None,
                next_id: AtomicU64::new(1),
            }),
        }
    }

    /// A bus whose messages live in `journal` until settled: what a previous bus on the same
    /// journal left unsettled (published and not acknowledged when its process died) is
    /// delivered again, with its delivery count, once its queue is declared.
    pub async fn durable(topology: Topology, journal: Arc<dyn Journal>) -> Result<Self, BusError> {
        let entries = journal.load().await?;
        let next_id = entries.iter().map(|e| e.id).max().unwrap_or(0) + 1;
        let mut pending: HashMap<String, Vec<JournalEntry>> = HashMap::new();
        for e in entries {
            pending.entry(e.queue.clone()).or_default().push(e);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                topology,
                state: Mutex::new(State {
                    pending,
                    ..State::default()
                }),
                journal: Some(journal),
                next_id: AtomicU64::new(next_id),
            }),
        })
    }

    /// The topology this bus was created with.
    pub fn topology(&self) -> &Topology {
        &self.inner.topology
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-updated
        // in a way that matters more than losing the bus, so recover it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `what` of a declared queue (its ready or dead messages).
    fn count(&self, queue: &str, what: impl FnOnce(&Queue) -> usize) -> Result<u64, BusError> {
        let state = self.lock();
        let queue = state
            .queues
            .get(queue)
            .ok_or_else(|| BusError::UnknownQueue(queue.to_owned()))?;
        Ok(what(queue) as u64)
    }

    /// Settles one delivery of `queue` made to `subscription`.
    fn settle(&self, queue: &str, subscription: u64, stored: Stored, outcome: Outcome) {
        let mut state = self.lock();
        if state.closed {
            return;
        }
        let Some(queue) = state.queues.get_mut(queue) else {
            return;
        };
        if let Some(count) = queue.in_flight.get_mut(&subscription) {
            *count = count.saturating_sub(1);
        }
        let id = stored.id;
        match outcome {
            Outcome::Ack => self.record(Settlement::Removed { id }),
            Outcome::Requeue if stored.deliveries < queue.delivery_limit => {
                queue.ready.push_front(stored);
            }
            Outcome::Requeue | Outcome::DeadLetter => {
                queue.dead.push_back(Dead {
                    id,
                    envelope: stored.envelope,
                });
                self.record(Settlement::Dead { id });
            }
        }
        queue.notify.notify_waiters();
    }

    fn record(&self, settlement: Settlement) {
        let (Settlement::Delivered { id, .. }
        | Settlement::Removed { id }
        | Settlement::Dead { id }) = settlement;
        // Id 0: a copy the journal never held (no journal, or a transient queue).
        if let (Some(journal), true) = (&self.journal, id != 0) {
            journal.settle(settlement);
        }
    }
}

#[async_trait::async_trait]
impl Bus for InProcessBus {
    async fn publish(&self, envelope: &Envelope) -> Result<(), BusError> {
        self.publish_batch(std::slice::from_ref(envelope)).await
    }

    async fn publish_batch(&self, envelopes: &[Envelope]) -> Result<(), BusError> {
        let Some(journal) = &self.inner.journal else {
            let mut state = self.inner.lock();
            if state.closed {
                return Err(BusError::Closed);
            }
            for (queue, envelope) in route(&state, envelopes) {
                enqueue(&mut state, &queue, 0, envelope);
            }
            return Ok(());
        };
        // Routed under the lock, made durable without it, then queued: a crash before the
        // journal holds them fails the publish (the producer keeps its outbox row). Copies for
        // transient queues are queued at once and never journaled.
        let entries: Vec<JournalEntry> = {
            let mut state = self.inner.lock();
            if state.closed {
                return Err(BusError::Closed);
            }
            let (transient, durable): (Vec<_>, Vec<_>) = route(&state, envelopes)
                .into_iter()
                .partition(|(queue, _)| state.queues.get(queue).is_some_and(|q| q.transient));
            for (queue, envelope) in transient {
                enqueue(&mut state, &queue, 0, envelope);
            }
            durable
                .into_iter()
                .map(|(queue, envelope)| JournalEntry {
                    id: self.inner.next_id.fetch_add(1, Ordering::Relaxed),
                    queue,
                    envelope,
                    deliveries: 0,
                    dead: false,
                })
                .collect()
        };
        if entries.is_empty() {
            return Ok(());
        }
        journal.append(entries.clone()).await?;
        let mut state = self.inner.lock();
        if state.closed {
            return Err(BusError::Closed);
        }
        for e in entries {
            enqueue(&mut state, &e.queue, e.id, e.envelope);
        }
        Ok(())
    }

    async fn declare(&self, spec: &QueueSpec) -> Result<(), BusError> {
        let mut state = self.inner.lock();
        if state.closed {
            return Err(BusError::Closed);
        }
        ensure_queue(&mut state, spec);
        Ok(())
    }

    async fn subscribe(&self, spec: QueueSpec) -> Result<Subscription, BusError> {
        let mut state = self.inner.lock();
        if state.closed {
            return Err(BusError::Closed);
        }
        state.next_subscription += 1;
        let id = state.next_subscription;
        let queue = ensure_queue(&mut state, &spec);
        queue.in_flight.insert(id, 0);
        let source = Source {
            inner: Arc::clone(&self.inner),
            queue: spec.name.clone(),
            id,
            prefetch: usize::from(spec.effective_prefetch()),
            notify: Arc::clone(&queue.notify),
        };
        Ok(Subscription::new(
            spec.name,
            queue.delivery_limit,
            "in-process",
            Box::new(source),
        ))
    }

    async fn take_dead_letters(&self, queue: &str, max: usize) -> Result<Vec<Envelope>, BusError> {
        let mut state = self.inner.lock();
        let queue = state
            .queues
            .get_mut(queue)
            .ok_or_else(|| BusError::UnknownQueue(queue.to_owned()))?;
        let take = max.min(queue.dead.len());
        let taken: Vec<Dead> = queue.dead.drain(..take).collect();
        drop(state);
        for d in &taken {
            self.inner.record(Settlement::Removed { id: d.id });
        }
        Ok(taken.into_iter().map(|d| d.envelope).collect())
    }

    async fn queue_depth(&self, queue: &str) -> Result<u64, BusError> {
        self.inner.count(queue, |q| q.ready.len())
    }

    async fn dead_letter_depth(&self, queue: &str) -> Result<u64, BusError> {
        self.inner.count(queue, |q| q.dead.len())
    }

    async fn close(&self) {
        {
            let mut state = self.inner.lock();
            state.closed = true;
            for queue in state.queues.values() {
                queue.notify.notify_waiters();
            }
        }
        if let Some(journal) = &self.inner.journal {
            journal.flush().await;
        }
    }
}

/// The consuming end of one in-process subscription.
struct Source {
    inner: Arc<Inner>,
    queue: String,
    id: u64,
    prefetch: usize,
    notify: Arc<Notify>,
}

impl Source {
    /// Takes the next message if the prefetch allows; `Err(())` once closed.
    fn try_take(&self) -> Result<Option<Delivery>, ()> {
        let mut state = self.inner.lock();
        if state.closed {
            return Err(());
        }
        let Some(queue) = state.queues.get_mut(&self.queue) else {
            return Err(());
        };
        let in_flight = queue.in_flight.entry(self.id).or_insert(0);
        if *in_flight >= self.prefetch {
            return Ok(None);
        }
        let Some(mut stored) = queue.ready.pop_front() else {
            return Ok(None);
        };
        *in_flight += 1;
        stored.deliveries += 1;
        drop(state);
        self.inner.record(Settlement::Delivered {
            id: stored.id,
            deliveries: stored.deliveries,
        });
        let acker = InProcessAcker {
            inner: Arc::clone(&self.inner),
            queue: self.queue.clone(),
            subscription: self.id,
            stored: Stored {
                id: stored.id,
                envelope: stored.envelope.clone(),
                deliveries: stored.deliveries,
            },
        };
        Ok(Some(Delivery::new(
            stored.envelope,
            stored.deliveries,
            stored.deliveries > 1,
            Box::new(acker),
        )))
    }
}

#[async_trait::async_trait]
impl DeliverySource for Source {
    async fn next(&mut self) -> Option<Delivery> {
        loop {
            // Register interest before looking, so a wake-up between the look
            // and the await is not lost.
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.try_take() {
                Err(()) => return None,
                Ok(Some(delivery)) => return Some(delivery),
                Ok(None) => notified.await,
            }
        }
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        let mut state = self.inner.lock();
        if let Some(queue) = state.queues.get_mut(&self.queue) {
            queue.in_flight.remove(&self.id);
        }
    }
}

enum Outcome {
    Ack,
    Requeue,
    DeadLetter,
}

struct InProcessAcker {
    inner: Arc<Inner>,
    queue: String,
    subscription: u64,
    stored: Stored,
}

impl InProcessAcker {
    fn settle(self, outcome: Outcome) {
        self.inner
            .settle(&self.queue, self.subscription, self.stored, outcome);
    }
}

#[async_trait::async_trait]
impl Acknowledger for InProcessAcker {
    async fn ack(self: Box<Self>) -> Result<(), BusError> {
        self.settle(Outcome::Ack);
        Ok(())
    }

    async fn nack(self: Box<Self>, requeue: bool) -> Result<(), BusError> {
        self.settle(if requeue {
            Outcome::Requeue
        } else {
            Outcome::DeadLetter
        });
        Ok(())
    }

    fn release(self: Box<Self>) {
        self.settle(Outcome::Requeue);
    }
}

/// The copies `envelopes` make: one per bound queue, in order.
fn route(state: &State, envelopes: &[Envelope]) -> Vec<(String, Envelope)> {
    let mut copies = Vec::new();
    for envelope in envelopes {
        let envelope = envelope.normalized();
        for (name, queue) in &state.queues {
            let bound = queue
                .bindings
                .iter()
                .any(|pattern| topic_matches(pattern, &envelope.event_type));
            if bound {
                copies.push((name.clone(), envelope.clone()));
            }
        }
    }
    copies
}

fn enqueue(state: &mut State, queue: &str, id: u64, envelope: Envelope) {
    if let Some(queue) = state.queues.get_mut(queue) {
        queue.ready.push_back(Stored {
            id,
            envelope,
            deliveries: 0,
        });
        queue.notify.notify_waiters();
    }
}

/// The queue named by `spec`, created if missing (with what the journal kept for it), with
/// `spec`'s bindings added.
fn ensure_queue<'a>(state: &'a mut State, spec: &QueueSpec) -> &'a mut Queue {
    let pending = &mut state.pending;
    let queue = state.queues.entry(spec.name.clone()).or_insert_with(|| {
        let mut queue = Queue {
            bindings: Vec::new(),
            delivery_limit: spec.effective_delivery_limit(),
            transient: spec.transient,
            ready: VecDeque::new(),
            dead: VecDeque::new(),
            in_flight: HashMap::new(),
            notify: Arc::new(Notify::new()),
        };
        for e in pending.remove(&spec.name).unwrap_or_default() {
            if e.dead {
                queue.dead.push_back(Dead {
                    id: e.id,
                    envelope: e.envelope,
                });
            } else {
                queue.ready.push_back(Stored {
                    id: e.id,
                    envelope: e.envelope,
                    deliveries: e.deliveries,
                });
            }
        }
        queue
    });
    for binding in &spec.bindings {
        if !queue.bindings.contains(binding) {
            queue.bindings.push(binding.clone());
        }
    }
    queue
}
