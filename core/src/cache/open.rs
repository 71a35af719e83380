//! Opening the cache the configuration names.

use std::sync::Arc;

use super::memory::MemoryCache;
use super::redis::RedisCache;
use super::{Cache, CacheResult};

/// Opens Redis if a URL is given (with `prefix` on every key), the in-process cache otherwise.
pub async fn connect(redis_url: Option<&str>, prefix: &str) -> CacheResult<Arc<dyn Cache>> {
    match redis_url {
        Some(url) => Ok(Arc::new(RedisCache::connect(url, prefix).await?)),
        None => Ok(Arc::new(MemoryCache::new())),
    }
}
