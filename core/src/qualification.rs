//! Recorders' qualification over time (云南省志愿服务记录实施办法, point 2): a recorder
//! holds a certificate from civil affairs (持证上岗) and passes an annual review (年审).
//!
//! The civil-affairs department whose region covers the recorder's organisation records
//! each review passed and each certificate renewed. A lapsed recorder is qualified again
//! the moment one is recorded, with the same login: the gates read the staff row, which
//! changes in the same transaction as the append-only history entry and the audit entry.
//! Administrators and civil-affairs officers list the staff they oversee with where each
//! recorder's qualification stands. The pure rules (states, the next due date, the warning)
//! live beside [`RecorderQualification`].

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::{
    Organisation, Principal, QualificationStatus, REVIEW_OPENS_DAYS, RecorderQualification, Staff, StaffRole,
    region_covers,
};

/// What changed a recorder's qualification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QualificationEventKind {
    /// An annual review (年审) passed: the due date moved on.
    AnnualReview,
    /// The certificate renewed: a new number, issue date and due date.
    Renewal,
}

crate::stored_names!(QualificationEventKind {
    AnnualReview => "annual_review",
    Renewal => "renewal",
});

/// An annual review passed.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnnualReview {
    /// The day the review was passed (today if absent); not in the future, not before the
    /// certificate's issue date.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub reviewed_on: Option<NaiveDate>,
}

/// One entry of a recorder's qualification history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct QualificationEvent {
    /// Its id.
    pub id: i64,
    /// The recorder.
    pub staff_id: i64,
    /// A review or a renewal.
    pub kind: QualificationEventKind,
    /// The day the review was passed (reviews only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Date)]
    pub reviewed_on: Option<NaiveDate>,
    /// The certificate before.
    pub previous: RecorderQualification,
    /// The certificate after: what the recorder holds from now on.
    pub qualification: RecorderQualification,
    /// The civil-affairs officer who recorded it.
    pub recorded_by: i64,
    /// When (+08:00).
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub recorded_at: DateTime<Utc>,
}

/// A history entry as the store appends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewQualificationEvent {
    /// The recorder.
    pub staff_id: i64,
    /// A review or a renewal.
    pub kind: QualificationEventKind,
    /// The day the review was passed (reviews only).
    pub reviewed_on: Option<NaiveDate>,
    /// The certificate the staff row must still hold for the change to apply.
    pub previous: RecorderQualification,
    /// The certificate it holds afterwards.
    pub qualification: RecorderQualification,
    /// The officer.
    pub recorded_by: i64,
    /// When.
    pub at: DateTime<Utc>,
}

/// A staff member as an overseer lists them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OverseenStaff {
    /// Who: role, organisation id, a recorder's certificate.
    pub staff: Staff,
    /// Their organisation (organisers, recorders and leaders).
    pub organisation: Option<Organisation>,
    /// Where their recorder qualification stands today (`none` for everyone but recorders).
    pub qualification: QualificationStatus,
}

/// A review or renewal just recorded, and where the recorder stands now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QualificationChange {
    /// The history entry.
    pub event: QualificationEvent,
    /// The recorder after it.
    pub recorder: OverseenStaff,
}

/// A recorder's qualification and its history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QualificationHistory {
    /// The recorder today.
    pub recorder: OverseenStaff,
    /// Every review and renewal recorded, oldest first.
    pub history: Vec<QualificationEvent>,
}

/// How many times a review or renewal is recomputed when another one lands in between.
const CONCURRENT_ATTEMPTS: usize = 3;

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

/// A certificate as an administrator or officer types it: the number trimmed, 1–40
/// characters; the review due no earlier than the issue.
pub(crate) fn validate_certificate(mut q: RecorderQualification) -> Result<RecorderQualification, CoreError> {
    q.certificate_number = crate::identity::line_text(&q.certificate_number, 40, "certificate_number")?;
    if q.review_due_on < q.issued_on {
        return Err(CoreError::refused(ErrorCode::InvalidBody, "年审日期不能早于发证日期"));
    }
    Ok(q)
}
