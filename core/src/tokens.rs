//! Bearer tokens as use cases: issuing one, finding whom a presented one belongs to, and
//! dropping a revoked one from the caches.
//!
//! Only a token's hash is stored. Its grant (who, until when, the console's idle rule) is
//! read on every authenticated request, so it goes through the two cache tiers
//! ([`crate::cache::Tiered`]): a revocation drops it from both, and other instances'
//! in-process copies live seconds.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::activity::shanghai_time;
use crate::cache::TierValue;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::{BearerToken, Principal, TokenGrant, TokenHash};

/// How long the shared cache keeps a bearer-token grant (never past its expiry).
const SHARED_GRANT_TTL: StdDuration = StdDuration::from_secs(24 * 3600);

/// A bearer token just issued, with whom it belongs to.
#[derive(Clone, Serialize, ToSchema)]
pub struct IssuedToken {
    /// The bearer token. Shown once; only its hash is stored.
    pub access_token: String,
    /// When it stops working (+08:00).
    #[serde(with = "shanghai_time")]
    #[schema(value_type = String)]
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("access_token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A grant is small and `Copy`: both tiers keep it as it is.
impl TierValue for TokenGrant {
    type Shared = Self;
    fn shared(&self) -> &Self {
        self
    }
    fn from_shared(shared: Self) -> Self {
        shared
    }
}

/// The shared cache's key of a token's grant.
pub(crate) fn grant_key(hash: &TokenHash) -> String {
    format!("grant:{}", data_encoding::HEXLOWER.encode(hash))
}

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
