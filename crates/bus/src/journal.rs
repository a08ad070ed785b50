//! What lets an [`InProcessBus`](crate::InProcessBus) survive the crash of its process: a
//! [`Journal`] keeps every message of every queue until it is settled. Publishing returns only
//! once the journal holds the message (the in-process form of a publisher confirm), so a
//! producer that deletes its outbox row after publishing loses nothing; settlements are written
//! lazily — losing one in a crash only redelivers a message, which consumers deduplicate anyway.
//!
//! `kefu dev` keeps its journal in a SQLite file (`kefu_worker::journal`); [`MemoryJournal`]
//! here is for tests of the bus itself (a "crash" is dropping the bus and opening a new one on
//! the same journal).

use crate::{BusError, Envelope};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// One message in one queue, as the journal keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct JournalEntry {
    /// Increases with every entry the bus writes (oldest first on load).
    pub id: u64,
    pub queue: String,
    pub envelope: Envelope,
    /// Deliveries so far.
    pub deliveries: u32,
    /// Dead-lettered: kept for operators, never delivered again.
    pub dead: bool,
}

/// What happened to an entry after it was published.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settlement {
    /// Delivered (once more): `deliveries` so far.
    Delivered { id: u64, deliveries: u32 },
    /// Acknowledged, or taken from the dead letters: forget it.
    Removed { id: u64 },
    /// Dead-lettered.
    Dead { id: u64 },
}

#[async_trait::async_trait]
pub trait Journal: Send + Sync + std::fmt::Debug {
    /// Every entry kept, oldest first (read once, when the bus opens).
    async fn load(&self) -> Result<Vec<JournalEntry>, BusError>;
    /// Makes `entries` durable; returns once they are.
    async fn append(&self, entries: Vec<JournalEntry>) -> Result<(), BusError>;
    /// Records a settlement; may be written later.
    fn settle(&self, settlement: Settlement);
    /// Writes what [`Journal::settle`] still holds (on a clean shutdown).
    async fn flush(&self);
}

/// A journal in memory: survives dropping the bus, not the process.
#[derive(Debug, Default)]
pub struct MemoryJournal {
    entries: Mutex<BTreeMap<u64, JournalEntry>>,
}

impl MemoryJournal {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, JournalEntry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait::async_trait]
impl Journal for MemoryJournal {
    async fn load(&self) -> Result<Vec<JournalEntry>, BusError> {
        Ok(self.lock().values().cloned().collect())
    }

    async fn append(&self, entries: Vec<JournalEntry>) -> Result<(), BusError> {
        let mut map = self.lock();
        for e in entries {
            map.insert(e.id, e);
        }
        Ok(())
    }

    fn settle(&self, settlement: Settlement) {
        let mut map = self.lock();
        match settlement {
            Settlement::Delivered { id, deliveries } => {
                if let Some(e) = map.get_mut(&id) {
                    e.deliveries = deliveries;
                }
            }
            Settlement::Removed { id } => {
                map.remove(&id);
            }
            Settlement::Dead { id } => {
                if let Some(e) = map.get_mut(&id) {
                    e.dead = true;
                }
            }
        }
    }

    async fn flush(&self) {}
}
