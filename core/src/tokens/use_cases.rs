//! The use cases of tokens (`impl Hourmark`), apart from its types and rules in the parent
//! module, which the store and the context import without importing these.

use super::*;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::{BearerToken, Principal, TokenGrant, TokenHash};
use chrono::Duration;
use std::time::Duration as StdDuration;

impl Hourmark {
    pub(crate) async fn issue_token(&self, principal: Principal, ttl: Duration) -> Result<IssuedToken, CoreError> {
        let token = BearerToken::generate()?;
        let now = self.now();
        let expires_at = now + ttl;
        let hash = token.hash();
        self.inner().store.put_access_token(&hash, &principal, now, expires_at).await?;
        // A volunteer usually registers at the gate and scans at once: have the grant ready.
        self.share_grant(&hash, &TokenGrant { principal, expires_at, idle_minutes: None, last_seen_at: None }).await;
        Ok(IssuedToken { access_token: token.expose().to_owned(), expires_at })
    }

    /// How long the shared cache may keep a grant: until it expires, at most a day.
    fn shared_grant_ttl(&self, grant: &TokenGrant) -> StdDuration {
        (grant.expires_at - self.now()).to_std().unwrap_or_default().min(SHARED_GRANT_TTL)
    }

    /// Drops a revoked token's grant from this instance and from the shared cache.
    pub(crate) async fn forget_grant(&self, hash: &TokenHash) {
        self.inner().grants.forget(&*self.inner().cache, hash).await;
    }

    /// Puts a grant just stored (or touched) in both cache tiers. Best effort.
    pub(crate) async fn share_grant(&self, hash: &TokenHash, grant: &TokenGrant) {
        let ttl = self.shared_grant_ttl(grant);
        self.inner().grants.put(&*self.inner().cache, *hash, *grant, ttl).await;
    }

    /// Who a bearer token belongs to. Unknown, malformed and expired tokens are all
    /// `unauthenticated`, indistinguishably.
    pub async fn authenticate(&self, bearer: &str) -> Result<Principal, CoreError> {
        let unauthenticated = || CoreError::refused(ErrorCode::Unauthenticated, "未登录或登录已失效，请重新登录");
        let token = BearerToken::from_presented(bearer).ok_or_else(unauthenticated)?;
        let hash = token.hash();
        let grant = self
            .inner()
            .grants
            .get_or_load(
                &*self.inner().cache,
                hash,
                |grant| self.shared_grant_ttl(grant),
                || self.inner().store.find_access_token(&hash),
            )
            .await?
            .ok_or_else(unauthenticated)?;
        if grant.expires_at <= self.now() {
            return Err(unauthenticated());
        }
        if grant.idle_minutes.is_some() {
            self.console_session_in_use(&hash, grant).await?;
        }
        Ok(grant.principal)
    }
}
