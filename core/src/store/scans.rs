//! Scans: the hot write path, replayed answers, and the reads of accepted scans.
//!
//! One area of [`Store`](super::Store): a narrow trait whose implementation is written once
//! for both engines, in `shared/scans.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreResult;
use crate::attendance::Direction;
use crate::review::{ScanElsewhere, StoredScanEvidence};

/// Scans: the hot write path, replayed answers, and the reads of accepted scans.
#[async_trait]
pub trait ScanStore: Send + Sync {
    /// Every scan at an activity, accepted or refused, in time order, with names.
    async fn scan_evidence(&self, activity_id: i64) -> StoreResult<Vec<StoredScanEvidence>>;
    /// The same, of some of its volunteers only: what one page of a review shows.
    async fn scan_evidence_of(&self, activity_id: i64, volunteers: &[i64]) -> StoreResult<Vec<StoredScanEvidence>>;
    /// Accepted scans at other activities by the volunteers who scanned at this one (or by
    /// those given), within a day of it.
    async fn scans_elsewhere(&self, activity_id: i64, volunteers: Option<&[i64]>) -> StoreResult<Vec<ScanElsewhere>>;
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
    /// each with its number in its volunteer's order (and the volunteer's name only on
    /// their first, number 1; an empty one after), and where to read from next time
    /// (`None`: from the start). It may return scans it returned before; it never skips
    /// one recorded after `after`, whatever order concurrent writers committed in. A live
    /// board keeps the activity's scans and reads only what is new (see
    /// `attendance::board`).
    async fn accepted_scans_after(
        &self,
        activity_id: i64,
        after: Option<ScanCursor>,
    ) -> StoreResult<(Vec<NumberedScan>, Option<ScanCursor>)>;
    /// What [`ScanStore::accepted_scans_after`] reads, as the review's rules see each scan
    /// (without the volunteer's number): a pass over an activity judges only what changed
    /// (see `review::book`).
    async fn accepted_evidence_after(
        &self,
        activity_id: i64,
        after: Option<ScanCursor>,
    ) -> StoreResult<(Vec<StoredScanEvidence>, Option<ScanCursor>)>;
    /// How many scans (accepted and refused) a volunteer has made: for tests and audits.
    async fn count_scans(&self, volunteer_id: i64) -> StoreResult<i64>;
}

/// A scan to record, accepted or refused, with the answer the volunteer gets.
#[derive(Debug, Clone, PartialEq)]
pub struct NewScan {
    /// Assigned by the server before the write (UUIDv7: time-ordered).
    pub id: Uuid,
    /// Who scanned.
    pub volunteer_id: i64,
    /// The client's idempotency key; unique per volunteer.
    pub client_nonce: Uuid,
    /// The activity the code named, when the code could be read.
    pub activity_id: Option<i64>,
    /// The gate the code named.
    pub gate: Option<u8>,
    /// Set for accepted scans only.
    pub direction: Option<Direction>,
    /// For accepted scans: the volunteer's accepted scans at the activity before this one,
    /// plus one. Unique per (activity, volunteer), so a decision made on a state another
    /// instance has already moved on from cannot be written (see `attendance::scan`).
    pub seq: Option<u32>,
    /// `checked_in`, `checked_out`, or the refusal's error code.
    pub outcome: String,
    /// When the server took the scan; for a late upload, the scan time the phone claimed.
    pub server_time: DateTime<Utc>,
    /// For a late upload only: when it reached the server (see `attendance::offline`).
    pub uploaded_at: Option<DateTime<Utc>>,
    /// What the phone's clock said.
    pub client_time: Option<DateTime<Utc>>,
    /// The code's time window.
    pub code_window: Option<u32>,
    /// The key id the code was signed with.
    pub key_id: Option<u8>,
    /// Distance from the activity's location, metres. The position itself is not kept.
    pub distance_m: Option<f64>,
    /// The phone's reported accuracy, metres.
    pub accuracy_m: Option<f64>,
    /// The geofence verdict, when a location was used.
    pub geofence: Option<crate::geo::Geofence>,
    /// The device the scan came from.
    pub device_id: Option<String>,
    /// A keyed digest of the client's network address (never the address).
    pub network: Option<String>,
    /// The exact answer, replayed for a retry with the same nonce.
    pub answer: StoredAnswer,
}

/// An answer as sent: HTTP status and JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    /// HTTP status.
    pub status: u16,
    /// The JSON body, verbatim.
    pub body: String,
}

/// An accepted scan, as the minutes derivation and the live board read it.
#[derive(Debug, Clone, PartialEq)]
pub struct AcceptedScan {
    /// The scan's id.
    pub id: Uuid,
    /// Who.
    pub volunteer_id: i64,
    /// Their name.
    pub volunteer_name: String,
    /// When the server took it.
    pub at: DateTime<Utc>,
    /// In or out.
    pub direction: Direction,
    /// The gate it was taken at.
    pub gate: Option<u8>,
}

/// Where a reader of an activity's accepted scans got to, for
/// [`ScanStore::accepted_scans_after`]. Each engine gives it its own meaning: on PostgreSQL the
/// oldest transaction still running when the scans were read (every transaction before it
/// had finished, so nothing older can still appear); on SQLite, whose one writer commits
/// in row order, the last row read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanCursor(pub i64);

/// An accepted scan and its number in its volunteer's order at the activity (1, 2, …).
#[derive(Debug, Clone)]
pub struct NumberedScan {
    /// The scan.
    pub scan: AcceptedScan,
    /// Its number: one more than the volunteer's previous accepted scan there.
    pub seq: u32,
}
