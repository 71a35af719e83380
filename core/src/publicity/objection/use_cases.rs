//! The use cases of objections (`impl Hourmark`), apart from its types and rules in the
//! parent module, which the store and the context import without importing these.

use super::super::{PublicityPeriod, PublicityRow, PublicityStatus, publicity_started};
use super::*;
use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::Principal;
use crate::identity::pii::PiiField;

impl Hourmark {
    /// Raises an objection to an entry in publicity: anyone may, during the period (and
    /// while it is held). A staff member who decided that volunteer's day (finalised it or
    /// resolved a flag on it) may not object to their own decision.
    pub async fn raise_objection(
        &self,
        by: Option<&Principal>,
        entry_id: i64,
        new: NewObjection,
    ) -> Result<Objection, CoreError> {
        let contact = crate::identity::line_text(&new.contact, 200, "contact")?;
        let reason = crate::identity::bounded_text(&new.reason, 1000, "reason")?;
        let entry = self
            .store()
            .publicity_entry(entry_id)
            .await?
            .ok_or_else(|| CoreError::refused(ErrorCode::NotFound, "没有这条公示"))?;
        let today = self.now().with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
        let in_period = match (entry.status, entry.ends_on) {
            (PublicityStatus::Recorded, _) => false,
            (_, Some(ends_on)) => today <= ends_on,
            (_, None) => true,
        };
        if !in_period {
            return Err(CoreError::code(ErrorCode::NotInPublicity));
        }
        let mut raised_by = None;
        if let Some(Principal::Staff { id, .. }) = by {
            raised_by = Some(*id);
            let finalised_by = self.store().finalisation(entry.activity_id).await?.map(|f| f.finalised_by);
            let resolved_by: Vec<i64> = self
                .store()
                .flags(entry.activity_id)
                .await?
                .iter()
                .filter(|f| f.volunteer_id == entry.volunteer_id && f.day == entry.day)
                .filter_map(|f| f.resolved_by)
                .collect();
            if finalised_by == Some(*id) || resolved_by.contains(id) {
                return Err(CoreError::code(ErrorCode::OwnDecision));
            }
        }
        let sealed = self.vault().seal(PiiField::Extra, &contact).map_err(|e| CoreError::Internal(e.to_string()))?;
        let objection = self
            .store()
            .add_objection(entry_id, &sealed, &reason, raised_by, self.now())
            .await?
            .ok_or_else(|| CoreError::code(ErrorCode::NotInPublicity))?;
        // The objector looks at the board next: the entry says an objection is pending.
        self.public_board_changed();
        Ok(objection)
    }

    /// The objections to an activity's entries (reviewers).
    pub async fn activity_objections(&self, by: &Principal, activity_id: i64) -> Result<Vec<Objection>, CoreError> {
        self.reviewable_activity(by, activity_id).await?;
        self.store().objections_of_activity(activity_id).await
    }

    /// Upholds (the session is corrected and that entry's publicity starts again) or
    /// dismisses an objection, with a reason: a qualified recorder of the organisation.
    /// Once; audited.
    pub async fn decide_objection(
        &self,
        by: &Principal,
        objection_id: i64,
        decision: ObjectionDecision,
    ) -> Result<Objection, CoreError> {
        let objection = self
            .store()
            .objection(objection_id)
            .await?
            .ok_or_else(|| CoreError::refused(ErrorCode::NotFound, "没有这条异议"))?;
        let entry = self
            .store()
            .publicity_entry(objection.entry_id)
            .await?
            .ok_or_else(|| CoreError::Internal("an objection's entry is missing".into()))?;
        let activity = self.reviewable_activity(by, entry.activity_id).await?;
        let staff_id = self.require_recorder_of(by, activity.organisation_id).await?;
        let reason = crate::identity::bounded_text(&decision.reason, 500, "reason")?;
        if objection.status != ObjectionStatus::Open {
            return Err(CoreError::code(ErrorCode::ObjectionDecided));
        }
        // An objection questions the finalisation: the recorder who made it does not judge it.
        if self.store().finalisation(entry.activity_id).await?.is_some_and(|f| f.finalised_by == staff_id) {
            return Err(CoreError::refused(
                ErrorCode::OwnDecision,
                "定稿的记录员不能处理针对本次定稿的异议，请由另一名记录员处理",
            ));
        }
        let now = self.now();
        let restart = match (decision.uphold, decision.minutes) {
            (true, Some(minutes)) => {
                let schedule = crate::attendance::Schedule { starts_at: activity.starts_at, ends_at: activity.ends_at };
                let cap = crate::review::scheduled_minutes_on(&schedule, entry.day);
                if minutes > cap {
                    return Err(CoreError::refused(
                        ErrorCode::MinutesOverCap,
                        format!("更正后的时长超过当日计划时长 {cap} 分钟"),
                    ));
                }
                self.require_within_organisation_limit(entry.activity_id, minutes).await?;
                let today = now.with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
                let calendar = self.calendar_for(&entry.region_code).await?;
                let ends_on = PublicityPeriod::count(&calendar, today, entry.working_days).ends_on;
                Some(Restart { minutes, reason: Some(reason.clone()), published_on: today, ends_on })
            }
            (true, None) => return Err(CoreError::refused(ErrorCode::InvalidBody, "支持异议须填写更正后的 minutes")),
            (false, Some(_)) => return Err(CoreError::refused(ErrorCode::InvalidBody, "驳回异议不需要 minutes")),
            (false, None) => None,
        };
        let audit = AuditEvent {
            at: now,
            actor_kind: "staff".into(),
            actor_id: Some(staff_id),
            action: if decision.uphold { "objection_upheld" } else { "objection_dismissed" }.into(),
            // Under the volunteer: an upheld objection corrects their hours, and they see
            // every correction in their audit log and export.
            subject_kind: "volunteer".into(),
            subject_id: Some(entry.volunteer_id),
            detail: serde_json::json!({
                "objection_id": objection_id, "entry_id": entry.id, "activity_id": entry.activity_id,
                "day": entry.day, "from_minutes": entry.minutes, "to_minutes": restart.as_ref().map(|r| r.minutes),
                "reason": reason,
            }),
        };
        let decided = self
            .store()
            .decide_objection(objection_id, &entry, staff_id, &reason, restart.as_ref(), now, &audit)
            .await?
            .ok_or_else(|| CoreError::code(ErrorCode::ObjectionDecided))?;
        self.public_board_changed();
        let mut notices = vec![crate::notification::HoursNotice::ObjectionDecided {
            volunteer_id: entry.volunteer_id,
            activity: entry.activity_name.clone(),
            day: entry.day,
            upheld: decision.uphold,
            minutes: restart.as_ref().map(|r| r.minutes),
            reason,
            objection_id,
        }];
        if let Some(restart) = &restart {
            let restarted = PublicityRow {
                minutes: restart.minutes,
                published_on: restart.published_on,
                ends_on: restart.ends_on,
                ..entry
            };
            notices.push(publicity_started(&restarted));
        }
        self.notify_all(notices).await;
        Ok(decided)
    }
}
