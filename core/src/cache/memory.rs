//! The in-process cache, for a single server on the embedded default.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use moka::Expiry;

use super::{Cache, CacheResult, PRESENCE_TTL, PresenceLookup};
use crate::attendance::LiveMinutes;

#[derive(Debug, Clone)]
struct Entry {
    value: Arc<[u8]>,
    ttl: Duration,
}

struct PerEntryTtl;

impl Expiry<String, Entry> for PerEntryTtl {
    fn expire_after_create(&self, _key: &String, value: &Entry, _created_at: Instant) -> Option<Duration> {
        Some(value.ttl)
    }

    fn expire_after_update(
        &self,
        _key: &String,
        value: &Entry,
        _updated_at: Instant,
        _left: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// One activity's presence: whether it has been loaded, and each volunteer's tally.
#[derive(Debug, Default)]
struct ActivityPresence {
    loaded: bool,
    by_volunteer: HashMap<i64, LiveMinutes>,
}

impl ActivityPresence {
    /// Keeps `tally` unless the one kept has more scans (see the module `cache`).
    fn merge(&mut self, volunteer_id: i64, tally: LiveMinutes) {
        match self.by_volunteer.entry(volunteer_id) {
            std::collections::hash_map::Entry::Occupied(mut kept) => {
                if tally.scans() >= kept.get().scans() {
                    kept.insert(tally);
                }
            }
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(tally);
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Counter {
    hits: Arc<std::sync::atomic::AtomicU64>,
    ttl: Duration,
}

struct CounterTtl;

impl Expiry<String, Counter> for CounterTtl {
    fn expire_after_create(&self, _key: &String, value: &Counter, _created_at: Instant) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// Bounded in-process cache built on moka.
#[derive(Clone)]
pub struct MemoryCache {
    values: moka::future::Cache<String, Entry>,
    counters: moka::future::Cache<String, Counter>,
    presence: moka::future::Cache<i64, Arc<Mutex<ActivityPresence>>>,
}

impl std::fmt::Debug for MemoryCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryCache").field("values", &self.values.entry_count()).finish_non_exhaustive()
    }
}

impl Default for MemoryCache {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryCache {
    /// A cache holding at most 200 000 values and 1 000 activities' presence.
    pub fn new() -> Self {
        Self {
            values: moka::future::Cache::builder().max_capacity(200_000).expire_after(PerEntryTtl).build(),
            counters: moka::future::Cache::builder().max_capacity(200_000).expire_after(CounterTtl).build(),
            presence: moka::future::Cache::builder().max_capacity(1_000).time_to_idle(PRESENCE_TTL).build(),
        }
    }

    async fn activity(&self, activity_id: i64) -> Arc<Mutex<ActivityPresence>> {
        self.presence.get_with(activity_id, async { Arc::default() }).await
    }
}

fn lock(p: &Mutex<ActivityPresence>) -> std::sync::MutexGuard<'_, ActivityPresence> {
    p.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[async_trait]
impl Cache for MemoryCache {
    async fn ping(&self) -> CacheResult<()> {
        Ok(())
    }

    async fn get(&self, key: &str) -> CacheResult<Option<Vec<u8>>> {
        Ok(self.values.get(key).await.map(|e| e.value.to_vec()))
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> CacheResult<()> {
        self.values.insert(key.to_owned(), Entry { value: value.into(), ttl }).await;
        Ok(())
    }

    async fn delete(&self, key: &str) -> CacheResult<()> {
        self.values.invalidate(key).await;
        Ok(())
    }

    async fn take(&self, key: &str) -> CacheResult<Option<Vec<u8>>> {
        Ok(self.values.remove(key).await.map(|e| e.value.to_vec()))
    }

    async fn hit(&self, key: &str, ttl: Duration) -> CacheResult<u64> {
        let counter = self.counters.get_with(key.to_owned(), async { Counter { hits: Arc::default(), ttl } }).await;
        Ok(counter.hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1)
    }

    async fn presence_get(&self, activity_id: i64, volunteer_id: i64) -> CacheResult<PresenceLookup> {
        let Some(activity) = self.presence.get(&activity_id).await else {
            return Ok(PresenceLookup::NotLoaded);
        };
        let presence = lock(&activity);
        Ok(if presence.loaded {
            PresenceLookup::Loaded(presence.by_volunteer.get(&volunteer_id).copied())
        } else {
            PresenceLookup::NotLoaded
        })
    }

    async fn presence_load(&self, activity_id: i64, tallies: Vec<(i64, LiveMinutes)>) -> CacheResult<()> {
        let activity = self.activity(activity_id).await;
        let mut presence = lock(&activity);
        for (volunteer_id, tally) in tallies {
            presence.merge(volunteer_id, tally);
        }
        presence.loaded = true;
        Ok(())
    }

    async fn presence_put(&self, activity_id: i64, volunteer_id: i64, tally: LiveMinutes) -> CacheResult<()> {
        let activity = self.activity(activity_id).await;
        lock(&activity).merge(volunteer_id, tally);
        Ok(())
    }

    async fn presence_forget(&self, activity_id: i64) -> CacheResult<()> {
        self.presence.invalidate(&activity_id).await;
        Ok(())
    }
}
