//! The use cases of corrections (`impl Hourmark`), apart from its types and rules in the
//! parent module, which the store and the context import without importing these.

use super::*;
use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::{IdType, Principal, StaffRole, bounded_text};

impl Hourmark {
    /// A copy of everything held about the volunteer.
    pub async fn export_my_data(&self, volunteer_id: i64) -> Result<MyDataExport, CoreError> {
        let data = self.my_data(volunteer_id).await?;
        Ok(MyDataExport {
            generated_at: self.now(),
            data,
            scans: self.store().volunteer_scans(volunteer_id).await?,
            extra_fields: self.my_extra_fields(volunteer_id).await?,
            corrections: self.store().corrections_of(volunteer_id).await?,
            signups: self.store().volunteer_signups(volunteer_id).await?,
            audit: self.store().audit_events("volunteer", volunteer_id).await?,
        })
    }

    /// Files a correction request. The value is checked now, so staff decide on something
    /// that can be applied.
    pub async fn request_correction(
        &self,
        volunteer_id: i64,
        new: NewCorrection,
    ) -> Result<CorrectionRequest, CoreError> {
        let reason = bounded_text(&new.reason, 500, "reason")?;
        let value = bounded_text(&new.requested_value, 200, "requested_value")?;
        let data = self.my_data(volunteer_id).await?;
        let derived = data.volunteer.id_type == IdType::ResidentId;
        if derived && matches!(new.field, CorrectionField::Gender | CorrectionField::BirthMonth) {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "性别和出生年月由居民身份证号码确定，不能单独更正"));
        }
        parse_change(new.field, &value, self.now())?;
        let existing = self.store().corrections_of(volunteer_id).await?;
        if existing.iter().filter(|c| c.status == CorrectionStatus::Open).count() >= MAX_OPEN_PER_VOLUNTEER {
            return Err(CoreError::code(ErrorCode::CorrectionsPending));
        }
        self.store().add_correction(volunteer_id, new.field, &value, &reason, self.now()).await
    }

    /// The volunteer's own requests.
    pub async fn my_corrections(&self, volunteer_id: i64) -> Result<Vec<CorrectionRequest>, CoreError> {
        self.store().corrections_of(volunteer_id).await
    }

    /// Requests waiting for a decision that the caller may decide: all for
    /// administrators; for officers, those of volunteers who served in their region.
    pub async fn open_corrections(&self, by: &Principal) -> Result<Vec<CorrectionRequest>, CoreError> {
        let open = self.store().open_corrections().await?;
        match by {
            Principal::Staff { role: StaffRole::Administrator, .. } => Ok(open),
            Principal::Staff { id, role: StaffRole::Officer, .. } => {
                let region = self.officer_region(*id).await?;
                let mut mine = Vec::new();
                for c in open {
                    let served = self.store().volunteer_service_regions(c.volunteer_id).await?;
                    if served.iter().any(|r| crate::identity::region_covers(&region, r)) {
                        mine.push(c);
                    }
                }
                Ok(mine)
            }
            _ => Err(CoreError::code(ErrorCode::Forbidden)),
        }
    }

    /// Accepts (applying the change) or rejects a request, once, audited.
    pub async fn decide_correction(
        &self,
        by: &Principal,
        correction_id: i64,
        decision: CorrectionDecision,
    ) -> Result<CorrectionRequest, CoreError> {
        if !matches!(by, Principal::Staff { role: StaffRole::Administrator | StaffRole::Officer, .. }) {
            return Err(CoreError::code(ErrorCode::Forbidden));
        }
        let reason = bounded_text(&decision.reason, 500, "reason")?;
        let request = self
            .store()
            .get_correction(correction_id)
            .await?
            .ok_or_else(|| CoreError::refused(ErrorCode::NotFound, "更正申请不存在"))?;
        let staff_id = self.require_volunteer_overseer(by, request.volunteer_id).await.map_err(|e| {
            // An officer who may not see the volunteer may not see the request either.
            if e.error_code() == ErrorCode::NotFound {
                CoreError::refused(ErrorCode::NotFound, "更正申请不存在")
            } else {
                e
            }
        })?;
        if request.status != CorrectionStatus::Open {
            return Err(CoreError::code(ErrorCode::CorrectionDecided));
        }
        let change =
            if decision.accept { parse_change(request.field, &request.requested_value, self.now())? } else { None };
        let now = self.now();
        let audit = AuditEvent {
            at: now,
            actor_kind: "staff".into(),
            actor_id: Some(staff_id),
            action: if decision.accept { "correction_accepted" } else { "correction_rejected" }.into(),
            subject_kind: "volunteer".into(),
            subject_id: Some(request.volunteer_id),
            detail: serde_json::json!({ "correction_id": correction_id, "field": request.field.as_str() }),
        };
        let status = if decision.accept { CorrectionStatus::Accepted } else { CorrectionStatus::Rejected };
        let decided = self
            .store()
            .decide_correction(correction_id, status, staff_id, &reason, now, change.as_ref(), &audit)
            .await?
            .ok_or_else(|| CoreError::code(ErrorCode::CorrectionDecided))?;
        if matches!(change, Some(VolunteerChange::BirthMonth(_))) {
            // Without an exact birth date, the birth month decides the age band.
            self.forget_scan_permission(request.volunteer_id).await;
        }
        Ok(decided)
    }
}
