//! The use cases of corrections of finalised sessions (`impl Hourmark`), apart from its
//! types and rules in the parent module, which the store and the context import without
//! importing these.

use super::super::finalise::SessionCorrection;
use super::super::{scheduled_minutes_on, validate_reason};
use super::*;
use crate::attendance::Schedule;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::Principal;

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
