//! Volunteers' requests to correct their data, and the scans they may cite.
//!
//! One area of [`Store`](super::Store): a narrow trait whose implementation is written once
//! for both engines, in `shared/corrections.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::audit::AuditEvent;
use crate::corrections::{CorrectionField, CorrectionRequest, CorrectionStatus, MyScan, VolunteerChange};

/// Volunteers' requests to correct their data, and the scans they may cite.
#[async_trait]
pub trait CorrectionStore: Send + Sync {
    /// Files a correction request.
    async fn add_correction(
        &self,
        volunteer_id: i64,
        field: CorrectionField,
        requested_value: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<CorrectionRequest>;
    /// One correction request.
    async fn get_correction(&self, id: i64) -> StoreResult<Option<CorrectionRequest>>;
    /// A volunteer's correction requests, oldest first.
    async fn corrections_of(&self, volunteer_id: i64) -> StoreResult<Vec<CorrectionRequest>>;
    /// Requests waiting for a decision, oldest first (at most 1000).
    async fn open_corrections(&self) -> StoreResult<Vec<CorrectionRequest>>;
    /// Decides an open request: applies `change` to the volunteer and writes `audit`, in
    /// one transaction. `None` (nothing changed) if it was no longer open.
    #[allow(clippy::too_many_arguments)]
    async fn decide_correction(
        &self,
        id: i64,
        status: CorrectionStatus,
        decided_by: i64,
        reason: &str,
        at: DateTime<Utc>,
        change: Option<&VolunteerChange>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<CorrectionRequest>>;
    /// A volunteer's scans, accepted or refused, oldest first, with activity names.
    async fn volunteer_scans(&self, volunteer_id: i64) -> StoreResult<Vec<MyScan>>;
}
