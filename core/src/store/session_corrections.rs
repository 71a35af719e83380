//! Corrections of finalised sessions: proposals and decisions.
//!
//! One area of [`Store`](super::Store): a narrow trait whose implementation is written once
//! for both engines, in `shared/session_corrections.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::audit::AuditEvent;
use crate::review::correction::{CorrectionProposal, Decided, NewProposal, Proposed};
use crate::review::finalise::FinalisedSession;

/// Corrections of finalised sessions: proposals and decisions.
#[async_trait]
pub trait SessionCorrectionStore: Send + Sync {
    /// Finalised days whose publicity or register does not show their final minutes (a
    /// correction interrupted between its two steps), at most `limit`: the day's
    /// finalised session, and the reason of its latest correction, if any.
    async fn unpublished_corrections(&self, limit: i64) -> StoreResult<Vec<(i64, FinalisedSession, Option<String>)>>;
    /// Stores a proposed correction of a finalised session (from its current final minutes)
    /// with its audit entry.
    async fn propose_session_correction(&self, proposal: &NewProposal, audit: &AuditEvent) -> StoreResult<Proposed>;
    /// An activity's correction proposals, oldest first.
    async fn session_correction_proposals(&self, activity_id: i64) -> StoreResult<Vec<CorrectionProposal>>;
    /// Decides a proposal: an approval corrects the finalised session (if its minutes are
    /// still the proposal's `from`) and records the correction, proposer and approver; all
    /// with the audit entry, in one transaction.
    async fn decide_session_correction(
        &self,
        id: i64,
        approve: bool,
        by: i64,
        reason: &str,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Decided>;
}
