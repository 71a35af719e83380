//! The use cases of qualification (`impl Hourmark`), apart from its types and rules in the
//! parent module, which the store and the context import without importing these.

use super::*;
use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::{
    Organisation, Principal, QualificationStatus, REVIEW_OPENS_DAYS, RecorderQualification, Staff, StaffRole,
    region_covers,
};
use chrono::NaiveDate;

impl Hourmark {
    /// Today in Asia/Shanghai: the day qualifications are judged on.
    fn shanghai_today(&self) -> NaiveDate {
        self.now().with_timezone(&chrono_tz::Asia::Shanghai).date_naive()
    }

    /// Whom the caller oversees: every staff member for administrators (`None`), the staff
    /// of organisations within a civil-affairs officer's region; anyone else is `forbidden`.
    async fn oversight(&self, by: &Principal) -> Result<Option<String>, CoreError> {
        match by {
            Principal::Staff { role: StaffRole::Administrator, .. } => Ok(None),
            Principal::Staff { id, role: StaffRole::Officer, .. } => Ok(Some(self.officer_region(*id).await?)),
            _ => Err(CoreError::refused(ErrorCode::Forbidden, "只有管理员和民政部门可以查看工作人员")),
        }
    }

    fn overseen(&self, staff: Staff, organisation: Option<Organisation>) -> OverseenStaff {
        let qualification = QualificationStatus::of(staff.qualification.as_ref(), self.shanghai_today());
        OverseenStaff { staff, organisation, qualification }
    }

    /// The staff the caller oversees, by id, each with where their qualification stands:
    /// all for administrators; for a civil-affairs officer, the staff of the organisations
    /// in their region.
    pub async fn overseen_staff(&self, by: &Principal) -> Result<Vec<OverseenStaff>, CoreError> {
        let region = self.oversight(by).await?;
        let organisations: std::collections::HashMap<i64, Organisation> =
            self.store().list_organisations(None).await?.into_iter().map(|o| (o.id, o)).collect();
        let staff = self.store().list_staff().await?;
        Ok(staff
            .into_iter()
            .filter_map(|s| {
                let organisation = s.organisation_id.and_then(|id| organisations.get(&id)).cloned();
                let in_scope = match (&region, &organisation) {
                    (None, _) => true,
                    (Some(region), Some(o)) => region_covers(region, &o.region_code),
                    (Some(_), None) => false,
                };
                in_scope.then(|| self.overseen(s, organisation))
            })
            .collect())
    }

    /// A recorder within `region` (anywhere for `None`), with their certificate and
    /// organisation. Staff outside the region are unknown to the officer (`not_found`), and
    /// so is the qualification of a staff member who is not a recorder.
    async fn recorder_in_reach(
        &self,
        region: Option<&str>,
        staff_id: i64,
    ) -> Result<(Staff, RecorderQualification, Option<Organisation>), CoreError> {
        let not_found = || CoreError::refused(ErrorCode::NotFound, "没有这名工作人员");
        let staff = self.store().get_staff(staff_id).await?.ok_or_else(not_found)?;
        let organisation = match staff.organisation_id {
            Some(id) => self.store().get_organisation(id).await?,
            None => None,
        };
        if let Some(region) = region
            && !organisation.as_ref().is_some_and(|o| region_covers(region, &o.region_code))
        {
            return Err(not_found());
        }
        match (staff.role, staff.qualification.clone()) {
            (StaffRole::Recorder, Some(q)) => Ok((staff, q, organisation)),
            _ => Err(CoreError::refused(ErrorCode::NotFound, "该工作人员不是记录员，没有记录员资格")),
        }
    }

    /// A recorder's qualification and every review and renewal recorded (administrators;
    /// civil-affairs officers of the region).
    pub async fn qualification_history(
        &self,
        by: &Principal,
        staff_id: i64,
    ) -> Result<QualificationHistory, CoreError> {
        let region = self.oversight(by).await?;
        let (staff, _, organisation) = self.recorder_in_reach(region.as_deref(), staff_id).await?;
        let history = self.store().qualification_history(staff_id).await?;
        Ok(QualificationHistory { recorder: self.overseen(staff, organisation), history })
    }

    /// The staff id and region of a civil-affairs officer: only they certify recorders.
    async fn certifying_officer(&self, by: &Principal) -> Result<(i64, String), CoreError> {
        match by {
            Principal::Staff { role: StaffRole::Officer, .. } => self.civil_affairs_officer_of(by).await,
            _ => Err(CoreError::refused(ErrorCode::Forbidden, "记录员的年审和续证由民政部门办理")),
        }
    }

    /// Records an annual review passed (a civil-affairs officer whose region covers the
    /// recorder's organisation): the due date moves on a year (see
    /// [`RecorderQualification::next_review_due_on`]), and a lapsed recorder is qualified
    /// again. History and audit in the same transaction.
    pub async fn record_annual_review(
        &self,
        by: &Principal,
        staff_id: i64,
        review: AnnualReview,
    ) -> Result<QualificationChange, CoreError> {
        let (officer_id, region) = self.certifying_officer(by).await?;
        let today = self.shanghai_today();
        let reviewed_on = review.reviewed_on.unwrap_or(today);
        if reviewed_on > today {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "reviewed_on 不能晚于今天"));
        }
        for _ in 0..CONCURRENT_ATTEMPTS {
            let (staff, current, organisation) = self.recorder_in_reach(Some(&region), staff_id).await?;
            if reviewed_on < current.issued_on {
                return Err(CoreError::refused(ErrorCode::InvalidBody, "reviewed_on 不能早于证书的发证日期"));
            }
            let Some(review_due_on) = current.next_review_due_on(reviewed_on) else {
                return Err(CoreError::refused(
                    ErrorCode::AnnualReviewNotDue,
                    format!(
                        "该记录员的年审截止日期为 {}，自到期前 {REVIEW_OPENS_DAYS} 天起方可登记年审",
                        current.review_due_on.format("%Y年%m月%d日")
                    ),
                ));
            };
            let next = RecorderQualification { review_due_on, ..current.clone() };
            let event = NewQualificationEvent {
                staff_id,
                kind: QualificationEventKind::AnnualReview,
                reviewed_on: Some(reviewed_on),
                previous: current,
                qualification: next,
                recorded_by: officer_id,
                at: self.now(),
            };
            if let Some(change) = self.change_qualification(staff, organisation, &event).await? {
                return Ok(change);
            }
        }
        Err(CoreError::code(ErrorCode::Unavailable))
    }

    /// Records a renewed certificate (a civil-affairs officer whose region covers the
    /// recorder's organisation): a new number, issue date and due date replace the old
    /// ones; a lapsed recorder is qualified again. History and audit in the same
    /// transaction.
    pub async fn renew_certificate(
        &self,
        by: &Principal,
        staff_id: i64,
        renewal: RecorderQualification,
    ) -> Result<QualificationChange, CoreError> {
        let (officer_id, region) = self.certifying_officer(by).await?;
        let today = self.shanghai_today();
        let renewal = validate_certificate(renewal)?;
        if renewal.issued_on > today {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "issued_on 不能晚于今天：请在发证后登记续证"));
        }
        if renewal.review_due_on < today {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "续证后的年审日期不能早于今天"));
        }
        for _ in 0..CONCURRENT_ATTEMPTS {
            let (staff, current, organisation) = self.recorder_in_reach(Some(&region), staff_id).await?;
            if renewal.certificate_number == current.certificate_number {
                return Err(CoreError::refused(ErrorCode::InvalidBody, "续证须填写新的证书编号"));
            }
            let event = NewQualificationEvent {
                staff_id,
                kind: QualificationEventKind::Renewal,
                reviewed_on: None,
                previous: current,
                qualification: renewal.clone(),
                recorded_by: officer_id,
                at: self.now(),
            };
            if let Some(change) = self.change_qualification(staff, organisation, &event).await? {
                return Ok(change);
            }
        }
        Err(CoreError::code(ErrorCode::Unavailable))
    }

    /// Writes a change with its audit entry; `None` when the recorder's certificate changed
    /// since it was read (the caller recomputes from the new one).
    async fn change_qualification(
        &self,
        mut staff: Staff,
        organisation: Option<Organisation>,
        event: &NewQualificationEvent,
    ) -> Result<Option<QualificationChange>, CoreError> {
        let date = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
        let (previous, next) = (&event.previous, &event.qualification);
        let audit = AuditEvent {
            at: event.at,
            actor_kind: "staff".into(),
            actor_id: Some(event.recorded_by),
            action: match event.kind {
                QualificationEventKind::AnnualReview => "recorder_review_recorded",
                QualificationEventKind::Renewal => "recorder_certificate_renewed",
            }
            .into(),
            subject_kind: "staff".into(),
            subject_id: Some(event.staff_id),
            detail: serde_json::json!({
                "reviewed_on": event.reviewed_on.map(date),
                "previous_certificate_number": previous.certificate_number,
                "previous_review_due_on": date(previous.review_due_on),
                "certificate_number": next.certificate_number,
                "issued_on": date(next.issued_on),
                "review_due_on": date(next.review_due_on),
            }),
        };
        let Some(recorded) = self.store().record_qualification(event, &audit).await? else { return Ok(None) };
        staff.qualification = Some(recorded.qualification.clone());
        Ok(Some(QualificationChange { event: recorded, recorder: self.overseen(staff, organisation) }))
    }
}
