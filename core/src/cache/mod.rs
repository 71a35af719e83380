//! The cache: Redis when configured, in-process otherwise, behind one trait.
//!
//! The cache is never the only copy of anything: every value can be rebuilt from the store,
//! so losing Redis costs speed, not data. What lives here:
//! - plain values with a lifetime (bearer-token grants, activity snapshots);
//! - *presence*: each volunteer's accepted scans at an activity, which the scan path needs
//!   to decide arrival or departure and to report minutes without reading the database.
//!
//! Presence is loaded per activity in one query (not per volunteer: an arrival burst is
//! thousands of first scans) and then kept current by appending each accepted scan after
//! it commits. Loads and appends are *merges* keyed by scan id, so they commute: a load
//! that read the database just before a scan committed, and that scan's append, give the
//! same result in either order. A volunteer with no entry in a loaded activity has no
//! accepted scans there.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::time::Duration;
use uuid::Uuid;

use crate::attendance::Direction;
use crate::error::CoreError;

mod memory;
mod open;
mod redis;
mod tiered;

pub use memory::MemoryCache;
pub use open::connect;
pub use redis::RedisCache;
pub(crate) use tiered::{TierValue, Tiered};

/// One accepted scan as presence keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresenceFact {
    /// The scan's id: what makes merges idempotent.
    pub scan_id: Uuid,
    /// When the server took it.
    pub at: DateTime<Utc>,
    /// In or out.
    pub direction: Direction,
}

impl PresenceFact {
    /// Compact text form: `<uuid hex>:<unix ms>:<i|o>`.
    pub fn encode(&self) -> String {
        let d = match self.direction {
            Direction::In => 'i',
            Direction::Out => 'o',
        };
        format!("{}:{}:{d}", self.scan_id.simple(), self.at.timestamp_millis())
    }

    /// Parses [`PresenceFact::encode`]'s form.
    pub fn decode(s: &str) -> Option<Self> {
        let mut parts = s.split(':');
        let scan_id = Uuid::try_parse(parts.next()?).ok()?;
        let at = DateTime::from_timestamp_millis(parts.next()?.parse().ok()?)?;
        let direction = match parts.next()? {
            "i" => Direction::In,
            "o" => Direction::Out,
            _ => return None,
        };
        parts.next().is_none().then_some(Self { scan_id, at, direction })
    }
}

/// What the cache knows of one volunteer's presence at an activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresenceLookup {
    /// The activity's presence has not been loaded (or has expired): ask the store.
    NotLoaded,
    /// Loaded: these are all the volunteer's accepted scans there (possibly none).
    Loaded(Vec<PresenceFact>),
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
    /// Adds one to the counter `key`, which lives for `ttl` from its first hit, and
    /// returns the new count (rate limits count hits in fixed windows with this).
    async fn hit(&self, key: &str, ttl: Duration) -> CacheResult<u64>;

    /// One volunteer's presence at an activity.
    async fn presence_get(&self, activity_id: i64, volunteer_id: i64) -> CacheResult<PresenceLookup>;
    /// Merges a load from the store and marks the activity loaded.
    async fn presence_load(&self, activity_id: i64, facts: Vec<(i64, Vec<PresenceFact>)>) -> CacheResult<()>;
    /// Merges one newly committed scan.
    async fn presence_append(&self, activity_id: i64, volunteer_id: i64, fact: PresenceFact) -> CacheResult<()>;
    /// Drops an activity's presence, so the next scan there reloads it from the store.
    /// Used when an append could not be made: a stale entry would misjudge in/out.
    async fn presence_forget(&self, activity_id: i64) -> CacheResult<()>;

    /// Whether the cache answers (Redis `PING`), for the readiness probe.
    async fn ping(&self) -> CacheResult<()>;
}

/// How long an activity's presence stays cached after its last change.
pub const PRESENCE_TTL: Duration = Duration::from_secs(12 * 3600);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_round_trip_and_garbage_is_refused() {
        let fact = PresenceFact {
            scan_id: Uuid::now_v7(),
            at: DateTime::from_timestamp_millis(1_764_000_000_123).expect("valid"),
            direction: Direction::Out,
        };
        assert_eq!(PresenceFact::decode(&fact.encode()), Some(fact));
        for bad in
            ["", "x:1:i", &format!("{}:1:x", fact.scan_id.simple()), &format!("{}:1:i:extra", fact.scan_id.simple())]
        {
            assert_eq!(PresenceFact::decode(bad), None, "{bad}");
        }
    }
}
