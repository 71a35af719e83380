//! Publicity: entries, their periods and rules, and objections.
//!
//! One area of [`Store`](super::Store): a narrow trait whose implementation is written once
//! for both engines, in `shared/publicity.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::audit::AuditEvent;
use crate::publicity::{BoardFilter, NewPublicity, Objection, PublicityRow, Restart};

/// Publicity: entries, their periods and rules, and objections.
#[async_trait]
pub trait PublicityStore: Send + Sync {
    /// Entries in publicity or held with ids after `after` that match `filter`, oldest
    /// first.
    async fn publicity_in_progress(
        &self,
        after: i64,
        limit: i64,
        filter: &BoardFilter,
    ) -> StoreResult<Vec<PublicityRow>>;
    /// Entries held for the calendar.
    async fn publicity_held(&self) -> StoreResult<Vec<PublicityRow>>;
    /// Gives a held entry its period's end.
    async fn set_publicity_end(&self, id: i64, ends_on: chrono::NaiveDate) -> StoreResult<()>;
    /// Up to `limit` entries after `after` (by id) whose period ended before `today` and
    /// that no open objection holds.
    async fn publicity_due(&self, today: chrono::NaiveDate, after: i64, limit: i64) -> StoreResult<Vec<PublicityRow>>;
    /// One publicity entry.
    async fn publicity_entry(&self, id: i64) -> StoreResult<Option<PublicityRow>>;
    /// Publishes one more finalised day (no-op if that day is already published).
    async fn add_publicity(&self, activity_id: i64, publicity: &NewPublicity, at: DateTime<Utc>) -> StoreResult<()>;
    /// The publicity entry of a volunteer's finalised day.
    async fn publicity_entry_for(
        &self,
        activity_id: i64,
        volunteer_id: i64,
        day: chrono::NaiveDate,
    ) -> StoreResult<Option<PublicityRow>>;
    /// Starts an entry's publicity again with corrected minutes; `false` if it has been
    /// recorded meanwhile.
    async fn restart_publicity(&self, id: i64, restart: &Restart) -> StoreResult<bool>;
    /// Stores an objection, unless the entry has been recorded meanwhile (`None`).
    async fn add_objection(
        &self,
        entry_id: i64,
        contact_sealed: &str,
        reason: &str,
        raised_by: Option<i64>,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<Objection>>;
    /// One objection.
    async fn objection(&self, id: i64) -> StoreResult<Option<Objection>>;
    /// The objections to an activity's entries.
    async fn objections_of_activity(&self, activity_id: i64) -> StoreResult<Vec<Objection>>;
    /// Decides an open objection with its audit entry, in one transaction: with `restart`
    /// (upheld), the finalised session is corrected (and the correction recorded) and the
    /// entry's publicity starts again. `None` if the objection was no longer open.
    #[allow(clippy::too_many_arguments)]
    async fn decide_objection(
        &self,
        id: i64,
        entry: &PublicityRow,
        by: i64,
        reason: &str,
        restart: Option<&Restart>,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Objection>>;
    /// The publicity period set for a scope (`org:<id>` or a province's region code).
    async fn publicity_rule(&self, scope: &str) -> StoreResult<Option<u32>>;
    /// Sets the publicity period for a scope.
    async fn put_publicity_rule(&self, scope: &str, working_days: u32, by: i64, at: DateTime<Utc>) -> StoreResult<()>;
}
