//! The rest of a volunteer's record: the organisation's evaluation of each volunteer's
//! work and the recipients' satisfaction, complaints (filed, investigated, then verified
//! or dismissed with reasons; only verified ones enter the record), training attended and
//! awards received. With the finalised sessions, this is what a volunteer's record shows.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::validate_reason;

mod use_cases;

/// 服务质量评价: how well the volunteer served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    /// 优秀.
    Excellent,
    /// 良好.
    Good,
    /// 合格.
    Pass,
    /// 不合格.
    Fail,
}

crate::stored_names!(Grade {
    Excellent => "excellent",
    Good => "good",
    Pass => "pass",
    Fail => "fail",
});

/// An evaluation to record.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEvaluation {
    /// The grade.
    pub grade: Grade,
    /// A comment, 1–500 characters.
    pub comment: String,
}

/// A volunteer's evaluation at an activity.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Evaluation {
    /// The activity.
    pub activity_id: i64,
    /// Who.
    pub volunteer_id: i64,
    /// The grade.
    pub grade: Grade,
    /// The comment.
    pub comment: String,
    /// By (staff id).
    pub evaluated_by: i64,
    /// When.
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub evaluated_at: DateTime<Utc>,
}

/// The recipients' satisfaction with an activity.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Satisfaction {
    /// 1 (very dissatisfied) to 5 (very satisfied).
    pub score: u8,
    /// How many recipients answered.
    pub respondents: u32,
    /// A comment, 1–500 characters.
    pub comment: String,
}

/// Where a complaint stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComplaintStatus {
    /// Filed.
    Filed,
    /// Being investigated.
    Investigating,
    /// Verified: it enters the volunteer's record.
    Verified,
    /// Dismissed.
    Dismissed,
}

crate::stored_names!(ComplaintStatus {
    Filed => "filed",
    Investigating => "investigating",
    Verified => "verified",
    Dismissed => "dismissed",
});

/// A complaint to file.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComplaint {
    /// Against whom.
    pub volunteer_id: i64,
    /// The activity it concerns; its organisation handles the complaint. Without one, the
    /// filer's own organisation does.
    #[serde(default)]
    pub activity_id: Option<i64>,
    /// Who complained and how to reach them, 1–200 characters: kept private (sealed).
    pub complainant: String,
    /// What happened, 1–1000 characters.
    pub description: String,
}

impl std::fmt::Debug for NewComplaint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewComplaint")
            .field("volunteer_id", &self.volunteer_id)
            .field("activity_id", &self.activity_id)
            .finish_non_exhaustive()
    }
}

/// A complaint (the complainant's details are never shown).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Complaint {
    /// Its id.
    pub id: i64,
    /// Against whom.
    pub volunteer_id: i64,
    /// The organisation handling it.
    pub organisation_id: i64,
    /// The activity it concerns.
    pub activity_id: Option<i64>,
    /// What happened.
    pub description: String,
    /// Where it stands.
    pub status: ComplaintStatus,
    /// Filed by (staff id).
    pub filed_by: i64,
    /// Filed when.
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub filed_at: DateTime<Utc>,
    /// The investigation's notes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub investigation: Option<String>,
    /// Decided by.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<i64>,
    /// The decision's reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_reason: Option<String>,
}

/// Starting an investigation.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Investigation {
    /// What is being looked into, 1–1000 characters.
    pub note: String,
}

/// Deciding a complaint.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComplaintDecision {
    /// Verified (enters the record) or dismissed.
    pub verified: bool,
    /// Why, 1–500 characters.
    pub reason: String,
}

/// Training attended, or an award received.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTraining {
    /// The course, 1–100 characters.
    pub title: String,
    /// When it was held.
    #[schema(value_type = String, format = Date)]
    pub held_on: NaiveDate,
    /// Hours attended, 1–200.
    pub hours: u32,
}

/// A training record.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Training {
    /// Its id.
    pub id: i64,
    /// Who attended.
    pub volunteer_id: i64,
    /// The organisation that recorded it.
    pub organisation_id: i64,
    /// The course.
    pub title: String,
    /// When.
    #[schema(value_type = String, format = Date)]
    pub held_on: NaiveDate,
    /// Hours.
    pub hours: u32,
}

/// An award to record.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAward {
    /// The award, 1–100 characters (e.g. 优秀志愿者).
    pub title: String,
    /// Who gave it, 1–100 characters.
    pub awarded_by: String,
    /// When.
    #[schema(value_type = String, format = Date)]
    pub awarded_on: NaiveDate,
}

/// An award record.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Award {
    /// Its id.
    pub id: i64,
    /// Who received it.
    pub volunteer_id: i64,
    /// The organisation that recorded it.
    pub organisation_id: i64,
    /// The award.
    pub title: String,
    /// Who gave it.
    pub awarded_by: String,
    /// When.
    #[schema(value_type = String, format = Date)]
    pub awarded_on: NaiveDate,
}

/// A finalised day as the record shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordSession {
    /// The activity.
    pub activity_id: i64,
    /// Its name.
    pub activity_name: String,
    /// The day.
    #[schema(value_type = String, format = Date)]
    pub day: NaiveDate,
    /// Minutes that count.
    pub minutes: u32,
}

/// A volunteer's record.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VolunteerRecord {
    /// Who.
    pub volunteer_id: i64,
    /// Finalised service, by day.
    pub sessions: Vec<RecordSession>,
    /// Their sum.
    pub total_minutes: u64,
    /// The minutes that count for certificates, stars and the time bank: those in the
    /// register that civil affairs confirmed.
    pub confirmed_minutes: i64,
    /// Stars held (星级, granted by the volunteer departments; 0 for none).
    pub stars: u8,
    /// Evaluations.
    pub evaluations: Vec<Evaluation>,
    /// Verified complaints.
    pub complaints: Vec<Complaint>,
    /// Training.
    pub trainings: Vec<Training>,
    /// Awards.
    pub awards: Vec<Award>,
}
