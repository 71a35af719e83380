//! The use cases of reporting (`impl Hourmark`), apart from its types and rules in the
//! parent module, which the store and the context import without importing these.

use super::*;
use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::{Agency, Principal, StaffRole};
use crate::publicity::RegisterRow;

impl Hourmark {
    /// Sends every register entry of the organisation not yet sent (or returned) to its
    /// county's department (the organisation's organisers and recorders, administrators).
    pub async fn submit_batch(&self, by: &Principal, organisation_id: i64) -> Result<ReportBatch, CoreError> {
        let staff_id = match by {
            Principal::Staff { id, role: StaffRole::Administrator, .. } => *id,
            Principal::Staff { id, role: StaffRole::Organiser | StaffRole::Recorder, organisation_id: Some(org) }
                if *org == organisation_id =>
            {
                *id
            }
            Principal::Staff { .. } => return Err(CoreError::refused(ErrorCode::NotFound, "没有这个组织")),
            Principal::Volunteer { .. } => return Err(CoreError::code(ErrorCode::Forbidden)),
        };
        let org = self
            .store()
            .get_organisation(organisation_id)
            .await?
            .ok_or_else(|| CoreError::refused(ErrorCode::NotFound, "没有这个组织"))?;
        self.store()
            .create_batch(org.id, &org.region_code, staff_id, self.now())
            .await?
            .ok_or_else(|| CoreError::code(ErrorCode::NothingToReport))
    }

    /// The batches the caller may see: an organisation's own, a department's within its
    /// region, all for administrators.
    pub async fn report_batches(&self, by: &Principal) -> Result<Vec<ReportBatch>, CoreError> {
        let all = self.store().report_batches().await?;
        match by {
            Principal::Staff { role: StaffRole::Administrator, .. } => Ok(all),
            Principal::Staff { id, role: StaffRole::Officer, .. } => {
                let region = self.officer_region(*id).await?;
                Ok(all.into_iter().filter(|b| crate::identity::region_covers(&region, &b.county_code)).collect())
            }
            Principal::Staff {
                organisation_id: Some(org), role: StaffRole::Organiser | StaffRole::Recorder, ..
            } => Ok(all.into_iter().filter(|b| b.organisation_id == *org).collect()),
            _ => Err(CoreError::code(ErrorCode::Forbidden)),
        }
    }

    /// A batch the caller may see (`not_found` otherwise).
    pub async fn report_batch(&self, by: &Principal, id: i64) -> Result<ReportBatch, CoreError> {
        self.report_batches(by)
            .await?
            .into_iter()
            .find(|b| b.id == id)
            .ok_or_else(|| CoreError::refused(ErrorCode::NotFound, "没有这个报送批次"))
    }

    /// A page of a batch's register entries, in order (for exports).
    pub async fn batch_entries(
        &self,
        by: &Principal,
        id: i64,
        after: i64,
        limit: i64,
    ) -> Result<Vec<RegisterRow>, CoreError> {
        self.report_batch(by, id).await?;
        self.store().batch_entries(id, after, limit).await
    }

    /// Confirms (确认无误) or returns a submitted batch: a civil-affairs officer whose
    /// region covers the batch's county. Once; audited.
    pub async fn decide_batch(
        &self,
        by: &Principal,
        id: i64,
        returned: Option<BatchReturn>,
    ) -> Result<ReportBatch, CoreError> {
        let Principal::Staff { id: staff_id, role: StaffRole::Officer, .. } = by else {
            return Err(CoreError::refused(ErrorCode::Forbidden, "报送批次由民政部门确认"));
        };
        let (region, agency) = self.officer(*staff_id).await?;
        if agency != Agency::CivilAffairs {
            return Err(CoreError::refused(ErrorCode::Forbidden, "报送批次由民政部门确认"));
        }
        let batch = self.report_batch(by, id).await?;
        debug_assert!(crate::identity::region_covers(&region, &batch.county_code));
        let reason = returned.map(|r| crate::identity::bounded_text(&r.reason, 1000, "reason")).transpose()?;
        if batch.status != BatchStatus::Submitted {
            return Err(CoreError::code(ErrorCode::BatchDecided));
        }
        let to = if reason.is_some() { BatchStatus::Returned } else { BatchStatus::Confirmed };
        let audit = AuditEvent {
            at: self.now(),
            actor_kind: "staff".into(),
            actor_id: Some(*staff_id),
            action: format!("report_batch_{}", to.as_str()),
            subject_kind: "organisation".into(),
            subject_id: Some(batch.organisation_id),
            detail: serde_json::json!({ "batch_id": id, "entries": batch.entries, "reason": reason }),
        };
        let decided = self
            .store()
            .decide_batch(id, to, *staff_id, reason.as_deref(), self.now(), &audit)
            .await?
            .ok_or_else(|| CoreError::code(ErrorCode::BatchDecided))?;
        if to == BatchStatus::Confirmed {
            let volunteers = self.notify_batch_confirmed(&decided).await?;
            // A correction in the batch may take someone under a star they hold.
            self.review_stars_of(&volunteers).await?;
        }
        Ok(decided)
    }

    /// Tells each volunteer in a confirmed batch their confirmed minutes (net of reversals);
    /// gives back who they are.
    async fn notify_batch_confirmed(&self, batch: &ReportBatch) -> Result<Vec<i64>, CoreError> {
        let organisation =
            self.store().get_organisation(batch.organisation_id).await?.map(|o| o.name).unwrap_or_default();
        let mut minutes: std::collections::BTreeMap<i64, i64> = std::collections::BTreeMap::new();
        let mut after = 0;
        loop {
            let page = self.store().batch_entries(batch.id, after, 1000).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for entry in &page {
                *minutes.entry(entry.volunteer_id).or_default() += entry.minutes;
            }
        }
        let volunteers: Vec<i64> = minutes.keys().copied().collect();
        let notices = minutes
            .into_iter()
            .map(|(volunteer_id, minutes)| crate::notification::HoursNotice::BatchConfirmed {
                volunteer_id,
                batch_id: batch.id,
                minutes,
                organisation: organisation.clone(),
            })
            .collect();
        self.notify_all(notices).await;
        Ok(volunteers)
    }
}
