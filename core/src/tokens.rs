//! Bearer tokens as use cases: issuing one, finding whom a presented one belongs to, and
//! dropping a revoked one from the caches.
//!
//! Only a token's hash is stored. Its grant (who, until when, the console's idle rule) is
//! read on every authenticated request, so it goes through the two cache tiers
//! ([`crate::cache::Tiered`]): a revocation drops it from both, and other instances'
//! in-process copies live seconds.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::activity::shanghai_time;
use crate::cache::TierValue;
use crate::identity::{TokenGrant, TokenHash};

mod use_cases;

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
