//! A short-lived cache of channel configuration in front of the database: every inbound message
//! needs its channel, and configuration changes must still reach every replica within
//! [`TTL`] without a restart.

use crate::store::entities::channel;
use kefu_store::StoreError;
use kefu_store::sea_orm::DatabaseConnection;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

pub const TTL: Duration = Duration::from_secs(2);
/// Unknown ids are cached too (so a flood of bad ids doesn't reach the database); the cache is
/// cleared when it grows past this.
const MAX_ENTRIES: usize = 10_000;

type Entry = (Instant, Option<Arc<channel::Model>>);

#[derive(Clone)]
pub struct ChannelCache {
    db: DatabaseConnection,
    entries: Arc<RwLock<HashMap<String, Entry>>>,
}

impl ChannelCache {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            entries: Arc::default(),
        }
    }

    pub async fn get(&self, id: &str) -> Result<Option<Arc<channel::Model>>, StoreError> {
        if let Some((at, found)) = self.entries.read().expect("cache lock").get(id)
            && at.elapsed() < TTL
        {
            return Ok(found.clone());
        }
        let found = crate::store::get_channel(&self.db, id).await?.map(Arc::new);
        let mut entries = self.entries.write().expect("cache lock");
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(id.to_owned(), (Instant::now(), found.clone()));
        Ok(found)
    }

    /// Forgets one channel after a local change.
    pub fn invalidate(&self, id: &str) {
        self.entries.write().expect("cache lock").remove(id);
    }
}
