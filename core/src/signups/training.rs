//! Training completed, as a sign-up requirement: an activity's recruitment may name a
//! training (`required_training`); the organisation records which volunteers completed
//! it, by the phone number they registered with (the organiser has it from the training's
//! sign-in sheet; a newcomer has no record with the organisation yet); a volunteer
//! without it is refused at sign-up (`signup_training_missing`).
//!
//! A completion belongs to the organisation and the training's name: recorded once, it
//! counts for every activity of that organisation requiring the same training. It is not
//! the volunteer record's training entry (hours and a date, for volunteers who have
//! served), and it is never published.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::guards::require_manager_of;
use crate::identity::pii::PiiField;
use crate::identity::{Principal, normalise_phone};

/// Recording that a volunteer completed the activity's required training.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingCompletionRequest {
    /// The phone number the volunteer registered with.
    pub phone: String,
}

/// A volunteer who completed a training of an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TrainingCompletion {
    /// The training's name.
    pub training: String,
    /// The volunteer.
    pub volunteer_id: i64,
    /// Their name.
    pub volunteer_name: String,
    /// When it was recorded (+08:00).
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub recorded_at: DateTime<Utc>,
}

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
