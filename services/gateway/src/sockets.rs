//! The open WebSockets of this replica, for both kinds (customers' chat sockets by channel and
//! user, agents' desk sockets by tenant): a bounded number open at once, each with a bounded
//! queue of frames to send, found by key when something must be pushed.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::mpsc;

/// One open socket: its id, what the registry keeps about it, and its queue of frames.
pub struct Outlet<M> {
    pub id: u64,
    pub meta: M,
    pub tx: mpsc::Sender<Arc<str>>,
}

pub struct Registry<K, M> {
    inner: Arc<RwLock<HashMap<K, Vec<Outlet<M>>>>>,
    open: Arc<AtomicUsize>,
    next_id: Arc<AtomicU64>,
}

impl<K, M> Clone for Registry<K, M> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            open: self.open.clone(),
            next_id: self.next_id.clone(),
        }
    }
}

impl<K, M> Default for Registry<K, M> {
    fn default() -> Self {
        Self {
            inner: Arc::default(),
            open: Arc::default(),
            next_id: Arc::default(),
        }
    }
}

impl<K: Eq + Hash, M> Registry<K, M> {
    /// Sockets open on this replica.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Registers a socket under `key` (unless `max` are open); returns its id and the queue of
    /// at most `queue` frames it must send.
    pub fn register(
        &self,
        key: K,
        meta: M,
        max: usize,
        queue: usize,
    ) -> Option<(u64, mpsc::Receiver<Arc<str>>)> {
        if self.open.fetch_add(1, Ordering::AcqRel) >= max {
            self.open.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(queue);
        self.inner
            .write()
            .expect("sockets lock")
            .entry(key)
            .or_default()
            .push(Outlet { id, meta, tx });
        Some((id, rx))
    }

    /// Forgets socket `id` (if a push has not already) once its task ends.
    pub fn unregister(&self, key: &K, id: u64) {
        self.remove(key, &[id]);
        self.open.fetch_sub(1, Ordering::AcqRel);
    }

    /// Drops the outlets `ids` of `key`: their senders go, so each socket closes once it has
    /// sent what it holds.
    pub fn remove(&self, key: &K, ids: &[u64]) {
        let mut map = self.inner.write().expect("sockets lock");
        if let Some(list) = map.get_mut(key) {
            list.retain(|o| !ids.contains(&o.id));
            if list.is_empty() {
                map.remove(key);
            }
        }
    }

    /// Runs `f` over the outlets of `key`, under the read lock (keep it short).
    pub fn with<R>(&self, key: &K, f: impl FnOnce(&[Outlet<M>]) -> R) -> R {
        let map = self.inner.read().expect("sockets lock");
        f(map.get(key).map_or(&[][..], Vec::as_slice))
    }
}
