//! The service record's use cases (evaluations, complaints, hours reports), each an
//! `impl Hourmark` block over the types in `review::record`.

use super::validate_reason;
use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::pii::PiiField;
use crate::identity::{Agency, Principal, StaffRole};
use crate::identity::{bounded_text, line_text};

use super::{
    Award, Complaint, ComplaintDecision, ComplaintStatus, Evaluation, Investigation, NewAward, NewComplaint,
    NewEvaluation, NewTraining, Satisfaction, Training, VolunteerRecord,
};

impl Hourmark {
    /// Evaluates a volunteer who served at the activity (a qualified recorder of its
    /// organisation). A second evaluation replaces the first; both are audited.
    pub async fn evaluate_volunteer(
        &self,
        by: &Principal,
        activity_id: i64,
        volunteer_id: i64,
        new: NewEvaluation,
    ) -> Result<Evaluation, CoreError> {
        let activity = self.reviewable_activity(by, activity_id).await?;
        let staff_id = self.require_recorder_of(by, activity.organisation_id).await?;
        let comment = bounded_text(&new.comment, 500, "comment")?;
        if !self.served_at(activity_id, volunteer_id).await? {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "该志愿者未在本活动服务"));
        }
        let evaluation = Evaluation {
            activity_id,
            volunteer_id,
            grade: new.grade,
            comment,
            evaluated_by: staff_id,
            evaluated_at: self.now(),
        };
        let audit = AuditEvent {
            at: evaluation.evaluated_at,
            actor_kind: "staff".into(),
            actor_id: Some(staff_id),
            action: "volunteer_evaluated".into(),
            subject_kind: "volunteer".into(),
            subject_id: Some(volunteer_id),
            detail: serde_json::json!({ "activity_id": activity_id, "grade": evaluation.grade }),
        };
        self.store().put_evaluation(&evaluation, &audit).await?;
        Ok(evaluation)
    }

    /// Whether the volunteer served at the activity: an accepted scan or an approved late
    /// entry.
    pub(super) async fn served_at(&self, activity_id: i64, volunteer_id: i64) -> Result<bool, CoreError> {
        if !self.store().accepted_scans(activity_id, Some(volunteer_id)).await?.is_empty() {
            return Ok(true);
        }
        Ok(self
            .store()
            .late_entries(activity_id)
            .await?
            .iter()
            .any(|e| e.volunteer_id == volunteer_id && e.status == super::super::finalise::LateEntryStatus::Approved))
    }

    /// The activity's evaluations.
    pub async fn evaluations(&self, by: &Principal, activity_id: i64) -> Result<Vec<Evaluation>, CoreError> {
        self.reviewable_activity(by, activity_id).await?;
        self.store().evaluations(activity_id).await
    }

    /// Records the recipients' satisfaction (a qualified recorder of the organisation).
    pub async fn record_satisfaction(
        &self,
        by: &Principal,
        activity_id: i64,
        satisfaction: Satisfaction,
    ) -> Result<Satisfaction, CoreError> {
        let activity = self.reviewable_activity(by, activity_id).await?;
        let staff_id = self.require_recorder_of(by, activity.organisation_id).await?;
        if !(1..=5).contains(&satisfaction.score) {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "score 须为 1 至 5"));
        }
        let satisfaction =
            Satisfaction { comment: bounded_text(&satisfaction.comment, 500, "comment")?, ..satisfaction };
        self.store().put_satisfaction(activity_id, &satisfaction, staff_id, self.now()).await?;
        Ok(satisfaction)
    }

    /// The organisation a complaint, training or award belongs to, and the caller's staff
    /// id: their own organisation's staff (not leaders), administrators and civil-affairs
    /// officers of its region.
    pub(super) async fn record_keeper(&self, by: &Principal, organisation_id: i64) -> Result<i64, CoreError> {
        match by {
            Principal::Staff { id, role: StaffRole::Administrator, .. } => Ok(*id),
            Principal::Staff { id, role: StaffRole::Organiser | StaffRole::Recorder, organisation_id: Some(org) }
                if *org == organisation_id =>
            {
                Ok(*id)
            }
            Principal::Staff { id, role: StaffRole::Officer, .. } => {
                let (region, agency) = self.officer(*id).await?;
                let org = self.store().get_organisation(organisation_id).await?;
                match org {
                    Some(o)
                        if agency == Agency::CivilAffairs
                            && crate::identity::region_covers(&region, &o.region_code) =>
                    {
                        Ok(*id)
                    }
                    _ => Err(CoreError::refused(ErrorCode::NotFound, "没有这个组织")),
                }
            }
            Principal::Volunteer { .. } => Err(CoreError::code(ErrorCode::Forbidden)),
            _ => Err(CoreError::code(ErrorCode::Forbidden)),
        }
    }

    /// Files a complaint against a volunteer.
    pub async fn file_complaint(&self, by: &Principal, new: NewComplaint) -> Result<Complaint, CoreError> {
        let organisation_id = match (new.activity_id, by) {
            (Some(activity_id), _) => {
                self.activity(activity_id)
                    .await?
                    .ok_or_else(|| CoreError::refused(ErrorCode::InvalidBody, "activity_id 所指的活动不存在"))?
                    .organisation_id
            }
            (None, Principal::Staff { organisation_id: Some(org), .. }) => *org,
            (None, Principal::Staff { .. }) => {
                return Err(CoreError::refused(ErrorCode::InvalidBody, "请指明投诉所涉活动 activity_id"));
            }
            (None, Principal::Volunteer { .. }) => return Err(CoreError::code(ErrorCode::Forbidden)),
        };
        let staff_id = self.record_keeper(by, organisation_id).await?;
        let complainant = line_text(&new.complainant, 200, "complainant")?;
        let description = bounded_text(&new.description, 1000, "description")?;
        if self.store().get_volunteer(new.volunteer_id).await?.is_none() {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "volunteer_id 所指的志愿者不存在"));
        }
        // A complaint enters a record only through an organisation the volunteer served.
        let served = match new.activity_id {
            Some(activity_id) => self.served_at(activity_id, new.volunteer_id).await?,
            None => self.store().served_with_organisation(new.volunteer_id, organisation_id).await?,
        };
        if !served {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "该志愿者未在所涉活动或本组织服务"));
        }
        let sealed =
            self.vault().seal(PiiField::Extra, &complainant).map_err(|e| CoreError::Internal(e.to_string()))?;
        self.store()
            .add_complaint(
                new.volunteer_id,
                organisation_id,
                new.activity_id,
                &sealed,
                &description,
                staff_id,
                self.now(),
            )
            .await
    }

    pub(super) async fn complaint_in_reach(&self, by: &Principal, id: i64) -> Result<(Complaint, i64), CoreError> {
        let complaint = self
            .store()
            .get_complaint(id)
            .await?
            .ok_or_else(|| CoreError::refused(ErrorCode::NotFound, "没有这个投诉"))?;
        let staff_id = self.record_keeper(by, complaint.organisation_id).await.map_err(|e| {
            if e.error_code() == ErrorCode::Forbidden && matches!(by, Principal::Staff { .. }) {
                CoreError::refused(ErrorCode::NotFound, "没有这个投诉")
            } else {
                e
            }
        })?;
        Ok((complaint, staff_id))
    }

    /// Starts investigating a filed complaint.
    pub async fn investigate_complaint(
        &self,
        by: &Principal,
        id: i64,
        investigation: Investigation,
    ) -> Result<Complaint, CoreError> {
        let (_, staff_id) = self.complaint_in_reach(by, id).await?;
        let note = bounded_text(&investigation.note, 1000, "note")?;
        self.store()
            .complaint_step(
                id,
                &[ComplaintStatus::Filed],
                ComplaintStatus::Investigating,
                staff_id,
                &note,
                self.now(),
                None,
            )
            .await?
            .ok_or_else(|| CoreError::code(ErrorCode::ComplaintDecided))
    }

    /// Verifies (it enters the record) or dismisses a complaint, with a reason; once;
    /// audited. Organisation staff other than a qualified recorder may not decide.
    pub async fn decide_complaint(
        &self,
        by: &Principal,
        id: i64,
        decision: ComplaintDecision,
    ) -> Result<Complaint, CoreError> {
        let (complaint, staff_id) = self.complaint_in_reach(by, id).await?;
        if matches!(by, Principal::Staff { role: StaffRole::Organiser, .. }) {
            return Err(CoreError::refused(ErrorCode::Forbidden, "投诉须由记录员或民政部门认定"));
        }
        if matches!(by, Principal::Staff { role: StaffRole::Recorder, .. }) {
            self.require_qualified_recorder(by).await?;
        }
        let reason = validate_reason(&decision.reason)?;
        let to = if decision.verified { ComplaintStatus::Verified } else { ComplaintStatus::Dismissed };
        let audit = AuditEvent {
            at: self.now(),
            actor_kind: "staff".into(),
            actor_id: Some(staff_id),
            action: format!("complaint_{}", to.as_str()),
            subject_kind: "volunteer".into(),
            subject_id: Some(complaint.volunteer_id),
            detail: serde_json::json!({ "complaint_id": id, "reason": reason }),
        };
        self.store()
            .complaint_step(
                id,
                &[ComplaintStatus::Filed, ComplaintStatus::Investigating],
                to,
                staff_id,
                &reason,
                self.now(),
                Some(&audit),
            )
            .await?
            .ok_or_else(|| CoreError::code(ErrorCode::ComplaintDecided))
    }

    /// Records training a volunteer attended (their organisation's organisers and
    /// recorders, or an administrator naming `organisation_id`).
    pub async fn record_training(
        &self,
        by: &Principal,
        volunteer_id: i64,
        new: NewTraining,
    ) -> Result<Training, CoreError> {
        let organisation_id = self.keeper_organisation(by).await?;
        let staff_id = self.record_keeper(by, organisation_id).await?;
        let title = line_text(&new.title, 100, "title")?;
        if !(1..=200).contains(&new.hours) {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "hours 须为 1 至 200"));
        }
        self.require_own_volunteer(volunteer_id, organisation_id).await?;
        self.store()
            .add_training(volunteer_id, organisation_id, &title, new.held_on, new.hours, staff_id, self.now())
            .await
    }

    /// Records an award a volunteer received.
    pub async fn record_award(&self, by: &Principal, volunteer_id: i64, new: NewAward) -> Result<Award, CoreError> {
        let organisation_id = self.keeper_organisation(by).await?;
        let staff_id = self.record_keeper(by, organisation_id).await?;
        let title = line_text(&new.title, 100, "title")?;
        let awarded_by = line_text(&new.awarded_by, 100, "awarded_by")?;
        self.require_own_volunteer(volunteer_id, organisation_id).await?;
        self.store()
            .add_award(volunteer_id, organisation_id, &title, &awarded_by, new.awarded_on, staff_id, self.now())
            .await
    }

    pub(super) async fn keeper_organisation(&self, by: &Principal) -> Result<i64, CoreError> {
        match by {
            Principal::Staff {
                role: StaffRole::Organiser | StaffRole::Recorder, organisation_id: Some(org), ..
            } => Ok(*org),
            _ => Err(CoreError::refused(ErrorCode::Forbidden, "培训和表彰由志愿者所在组织记录")),
        }
    }

    /// The volunteer exists and has served with the organisation: an organisation writes
    /// only into the records of its own volunteers.
    pub(super) async fn require_own_volunteer(&self, volunteer_id: i64, organisation_id: i64) -> Result<(), CoreError> {
        if self.store().get_volunteer(volunteer_id).await?.is_none() {
            return Err(CoreError::refused(ErrorCode::NotFound, "志愿者不存在"));
        }
        if !self.store().served_with_organisation(volunteer_id, organisation_id).await? {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "该志愿者未在本组织服务"));
        }
        Ok(())
    }

    /// A volunteer's record, as staff see it (administrators and officers of a region
    /// where they served).
    pub async fn volunteer_record_for_staff(
        &self,
        by: &Principal,
        volunteer_id: i64,
    ) -> Result<VolunteerRecord, CoreError> {
        self.require_volunteer_overseer(by, volunteer_id).await?;
        self.volunteer_record(volunteer_id).await
    }

    /// A volunteer's record: finalised service, evaluations, verified complaints, training
    /// and awards.
    pub async fn volunteer_record(&self, volunteer_id: i64) -> Result<VolunteerRecord, CoreError> {
        let sessions = self.store().finalised_sessions_of(volunteer_id).await?;
        let complaints = self.store().complaints_of(volunteer_id).await?;
        Ok(VolunteerRecord {
            volunteer_id,
            total_minutes: sessions.iter().map(|s| u64::from(s.minutes)).sum(),
            confirmed_minutes: self.store().confirmed_minutes(volunteer_id).await?,
            stars: crate::stars::stars_held(&self.store().star_applications_of(volunteer_id).await?),
            sessions,
            evaluations: self.store().evaluations_of(volunteer_id).await?,
            complaints: complaints.into_iter().filter(|c| c.status == ComplaintStatus::Verified).collect(),
            trainings: self.store().trainings_of(volunteer_id).await?,
            awards: self.store().awards_of(volunteer_id).await?,
        })
    }
}
