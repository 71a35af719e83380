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

mod use_cases;

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
