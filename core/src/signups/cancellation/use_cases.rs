//! The use cases of cancellation (`impl Hourmark`), apart from its types and rules in the
//! parent module, which the store and the context import without importing these.

use super::*;
use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::Principal;
use crate::identity::guards::require_manager_of;
use crate::notification::HoursNotice;

impl Hourmark {
    /// Cancels an activity: the organisation's organisers and recorders, and
    /// administrators (leaders run the day; they do not call it off). Refused for an
    /// activity already finalised. Audited; everyone signed up is notified once.
    pub async fn cancel_activity(
        &self,
        by: &Principal,
        activity_id: i64,
        request: CancellationRequest,
    ) -> Result<ActivityCancellation, CoreError> {
        let activity = self.managed_activity(by, activity_id).await?;
        let staff_id = require_manager_of(by, activity.organisation_id)?;
        let reason = crate::text::clean(&request.reason, 500, "reason", crate::text::Lines::Many)?;
        if let Some(done) = self.store().activity_cancellation(activity.id).await? {
            return Ok(done);
        }
        if self.store().is_finalised(activity.id).await? {
            return Err(CoreError::refused(ErrorCode::ActivityFinalised, "活动已定稿，不能取消"));
        }
        let at = self.now();
        let audit = AuditEvent {
            at,
            actor_kind: "staff".into(),
            actor_id: Some(staff_id),
            action: "activity_cancelled".into(),
            subject_kind: "activity".into(),
            subject_id: Some(activity.id),
            detail: serde_json::json!({ "reason": reason }),
        };
        let cancellation = match self.store().cancel_activity(activity.id, &reason, staff_id, at, &audit).await? {
            Some(new) => new,
            // Another request got there first: its notices are its own.
            None => {
                return self
                    .store()
                    .activity_cancellation(activity.id)
                    .await?
                    .ok_or_else(|| CoreError::Internal("cancellation vanished".into()));
            }
        };
        self.admission_changed(activity.id).await;
        // Only the request that cancelled publishes: a repeat answers the same record quietly.
        self.inner().live.publish(crate::live::LiveEvent {
            activity_id: activity.id,
            id: uuid::Uuid::now_v7(),
            change: crate::live::LiveChange::Cancelled,
        });
        let notices = self
            .store()
            .activity_signups(activity.id)
            .await?
            .into_iter()
            .filter(|s| s.status.is_live())
            .map(|s| HoursNotice::ActivityCancelled {
                volunteer_id: s.volunteer_id,
                signup_id: s.id,
                activity: s.activity_name,
                starts_at: s.starts_at,
                reason: reason.clone(),
            })
            .collect();
        self.notify_all(notices).await;
        Ok(cancellation)
    }

    /// An activity's cancellation, for those who manage it (its pages say it is off).
    pub async fn cancellation_for_staff(
        &self,
        by: &Principal,
        activity_id: i64,
    ) -> Result<Option<ActivityCancellation>, CoreError> {
        self.managed_activity(by, activity_id).await?;
        self.store().activity_cancellation(activity_id).await
    }

    /// The cancellations among activities the caller was already shown (the console's
    /// list marks them), read in one query, by activity id.
    pub async fn cancellations_among(
        &self,
        activity_ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, ActivityCancellation>, CoreError> {
        if activity_ids.is_empty() {
            return Ok(std::collections::HashMap::new());
        }
        Ok(self.store().cancellations_among(activity_ids).await?.into_iter().map(|c| (c.activity_id, c)).collect())
    }

    /// Refuses with `activity_cancelled` when the activity was cancelled.
    pub(crate) async fn refuse_if_cancelled(&self, activity_id: i64, what: &str) -> Result<(), CoreError> {
        match self.store().activity_cancellation(activity_id).await? {
            Some(c) => {
                Err(CoreError::refused(ErrorCode::ActivityCancelled, format!("该活动已取消（{}），{what}", c.reason)))
            }
            None => Ok(()),
        }
    }
}
