//! Recruitment and sign-ups as use cases (publishing a recruitment, signing up, deciding,
//! leaving), each an `impl Hourmark` block over the types and rules in `signups`.

use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::Principal;
use crate::identity::guards::require_manager_of;
use crate::notification::HoursNotice;

use super::{
    BulkApproval, LIVE, Placing, Publishing, Recruitment, RecruitmentRequest, Signup, SignupDecision, SignupRequest,
    SignupStatus, missing_skills, old_enough, reason_text,
};

impl Hourmark {
    /// Publishes an activity for recruitment, or changes its recruitment: the organisers
    /// and recorders of its organisation, and administrators (as for editing the activity;
    /// leaders run the day, they do not recruit). Places added to a slot with a waiting
    /// list move its first volunteers up. Audited.
    pub async fn publish_recruitment(
        &self,
        by: &Principal,
        activity_id: i64,
        request: RecruitmentRequest,
    ) -> Result<Recruitment, CoreError> {
        let activity = self.managed_activity(by, activity_id).await?;
        let staff_id = require_manager_of(by, activity.organisation_id)?;
        let new = request.validate(&activity, staff_id, self.now())?;
        if self.store().is_finalised(activity.id).await? {
            return Err(CoreError::refused(ErrorCode::ActivityFinalised, "活动已定稿，不能再发布招募"));
        }
        self.refuse_if_cancelled(activity.id, "不能再发布或修改招募").await?;
        let audit = AuditEvent {
            at: new.at,
            actor_kind: "staff".into(),
            actor_id: Some(staff_id),
            action: "recruitment_published".into(),
            subject_kind: "activity".into(),
            subject_id: Some(activity.id),
            detail: serde_json::json!({
                "slots": new.slots, "min_age": new.min_age, "required_skills": new.required_skills,
                "required_training": new.required_training,
                "signup_deadline": new.signup_deadline, "cancel_cutoff": new.cancel_cutoff,
                "approval_required": new.approval_required, "waitlist": new.waitlist, "walk_ins": new.walk_ins,
            }),
        };
        match self.store().publish_recruitment(&new, &audit).await? {
            Publishing::Published(moved_up) => self.notify_moved_up(&moved_up, new.approval_required).await,
            Publishing::SlotInUse(slot) => {
                return Err(CoreError::refused(
                    ErrorCode::InvalidBody,
                    format!("岗位“{slot}”已有人报名，不能删除；可保留该岗位并调整名额"),
                ));
            }
            Publishing::BelowTaken { slot, taken } => {
                return Err(CoreError::refused(
                    ErrorCode::InvalidBody,
                    format!("岗位“{slot}”已有 {taken} 人占用名额，名额不能少于此数"),
                ));
            }
        }
        self.admission_changed(activity.id).await;
        self.store().recruitment(activity.id).await?.ok_or_else(|| CoreError::Internal("recruitment vanished".into()))
    }

    /// An activity's recruitment with each slot's places, for those who manage the
    /// activity (its leaders too: they plan the day with it). `not_found` until published.
    pub async fn recruitment_for_staff(&self, by: &Principal, activity_id: i64) -> Result<Recruitment, CoreError> {
        self.managed_activity(by, activity_id).await?;
        self.store()
            .recruitment(activity_id)
            .await?
            .ok_or_else(|| CoreError::refused(ErrorCode::NotFound, "该活动尚未发布招募"))
    }

    /// An activity's recruitment as volunteers see it (any signed-in volunteer: they
    /// reach it from the activity's share link). `not_found` until published.
    pub async fn recruitment_for_volunteer(&self, activity_id: i64) -> Result<Recruitment, CoreError> {
        self.store()
            .recruitment(activity_id)
            .await?
            .ok_or_else(|| CoreError::refused(ErrorCode::NotFound, "该活动未开放报名"))
    }

    /// Signs a volunteer up for a slot. The checks run in a fixed order, each refusing
    /// with its own code and storing nothing: the rate limit, the recruitment exists, the
    /// deadline, consent (a minor needs the guardian's, recorded as for scanning), the
    /// minimum age on the activity's day, the required skills, the required training
    /// (completed, as the activity's organisation recorded it); then the store places them,
    /// wait-lists them, or finds the slot full or the volunteer already signed up.
    pub async fn sign_up(
        &self,
        volunteer_id: i64,
        activity_id: i64,
        request: SignupRequest,
    ) -> Result<Signup, CoreError> {
        self.limit("signup", &volunteer_id.to_string(), self.settings().rate_limits.signups_per_volunteer).await?;
        let activity =
            self.activity(activity_id).await?.ok_or_else(|| CoreError::refused(ErrorCode::NotFound, "活动不存在"))?;
        let recruitment = self.recruitment_for_volunteer(activity_id).await?;
        self.refuse_if_cancelled(activity_id, "不再接受报名").await?;
        // An organisation without (or stripped of) its recording qualification cannot
        // record the service, so it may not take sign-ups either; its scans are refused too.
        let organisation = self.store().get_organisation(activity.organisation_id).await?;
        if organisation.is_none_or(|o| o.status != crate::identity::OrganisationStatus::Approved) {
            return Err(CoreError::refused(
                ErrorCode::OrganisationNotApproved,
                "该组织尚未获得或已被撤销记录资格，暂不能报名",
            ));
        }
        if self.now() > recruitment.signup_deadline {
            let at = crate::activity::to_shanghai(recruitment.signup_deadline).format("%-m月%-d日 %H:%M");
            return Err(CoreError::refused(ErrorCode::SignupDeadlinePassed, format!("报名已于 {at} 截止")));
        }
        let permission = self.scan_permission(volunteer_id).await?;
        if !permission.record {
            return Err(CoreError::refused(
                ErrorCode::ConsentWithdrawn,
                "您已撤回个人信息处理同意，重新同意后方可报名",
            ));
        }
        if permission.needs_guardian {
            return Err(CoreError::refused(
                ErrorCode::GuardianConsentRequired,
                "未满十八周岁的志愿者须经监护人同意后方可报名参加活动",
            ));
        }
        let volunteer = self
            .store()
            .get_volunteer(volunteer_id)
            .await?
            .ok_or_else(|| CoreError::refused(ErrorCode::Unauthenticated, "志愿者不存在"))?;
        if let Some(min_age) = recruitment.min_age {
            let day = activity.starts_at.with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
            if !old_enough(self.birth_date_of(&volunteer), day, min_age) {
                return Err(CoreError::refused(
                    ErrorCode::SignupTooYoung,
                    format!("该活动要求活动当天年满 {min_age} 周岁"),
                ));
            }
        }
        let missing = missing_skills(&recruitment.required_skills, &volunteer.skills);
        if !missing.is_empty() {
            return Err(CoreError::refused(
                ErrorCode::SignupSkillMissing,
                format!("该活动要求具备以下技能：{}（可在个人信息中申请更正技能）", missing.join("、")),
            ));
        }
        if let Some(training) = &recruitment.required_training
            && !self.store().has_completed_training(activity.organisation_id, training, volunteer_id).await?
        {
            return Err(CoreError::refused(
                ErrorCode::SignupTrainingMissing,
                format!("该活动要求先完成“{training}”，请参加组织方的培训后再报名"),
            ));
        }
        match self.store().sign_up(activity_id, request.slot_id, volunteer_id, self.now()).await? {
            Placing::Placed(signup) => Ok(signup),
            Placing::Full => Err(CoreError::refused(ErrorCode::SignupSlotFull, "该岗位名额已满，且本活动不设候补")),
            Placing::Duplicate => {
                Err(CoreError::refused(ErrorCode::SignupDuplicate, "您已报名该活动；如需更换岗位，请先取消原报名"))
            }
            Placing::NoSuchSlot => {
                Err(CoreError::Refused { code: ErrorCode::InvalidBody, detail: "该活动没有这个岗位".into() })
            }
        }
    }

    /// A volunteer's sign-ups, newest first.
    pub async fn my_signups(&self, volunteer_id: i64) -> Result<Vec<Signup>, CoreError> {
        self.store().volunteer_signups(volunteer_id).await
    }

    /// Cancels a volunteer's own sign-up. Holding a place, only until the cut-off; from the
    /// waiting list, at any time. Cancelling again answers the cancelled sign-up (a retry
    /// changes nothing). The freed place goes to the first on the waiting list.
    pub async fn cancel_signup(&self, volunteer_id: i64, signup_id: i64) -> Result<Signup, CoreError> {
        let not_found = || CoreError::refused(ErrorCode::NotFound, "没有这个报名");
        let signup =
            self.store().signup(signup_id).await?.filter(|s| s.volunteer_id == volunteer_id).ok_or_else(not_found)?;
        match signup.status {
            SignupStatus::Cancelled => return Ok(signup),
            SignupStatus::Declined => {
                return Err(CoreError::refused(ErrorCode::SignupDecided, "该报名未获通过，无需取消"));
            }
            _ => {}
        }
        let recruitment = self.recruitment_for_volunteer(signup.activity_id).await?;
        let allowed: &[SignupStatus] = if self.now() > recruitment.cancel_cutoff {
            if signup.status != SignupStatus::Waitlisted {
                let at = crate::activity::to_shanghai(recruitment.cancel_cutoff).format("%-m月%-d日 %H:%M");
                return Err(CoreError::refused(
                    ErrorCode::SignupCancellationClosed,
                    format!("取消报名已于 {at} 截止，如有变动请联系组织方"),
                ));
            }
            &[SignupStatus::Waitlisted]
        } else {
            &LIVE
        };
        match self.store().cancel_signup(signup_id, allowed, self.now()).await? {
            Some(freed) => {
                self.admission_changed(freed.signup.activity_id).await;
                self.notify_moved_up(&freed.moved_up, recruitment.approval_required).await;
                Ok(freed.signup)
            }
            // It moved on meanwhile (moved up after the cut-off, or declined): say what it is now.
            None => match self.store().signup(signup_id).await?.ok_or_else(not_found)? {
                s if s.status == SignupStatus::Cancelled => Ok(s),
                s if s.status == SignupStatus::Declined => Err(CoreError::code(ErrorCode::SignupDecided)),
                _ => Err(CoreError::refused(
                    ErrorCode::SignupCancellationClosed,
                    "已过取消报名的截止时间，如有变动请联系组织方",
                )),
            },
        }
    }

    /// An activity's sign-ups, by slot and then in the order they came, for those who
    /// manage it (leaders included: they meet these volunteers on the day).
    pub async fn activity_signups(&self, by: &Principal, activity_id: i64) -> Result<Vec<Signup>, CoreError> {
        self.managed_activity(by, activity_id).await?;
        self.store().activity_signups(activity_id).await
    }

    /// Approves a pending sign-up, or declines a live one with a reason (the freed place,
    /// if it held one, goes to the first on the waiting list). The organisation's
    /// organisers and recorders, and administrators; others' sign-ups are `not_found`.
    /// Audited, and the volunteer is notified.
    pub async fn decide_signup(
        &self,
        by: &Principal,
        activity_id: i64,
        signup_id: i64,
        decision: SignupDecision,
    ) -> Result<Signup, CoreError> {
        let activity = self.managed_activity(by, activity_id).await?;
        let staff_id = require_manager_of(by, activity.organisation_id)?;
        // The list stays as it was when the activity was called off, or its hours were
        // settled: the record of whom it expected, and what everyone was told.
        self.refuse_if_closed_to_decisions(activity.id).await?;
        let reason = match (&decision.reason, decision.approve) {
            (Some(r), _) => Some(reason_text(r)?),
            (None, false) => return Err(CoreError::refused(ErrorCode::InvalidBody, "拒绝报名须填写理由 reason")),
            (None, true) => None,
        };
        let signup = self
            .store()
            .signup(signup_id)
            .await?
            .filter(|s| s.activity_id == activity.id)
            .ok_or_else(|| CoreError::refused(ErrorCode::NotFound, "没有这个报名"))?;
        let recruitment = self.recruitment_for_staff(by, activity.id).await?;
        let audit = AuditEvent {
            at: self.now(),
            actor_kind: "staff".into(),
            actor_id: Some(staff_id),
            action: if decision.approve { "signup_approved" } else { "signup_declined" }.into(),
            subject_kind: "signup".into(),
            subject_id: Some(signup.id),
            detail: serde_json::json!({ "activity_id": activity.id, "volunteer_id": signup.volunteer_id, "reason": reason }),
        };
        if decision.approve {
            let approved =
                self.store().approve_signups(activity.id, Some(&[signup.id]), staff_id, self.now(), &audit).await?;
            let Some(approved) = approved.into_iter().next() else {
                return Err(CoreError::refused(ErrorCode::SignupDecided, "只有待审核的报名可以通过"));
            };
            self.notify_approved(std::slice::from_ref(&approved)).await;
            return Ok(approved);
        }
        let reason = reason.unwrap_or_default();
        let Some(freed) = self.store().decline_signup(signup.id, staff_id, &reason, self.now(), &audit).await? else {
            return Err(CoreError::refused(ErrorCode::SignupDecided, "该报名已取消或已被拒绝"));
        };
        let declined = &freed.signup;
        self.admission_changed(declined.activity_id).await;
        self.notify_hours(HoursNotice::SignupDeclined {
            volunteer_id: declined.volunteer_id,
            signup_id: declined.id,
            activity: declined.activity_name.clone(),
            day: crate::activity::to_shanghai(declined.starts_at).date_naive(),
            slot: declined.slot_name.clone(),
            reason,
        })
        .await;
        self.notify_moved_up(&freed.moved_up, recruitment.approval_required).await;
        Ok(freed.signup)
    }

    /// Approves pending sign-ups of an activity at once: those listed, or all. Sign-ups
    /// not pending are left as they are (the answer lists only those approved now).
    /// Audited with the ids approved; each volunteer is notified.
    pub async fn approve_signups(
        &self,
        by: &Principal,
        activity_id: i64,
        which: BulkApproval,
    ) -> Result<Vec<Signup>, CoreError> {
        let activity = self.managed_activity(by, activity_id).await?;
        let staff_id = require_manager_of(by, activity.organisation_id)?;
        self.refuse_if_closed_to_decisions(activity.id).await?;
        if which.all != which.ids.is_empty() || which.ids.len() > 500 {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "须指定 ids（1 至 500 个）或 all: true 之一"));
        }
        let audit = AuditEvent {
            at: self.now(),
            actor_kind: "staff".into(),
            actor_id: Some(staff_id),
            action: "signups_approved".into(),
            subject_kind: "activity".into(),
            subject_id: Some(activity.id),
            detail: serde_json::json!({}),
        };
        let ids = (!which.all).then_some(which.ids.as_slice());
        let approved = self.store().approve_signups(activity.id, ids, staff_id, self.now(), &audit).await?;
        self.notify_approved(&approved).await;
        Ok(approved)
    }

    /// Refuses a decision on sign-ups once the activity was cancelled (`activity_cancelled`)
    /// or finalised (`activity_finalised`).
    pub(super) async fn refuse_if_closed_to_decisions(&self, activity_id: i64) -> Result<(), CoreError> {
        self.refuse_if_cancelled(activity_id, "报名不再审核").await?;
        if self.store().is_finalised(activity_id).await? {
            return Err(CoreError::refused(ErrorCode::ActivityFinalised, "活动已定稿，报名不再审核"));
        }
        Ok(())
    }

    pub(super) async fn notify_approved(&self, approved: &[Signup]) {
        let notices = approved
            .iter()
            .map(|s| HoursNotice::SignupApproved {
                volunteer_id: s.volunteer_id,
                signup_id: s.id,
                activity: s.activity_name.clone(),
                day: crate::activity::to_shanghai(s.starts_at).date_naive(),
                slot: s.slot_name.clone(),
            })
            .collect();
        self.notify_all(notices).await;
    }

    pub(super) async fn notify_moved_up(&self, moved_up: &[Signup], approval_required: bool) {
        let notices = moved_up
            .iter()
            .map(|s| HoursNotice::SignupMovedUp {
                volunteer_id: s.volunteer_id,
                signup_id: s.id,
                activity: s.activity_name.clone(),
                day: crate::activity::to_shanghai(s.starts_at).date_naive(),
                slot: s.slot_name.clone(),
                awaiting_approval: approval_required && s.status == SignupStatus::Pending,
            })
            .collect();
        self.notify_all(notices).await;
    }
}
