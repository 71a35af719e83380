//! Hot values read through two tiers in front of the store: this instance's memory, then
//! the shared cache, then the store.
//!
//! Three lookups sit on every request's path (a bearer token's grant, an activity's
//! snapshot, a volunteer's scan permission). They share one shape and, through
//! [`Tiered`], one rule for the shared cache failing:
//!
//! - **Reading** from the shared cache fails → count it (`hourmark_cache_errors_total`), log
//!   a warning, and read the store as if the value were absent. Redis is never the only copy
//!   (see the module above), so losing it costs speed, not answers.
//! - **Writing** after a store read fails → log a warning and go on: the next instance to
//!   miss reads the store again.
//! - **Dropping** a changed value fails → log a warning. The in-process copy is dropped
//!   regardless, and every shared copy carries a lifetime, so a stale value outlives a
//!   change by at most that lifetime; callers that cannot accept that (revocations) drop
//!   twice or check the store themselves.
//!
//! The in-process tier is a bounded [`moka`] cache with a short time to live: what another
//! instance changes is seen here within that time, without any cross-instance messages.
//!
//! ```text
//! get_or_load(key)
//!   ├─ local hit ──────────────────────────────────────────────▶ value
//!   ├─ shared hit ─────────────────────── insert local ────────▶ value
//!   ├─ shared error ─ count, warn ─┐
//!   └─ shared miss ────────────────┴─ store ─ set shared, insert local ─▶ value
//! ```

use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Cache;
use crate::error::CoreError;

/// A value kept in both tiers: what the in-process tier holds, and the form the shared
/// cache stores (JSON of [`TierValue::Shared`]).
pub(crate) trait TierValue: Clone + Send + Sync + 'static {
    /// What is written to the shared cache.
    type Shared: Serialize + DeserializeOwned;
    /// The shared form of a value held here.
    fn shared(&self) -> &Self::Shared;
    /// A value rebuilt from its shared form.
    fn from_shared(shared: Self::Shared) -> Self;
}

/// Large snapshots are kept behind an `Arc` here so that a hit does not copy them.
impl<T> TierValue for Arc<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    type Shared = T;
    fn shared(&self) -> &T {
        self
    }
    fn from_shared(shared: T) -> Self {
        Arc::new(shared)
    }
}

/// One kind of hot value, read through memory, the shared cache and the store.
pub(crate) struct Tiered<K, V> {
    /// What the value is, for logs ("token grant", "activity", …).
    what: &'static str,
    /// The shared cache key of a value.
    shared_key: fn(&K) -> String,
    local: moka::future::Cache<K, V>,
}

impl<K, V> std::fmt::Debug for Tiered<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tiered").field("what", &self.what).finish_non_exhaustive()
    }
}

impl<K, V> Tiered<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: TierValue,
{
    /// A tier of at most `capacity` values, each kept here for `local_ttl`.
    pub(crate) fn new(what: &'static str, shared_key: fn(&K) -> String, capacity: u64, local_ttl: Duration) -> Self {
        let local = moka::future::Cache::builder().max_capacity(capacity).time_to_live(local_ttl).build();
        Self { what, shared_key, local }
    }

    /// The value for `key`: from memory, else the shared cache, else `load` (the store),
    /// which then fills both tiers. `shared_ttl` says how long the shared copy may live
    /// (zero: do not share it). `Ok(None)` when the store has no such value; only the
    /// store's errors are returned.
    pub(crate) async fn get_or_load<L, Fut>(
        &self,
        cache: &dyn Cache,
        key: K,
        shared_ttl: impl FnOnce(&V) -> Duration,
        load: L,
    ) -> Result<Option<V>, CoreError>
    where
        L: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<V>, CoreError>>,
    {
        let local = self.local.get(&key).await;
        crate::metrics::cache_lookup("local", local.is_some());
        if let Some(value) = local {
            return Ok(Some(value));
        }
        let shared_key = (self.shared_key)(&key);
        let value = match self.read_shared(cache, &shared_key).await {
            Some(value) => value,
            None => {
                let Some(value) = load().await? else { return Ok(None) };
                self.write_shared(cache, &shared_key, &value, shared_ttl(&value)).await;
                value
            }
        };
        self.local.insert(key, value.clone()).await;
        Ok(Some(value))
    }

    /// Puts a value just written to the store in both tiers, so that the next request on
    /// any instance finds it (a fresh token, a new volunteer's permission).
    pub(crate) async fn put(&self, cache: &dyn Cache, key: K, value: V, shared_ttl: Duration) {
        self.write_shared(cache, &(self.shared_key)(&key), &value, shared_ttl).await;
        self.local.insert(key, value).await;
    }

    /// Drops a changed value from this instance and from the shared cache.
    pub(crate) async fn forget(&self, cache: &dyn Cache, key: &K) {
        self.local.invalidate(key).await;
        if let Err(e) = cache.delete(&(self.shared_key)(key)).await {
            tracing::warn!(error = %e, what = self.what, "could not drop a cached value");
        }
    }

    async fn read_shared(&self, cache: &dyn Cache, key: &str) -> Option<V> {
        match cache.get(key).await {
            Ok(bytes) => {
                crate::metrics::cache_lookup("shared", bytes.is_some());
                // A value that does not decode (written by another version) is a miss.
                bytes.and_then(|b| serde_json::from_slice::<V::Shared>(&b).ok()).map(V::from_shared)
            }
            Err(e) => {
                metrics::counter!(crate::metrics::CACHE_ERRORS).increment(1);
                tracing::warn!(error = %e, what = self.what, "cache unavailable; reading the store");
                None
            }
        }
    }

    async fn write_shared(&self, cache: &dyn Cache, key: &str, value: &V, ttl: Duration) {
        if ttl.is_zero() {
            return;
        }
        match serde_json::to_vec(value.shared()) {
            Ok(bytes) => {
                if let Err(e) = cache.set(key, &bytes, ttl).await {
                    tracing::warn!(error = %e, what = self.what, "could not write a value to the cache");
                }
            }
            Err(e) => tracing::warn!(error = %e, what = self.what, "could not encode a value for the cache"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::MemoryCache;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Snapshot {
        name: String,
    }

    fn tier() -> Tiered<i64, Arc<Snapshot>> {
        Tiered::new("snapshot", |id| format!("snapshot:{id}"), 100, Duration::from_secs(60))
    }

    fn snapshot(name: &str) -> Option<Arc<Snapshot>> {
        Some(Arc::new(Snapshot { name: name.into() }))
    }

    #[tokio::test]
    async fn the_store_is_read_once_then_each_tier_answers() {
        let cache = MemoryCache::new();
        let loads = AtomicUsize::new(0);
        let load = || async {
            loads.fetch_add(1, Ordering::SeqCst);
            Ok(snapshot("甲"))
        };
        let ttl = |_: &Arc<Snapshot>| Duration::from_secs(60);
        let here = tier();
        assert_eq!(here.get_or_load(&cache, 1, ttl, load).await.unwrap(), snapshot("甲"));
        assert_eq!(here.get_or_load(&cache, 1, ttl, load).await.unwrap(), snapshot("甲"));
        assert_eq!(loads.load(Ordering::SeqCst), 1, "the second read is served from memory");
        // Another instance (its own memory, the same shared cache) does not read the store.
        let there = tier();
        assert_eq!(there.get_or_load(&cache, 1, ttl, load).await.unwrap(), snapshot("甲"));
        assert_eq!(loads.load(Ordering::SeqCst), 1, "another instance is served by the shared cache");
    }

    #[tokio::test]
    async fn absent_values_are_not_cached_and_forgotten_values_are_reloaded() {
        let cache = MemoryCache::new();
        let ttl = |_: &Arc<Snapshot>| Duration::from_secs(60);
        let here = tier();
        assert_eq!(here.get_or_load(&cache, 2, ttl, || async { Ok(None) }).await.unwrap(), None);
        assert_eq!(here.get_or_load(&cache, 2, ttl, || async { Ok(snapshot("乙")) }).await.unwrap(), snapshot("乙"));
        here.forget(&cache, &2).await;
        let there = tier();
        assert_eq!(there.get_or_load(&cache, 2, ttl, || async { Ok(snapshot("丙")) }).await.unwrap(), snapshot("丙"));
        assert_eq!(here.get_or_load(&cache, 2, ttl, || async { Ok(snapshot("丁")) }).await.unwrap(), snapshot("丙"));
    }

    #[tokio::test]
    async fn a_zero_lifetime_keeps_the_value_out_of_the_shared_cache() {
        let cache = MemoryCache::new();
        tier().put(&cache, 3, Arc::new(Snapshot { name: "戊".into() }), Duration::ZERO).await;
        assert_eq!(cache.get("snapshot:3").await.unwrap(), None);
    }

    /// A shared cache that is down: every call fails, as a lost Redis does.
    #[derive(Debug)]
    struct Down;

    #[async_trait::async_trait]
    impl Cache for Down {
        async fn get(&self, _: &str) -> crate::cache::CacheResult<Option<Vec<u8>>> {
            Err(CoreError::Cache("down".into()))
        }
        async fn set(&self, _: &str, _: &[u8], _: Duration) -> crate::cache::CacheResult<()> {
            Err(CoreError::Cache("down".into()))
        }
        async fn delete(&self, _: &str) -> crate::cache::CacheResult<()> {
            Err(CoreError::Cache("down".into()))
        }
        async fn take(&self, _: &str) -> crate::cache::CacheResult<Option<Vec<u8>>> {
            Err(CoreError::Cache("down".into()))
        }
        async fn hit(&self, _: &str, _: Duration) -> crate::cache::CacheResult<u64> {
            Err(CoreError::Cache("down".into()))
        }
        async fn presence_get(&self, _: i64, _: i64) -> crate::cache::CacheResult<crate::cache::PresenceLookup> {
            Err(CoreError::Cache("down".into()))
        }
        async fn presence_load(
            &self,
            _: i64,
            _: Vec<(i64, crate::attendance::LiveMinutes)>,
        ) -> crate::cache::CacheResult<()> {
            Err(CoreError::Cache("down".into()))
        }
        async fn presence_put(
            &self,
            _: i64,
            _: i64,
            _: crate::attendance::LiveMinutes,
        ) -> crate::cache::CacheResult<()> {
            Err(CoreError::Cache("down".into()))
        }
        async fn presence_forget(&self, _: i64) -> crate::cache::CacheResult<()> {
            Err(CoreError::Cache("down".into()))
        }
        async fn ping(&self) -> crate::cache::CacheResult<()> {
            Err(CoreError::Cache("down".into()))
        }
    }

    #[tokio::test]
    async fn a_shared_cache_that_is_down_costs_a_store_read_not_an_answer() {
        let loads = AtomicUsize::new(0);
        let load = || async {
            loads.fetch_add(1, Ordering::SeqCst);
            Ok(snapshot("庚"))
        };
        let ttl = |_: &Arc<Snapshot>| Duration::from_secs(60);
        let here = tier();
        assert_eq!(here.get_or_load(&Down, 5, ttl, load).await.unwrap(), snapshot("庚"));
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        // Memory still serves what the store gave; dropping it works without the cache.
        assert_eq!(here.get_or_load(&Down, 5, ttl, load).await.unwrap(), snapshot("庚"));
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        here.forget(&Down, &5).await;
        here.put(&Down, 6, Arc::new(Snapshot { name: "辛".into() }), Duration::from_secs(60)).await;
        assert_eq!(here.get_or_load(&Down, 5, ttl, load).await.unwrap(), snapshot("庚"));
        assert_eq!(loads.load(Ordering::SeqCst), 2, "a forgotten value is read from the store again");
    }

    #[tokio::test]
    async fn the_stores_error_is_returned_and_nothing_is_cached() {
        let cache = MemoryCache::new();
        let ttl = |_: &Arc<Snapshot>| Duration::from_secs(60);
        let here = tier();
        let failed = here.get_or_load(&cache, 4, ttl, || async { Err(CoreError::Internal("down".into())) }).await;
        assert!(failed.is_err());
        assert_eq!(here.get_or_load(&cache, 4, ttl, || async { Ok(snapshot("己")) }).await.unwrap(), snapshot("己"));
    }
}
