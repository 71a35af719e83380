//! Late entries (补录) and finalising.
//!
//! A late entry gives minutes to a volunteer who served but could not scan: asked for with
//! evidence by a recorder, approved by a different recorder, capped like any hand-set
//! minutes by the day's scheduled minutes. Finalising, by a recorder with a valid
//! certificate once the check-out window has passed and nothing is left open, fixes each
//! volunteer's minutes per day, keeping what the scans earned apart from what counts and
//! saying which decided it; after that only a recorded correction changes a session.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

mod use_cases;

/// A request for a late entry, as a recorder makes it: the volunteer by id, or by the
/// volunteer number (志愿者编号) on their card or their 我的时长 page, which is what a
/// recorder at a desk is told.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LateEntryRequest {
    /// Who served, by id; or
    #[serde(default)]
    pub volunteer_id: Option<i64>,
    /// by volunteer number (not both).
    #[serde(default)]
    pub volunteer_number: Option<String>,
    /// The local day they served.
    #[schema(value_type = String, format = Date)]
    pub day: NaiveDate,
    /// Minutes served, at most the day's scheduled minutes.
    pub minutes: u32,
    /// The evidence (photos' references, a sign-in sheet, a witness), 1–1000 characters.
    pub evidence: String,
    /// Why they could not scan, 1–500 characters.
    pub reason: String,
}

/// A late entry to store.
#[derive(Debug, Clone)]
pub struct NewLateEntry {
    /// Who served.
    pub volunteer_id: i64,
    /// The local day they served.
    pub day: NaiveDate,
    /// Minutes served, at most the day's scheduled minutes.
    pub minutes: u32,
    /// The evidence (photos' references, a sign-in sheet, a witness), 1–1000 characters.
    pub evidence: String,
    /// Why they could not scan, 1–500 characters.
    pub reason: String,
}

/// A late-entry request that passed every check, ready to store.
#[derive(Debug)]
pub(crate) struct CheckedLateEntry {
    staff_id: i64,
    new: NewLateEntry,
    evidence: String,
    reason: String,
}

/// See [`Hourmark::review_subjects`].
#[derive(Debug, Default)]
pub struct ReviewSubjects {
    /// (volunteer number, name) by volunteer id.
    pub volunteers: BTreeMap<i64, (String, String)>,
    /// The publicity entries objected to, by id.
    pub disputed: BTreeMap<i64, crate::publicity::PublicityRow>,
    /// Names of the staff who asked for or decided late entries and corrections, by staff
    /// id: a recorder must see *who* the other recorder was, not a number.
    pub staff: BTreeMap<i64, String>,
}

/// Where a late entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LateEntryStatus {
    /// Waiting for a second recorder.
    Open,
    /// Approved: the minutes count.
    Approved,
    /// Rejected.
    Rejected,
}

crate::stored_names!(LateEntryStatus {
    Open => "open",
    Approved => "approved",
    Rejected => "rejected",
});

/// A late entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LateEntry {
    /// Its id.
    pub id: i64,
    /// The activity.
    pub activity_id: i64,
    /// Who served.
    pub volunteer_id: i64,
    /// The day.
    #[schema(value_type = String, format = Date)]
    pub day: NaiveDate,
    /// Minutes.
    pub minutes: u32,
    /// Evidence.
    pub evidence: String,
    /// Why.
    pub reason: String,
    /// Asked for by (staff id).
    pub requested_by: i64,
    /// Asked for when.
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub requested_at: DateTime<Utc>,
    /// Where it stands.
    pub status: LateEntryStatus,
    /// Decided by.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<i64>,
    /// The decision's reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_reason: Option<String>,
}

/// A decision on a late entry.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LateEntryDecision {
    /// Approve or reject.
    pub approve: bool,
    /// Why, 1–500 characters.
    pub reason: String,
}

/// Which decided a finalised session's minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MinutesSource {
    /// The scans, as derived.
    Scans,
    /// A reviewer's adjustment.
    Adjusted,
    /// A reviewer rejected the day.
    Rejected,
    /// An approved late entry.
    LateEntry,
    /// Changed after finalising by an approved correction or an upheld objection (shown,
    /// never stored: the stored source says what decided the minutes at finalising).
    Corrected,
}

crate::stored_names!(MinutesSource {
    Scans => "scans",
    Adjusted => "adjusted",
    Rejected => "rejected",
    LateEntry => "late_entry",
    Corrected => "corrected",
});

/// One volunteer's finalised day at an activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FinalisedSession {
    /// Who.
    pub volunteer_id: i64,
    /// The local day.
    #[schema(value_type = String, format = Date)]
    pub day: NaiveDate,
    /// What the scans earned.
    pub scan_minutes: u32,
    /// What counts.
    pub final_minutes: u32,
    /// Which decided it.
    pub source: MinutesSource,
}

/// An activity's finalisation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Finalisation {
    /// The activity.
    pub activity_id: i64,
    /// By whom (staff id).
    pub finalised_by: i64,
    /// When.
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub finalised_at: DateTime<Utc>,
    /// Every volunteer's days.
    pub sessions: Vec<FinalisedSession>,
}

/// A correction to a finalised session.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionCorrection {
    /// Whose session.
    pub volunteer_id: i64,
    /// Which day.
    #[schema(value_type = String, format = Date)]
    pub day: NaiveDate,
    /// The corrected minutes, at most the day's scheduled minutes.
    pub minutes: u32,
    /// Why, 1–500 characters.
    pub reason: String,
}
