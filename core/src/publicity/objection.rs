//! Objections (异议) to entries in publicity: raised by anyone during the period, held
//! until a recorder other than the one who finalised upholds (the session is corrected
//! and published again) or dismisses them.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

mod use_cases;

/// An objection to an entry in publicity.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewObjection {
    /// How to reach the objector, 1–200 characters: kept private (sealed), never shown.
    pub contact: String,
    /// What is wrong, 1–1000 characters.
    pub reason: String,
}

impl std::fmt::Debug for NewObjection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewObjection").finish_non_exhaustive()
    }
}

/// Where an objection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ObjectionStatus {
    /// Open: the entry is held past its period.
    Open,
    /// Upheld: the session was corrected and its publicity started again.
    Upheld,
    /// Dismissed, with a reason.
    Dismissed,
}

crate::stored_names!(ObjectionStatus {
    Open => "open",
    Upheld => "upheld",
    Dismissed => "dismissed",
});

/// An objection (the objector's contact details are never shown).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Objection {
    /// Its id.
    pub id: i64,
    /// The entry objected to.
    pub entry_id: i64,
    /// What is wrong.
    pub reason: String,
    /// Where it stands.
    pub status: ObjectionStatus,
    /// Raised when.
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub raised_at: DateTime<Utc>,
    /// Decided by.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<i64>,
    /// The decision's reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_reason: Option<String>,
    /// For an upheld objection: the corrected minutes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corrected_minutes: Option<u32>,
}

/// A recorder's decision on an objection.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectionDecision {
    /// Uphold (correct the session; its publicity starts again) or dismiss.
    pub uphold: bool,
    /// For `uphold`: the corrected minutes, at most the day's scheduled minutes.
    #[serde(default)]
    pub minutes: Option<u32>,
    /// Why, 1–500 characters.
    pub reason: String,
}

/// A publicity entry restarted with corrected minutes.
#[derive(Debug, Clone)]
pub struct Restart {
    /// The corrected minutes.
    pub minutes: u32,
    /// Why it is published again.
    pub reason: Option<String>,
    /// Published again on.
    pub published_on: NaiveDate,
    /// The new period's last working day, if known.
    pub ends_on: Option<NaiveDate>,
}
