//! Activity cancellations' storage: a narrow trait, implemented once for both engines in
//! `shared/cancellations.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::audit::AuditEvent;
use crate::signups::ActivityCancellation;

/// What cancellations keep.
#[async_trait]
pub trait CancellationStore: Send + Sync {
    /// Cancels an activity with its audit entry, in one transaction; `None` (nothing
    /// changed, no audit entry) if it was cancelled already.
    async fn cancel_activity(
        &self,
        activity_id: i64,
        reason: &str,
        by: i64,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<ActivityCancellation>>;
    /// An activity's cancellation, if it was cancelled.
    async fn activity_cancellation(&self, activity_id: i64) -> StoreResult<Option<ActivityCancellation>>;
    /// The cancellations among these activities (one query for a whole list of them).
    async fn cancellations_among(&self, activity_ids: &[i64]) -> StoreResult<Vec<ActivityCancellation>>;
}
