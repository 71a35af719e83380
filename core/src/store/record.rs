//! A volunteer's service record: evaluations, satisfaction, complaints, training, awards and finalised sessions.
//!
//! One area of [`Store`](super::Store): a narrow trait whose implementation is written once
//! for both engines, in `shared/record.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::audit::AuditEvent;
use crate::review::record::{Award, Complaint, ComplaintStatus, Evaluation, RecordSession, Satisfaction, Training};

/// A volunteer's service record: evaluations, satisfaction, complaints, training, awards and finalised sessions.
#[async_trait]
pub trait RecordStore: Send + Sync {
    /// Records (or replaces) an evaluation with its audit entry.
    async fn put_evaluation(&self, evaluation: &Evaluation, audit: &AuditEvent) -> StoreResult<()>;
    /// An activity's evaluations.
    async fn evaluations(&self, activity_id: i64) -> StoreResult<Vec<Evaluation>>;
    /// A volunteer's evaluations.
    async fn evaluations_of(&self, volunteer_id: i64) -> StoreResult<Vec<Evaluation>>;
    /// Records (or replaces) the recipients' satisfaction with an activity.
    async fn put_satisfaction(
        &self,
        activity_id: i64,
        satisfaction: &Satisfaction,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Files a complaint.
    #[allow(clippy::too_many_arguments)]
    async fn add_complaint(
        &self,
        volunteer_id: i64,
        organisation_id: i64,
        activity_id: Option<i64>,
        complainant_sealed: &str,
        description: &str,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<Complaint>;
    /// One complaint.
    async fn get_complaint(&self, id: i64) -> StoreResult<Option<Complaint>>;
    /// Moves a complaint from one of `from` to `to`: `text` is the investigation note, or
    /// the decision's reason (with who decided and when). `None` if it was not in `from`.
    #[allow(clippy::too_many_arguments)]
    async fn complaint_step(
        &self,
        id: i64,
        from: &[ComplaintStatus],
        to: ComplaintStatus,
        by: i64,
        text: &str,
        at: DateTime<Utc>,
        audit: Option<&AuditEvent>,
    ) -> StoreResult<Option<Complaint>>;
    /// Complaints against a volunteer.
    async fn complaints_of(&self, volunteer_id: i64) -> StoreResult<Vec<Complaint>>;
    /// Records training.
    #[allow(clippy::too_many_arguments)]
    async fn add_training(
        &self,
        volunteer_id: i64,
        organisation_id: i64,
        title: &str,
        held_on: chrono::NaiveDate,
        hours: u32,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<Training>;
    /// A volunteer's training.
    async fn trainings_of(&self, volunteer_id: i64) -> StoreResult<Vec<Training>>;
    /// Records an award.
    #[allow(clippy::too_many_arguments)]
    async fn add_award(
        &self,
        volunteer_id: i64,
        organisation_id: i64,
        title: &str,
        awarded_by: &str,
        awarded_on: chrono::NaiveDate,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<Award>;
    /// A volunteer's awards.
    async fn awards_of(&self, volunteer_id: i64) -> StoreResult<Vec<Award>>;
    /// A volunteer's finalised sessions, by day.
    async fn finalised_sessions_of(&self, volunteer_id: i64) -> StoreResult<Vec<RecordSession>>;
}
