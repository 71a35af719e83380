//! The cached `access_token` and the rules for refreshing it.
//!
//! WeChat caps `cgi-bin/token` calls per day, and fetching a new token invalidates the previous
//! one (after a short grace period), so a token is fetched once and shared by every caller.
//! Fetches happen under a mutex: callers arriving during a fetch wait for it and take its
//! outcome (token or error) instead of fetching again, so a burst of phone-number requests on a
//! cold or rejected token costs one fetch, not one per request.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use super::error::WeChatError;

/// How long before its announced expiry a token is replaced.
pub(crate) const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// WeChat's access token. `Debug` is redacted: whoever holds it can act as the mini program.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct AccessToken(String);

impl AccessToken {
    pub(crate) fn new(value: String) -> Self {
        Self(value)
    }

    pub(crate) fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

/// A token and its lifetime, as a fetch returns it.
pub(crate) struct Fetched {
    pub(crate) token: AccessToken,
    /// `expires_in` as WeChat announced it.
    pub(crate) lifetime: Duration,
}

struct Cached {
    token: AccessToken,
    /// From here on, callers fetch a replacement.
    refresh_after: Instant,
    /// From here on, the token is not used even if a replacement cannot be fetched.
    expires_at: Instant,
}

#[derive(Default)]
struct State {
    current: Option<Cached>,
    /// The error of the latest fetch, if it failed.
    last_error: Option<WeChatError>,
}

/// The shared token and its single-flight refresh.
#[derive(Default)]
pub(crate) struct TokenCache {
    state: Mutex<State>,
    /// Completed fetches (successful or not). Only changed with `state` locked; read before
    /// locking so that a caller can tell whether a fetch finished while it waited.
    fetches: AtomicU64,
}

impl TokenCache {
    /// A usable token: the cached one while it is fresh, else a new one from `fetch`.
    ///
    /// `rejected` is a token WeChat has just refused (40001/42001); it is never returned, and
    /// if it is still the cached one it is replaced. If a fetch completes while this caller
    /// waits for the lock, its outcome is shared rather than fetching again. If a refresh fails
    /// while the cached token has not actually expired, that token is still returned.
    pub(crate) async fn get<F, Fut>(&self, rejected: Option<&AccessToken>, fetch: F) -> Result<AccessToken, WeChatError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Fetched, WeChatError>>,
    {
        let seen = self.fetches.load(Ordering::Acquire);
        let mut state = self.state.lock().await;
        let fetched_while_waiting = self.fetches.load(Ordering::Acquire) != seen;
        let now = Instant::now();

        if let Some(cached) = &state.current
            && rejected != Some(&cached.token)
            && (now < cached.refresh_after || (fetched_while_waiting && now < cached.expires_at))
        {
            return Ok(cached.token.clone());
        }
        if fetched_while_waiting && let Some(error) = &state.last_error {
            return Err(error.clone());
        }
        if let Some(cached) = &state.current
            && rejected == Some(&cached.token)
        {
            state.current = None;
        }

        let started = Instant::now();
        let outcome = fetch().await;
        self.fetches.fetch_add(1, Ordering::AcqRel);
        match outcome {
            Ok(Fetched { token, lifetime }) => {
                let expires_at = started.checked_add(lifetime).unwrap_or(started);
                let refresh_after = started.checked_add(lifetime.saturating_sub(REFRESH_MARGIN)).unwrap_or(started);
                state.current = Some(Cached { token: token.clone(), refresh_after, expires_at });
                state.last_error = None;
                tracing::debug!(lifetime_s = lifetime.as_secs(), "fetched a WeChat access token");
                Ok(token)
            }
            Err(error) => {
                state.last_error = Some(error.clone());
                match &state.current {
                    Some(cached) if Instant::now() < cached.expires_at => {
                        tracing::warn!(%error, "could not refresh the WeChat access token; using the current one");
                        Ok(cached.token.clone())
                    }
                    _ => Err(error),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    use super::*;

    fn fetcher(
        calls: &Arc<AtomicUsize>,
        lifetime: Duration,
    ) -> impl FnOnce() -> std::future::Ready<Result<Fetched, WeChatError>> {
        let calls = Arc::clone(calls);
        move || {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            std::future::ready(Ok(Fetched { token: AccessToken::new(format!("token-{n}")), lifetime }))
        }
    }

    #[tokio::test]
    async fn a_fresh_token_is_reused_and_a_rejected_one_replaced() {
        let cache = TokenCache::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let first = cache.get(None, fetcher(&calls, Duration::from_secs(7200))).await.unwrap();
        let again = cache.get(None, fetcher(&calls, Duration::from_secs(7200))).await.unwrap();
        assert_eq!(first, again);
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        let replaced = cache.get(Some(&first), fetcher(&calls, Duration::from_secs(7200))).await.unwrap();
        assert_ne!(replaced, first);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        // A caller that saw the old token rejected after the replacement gets the replacement.
        let late = cache.get(Some(&first), fetcher(&calls, Duration::from_secs(7200))).await.unwrap();
        assert_eq!(late, replaced);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_token_within_the_margin_is_refreshed_but_kept_if_the_refresh_fails() {
        let cache = TokenCache::default();
        let calls = Arc::new(AtomicUsize::new(0));
        // 200 s of life is inside the 5-minute margin: the next caller fetches a replacement.
        let short = cache.get(None, fetcher(&calls, Duration::from_secs(200))).await.unwrap();
        let refreshed = cache.get(None, fetcher(&calls, Duration::from_secs(200))).await.unwrap();
        assert_ne!(short, refreshed, "a token with less than 5 minutes left is replaced");
        assert_eq!(calls.load(Ordering::SeqCst), 2);

        let kept = cache.get(None, || std::future::ready(Err(WeChatError::Busy))).await.unwrap();
        assert_eq!(kept, refreshed, "an unexpired token outlives a failed refresh");

        let rejected = cache.get(Some(&refreshed), || std::future::ready(Err(WeChatError::Busy))).await;
        assert_eq!(rejected, Err(WeChatError::Busy), "a rejected token is never reused");
    }

    #[test]
    fn debug_hides_the_token() {
        let token = AccessToken::new("very-secret-token".to_owned());
        assert!(!format!("{token:?}").contains("very-secret"));
    }
}
