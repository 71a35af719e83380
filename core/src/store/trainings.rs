//! Training completions' storage (the sign-up requirement): a narrow trait, implemented
//! once for both engines in `shared/trainings.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::audit::AuditEvent;
use crate::signups::TrainingCompletion;

/// What training completions keep.
#[async_trait]
pub trait TrainingStore: Send + Sync {
    /// Records that a volunteer completed an organisation's training, with its audit entry,
    /// in one transaction; recorded already, nothing changes (no second audit entry) and
    /// the completion as it stands is answered.
    async fn record_training_completion(
        &self,
        organisation_id: i64,
        training: &str,
        volunteer_id: i64,
        by: i64,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<TrainingCompletion>;
    /// Whether a volunteer completed an organisation's training.
    async fn has_completed_training(
        &self,
        organisation_id: i64,
        training: &str,
        volunteer_id: i64,
    ) -> StoreResult<bool>;
    /// Who completed an organisation's training, newest first.
    async fn training_completions(&self, organisation_id: i64, training: &str) -> StoreResult<Vec<TrainingCompletion>>;
}
