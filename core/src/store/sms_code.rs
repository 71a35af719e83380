//! Storage of one-time SMS sign-in codes: one live code per phone number, kept as a keyed
//! hash, with its expiry, its wrong tries and whether it was used.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;

/// A code just sent.
#[derive(Clone, PartialEq, Eq)]
pub struct NewSmsCode {
    /// The number's lookup hash (as `volunteer.phone_lookup`).
    pub phone_lookup: [u8; 32],
    /// The keyed hash of the number and the code.
    pub code_hash: [u8; 32],
    /// When it was sent.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for NewSmsCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSmsCode").field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}

/// What checking a code found. Every outcome but `Wrong` changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsCodeCheck {
    /// Right, unexpired, unused: now used.
    Accepted,
    /// No code was sent to this number.
    NoCode,
    /// Used already.
    Used,
    /// Too many wrong tries already (even a right code is refused now).
    Exhausted,
    /// Past its expiry.
    Expired,
    /// Wrong: counted; this many tries are left.
    Wrong {
        /// Tries left before the code dies.
        tries_left: u32,
    },
}

/// One-time SMS codes.
#[async_trait]
pub trait SmsCodeStore {
    /// Keeps a new code for the number, replacing any earlier one (used or not).
    async fn put_sms_code(&self, code: &NewSmsCode) -> StoreResult<()>;

    /// Checks a code for the number in one transaction: a right one is marked used, a
    /// wrong one counted. A code that has had `max_attempts` wrong tries is refused even
    /// when right.
    async fn check_sms_code(
        &self,
        phone_lookup: &[u8; 32],
        code_hash: &[u8; 32],
        now: DateTime<Utc>,
        max_attempts: u32,
    ) -> StoreResult<SmsCodeCheck>;
}

/// The decision on a stored code, shared by both engines.
pub(crate) fn judge(
    stored_hash: &[u8],
    attempts: i64,
    used: bool,
    expires_at: DateTime<Utc>,
    code_hash: &[u8; 32],
    now: DateTime<Utc>,
    max_attempts: u32,
) -> SmsCodeCheck {
    let attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
    if used {
        SmsCodeCheck::Used
    } else if attempts >= max_attempts {
        SmsCodeCheck::Exhausted
    } else if now >= expires_at {
        SmsCodeCheck::Expired
    } else if stored_hash == code_hash.as_slice() {
        // Keyed hashes: how long the comparison takes says nothing about the code.
        SmsCodeCheck::Accepted
    } else {
        SmsCodeCheck::Wrong { tries_left: max_attempts - attempts - 1 }
    }
}
