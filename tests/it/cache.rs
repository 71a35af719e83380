//! The cache trait's contract, on both implementations: values with lifetimes, and
//! presence merges that commute (a load racing an append loses nothing).

use std::sync::Arc;
use std::time::Duration;

use chrono::DateTime;
use hourmark_core::attendance::{Direction, LiveMinutes, MinutesPolicy, ScanFact, Schedule};
use hourmark_core::cache::{Cache, MemoryCache, PresenceLookup, RedisCache};
use uuid::Uuid;

async fn caches() -> Vec<(&'static str, Arc<dyn Cache>)> {
    let prefix = format!("hourmark-test:{}", Uuid::new_v4().simple());
    let redis =
        RedisCache::connect(&hourmark_tests::redis_url(), &prefix).await.expect("Redis must be running for the tests");
    vec![("memory", Arc::new(MemoryCache::new())), ("redis", Arc::new(redis))]
}

/// The tally of alternating scans, one a minute from a fixed instant, the first an arrival.
fn tally(scans: usize) -> LiveMinutes {
    let start = DateTime::from_timestamp(1_764_000_000, 0).expect("valid");
    let facts: Vec<ScanFact> = (0..scans)
        .map(|i| ScanFact {
            at: start + chrono::Duration::minutes(i64::try_from(i).expect("small")),
            direction: if i % 2 == 0 { Direction::In } else { Direction::Out },
        })
        .collect();
    LiveMinutes::derive(&facts, &schedule(start), &MinutesPolicy::default())
}

fn schedule(start: DateTime<chrono::Utc>) -> Schedule {
    Schedule { starts_at: start, ends_at: start + chrono::Duration::hours(8) }
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
        cache.presence_load(1, vec![(10, tally(1))]).await.expect("load");
        assert_eq!(cache.presence_get(1, 10).await.expect("get"), PresenceLookup::Loaded(Some(tally(1))), "{name}");
        assert_eq!(cache.presence_get(1, 11).await.expect("get"), PresenceLookup::Loaded(None), "{name}: loaded, none");
        assert_eq!(cache.presence_get(2, 10).await.expect("get"), PresenceLookup::NotLoaded, "{name}: other activity");
        cache.presence_put(1, 10, tally(2)).await.expect("put");
        cache.presence_put(1, 10, tally(2)).await.expect("put twice is a no-op");
        assert_eq!(cache.presence_get(1, 10).await.expect("get"), PresenceLookup::Loaded(Some(tally(2))), "{name}");
    }
}

#[tokio::test]
async fn a_load_racing_a_put_loses_nothing_in_either_order() {
    for (name, cache) in caches().await {
        // The put lands first (the load had read the store just before the second scan
        // committed): the load's tally of one scan does not replace the tally of two.
        cache.presence_put(5, 10, tally(2)).await.expect("put");
        assert_eq!(cache.presence_get(5, 10).await.expect("get"), PresenceLookup::NotLoaded, "{name}");
        cache.presence_load(5, vec![(10, tally(1))]).await.expect("load");
        assert_eq!(cache.presence_get(5, 10).await.expect("get"), PresenceLookup::Loaded(Some(tally(2))), "{name}");
        // A late put of an older tally changes nothing either.
        cache.presence_put(5, 10, tally(1)).await.expect("put");
        assert_eq!(cache.presence_get(5, 10).await.expect("get"), PresenceLookup::Loaded(Some(tally(2))), "{name}");
        // A tally of as many scans replaces the kept one: the same scans, derived again under
        // the activity's new schedule.
        let start = DateTime::from_timestamp(1_764_000_000, 0).expect("valid");
        let mut later = schedule(start);
        later.ends_at += chrono::Duration::hours(1);
        let again = LiveMinutes::derive(
            &[
                ScanFact { at: start, direction: Direction::In },
                ScanFact { at: start + chrono::Duration::minutes(1), direction: Direction::Out },
            ],
            &later,
            &MinutesPolicy::default(),
        );
        assert_ne!(again, tally(2));
        cache.presence_put(5, 10, again).await.expect("put");
        assert_eq!(cache.presence_get(5, 10).await.expect("get"), PresenceLookup::Loaded(Some(again)), "{name}");
    }
}

/// What presence keeps of a volunteer does not grow with their scans: the shared cache's
/// entry after two hundred scans is no longer than after two (the scan path used to keep
/// every scan and read them all back for each receipt).
#[tokio::test]
async fn a_volunteers_presence_stays_the_same_size_however_often_they_scan() {
    let prefix = format!("hourmark-test:{}", Uuid::new_v4().simple());
    let cache = RedisCache::connect(&hourmark_tests::redis_url(), &prefix).await.expect("Redis must be running");
    let mut conn = redis::Client::open(hourmark_tests::redis_url())
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("Redis");
    let mut sizes = Vec::new();
    for scans in [2, 200] {
        cache.presence_put(9, 10, tally(scans)).await.expect("put");
        let kept: String = redis::cmd("HGET")
            .arg(format!("{prefix}:tally:9"))
            .arg("10")
            .query_async(&mut conn)
            .await
            .expect("the volunteer's field");
        sizes.push(kept.len());
    }
    // Three counts gain two digits each; two hundred scans kept one by one took 8 000 bytes.
    assert!(sizes[1] <= sizes[0] + 6 && sizes[1] < 100, "{sizes:?}");
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

/// The scan path counts a scan and reads the volunteer's presence in one request: the count
/// is the same counter `hit` adds to, it lives for the window, and the lookup is what
/// `presence_get` says.
#[tokio::test]
async fn a_hit_with_a_presence_read_counts_as_a_hit_and_reads_as_a_read() {
    for (name, cache) in caches().await {
        let ttl = Duration::from_millis(300);
        let (hits, lookup) = cache.hit_and_presence_get("limit:scan:10:1", ttl, 3, 10).await.expect("both");
        assert_eq!((hits, lookup), (1, PresenceLookup::NotLoaded), "{name}");
        cache.presence_load(3, vec![(10, tally(3))]).await.expect("load");
        assert_eq!(cache.hit("limit:scan:10:1", ttl).await.expect("hit"), 2, "{name}: one counter");
        let (hits, lookup) = cache.hit_and_presence_get("limit:scan:10:1", ttl, 3, 10).await.expect("both");
        assert_eq!((hits, lookup), (3, PresenceLookup::Loaded(Some(tally(3)))), "{name}");
        let (hits, lookup) = cache.hit_and_presence_get("limit:scan:11:1", ttl, 3, 11).await.expect("both");
        assert_eq!((hits, lookup), (1, PresenceLookup::Loaded(None)), "{name}: another volunteer");
        // The count ends with its lifetime, and a new one starts.
        tokio::time::sleep(Duration::from_millis(450)).await;
        let (hits, _) = cache.hit_and_presence_get("limit:scan:10:1", ttl, 3, 10).await.expect("both");
        assert_eq!(hits, 1, "{name}: expired");
    }
}
