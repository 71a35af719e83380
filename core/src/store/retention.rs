//! Storage side of erasing what has outlived its purpose: one-time SMS codes, bearer
//! tokens and staff invites past their expiry, and roster rows staged by an import that
//! never finished. Never the register, scans or anything a
//! record is made of.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::StoreResult;
use crate::audit::AuditEvent;

/// How many rows one pass erased, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Erased {
    /// SMS sign-in codes.
    pub sms_codes: u64,
    /// Volunteers' and staff's bearer tokens and console sessions.
    pub access_tokens: u64,
    /// Staff invites, used or not.
    pub staff_invites: u64,
    /// Staged rows of roster imports cut off part way (never published).
    pub abandoned_roster_rows: u64,
    /// Rows (volunteers, their consents, roster links) written by roster imports that
    /// failed part way, never visible to anyone.
    pub failed_import_rows: u64,
}

/// What a pass deletes, in [`Erased`]'s order, each bound to the cut-off (`$1`): the same
/// statements on both engines.
pub(crate) const ERASE_EXPIRED: [&str; 4] = [
    r"delete from sms_code where expires_at < $1",
    r"delete from access_token where expires_at < $1",
    r"delete from staff_invite where expires_at < $1",
    // Rows of a roster import cut off part way (a crash): staged more than a day ago.
    r"delete from roster_staging where created_at < $1",
];

impl Erased {
    /// The counts of [`ERASE_EXPIRED`]'s statements, in order, and the failed imports'
    /// rows deleted beforehand.
    pub(crate) fn from_counts(counts: [u64; 4], failed_import_rows: u64) -> Self {
        let [sms_codes, access_tokens, staff_invites, abandoned_roster_rows] = counts;
        Self { sms_codes, access_tokens, staff_invites, abandoned_roster_rows, failed_import_rows }
    }

    /// Rows erased in all.
    pub fn total(&self) -> u64 {
        self.sms_codes + self.access_tokens + self.staff_invites + self.abandoned_roster_rows + self.failed_import_rows
    }

    /// The audit event of a pass that erased these: by the system, with the counts.
    pub fn audit(&self, at: DateTime<Utc>) -> AuditEvent {
        AuditEvent {
            at,
            actor_kind: "system".to_owned(),
            actor_id: None,
            action: "retention_erased".to_owned(),
            subject_kind: "retention".to_owned(),
            subject_id: None,
            detail: serde_json::to_value(self).unwrap_or_default(),
        }
    }
}

/// Erasing expired credentials.
#[async_trait]
pub trait RetentionStore {
    /// Deletes SMS codes, access tokens and staff invites that expired before
    /// `expired_before` and roster rows staged before it, and, when anything went
    /// (`failed_import_rows` counting what the caller already deleted in short deletes
    /// of its own), writes [`Erased::audit`] at `now`, all in one transaction.
    async fn erase_expired(
        &self,
        expired_before: DateTime<Utc>,
        now: DateTime<Utc>,
        failed_import_rows: u64,
    ) -> StoreResult<Erased>;
}
