//! The Redis cache, shared by every server instance.
//!
//! One multiplexed connection (redis-rs `ConnectionManager`, which reconnects by itself)
//! carries all traffic: concurrent requests are pipelined on it, which is what lets a busy
//! scan path make two round trips per scan without a connection pool.
//!
//! Losing Redis must cost speed, not service: every caller falls back to the store (or,
//! for rate limits, lets the request through). So a call must fail *fast* when Redis is
//! gone. Left to itself the connection manager makes every command wait for its reconnect
//! attempts (seconds of backoff), and a scan makes several cache calls: with Redis killed,
//! scans took tens of seconds. Hence three bounds: each call gives up after
//! [`CALL_TIMEOUT`]; a reconnect is one quick attempt and a retry, not a long backoff; and
//! once a call has found Redis unreachable, calls fail at once for [`BACKOFF`] before one
//! is let through to try again (a circuit breaker).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;

use super::{Cache, CacheResult, PRESENCE_TTL, PresenceLookup};
use crate::attendance::LiveMinutes;
use crate::error::CoreError;

/// The hash field that marks an activity's presence as loaded.
const LOADED_FIELD: &str = "_";

/// Sets hash fields to tallies ([`LiveMinutes::encode`], which starts with its number of
/// scans), keeping a field whose tally has more scans than the new one, and refreshes the
/// key's lifetime. KEYS[1]: the hash. ARGV[1]: lifetime in ms. Then field/tally pairs.
const MERGE_SCRIPT: &str = r"
local key = KEYS[1]
for i = 2, #ARGV, 2 do
  local field, new = ARGV[i], ARGV[i + 1]
  local cur = redis.call('HGET', key, field)
  if not cur or tonumber(string.match(new, '^%d+')) >= (tonumber(string.match(cur, '^%d+')) or -1) then
    redis.call('HSET', key, field, new)
  end
end
redis.call('PEXPIRE', key, ARGV[1])
return 1
";

/// The longest one cache call may take. Redis answers in well under a millisecond even at
/// the benchmark's peak; a call this slow means Redis (or the way to it) is in trouble,
/// and the caller is better served by its fallback.
const CALL_TIMEOUT: Duration = Duration::from_secs(1);

/// How long calls fail at once after one found Redis unreachable.
const BACKOFF: Duration = Duration::from_secs(1);

/// How long the server waits for Redis at start-up (a reconnect later is quicker: see
/// [`BACKOFF`]).
const STARTUP_PATIENCE: Duration = Duration::from_secs(6);

/// Whether Redis is to be left alone for a while: calls fail at once until `open_until`.
#[derive(Debug)]
struct Breaker {
    epoch: Instant,
    /// Milliseconds after `epoch`; 0 while closed.
    open_until: AtomicU64,
}

impl Breaker {
    fn new() -> Self {
        Self { epoch: Instant::now(), open_until: AtomicU64::new(0) }
    }

    fn millis_now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn is_open(&self) -> bool {
        self.millis_now() < self.open_until.load(Ordering::Relaxed)
    }

    fn open(&self) {
        let until = self.millis_now().saturating_add(u64::try_from(BACKOFF.as_millis()).unwrap_or(u64::MAX));
        self.open_until.store(until, Ordering::Relaxed);
    }
}

/// What an `HMGET` of the loaded marker and a volunteer's tally says.
fn lookup(loaded: Option<String>, tally: Option<String>) -> CacheResult<PresenceLookup> {
    if loaded.is_none() {
        return Ok(PresenceLookup::NotLoaded);
    }
    let tally = tally
        .map(|s| LiveMinutes::decode(&s).ok_or_else(|| CoreError::Cache(format!("unreadable presence tally {s:?}"))))
        .transpose()?;
    Ok(PresenceLookup::Loaded(tally))
}

/// Whether an error means Redis cannot be reached (rather than, say, a wrong type).
fn unreachable(e: &redis::RedisError) -> bool {
    e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal()
}

/// Redis behind a self-reconnecting multiplexed connection, every key under a prefix.
#[derive(Clone)]
pub struct RedisCache {
    conn: ConnectionManager,
    prefix: String,
    merge: redis::Script,
    breaker: Arc<Breaker>,
}

impl std::fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCache").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

fn cache_error(e: redis::RedisError) -> CoreError {
    CoreError::Cache(e.to_string())
}

impl RedisCache {
    /// Connects, waiting a few seconds for Redis if it is not up yet; every key is written
    /// under `prefix:`.
    pub async fn connect(url: &str, prefix: &str) -> CacheResult<Self> {
        let client = redis::Client::open(url).map_err(cache_error)?;
        // A reconnect is one attempt and one retry 100 ms later: while Redis is down the
        // breaker spaces the attempts out, not a backoff every command would wait through.
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CALL_TIMEOUT))
            .set_response_timeout(Some(Duration::from_secs(5)))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(100))
            .set_max_delay(Duration::from_millis(200));
        let started = Instant::now();
        let conn = loop {
            match ConnectionManager::new_with_config(client.clone(), config.clone()).await {
                Ok(conn) => break conn,
                Err(e) if started.elapsed() < STARTUP_PATIENCE && unreachable(&e) => {
                    tracing::warn!(error = %e, "Redis is not reachable yet; waiting");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => return Err(cache_error(e)),
            }
        };
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
            merge: redis::Script::new(MERGE_SCRIPT),
            breaker: Arc::new(Breaker::new()),
        })
    }

    /// Runs one call within the bounds above: at once refused while the breaker is open,
    /// given up after [`CALL_TIMEOUT`], and opening the breaker if Redis proved unreachable.
    async fn call<T>(&self, call: impl Future<Output = redis::RedisResult<T>>) -> CacheResult<T> {
        if self.breaker.is_open() {
            return Err(CoreError::Cache("Redis was unreachable a moment ago; not trying again yet".into()));
        }
        match tokio::time::timeout(CALL_TIMEOUT, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                if unreachable(&e) {
                    self.breaker.open();
                }
                Err(cache_error(e))
            }
            Err(_) => {
                self.breaker.open();
                Err(CoreError::Cache(format!("no answer from Redis within {CALL_TIMEOUT:?}")))
            }
        }
    }

    /// Adds a hit on the counter `key` to `pipe`: `INCR`, whose reply is the count, and
    /// `PEXPIRE`, whose reply is dropped. The lifetime is set on every hit, in the same round
    /// trip, rather than on the first alone (which takes a second round trip to learn it was
    /// the first): a counter then lives `ttl` past its last hit. Callers key their counters
    /// by the window or day they count, so a counter that lives on is never counted again.
    fn add_hit(&self, pipe: &mut redis::Pipeline, key: &str, ttl: Duration) {
        let key = format!("{}:hits:{key}", self.prefix);
        let millis = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1);
        pipe.cmd("INCR").arg(&key).cmd("PEXPIRE").arg(&key).arg(millis).ignore();
    }

    fn value_key(&self, key: &str) -> String {
        format!("{}:v:{key}", self.prefix)
    }

    /// The hash of an activity's tallies. Named apart from the lists of scans that earlier
    /// versions kept under `presence:`, which this version cannot read.
    fn presence_key(&self, activity_id: i64) -> String {
        format!("{}:tally:{activity_id}", self.prefix)
    }

    async fn run_merge(&self, activity_id: i64, pairs: Vec<(String, String)>) -> CacheResult<()> {
        let mut invocation = self.merge.key(self.presence_key(activity_id));
        invocation.arg(PRESENCE_TTL.as_millis() as u64);
        for (field, facts) in pairs {
            invocation.arg(field).arg(facts);
        }
        let mut conn = self.conn.clone();
        let _: i64 = self.call(invocation.invoke_async(&mut conn)).await?;
        Ok(())
    }
}

#[async_trait]
impl Cache for RedisCache {
    async fn ping(&self) -> CacheResult<()> {
        let mut conn = self.conn.clone();
        self.call(redis::cmd("PING").query_async::<String>(&mut conn)).await.map(|_| ())
    }

    async fn get(&self, key: &str) -> CacheResult<Option<Vec<u8>>> {
        let mut conn = self.conn.clone();
        self.call(conn.get(self.value_key(key))).await
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> CacheResult<()> {
        let mut conn = self.conn.clone();
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        self.call(conn.pset_ex(self.value_key(key), value, millis)).await
    }

    async fn delete(&self, key: &str) -> CacheResult<()> {
        let mut conn = self.conn.clone();
        self.call(conn.del(self.value_key(key))).await
    }

    async fn take(&self, key: &str) -> CacheResult<Option<Vec<u8>>> {
        let mut conn = self.conn.clone();
        self.call(conn.get_del(self.value_key(key))).await
    }

    async fn hit(&self, key: &str, ttl: Duration) -> CacheResult<u64> {
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        self.add_hit(&mut pipe, key, ttl);
        let (hits,): (u64,) = self.call(pipe.query_async(&mut conn)).await?;
        Ok(hits)
    }

    async fn presence_get(&self, activity_id: i64, volunteer_id: i64) -> CacheResult<PresenceLookup> {
        let mut conn = self.conn.clone();
        let (loaded, tally): (Option<String>, Option<String>) = self
            .call(
                redis::cmd("HMGET")
                    .arg(self.presence_key(activity_id))
                    .arg(LOADED_FIELD)
                    .arg(volunteer_id)
                    .query_async(&mut conn),
            )
            .await?;
        lookup(loaded, tally)
    }

    async fn hit_and_presence_get(
        &self,
        key: &str,
        ttl: Duration,
        activity_id: i64,
        volunteer_id: i64,
    ) -> CacheResult<(u64, PresenceLookup)> {
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        self.add_hit(&mut pipe, key, ttl);
        pipe.cmd("HMGET").arg(self.presence_key(activity_id)).arg(LOADED_FIELD).arg(volunteer_id);
        let (hits, (loaded, tally)): (u64, (Option<String>, Option<String>)) =
            self.call(pipe.query_async(&mut conn)).await?;
        Ok((hits, lookup(loaded, tally)?))
    }

    async fn presence_load(&self, activity_id: i64, tallies: Vec<(i64, LiveMinutes)>) -> CacheResult<()> {
        // Large activities are written in slices so no single script blocks Redis for long;
        // the loaded marker goes in the last slice, after every volunteer's tally.
        let mut pairs: Vec<(String, String)> = tallies.iter().map(|(v, t)| (v.to_string(), t.encode())).collect();
        pairs.push((LOADED_FIELD.to_owned(), "1".to_owned()));
        let mut rest = pairs.as_slice();
        while !rest.is_empty() {
            let (slice, tail) = rest.split_at(rest.len().min(2_000));
            self.run_merge(activity_id, slice.to_vec()).await?;
            rest = tail;
        }
        Ok(())
    }

    async fn presence_put(&self, activity_id: i64, volunteer_id: i64, tally: LiveMinutes) -> CacheResult<()> {
        self.run_merge(activity_id, vec![(volunteer_id.to_string(), tally.encode())]).await
    }

    async fn presence_forget(&self, activity_id: i64) -> CacheResult<()> {
        let mut conn = self.conn.clone();
        self.call(conn.del(self.presence_key(activity_id))).await
    }
}
