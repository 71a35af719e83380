//! Star ratings' use cases: applying, deciding, reviews and the rules' settings, each an
//! `impl Hourmark` block over the types and rules in `stars`.

use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::guards::require_administrator;
use crate::identity::{Principal, region_covers};
use crate::review::record::ComplaintStatus;
use chrono::Duration;

use super::{
    NewStarApplication, NextStar, StarApplication, StarApplicationStatus, StarDecision, StarRequest, StarReview,
    StarReviewDecision, StarRule, StarStanding, deciding_region, province_of, reason_text, staff_id, stars_held,
};

impl Hourmark {
    /// The star rule of a province (the default when it set none).
    pub async fn star_rule(&self, province_code: &str) -> Result<StarRule, CoreError> {
        Ok(self.store().star_rule(&province_of(province_code)).await?.unwrap_or_default())
    }

    /// Sets a province's star rule (administrators). Audited.
    pub async fn set_star_rule(
        &self,
        by: &Principal,
        province_code: &str,
        rule: StarRule,
    ) -> Result<StarRule, CoreError> {
        let staff_id = require_administrator(by)?;
        if !crate::identity::is_region_code(province_code) || !province_code.ends_with("0000") {
            return Err(CoreError::refused(ErrorCode::RegionCodeInvalid, "须为省级行政区划代码，如 530000"));
        }
        rule.validate()?;
        let now = self.now();
        let audit = AuditEvent {
            at: now,
            actor_kind: "staff".into(),
            actor_id: Some(staff_id),
            action: "star_rule_set".into(),
            subject_kind: "province".into(),
            subject_id: province_code.parse().ok(),
            detail: serde_json::json!({ "thresholds": rule.thresholds, "complaint_block_days": rule.complaint_block_days }),
        };
        self.store().put_star_rule(province_code, &rule, staff_id, now, &audit).await?;
        Ok(rule)
    }

    /// Where a volunteer stands: stars held, confirmed hours, the next star and whether
    /// they may apply for it now.
    pub async fn star_standing(&self, volunteer_id: i64) -> Result<StarStanding, CoreError> {
        let applications = self.store().star_applications_of(volunteer_id).await?;
        let stars = stars_held(&applications);
        let (hours, region) = self.served_hours(volunteer_id).await?;
        let next = if stars >= 5 {
            None
        } else {
            let next = stars + 1;
            let rule = match &region {
                Some(region) => self.star_rule(region).await?,
                None => StarRule::default(),
            };
            let threshold_hours = rule.hours_for(next);
            let blocked_because = if applications.iter().any(|a| a.status == StarApplicationStatus::Pending) {
                Some("已有申请待审批".to_owned())
            } else if hours < threshold_hours {
                Some(format!("经民政部门确认的服务时长须满 {threshold_hours} 小时，现为 {hours} 小时"))
            } else if self.complaint_blocks(volunteer_id, &rule).await? {
                Some(format!("近 {} 天内有经核实的投诉", rule.complaint_block_days))
            } else {
                None
            };
            Some(NextStar { stars: next, threshold_hours, eligible: blocked_because.is_none(), blocked_because })
        };
        Ok(StarStanding { stars, confirmed_hours: hours, next, applications })
    }

    /// A volunteer applies for their next star.
    pub async fn apply_for_star(&self, by: &Principal, request: StarRequest) -> Result<StarApplication, CoreError> {
        let Principal::Volunteer { id: volunteer_id } = by else {
            return Err(CoreError::code(ErrorCode::Forbidden));
        };
        let volunteer_id = *volunteer_id;
        let applications = self.store().star_applications_of(volunteer_id).await?;
        let held = stars_held(&applications);
        if request.stars != held + 1 || request.stars > 5 {
            return Err(CoreError::refused(
                ErrorCode::StarWrongLevel,
                if held >= 5 {
                    "已获得五星，无更高星级".to_owned()
                } else {
                    format!("星级须逐级申请：现为 {held} 星，可申请 {} 星", held + 1)
                },
            ));
        }
        if applications.iter().any(|a| a.status == StarApplicationStatus::Pending) {
            return Err(CoreError::code(ErrorCode::StarApplicationPending));
        }
        let (hours, region) = self.served_hours(volunteer_id).await?;
        let Some(region) = region else {
            return Err(CoreError::refused(ErrorCode::StarThresholdNotMet, "尚无经民政部门确认的服务时长"));
        };
        let rule = self.star_rule(&region).await?;
        let threshold_hours = rule.hours_for(request.stars);
        if hours < threshold_hours {
            return Err(CoreError::refused(
                ErrorCode::StarThresholdNotMet,
                format!("{} 星须满 {threshold_hours} 小时经确认的服务时长，现为 {hours} 小时", request.stars),
            ));
        }
        if self.complaint_blocks(volunteer_id, &rule).await? {
            return Err(CoreError::refused(
                ErrorCode::StarQualityBlocked,
                format!("近 {} 天内有经核实的投诉，暂不能申请星级", rule.complaint_block_days),
            ));
        }
        let new = NewStarApplication {
            volunteer_id,
            stars: request.stars,
            hours,
            threshold_hours,
            decide_region: deciding_region(request.stars, &region),
            at: self.now(),
        };
        self.store().add_star_application(&new).await?.ok_or_else(|| CoreError::code(ErrorCode::StarApplicationPending))
    }

    /// Applications waiting in the officer's region (and below it), oldest first. An
    /// officer decides only those whose deciding department is theirs.
    pub async fn pending_star_applications(&self, by: &Principal) -> Result<Vec<StarApplication>, CoreError> {
        let region = self.star_officer_region(by).await?;
        let pending = self.store().pending_star_applications().await?;
        Ok(pending.into_iter().filter(|a| region_covers(&region, &a.decide_region)).collect())
    }

    /// Grants or declines an application (the deciding department's officer). Audited.
    pub async fn decide_star_application(
        &self,
        by: &Principal,
        id: i64,
        decision: StarDecision,
    ) -> Result<StarApplication, CoreError> {
        let region = self.star_officer_region(by).await?;
        let staff_id = staff_id(by)?;
        let reason = reason_text(&decision.reason)?;
        let application = self
            .store()
            .star_application(id)
            .await?
            .filter(|a| region_covers(&region, &a.decide_region))
            .ok_or_else(|| CoreError::code(ErrorCode::NotFound))?;
        if application.decide_region != region {
            return Err(CoreError::refused(
                ErrorCode::Forbidden,
                format!("{} 星由区划代码 {} 的志愿服务主管部门审批", application.stars, application.decide_region),
            ));
        }
        if application.status != StarApplicationStatus::Pending {
            return Err(CoreError::code(ErrorCode::StarApplicationDecided));
        }
        let to = if decision.grant { StarApplicationStatus::Granted } else { StarApplicationStatus::Declined };
        if decision.grant {
            // The hours may have changed since the application: grant on today's figure.
            let (hours, _) = self.served_hours(application.volunteer_id).await?;
            if hours < application.threshold_hours {
                return Err(CoreError::refused(
                    ErrorCode::StarThresholdNotMet,
                    format!("经更正后确认时长为 {hours} 小时，不足 {} 小时", application.threshold_hours),
                ));
            }
        }
        let now = self.now();
        let audit = AuditEvent {
            at: now,
            actor_kind: "staff".into(),
            actor_id: Some(staff_id),
            action: format!("star_{}", to.as_str()),
            subject_kind: "volunteer".into(),
            subject_id: Some(application.volunteer_id),
            detail: serde_json::json!({ "application_id": id, "stars": application.stars, "reason": reason }),
        };
        self.store()
            .decide_star_application(id, to, staff_id, &reason, now, &audit)
            .await?
            .ok_or_else(|| CoreError::code(ErrorCode::StarApplicationDecided))
    }

    /// Open reviews in the officer's region.
    pub async fn open_star_reviews(&self, by: &Principal) -> Result<Vec<StarReview>, CoreError> {
        let region = self.star_officer_region(by).await?;
        let open = self.store().open_star_reviews().await?;
        Ok(open.into_iter().filter(|r| region_covers(&region, &r.decide_region)).collect())
    }

    /// Keeps or revokes a star under review (the department that granted it). Audited.
    pub async fn decide_star_review(
        &self,
        by: &Principal,
        id: i64,
        decision: StarReviewDecision,
    ) -> Result<StarReview, CoreError> {
        let region = self.star_officer_region(by).await?;
        let staff_id = staff_id(by)?;
        let reason = reason_text(&decision.reason)?;
        let review = self
            .store()
            .star_review(id)
            .await?
            .filter(|r| region_covers(&region, &r.decide_region))
            .ok_or_else(|| CoreError::code(ErrorCode::NotFound))?;
        if review.decide_region != region {
            return Err(CoreError::refused(
                ErrorCode::Forbidden,
                format!("由授予该星级的部门（区划代码 {}）复核", review.decide_region),
            ));
        }
        let now = self.now();
        let audit = AuditEvent {
            at: now,
            actor_kind: "staff".into(),
            actor_id: Some(staff_id),
            action: if decision.revoke { "star_revoked" } else { "star_kept" }.into(),
            subject_kind: "volunteer".into(),
            subject_id: Some(review.volunteer_id),
            detail: serde_json::json!({ "review_id": id, "stars": review.stars, "hours": review.hours, "reason": reason }),
        };
        self.store()
            .decide_star_review(id, decision.revoke, staff_id, &reason, now, &audit)
            .await?
            .ok_or_else(|| CoreError::code(ErrorCode::StarApplicationDecided))
    }

    /// After confirmed minutes change (a batch is confirmed), raises a review for each
    /// volunteer now under the threshold of a star they hold.
    pub(crate) async fn review_stars_of(&self, volunteer_ids: &[i64]) -> Result<(), CoreError> {
        for &volunteer_id in volunteer_ids {
            let applications = self.store().star_applications_of(volunteer_id).await?;
            let (hours, _) = self.served_hours(volunteer_id).await?;
            for grant in applications.iter().filter(|a| a.status == StarApplicationStatus::Granted) {
                if hours < grant.threshold_hours {
                    self.store().raise_star_review(grant, hours, self.now()).await?;
                }
            }
        }
        Ok(())
    }

    /// Confirmed whole hours, and the county where most of them were served.
    pub(super) async fn served_hours(&self, volunteer_id: i64) -> Result<(u32, Option<String>), CoreError> {
        let by_region = self.store().confirmed_minutes_by_region(volunteer_id).await?;
        let total: i64 = by_region.iter().map(|(_, m)| m).sum();
        let region =
            by_region.iter().max_by_key(|(region, m)| (*m, std::cmp::Reverse(region.clone()))).map(|(r, _)| r.clone());
        Ok((u32::try_from(total.max(0) / 60).unwrap_or(u32::MAX), region))
    }

    pub(super) async fn complaint_blocks(&self, volunteer_id: i64, rule: &StarRule) -> Result<bool, CoreError> {
        if rule.complaint_block_days == 0 {
            return Ok(false);
        }
        let since = self.now() - Duration::days(i64::from(rule.complaint_block_days));
        let complaints = self.store().complaints_of(volunteer_id).await?;
        Ok(complaints.iter().any(|c| c.status == ComplaintStatus::Verified && c.filed_at >= since))
    }

    /// A civil-affairs officer's region (the volunteer departments sit in civil affairs).
    pub(super) async fn star_officer_region(&self, by: &Principal) -> Result<String, CoreError> {
        self.officer_region(staff_id(by)?).await
    }
}
