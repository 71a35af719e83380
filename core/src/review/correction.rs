//! Corrections of finalised sessions: the four-eyes rule, publicity again, then the register.
//!
//! Nothing enters the register without publicity, and one recorder alone may not change
//! recorded hours. So a correction goes:
//!
//! ```text
//! recorder A ── propose (from → to, why) ──► proposal (open; one per session at a time)
//! recorder B ── approve / reject (why) ────► approved: finalised minutes changed,
//!                                              session shown as `corrected`,
//!                                              volunteer told, audited under the volunteer
//!                                              │
//!                  publicity entry published again for the full period (recorded or not)
//!                                              │  period ends, no open objection
//!                                              ▼
//!                  register: original (never recorded before) or reversal + replacement
//! ```
//!
//! Until the new period ends, the register's standing entry keeps counting: a correction
//! counts only once the public has had its chance to object to it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::finalise::FinalisedSession;
use crate::audit::AuditEvent;

mod use_cases;

/// Where a proposed correction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatus {
    /// Waiting for a second recorder.
    Proposed,
    /// Approved and applied.
    Approved,
    /// Rejected, with a reason.
    Rejected,
}

crate::stored_names!(ProposalStatus {
    Proposed => "proposed",
    Approved => "approved",
    Rejected => "rejected",
});

/// A correction of a finalised session, from its proposal to its decision.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CorrectionProposal {
    /// Its id.
    pub id: i64,
    /// The activity.
    pub activity_id: i64,
    /// Whose session.
    pub volunteer_id: i64,
    /// Which day.
    #[schema(value_type = String, format = Date)]
    pub day: NaiveDate,
    /// The final minutes when it was proposed.
    pub from_minutes: u32,
    /// The minutes asked for.
    pub to_minutes: u32,
    /// Why.
    pub reason: String,
    /// The recorder who proposed it (staff id).
    pub proposed_by: i64,
    /// When (+08:00).
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub proposed_at: DateTime<Utc>,
    /// Where it stands.
    pub status: ProposalStatus,
    /// The second recorder who decided it.
    pub decided_by: Option<i64>,
    /// When (+08:00).
    #[serde(serialize_with = "crate::activity::shanghai_time::option::serialize")]
    #[schema(value_type = Option<String>)]
    pub decided_at: Option<DateTime<Utc>>,
    /// Why it was approved or rejected.
    pub decision_reason: Option<String>,
}

/// A proposal as the store takes it.
#[derive(Debug, Clone)]
pub struct NewProposal {
    /// The activity.
    pub activity_id: i64,
    /// Whose session.
    pub volunteer_id: i64,
    /// Which day.
    pub day: NaiveDate,
    /// The minutes asked for.
    pub to_minutes: u32,
    /// Why.
    pub reason: String,
    /// The proposing recorder.
    pub proposed_by: i64,
    /// When.
    pub at: DateTime<Utc>,
}

/// What the store made of a proposal.
#[derive(Debug, Clone)]
pub enum Proposed {
    /// Stored.
    Open(CorrectionProposal),
    /// There is no such finalised session.
    NoSession,
    /// Another proposal for that session waits for its decision.
    Pending,
}

/// A second recorder's decision.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalDecision {
    /// Approve (apply it, and publish the day again) or reject.
    pub approve: bool,
    /// Why, 1–500 characters.
    pub reason: String,
}

/// What the store made of a decision.
#[derive(Debug, Clone)]
pub enum Decided {
    /// Decided; for an approval, the corrected session.
    Done(CorrectionProposal, Option<FinalisedSession>),
    /// No such proposal at this activity.
    NotFound,
    /// Decided before.
    AlreadyDecided,
    /// The session's minutes changed since the proposal (an upheld objection, say): it
    /// no longer says what it would change.
    Stale,
}

/// The audit entry of a correction step, under the volunteer it concerns: what they see in
/// their audit log and their export.
fn correction_audit(
    at: DateTime<Utc>,
    staff_id: i64,
    action: &str,
    proposal: &NewProposal,
    decision_reason: Option<&str>,
) -> AuditEvent {
    AuditEvent {
        at,
        actor_kind: "staff".into(),
        actor_id: Some(staff_id),
        action: action.into(),
        subject_kind: "volunteer".into(),
        subject_id: Some(proposal.volunteer_id),
        detail: serde_json::json!({
            "activity_id": proposal.activity_id,
            "day": proposal.day,
            "to_minutes": proposal.to_minutes,
            "reason": proposal.reason,
            "proposed_by": proposal.proposed_by,
            "decision_reason": decision_reason,
        }),
    }
}
