//! Review: settings, flags, closing, late entries and finalisation.
//!
//! One area of [`Store`](super::Store): a narrow trait whose implementation is written once
//! for both engines, in `shared/review.rs`.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::StoreResult;
use crate::audit::AuditEvent;
use crate::publicity::NewPublicity;
use crate::review::finalise::{Finalisation, FinalisedSession, LateEntry, LateEntryStatus, NewLateEntry};
use crate::review::{Flag, FlagCounts, FlagStatus, NewFlag, ReviewSettings};

/// Review: settings, flags, closing, late entries and finalisation.
/// Days known to hold a flag: (activity, volunteer, local day as `YYYY-MM-DD`). Flags
/// are never deleted, so a day once seen flagged stays flagged and need not be read again:
/// a pass that raises its findings in batches keeps one set for all of them (each batch
/// would otherwise re-read every flag raised before it); a single raise starts empty.
pub type FlaggedDays = std::collections::HashSet<(i64, i64, String)>;

#[async_trait]
pub trait ReviewStore: Send + Sync {
    /// An activity's review settings, if any were set.
    async fn review_settings(&self, activity_id: i64) -> StoreResult<Option<ReviewSettings>>;
    /// Sets an activity's review settings.
    async fn put_review_settings(
        &self,
        activity_id: i64,
        settings: &ReviewSettings,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Stores flags, skipping any already raised (same activity, volunteer, rule and key);
    /// returns how many were new. The activity's kept counts (see [`Self::flag_counts`])
    /// change in the same transaction. Counting new flagged days reads the days already
    /// flagged of the flags' volunteers, except where `known` has the day already; once
    /// committed, the days seen are added to `known`.
    async fn raise_flags(&self, flags: &[NewFlag], known: &mut FlaggedDays) -> StoreResult<usize>;
    /// An activity's flags, by volunteer, day and id.
    async fn flags(&self, activity_id: i64) -> StoreResult<Vec<Flag>>;
    /// The flags of an activity's first `days` flagged (volunteer, day) pairs after
    /// `after`, by volunteer, day and id: one page of its review.
    async fn flag_page(&self, activity_id: i64, after: Option<(i64, NaiveDate)>, days: u32) -> StoreResult<Vec<Flag>>;
    /// How many of an activity's flags are open, and on how many days it has flags: counts
    /// kept by every raise and decision, so reading them does not grow with the flags.
    async fn flag_counts(&self, activity_id: i64) -> StoreResult<FlagCounts>;
    /// An activity's newest `limit` flags, newest first (by when raised, then id), and how
    /// many it has in all, read together so the two agree.
    async fn newest_flags(&self, activity_id: i64, limit: u32) -> StoreResult<(Vec<Flag>, u32)>;
    /// What identifies each of an activity's flags (of some of its volunteers only, if
    /// given): volunteer, rule and dedupe key.
    async fn flag_keys(&self, activity_id: i64, volunteers: Option<&[i64]>) -> StoreResult<Vec<(i64, String, String)>>;
    /// One flag.
    async fn get_flag(&self, id: i64) -> StoreResult<Option<Flag>>;
    /// Resolves an open flag with its audit entry; `None` (nothing changed) if it was no
    /// longer open.
    #[allow(clippy::too_many_arguments)]
    async fn resolve_flag(
        &self,
        id: i64,
        status: FlagStatus,
        by: i64,
        reason: &str,
        minutes: Option<u32>,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Flag>>;
    /// Whether an activity's left-open sessions have been closed.
    async fn is_closed(&self, activity_id: i64) -> StoreResult<bool>;
    /// Whether an activity has been finalised.
    async fn is_finalised(&self, activity_id: i64) -> StoreResult<bool>;
    /// Activities that ended before `cutoff` and have not been closed, oldest first.
    async fn activities_to_close(&self, cutoff: DateTime<Utc>, limit: i64) -> StoreResult<Vec<i64>>;
    /// Marks an activity's left-open sessions closed (no-op if already).
    async fn mark_closed(&self, activity_id: i64, at: DateTime<Utc>) -> StoreResult<()>;
    /// Files a late entry.
    async fn add_late_entry(
        &self,
        activity_id: i64,
        new: &NewLateEntry,
        evidence: &str,
        reason: &str,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<LateEntry>;
    /// An activity's late entries, oldest first.
    async fn late_entries(&self, activity_id: i64) -> StoreResult<Vec<LateEntry>>;
    /// Decides an open late entry with its audit entry; `None` if no longer open.
    async fn decide_late_entry(
        &self,
        id: i64,
        status: LateEntryStatus,
        by: i64,
        reason: &str,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<LateEntry>>;
    /// Finalises an activity with its sessions, their publicity and the audit entry, in one
    /// transaction; `false` (nothing written) if it was already finalised.
    #[allow(clippy::too_many_arguments)]
    async fn finalise(
        &self,
        activity_id: i64,
        by: i64,
        at: DateTime<Utc>,
        sessions: &[FinalisedSession],
        publicity: &[NewPublicity],
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// A finalised activity and its sessions.
    async fn finalisation(&self, activity_id: i64) -> StoreResult<Option<Finalisation>>;
}
