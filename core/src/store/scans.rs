//! Scans: the hot write path, replayed answers, and the reads of accepted scans.
//!
//! One area of [`Store`](super::Store): a narrow trait that each engine implements in its
//! own file (`postgres/scans.rs`, `sqlite/scans.rs`), so a change to this area touches
//! those two files side by side.

use async_trait::async_trait;
use uuid::Uuid;

use super::{AcceptedScan, NewScan, NumberedScan, ScanCursor, StoreResult, StoredAnswer};
use crate::review::{ScanElsewhere, StoredScanEvidence};

/// Scans: the hot write path, replayed answers, and the reads of accepted scans.
#[async_trait]
pub trait ScanStore: Send + Sync {
    /// Every scan at an activity, accepted or refused, in time order, with names.
    async fn scan_evidence(&self, activity_id: i64) -> StoreResult<Vec<StoredScanEvidence>>;
    /// The same, of some of its volunteers only: what one page of a review shows.
    async fn scan_evidence_of(&self, activity_id: i64, volunteers: &[i64]) -> StoreResult<Vec<StoredScanEvidence>>;
    /// Accepted scans at other activities by the volunteers who scanned at this one, within
    /// a day of it.
    async fn scans_elsewhere(&self, activity_id: i64) -> StoreResult<Vec<ScanElsewhere>>;
    /// Whether a volunteer has served with an organisation: an accepted scan at one of its
    /// activities, or an approved late entry there.
    async fn served_with_organisation(&self, volunteer_id: i64, organisation_id: i64) -> StoreResult<bool>;
    /// Records a batch of scans in one transaction, committed before it returns. For each
    /// input, `true` if it was written, `false` if that volunteer had already used its nonce
    /// (the earlier scan stands; see [`ScanStore::find_scan_answer`]).
    async fn insert_scans(&self, scans: &[NewScan]) -> StoreResult<Vec<bool>>;
    /// The answer recorded for a volunteer's nonce.
    async fn find_scan_answer(&self, volunteer_id: i64, nonce: Uuid) -> StoreResult<Option<StoredAnswer>>;
    /// Accepted scans of an activity (of one volunteer, if given), in server-time order.
    async fn accepted_scans(&self, activity_id: i64, volunteer_id: Option<i64>) -> StoreResult<Vec<AcceptedScan>>;
    /// The accepted scans of an activity recorded after `after` (every one for `None`),
    /// each with its number in its volunteer's order, and where to read from next time
    /// (`None`: from the start). It may return scans it returned before; it never skips
    /// one recorded after `after`, whatever order concurrent writers committed in. A live
    /// board keeps the activity's scans and reads only what is new (see
    /// `attendance::board`).
    async fn accepted_scans_after(
        &self,
        activity_id: i64,
        after: Option<ScanCursor>,
    ) -> StoreResult<(Vec<NumberedScan>, Option<ScanCursor>)>;
    /// How many scans (accepted and refused) a volunteer has made: for tests and audits.
    async fn count_scans(&self, volunteer_id: i64) -> StoreResult<i64>;
}
