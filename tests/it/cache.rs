//! The cache trait's contract, on both implementations: values with lifetimes, and
//! presence merges that commute (a load racing an append loses nothing).

use std::sync::Arc;
use std::time::Duration;

use chrono::DateTime;
use hourmark_core::attendance::Direction;
use hourmark_core::cache::{Cache, MemoryCache, PresenceFact, PresenceLookup, RedisCache};
use uuid::Uuid;

async fn caches() -> Vec<(&'static str, Arc<dyn Cache>)> {
    let prefix = format!("hourmark-test:{}", Uuid::new_v4().simple());
    let redis =
        RedisCache::connect(&hourmark_tests::redis_url(), &prefix).await.expect("Redis must be running for the tests");
    vec![("memory", Arc::new(MemoryCache::new())), ("redis", Arc::new(redis))]
}

fn fact(ms: i64, direction: Direction) -> PresenceFact {
    PresenceFact { scan_id: Uuid::now_v7(), at: DateTime::from_timestamp_millis(ms).expect("valid"), direction }
}

fn sorted(mut facts: Vec<PresenceFact>) -> Vec<PresenceFact> {
    facts.sort_by_key(|f| (f.at, f.scan_id));
    facts
}

#[tokio::test]
async fn values_live_for_their_ttl_and_can_be_deleted() {
    for (name, cache) in caches().await {
        assert_eq!(cache.get("k").await.expect("get"), None, "{name}");
        cache.set("k", b"v1", Duration::from_secs(60)).await.expect("set");
        assert_eq!(cache.get("k").await.expect("get"), Some(b"v1".to_vec()), "{name}");
        cache.set("k", b"v2", Duration::from_secs(60)).await.expect("set");
        assert_eq!(cache.get("k").await.expect("get"), Some(b"v2".to_vec()), "{name}");
        cache.delete("k").await.expect("delete");
        assert_eq!(cache.get("k").await.expect("get"), None, "{name}");
        cache.set("short", b"x", Duration::from_millis(50)).await.expect("set");
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(cache.get("short").await.expect("get"), None, "{name}: expired");
    }
}

#[tokio::test]
async fn presence_is_unknown_until_loaded_then_complete() {
    for (name, cache) in caches().await {
        assert_eq!(cache.presence_get(1, 10).await.expect("get"), PresenceLookup::NotLoaded, "{name}");
        let a = fact(1_000, Direction::In);
        cache.presence_load(1, vec![(10, vec![a])]).await.expect("load");
        assert_eq!(cache.presence_get(1, 10).await.expect("get"), PresenceLookup::Loaded(vec![a]), "{name}");
        assert_eq!(
            cache.presence_get(1, 11).await.expect("get"),
            PresenceLookup::Loaded(vec![]),
            "{name}: loaded, none"
        );
        assert_eq!(cache.presence_get(2, 10).await.expect("get"), PresenceLookup::NotLoaded, "{name}: other activity");
        let b = fact(2_000, Direction::Out);
        cache.presence_append(1, 10, b).await.expect("append");
        cache.presence_append(1, 10, b).await.expect("append twice is a no-op");
        let PresenceLookup::Loaded(got) = cache.presence_get(1, 10).await.expect("get") else { panic!("{name}") };
        assert_eq!(sorted(got), vec![a, b], "{name}");
    }
}

#[tokio::test]
async fn a_load_racing_an_append_loses_nothing_in_either_order() {
    for (name, cache) in caches().await {
        let (a, b) = (fact(1_000, Direction::In), fact(2_000, Direction::Out));
        // The append lands first (the load had read the store just before b committed).
        cache.presence_append(5, 10, b).await.expect("append");
        assert_eq!(cache.presence_get(5, 10).await.expect("get"), PresenceLookup::NotLoaded, "{name}");
        cache.presence_load(5, vec![(10, vec![a])]).await.expect("load");
        let PresenceLookup::Loaded(got) = cache.presence_get(5, 10).await.expect("get") else { panic!("{name}") };
        assert_eq!(sorted(got), vec![a, b], "{name}: append then load");
        // And a load that already includes an appended fact does not duplicate it.
        cache.presence_load(5, vec![(10, vec![a, b])]).await.expect("reload");
        let PresenceLookup::Loaded(got) = cache.presence_get(5, 10).await.expect("get") else { panic!("{name}") };
        assert_eq!(got.len(), 2, "{name}");
    }
}

#[tokio::test]
async fn hit_counters_count_per_key() {
    for (name, cache) in caches().await {
        for expected in 1..=3 {
            assert_eq!(cache.hit("a", Duration::from_secs(60)).await.expect("hit"), expected, "{name}");
        }
        assert_eq!(cache.hit("b", Duration::from_secs(60)).await.expect("hit"), 1, "{name}: keys are separate");
    }
}

/// With Redis gone the cache fails fast, so that its callers' fallbacks (the store, an
/// unchecked rate limit) keep the server serving: once a call has found Redis unreachable
/// the next ones fail at once, and none waits out seconds of reconnect backoff. Redis
/// coming back is the fault tests' part (`faults::redis_killed_mid_burst`).
#[tokio::test]
async fn a_lost_redis_fails_calls_fast() {
    let (url, cut) = crate::readiness::relay_to_redis().await;
    let prefix = format!("hourmark-test:{}", Uuid::new_v4().simple());
    let cache = RedisCache::connect(&url, &prefix).await.expect("connects through the relay");
    cache.set("k", b"v", Duration::from_secs(60)).await.expect("set");
    cut.send(true).expect("relay running");
    let started = std::time::Instant::now();
    let mut failed = 0;
    for _ in 0..50 {
        if cache.get("k").await.is_err() {
            failed += 1;
        }
    }
    let took = started.elapsed();
    assert!(failed >= 45, "only {failed} of 50 calls failed with the relay cut");
    assert!(took < Duration::from_secs(3), "50 calls to a lost Redis took {took:?}");
}
