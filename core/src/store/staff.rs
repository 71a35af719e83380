//! Staff members, the first administrator's bootstrap, invites and passkeys.
//!
//! One area of [`Store`](super::Store): a narrow trait whose implementation is written once
//! for both engines, in `shared/staff.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreResult;
use crate::audit::AuditEvent;
use crate::identity::staff::StaffRecord;
use crate::identity::{Staff, TokenHash};
use crate::passkeys::{NewInvite, PasskeyRemoval, StaffAccount, StoredPasskey};

/// Staff members, the first administrator's bootstrap, invites and passkeys.
#[async_trait]
pub trait StaffStore: Send + Sync {
    /// Whether any administrator exists (if not, a bootstrap token is issued at start-up).
    async fn administrator_exists(&self) -> StoreResult<bool>;
    /// Stores a fresh bootstrap token's hash.
    async fn put_bootstrap_token(&self, hash: &TokenHash, at: DateTime<Utc>) -> StoreResult<()>;
    /// Spends an unused bootstrap token and creates the first administrator with the
    /// invite for their first passkey, atomically. `None` when the token is unknown or
    /// already spent.
    async fn redeem_bootstrap_token(
        &self,
        hash: &TokenHash,
        admin: &StaffRecord<'_>,
        invite: &NewInvite,
    ) -> StoreResult<Option<Staff>>;
    /// One staff member.
    async fn get_staff(&self, id: i64) -> StoreResult<Option<Staff>>;
    /// Creates a staff member with the invite for their first passkey, in one
    /// transaction. A taken login is a unique violation.
    async fn create_staff(&self, staff: &StaffRecord<'_>, invite: &NewInvite, at: DateTime<Utc>) -> StoreResult<Staff>;
    /// Every staff member, by id.
    async fn list_staff(&self) -> StoreResult<Vec<Staff>>;
    /// A staff member with their passkey user handle.
    async fn staff_account(&self, id: i64) -> StoreResult<Option<StaffAccount>>;
    /// The staff member who signs in as `login`.
    async fn staff_account_by_login(&self, login: &str) -> StoreResult<Option<StaffAccount>>;
    /// Stores another invite for a staff member, with its audit entry.
    async fn add_invite(&self, staff_id: i64, invite: &NewInvite, audit: &AuditEvent) -> StoreResult<()>;
    /// The staff member an invite is for, if it is unused and unexpired at `at`.
    async fn invited_staff(&self, hash: &TokenHash, at: DateTime<Utc>) -> StoreResult<Option<i64>>;
    /// Stores a passkey with its audit entry; with `invite`, spends that invite in the same
    /// transaction. `false` (nothing stored) when the invite is no longer usable at the
    /// passkey's `created_at`. A credential id already registered is a unique violation.
    async fn add_passkey(
        &self,
        passkey: &StoredPasskey,
        invite: Option<&TokenHash>,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// A staff member's passkeys, oldest first.
    async fn passkeys(&self, staff_id: i64) -> StoreResult<Vec<StoredPasskey>>;
    /// Records a sign-in with a passkey: its updated credential (counter) and the time.
    async fn passkey_used(&self, id: Uuid, credential: &str, at: DateTime<Utc>) -> StoreResult<()>;
    /// Removes one of a staff member's passkeys with its audit entry; the last one only
    /// with `last_too` (an administrator removing a lost phone's: the person is re-invited).
    async fn remove_passkey(
        &self,
        staff_id: i64,
        id: Uuid,
        last_too: bool,
        audit: &AuditEvent,
    ) -> StoreResult<PasskeyRemoval>;
}
