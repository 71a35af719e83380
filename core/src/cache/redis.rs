//! The Redis cache, shared by every server instance.
//!
//! One multiplexed connection (redis-rs `ConnectionManager`, which reconnects by itself)
//! carries all traffic: concurrent requests are pipelined on it, which is what lets a busy
//! scan path make two round trips per scan without a connection pool.

use std::time::Duration;

use async_trait::async_trait;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;

use super::{Cache, CacheResult, PRESENCE_TTL, PresenceFact, PresenceLookup};
use crate::error::CoreError;

/// The hash field that marks an activity's presence as loaded.
const LOADED_FIELD: &str = "_";

/// Merges `;`-separated facts into hash fields, skipping facts whose scan id (the part
/// before the first `:`) is already there, and refreshes the key's lifetime. KEYS[1]: the
/// hash. ARGV[1]: lifetime in ms. Then field/facts pairs.
const MERGE_SCRIPT: &str = r"
local key = KEYS[1]
for i = 2, #ARGV, 2 do
  local field, add = ARGV[i], ARGV[i + 1]
  local cur = redis.call('HGET', key, field)
  if not cur or cur == '' then
    cur = add
  else
    for tok in string.gmatch(add, '[^;]+') do
      local id = string.match(tok, '^[^:]+')
      if not string.find(';' .. cur, ';' .. id .. ':', 1, true) then
        cur = cur .. ';' .. tok
      end
    end
  end
  redis.call('HSET', key, field, cur)
end
redis.call('PEXPIRE', key, ARGV[1])
return 1
";

/// Redis behind a self-reconnecting multiplexed connection, every key under a prefix.
#[derive(Clone)]
pub struct RedisCache {
    conn: ConnectionManager,
    prefix: String,
    merge: redis::Script,
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
    /// Connects; every key is written under `prefix:`.
    pub async fn connect(url: &str, prefix: &str) -> CacheResult<Self> {
        let client = redis::Client::open(url).map_err(cache_error)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(Duration::from_secs(5)));
        let conn = ConnectionManager::new_with_config(client, config).await.map_err(cache_error)?;
        Ok(Self { conn, prefix: prefix.to_owned(), merge: redis::Script::new(MERGE_SCRIPT) })
    }

    fn value_key(&self, key: &str) -> String {
        format!("{}:v:{key}", self.prefix)
    }

    fn presence_key(&self, activity_id: i64) -> String {
        format!("{}:presence:{activity_id}", self.prefix)
    }

    async fn run_merge(&self, activity_id: i64, pairs: Vec<(String, String)>) -> CacheResult<()> {
        let mut invocation = self.merge.key(self.presence_key(activity_id));
        invocation.arg(PRESENCE_TTL.as_millis() as u64);
        for (field, facts) in pairs {
            invocation.arg(field).arg(facts);
        }
        let mut conn = self.conn.clone();
        let _: i64 = invocation.invoke_async(&mut conn).await.map_err(cache_error)?;
        Ok(())
    }
}

fn join(facts: &[PresenceFact]) -> String {
    facts.iter().map(PresenceFact::encode).collect::<Vec<_>>().join(";")
}

#[async_trait]
impl Cache for RedisCache {
    async fn ping(&self) -> CacheResult<()> {
        let mut conn = self.conn.clone();
        redis::cmd("PING").query_async::<String>(&mut conn).await.map(|_| ()).map_err(cache_error)
    }

    async fn get(&self, key: &str) -> CacheResult<Option<Vec<u8>>> {
        let mut conn = self.conn.clone();
        conn.get(self.value_key(key)).await.map_err(cache_error)
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> CacheResult<()> {
        let mut conn = self.conn.clone();
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        conn.pset_ex(self.value_key(key), value, millis).await.map_err(cache_error)
    }

    async fn delete(&self, key: &str) -> CacheResult<()> {
        let mut conn = self.conn.clone();
        conn.del(self.value_key(key)).await.map_err(cache_error)
    }

    async fn take(&self, key: &str) -> CacheResult<Option<Vec<u8>>> {
        let mut conn = self.conn.clone();
        conn.get_del(self.value_key(key)).await.map_err(cache_error)
    }

    async fn hit(&self, key: &str, ttl: Duration) -> CacheResult<u64> {
        let mut conn = self.conn.clone();
        let key = format!("{}:hits:{key}", self.prefix);
        // A plain INCR on the hot path (cheaper for Redis than a script); the first hit
        // sets the lifetime. Should a process die between the two, the key only outlives
        // its window, which is never counted again: it can never block anyone.
        let hits: u64 = conn.incr(&key, 1).await.map_err(cache_error)?;
        if hits == 1 {
            let millis = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1);
            let _: bool = conn.pexpire(&key, millis).await.map_err(cache_error)?;
        }
        Ok(hits)
    }

    async fn presence_get(&self, activity_id: i64, volunteer_id: i64) -> CacheResult<PresenceLookup> {
        let mut conn = self.conn.clone();
        let (loaded, facts): (Option<String>, Option<String>) = redis::cmd("HMGET")
            .arg(self.presence_key(activity_id))
            .arg(LOADED_FIELD)
            .arg(volunteer_id)
            .query_async(&mut conn)
            .await
            .map_err(cache_error)?;
        if loaded.is_none() {
            return Ok(PresenceLookup::NotLoaded);
        }
        let facts = facts.unwrap_or_default();
        let parsed = facts
            .split(';')
            .filter(|s| !s.is_empty())
            .map(|s| PresenceFact::decode(s).ok_or_else(|| CoreError::Cache(format!("unreadable presence fact {s:?}"))))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PresenceLookup::Loaded(parsed))
    }

    async fn presence_load(&self, activity_id: i64, facts: Vec<(i64, Vec<PresenceFact>)>) -> CacheResult<()> {
        // Large activities are written in slices so no single script blocks Redis for long;
        // the loaded marker goes in the last slice, after every volunteer's facts.
        let mut pairs: Vec<(String, String)> =
            facts.iter().filter(|(_, f)| !f.is_empty()).map(|(v, f)| (v.to_string(), join(f))).collect();
        pairs.push((LOADED_FIELD.to_owned(), "1".to_owned()));
        let mut rest = pairs.as_slice();
        while !rest.is_empty() {
            let (slice, tail) = rest.split_at(rest.len().min(2_000));
            self.run_merge(activity_id, slice.to_vec()).await?;
            rest = tail;
        }
        Ok(())
    }

    async fn presence_append(&self, activity_id: i64, volunteer_id: i64, fact: PresenceFact) -> CacheResult<()> {
        self.run_merge(activity_id, vec![(volunteer_id.to_string(), fact.encode())]).await
    }

    async fn presence_forget(&self, activity_id: i64) -> CacheResult<()> {
        let mut conn = self.conn.clone();
        conn.del(self.presence_key(activity_id)).await.map_err(cache_error)
    }
}
