//! Bearer tokens and console sessions.
//!
//! One area of [`Store`](super::Store): a narrow trait whose implementation is written once
//! for both engines, in `shared/sessions.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::identity::{Principal, TokenGrant, TokenHash};

/// Bearer tokens and console sessions.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a bearer token's hash for `principal`.
    async fn put_access_token(
        &self,
        hash: &TokenHash,
        principal: &Principal,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Looks a token up by hash (expired ones too: the caller judges expiry by its clock;
    /// revoked ones never).
    async fn find_access_token(&self, hash: &TokenHash) -> StoreResult<Option<TokenGrant>>;
    /// A principal's unrevoked tokens (expired ones too), newest first.
    async fn list_access_tokens(&self, principal: &Principal) -> StoreResult<Vec<StoredSession>>;
    /// Makes a token a console session that ends after `idle_minutes` without use, last
    /// used `at`.
    async fn set_token_idle(&self, hash: &TokenHash, idle_minutes: u32, at: DateTime<Utc>) -> StoreResult<()>;
    /// Records that a console session was used `at` (never moving it back).
    async fn touch_access_token(&self, hash: &TokenHash, at: DateTime<Utc>) -> StoreResult<()>;
    /// Revokes a principal's tokens: those in `only`, or all when `only` is `None`.
    /// Returns the hashes revoked now.
    async fn revoke_access_tokens(
        &self,
        principal: &Principal,
        only: Option<&TokenHash>,
        at: DateTime<Utc>,
    ) -> StoreResult<Vec<TokenHash>>;
}

/// A stored session (bearer token) as its owner may see it: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// The token's hash.
    pub hash: TokenHash,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// A console session's idle limit, minutes.
    pub idle_minutes: Option<u32>,
    /// A console session's last use.
    pub last_seen_at: Option<DateTime<Utc>>,
}
