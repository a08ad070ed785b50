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
use std::sync::Arc;

use serde::{Deserialize, Serialize};

#[cfg(test)]
mod tests;

mod index;
mod router;
mod types;

use index::*;
pub use router::*;
pub use types::*;
