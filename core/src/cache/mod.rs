//! The cache: Redis when configured, in-process otherwise, behind one trait.
//!
//! The cache is never the only copy of anything: every value can be rebuilt from the store,
//! so losing Redis costs speed, not data. What lives here:
//! - plain values with a lifetime (bearer-token grants, activity snapshots);
//! - *presence*: the tally of each volunteer's accepted scans at an activity
//!   ([`LiveMinutes`]: how many, the latest, the open check-in, the minutes so far), which
//!   the scan path needs to decide arrival or departure and to write the receipt without
//!   reading the database. A tally has a fixed size, however often the volunteer scans.
//!
//! Presence is loaded per activity in one query (not per volunteer: an arrival burst is
//! thousands of first scans) and then kept current by putting each accepted scan's new
//! tally after it commits. A volunteer's accepted scans are numbered 1, 2, … without gaps
//! (the store refuses a number twice), so of two tallies the one of more scans includes
//! the other: loads and puts keep whichever has more, so they commute. A load that read
//! the database just before a scan committed, and that scan's put, give the same result in
//! either order. A volunteer with no entry in a loaded activity has no accepted scans there.

use async_trait::async_trait;
use std::time::Duration;

use crate::attendance::LiveMinutes;
use crate::error::CoreError;

mod memory;
mod open;
mod redis;
mod tiered;

pub use memory::MemoryCache;
pub use open::connect;
pub use redis::RedisCache;
pub(crate) use tiered::{TierValue, Tiered};

/// What the cache knows of one volunteer's presence at an activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresenceLookup {
    /// The activity's presence has not been loaded (or has expired): ask the store.
    NotLoaded,
    /// Loaded: the tally of all the volunteer's accepted scans there (`None`: no scans).
    Loaded(Option<LiveMinutes>),
}

/// Shorthand for cache results.
pub type CacheResult<T> = Result<T, CoreError>;

/// A cache shared by all server instances (Redis) or private to one (in-process).
#[async_trait]
pub trait Cache: Send + Sync + std::fmt::Debug {
    /// A value, if present and not expired.
    async fn get(&self, key: &str) -> CacheResult<Option<Vec<u8>>>;
    /// Stores a value for `ttl`.
    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> CacheResult<()>;
    /// Removes a value.
    async fn delete(&self, key: &str) -> CacheResult<()>;
    /// Removes a value and returns it, atomically: of two concurrent takes, one gets it.
    async fn take(&self, key: &str) -> CacheResult<Option<Vec<u8>>>;
    /// Adds one to the counter `key`, which lives for at least `ttl` from its first hit,
    /// and returns the new count (rate limits count hits in fixed windows with this).
    async fn hit(&self, key: &str, ttl: Duration) -> CacheResult<u64>;

    /// One volunteer's presence at an activity.
    async fn presence_get(&self, activity_id: i64, volunteer_id: i64) -> CacheResult<PresenceLookup>;
    /// [`Cache::hit`] on `key`, then [`Cache::presence_get`], in one request where the
    /// cache can (Redis: one round trip). The scan path needs both; a scan's second round
    /// trip to Redis cost the server as much as a tenth of the scan.
    async fn hit_and_presence_get(
        &self,
        key: &str,
        ttl: Duration,
        activity_id: i64,
        volunteer_id: i64,
    ) -> CacheResult<(u64, PresenceLookup)> {
        let hits = self.hit(key, ttl).await?;
        Ok((hits, self.presence_get(activity_id, volunteer_id).await?))
    }
    /// Merges a load from the store and marks the activity loaded: each volunteer's tally
    /// replaces the one kept unless that one has more scans.
    async fn presence_load(&self, activity_id: i64, tallies: Vec<(i64, LiveMinutes)>) -> CacheResult<()>;
    /// Merges one volunteer's tally after a scan committed, the same way.
    async fn presence_put(&self, activity_id: i64, volunteer_id: i64, tally: LiveMinutes) -> CacheResult<()>;
    /// Drops an activity's presence, so the next scan there reloads it from the store.
    /// Used when a put could not be made: a stale entry would misjudge in/out.
    async fn presence_forget(&self, activity_id: i64) -> CacheResult<()>;

    /// Whether the cache answers (Redis `PING`), for the readiness probe.
    async fn ping(&self) -> CacheResult<()>;
}

/// How long an activity's presence stays cached after its last change.
pub const PRESENCE_TTL: Duration = Duration::from_secs(12 * 3600);
