//! The use cases of training (`impl Hourmark`), apart from its types and rules in the
//! parent module, which the store and the context import without importing these.

use super::*;
use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::guards::require_manager_of;
use crate::identity::pii::PiiField;
use crate::identity::{Principal, normalise_phone};

impl Hourmark {
    /// The activity's required training, for those who manage it; `not_found` when its
    /// recruitment requires none (or is not published).
    async fn required_training_of(&self, by: &Principal, activity_id: i64) -> Result<(i64, String), CoreError> {
        let activity = self.managed_activity(by, activity_id).await?;
        let recruitment = self.recruitment_for_staff(by, activity_id).await?;
        let training = recruitment
            .required_training
            .ok_or_else(|| CoreError::refused(ErrorCode::NotFound, "该活动的招募未要求培训"))?;
        Ok((activity.organisation_id, training))
    }

    /// Records that a volunteer (found by their registered phone number) completed the
    /// activity's required training: the organisation's organisers and recorders, and
    /// administrators. Recording it again answers the completion as it stands. Audited.
    pub async fn record_training_completion(
        &self,
        by: &Principal,
        activity_id: i64,
        request: TrainingCompletionRequest,
    ) -> Result<TrainingCompletion, CoreError> {
        let (organisation_id, training) = self.required_training_of(by, activity_id).await?;
        let staff_id = require_manager_of(by, organisation_id)?;
        let phone = normalise_phone(&request.phone)?;
        let lookup = self.vault().lookup(PiiField::Phone, &phone);
        let volunteer_id = self
            .store()
            .volunteer_by_phone(&lookup)
            .await?
            .ok_or_else(|| CoreError::refused(ErrorCode::PhoneNotRegistered, "该手机号尚未登记为志愿者"))?;
        let audit = AuditEvent {
            at: self.now(),
            actor_kind: "staff".into(),
            actor_id: Some(staff_id),
            action: "training_completed".into(),
            subject_kind: "volunteer".into(),
            subject_id: Some(volunteer_id),
            detail: serde_json::json!({ "organisation_id": organisation_id, "training": training, "activity_id": activity_id }),
        };
        self.store()
            .record_training_completion(organisation_id, &training, volunteer_id, staff_id, self.now(), &audit)
            .await
    }

    /// Who completed the activity's required training, newest first (those who manage the
    /// activity, its leaders included: they check it on the day).
    pub async fn training_completions(
        &self,
        by: &Principal,
        activity_id: i64,
    ) -> Result<Vec<TrainingCompletion>, CoreError> {
        let (organisation_id, training) = self.required_training_of(by, activity_id).await?;
        self.store().training_completions(organisation_id, &training).await
    }
}
