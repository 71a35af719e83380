//! The use cases of rate limits (`impl Hourmark`), apart from its types and rules in the
//! parent module, which the store and the context import without importing these.

use super::*;
use crate::error::CoreError;
use crate::hourmark::Hourmark;

impl Hourmark {
    /// Counts one request by `subject` under `scope`; `rate_limited` with the seconds to
    /// wait once the window's allowance is used up.
    pub async fn limit(&self, scope: &str, subject: &str, limit: Limit) -> Result<(), CoreError> {
        match Window::of(scope, subject, limit, self.now().timestamp()) {
            Some(window) => self.count(&window).await,
            None => Ok(()),
        }
    }

    /// Counts one request in `window` on its own (see [`Window`] for counting together with
    /// another request). A cache outage lets the request through.
    pub(crate) async fn count(&self, window: &Window) -> Result<(), CoreError> {
        match self.cache().hit(window.key(), window.ttl()).await {
            Ok(hits) => window.judge(hits),
            Err(e) => {
                tracing::warn!(error = %e, "rate limit not checked: cache unavailable");
                Ok(())
            }
        }
    }
}
