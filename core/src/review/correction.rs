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

use super::finalise::{FinalisedSession, SessionCorrection};
use super::{scheduled_minutes_on, validate_reason};
use crate::attendance::Schedule;
use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::Principal;

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

impl Hourmark {
    /// Proposes a correction of a finalised session (a qualified recorder of the
    /// organisation). It changes nothing until another recorder approves it.
    pub async fn propose_session_correction(
        &self,
        by: &Principal,
        activity_id: i64,
        correction: SessionCorrection,
    ) -> Result<CorrectionProposal, CoreError> {
        let activity = self.reviewable_activity(by, activity_id).await?;
        let staff_id = self.require_recorder_of(by, activity.organisation_id).await?;
        let reason = validate_reason(&correction.reason)?;
        let schedule = Schedule { starts_at: activity.starts_at, ends_at: activity.ends_at };
        let cap = scheduled_minutes_on(&schedule, correction.day);
        if correction.minutes > cap {
            return Err(CoreError::refused(
                ErrorCode::MinutesOverCap,
                format!("更正后的时长超过当日计划时长 {cap} 分钟"),
            ));
        }
        self.require_within_organisation_limit(activity_id, correction.minutes).await?;
        let now = self.now();
        let proposal = NewProposal {
            activity_id,
            volunteer_id: correction.volunteer_id,
            day: correction.day,
            to_minutes: correction.minutes,
            reason: reason.clone(),
            proposed_by: staff_id,
            at: now,
        };
        let audit = correction_audit(now, staff_id, "session_correction_proposed", &proposal, None);
        match self.store().propose_session_correction(&proposal, &audit).await? {
            Proposed::Open(proposal) => Ok(proposal),
            Proposed::NoSession => Err(CoreError::refused(ErrorCode::NotFound, "没有这条已定稿的服务记录")),
            Proposed::Pending => {
                Err(CoreError::refused(ErrorCode::CorrectionPending, "这条记录已有待审批的更正，请先审批或驳回"))
            }
        }
    }

    /// An activity's correction proposals, newest last (reviewers).
    pub async fn session_correction_proposals(
        &self,
        by: &Principal,
        activity_id: i64,
    ) -> Result<Vec<CorrectionProposal>, CoreError> {
        self.reviewable_activity(by, activity_id).await?;
        self.store().session_correction_proposals(activity_id).await
    }

    /// Approves or rejects a proposed correction: a qualified recorder of the organisation
    /// other than the one who proposed it. An approval changes the finalised minutes,
    /// publishes the day again for the full period and tells the volunteer; the register
    /// follows when that period ends.
    pub async fn decide_session_correction(
        &self,
        by: &Principal,
        activity_id: i64,
        proposal_id: i64,
        decision: ProposalDecision,
    ) -> Result<CorrectionProposal, CoreError> {
        let activity = self.reviewable_activity(by, activity_id).await?;
        let staff_id = self.require_recorder_of(by, activity.organisation_id).await?;
        let reason = validate_reason(&decision.reason)?;
        let proposal = self
            .store()
            .session_correction_proposals(activity_id)
            .await?
            .into_iter()
            .find(|p| p.id == proposal_id)
            .ok_or_else(|| CoreError::refused(ErrorCode::NotFound, "没有这条更正申请"))?;
        if proposal.status != ProposalStatus::Proposed {
            return Err(CoreError::code(ErrorCode::CorrectionDecided));
        }
        if proposal.proposed_by == staff_id {
            return Err(CoreError::refused(ErrorCode::SameRecorder, "更正须由另一名记录员审批"));
        }
        let now = self.now();
        let new = NewProposal {
            activity_id,
            volunteer_id: proposal.volunteer_id,
            day: proposal.day,
            to_minutes: proposal.to_minutes,
            reason: proposal.reason.clone(),
            proposed_by: proposal.proposed_by,
            at: proposal.proposed_at,
        };
        let action = if decision.approve { "session_corrected" } else { "session_correction_rejected" };
        let mut audit = correction_audit(now, staff_id, action, &new, Some(&reason));
        audit.detail["from_minutes"] = proposal.from_minutes.into();
        audit.detail["proposal_id"] = proposal_id.into();
        let decided = self
            .store()
            .decide_session_correction(proposal_id, decision.approve, staff_id, &reason, now, &audit)
            .await?;
        match decided {
            Decided::Done(decided, corrected) => {
                if let Some(session) = corrected {
                    self.notify_hours(crate::notification::HoursNotice::Corrected {
                        volunteer_id: session.volunteer_id,
                        activity: activity.name.clone(),
                        day: session.day,
                        from_minutes: proposal.from_minutes,
                        to_minutes: session.final_minutes,
                        reason: proposal.reason.clone(),
                        key: format!("correction:{proposal_id}"),
                    })
                    .await;
                    // The approval has committed: if publishing again fails now, the
                    // publicity job carries it (with this reason) on its next run, so the
                    // recorder is answered with the decision, not an error to retry.
                    if let Err(e) = self.carry_correction(activity_id, &session, &proposal.reason).await {
                        tracing::error!(error = %e, proposal_id, "could not publish a correction again; the job will");
                    }
                }
                Ok(decided)
            }
            Decided::NotFound => Err(CoreError::refused(ErrorCode::NotFound, "没有这条更正申请")),
            Decided::AlreadyDecided => Err(CoreError::code(ErrorCode::CorrectionDecided)),
            Decided::Stale => Err(CoreError::refused(
                ErrorCode::CorrectionStale,
                "提出更正后这条记录的时长已有变化，请驳回后重新提出",
            )),
        }
    }
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
