//! The use cases of rate limits (`impl Hourmark`), apart from its types and rules in the
//! parent module, which the store and the context import without importing these.

use super::*;
use crate::error::CoreError;
use crate::hourmark::Hourmark;
use std::time::Duration;

impl Hourmark {
    /// Counts one request by `subject` under `scope`; `rate_limited` with the seconds to
    /// wait once the window's allowance is used up.
    pub async fn limit(&self, scope: &str, subject: &str, limit: Limit) -> Result<(), CoreError> {
        if limit.max == 0 {
            return Ok(());
        }
        let window = i64::try_from(limit.per.as_secs().max(1)).unwrap_or(i64::MAX);
        let now = self.now().timestamp();
        let index = now.div_euclid(window);
        let key = format!("limit:{scope}:{subject}:{index}");
        let ttl = Duration::from_secs(u64::try_from(window).unwrap_or(u64::MAX).saturating_add(1));
        match self.cache().hit(&key, ttl).await {
            Ok(hits) if hits > limit.max => Err(CoreError::RateLimited {
                retry_after_secs: u64::try_from((index + 1) * window - now).unwrap_or(1).max(1),
            }),
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, scope, "rate limit not checked: cache unavailable");
                Ok(())
            }
        }
    }
}
