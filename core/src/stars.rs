//! Stars (星级, DOMAIN.md point 10): recorded and civil-affairs-confirmed hours earn stars,
//! each applied for and granted by the volunteer department of its level of government.
//!
//! | stars | confirmed hours at least | decided by |
//! |---|---|---|
//! | 1, 2 | 100, 300 | the county (县区) where the volunteer served most |
//! | 3, 4 | 600, 1000 | its prefecture city (设区市) |
//! | 5 | 1500 | its province (省) |
//!
//! The hours are configurable per province ([`StarRule`]); so is the quality bar: a
//! verified complaint filed within the last `complaint_block_days` (365 unless set) blocks
//! an application. Stars are applied for one at a time. Only register minutes in batches
//! civil affairs confirmed count, reversals included, so a correction counts at once. When
//! a later correction takes a volunteer under the threshold of a star they hold, a review
//! is raised for the department that granted it, which keeps or revokes the star with a
//! reason; nothing is revoked silently.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::guards::require_administrator;
use crate::identity::{Principal, region_covers};
use crate::review::record::ComplaintStatus;

/// Hours for one to five stars where a province sets nothing else.
pub const DEFAULT_THRESHOLDS: [u32; 5] = [100, 300, 600, 1000, 1500];
/// How far back a verified complaint blocks an application, unless a province says otherwise.
pub const DEFAULT_COMPLAINT_BLOCK_DAYS: u32 = 365;

/// A province's star rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StarRule {
    /// Confirmed hours for one to five stars, increasing.
    pub thresholds: [u32; 5],
    /// Verified complaints filed within this many days block an application (0: none do).
    pub complaint_block_days: u32,
}

impl Default for StarRule {
    fn default() -> Self {
        Self { thresholds: DEFAULT_THRESHOLDS, complaint_block_days: DEFAULT_COMPLAINT_BLOCK_DAYS }
    }
}

impl StarRule {
    fn validate(&self) -> Result<(), CoreError> {
        let increasing = self.thresholds.windows(2).all(|w| w[0] < w[1]);
        if !increasing || self.thresholds[0] == 0 || self.thresholds[4] > 100_000 {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "thresholds 须为五个递增的正整数（小时）"));
        }
        if self.complaint_block_days > 3650 {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "complaint_block_days 须在 0 至 3650 之间"));
        }
        Ok(())
    }

    /// The hours `stars` needs.
    pub fn hours_for(&self, stars: u8) -> u32 {
        self.thresholds[usize::from(stars.clamp(1, 5)) - 1]
    }
}

/// The region code of the department that decides `stars` for service in `region`.
pub fn deciding_region(stars: u8, region: &str) -> String {
    match stars {
        1 | 2 => region.to_owned(),
        3 | 4 => format!("{}00", &region[..4]),
        _ => format!("{}0000", &region[..2]),
    }
}

/// The province a region is in.
pub fn province_of(region: &str) -> String {
    format!("{}0000", &region[..2.min(region.len())])
}

/// Where an application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StarApplicationStatus {
    /// Waiting for the department.
    Pending,
    /// Granted: the volunteer holds the star.
    Granted,
    /// Declined, with a reason.
    Declined,
    /// Granted, then revoked on review after a correction.
    Revoked,
}

crate::stored_names!(StarApplicationStatus {
    Pending => "pending",
    Granted => "granted",
    Declined => "declined",
    Revoked => "revoked",
});

/// An application for a star.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct StarApplication {
    /// Its id.
    pub id: i64,
    /// The volunteer.
    pub volunteer_id: i64,
    /// The star applied for (1–5).
    pub stars: u8,
    /// Confirmed hours when applying.
    pub hours: u32,
    /// The hours the star needs.
    pub threshold_hours: u32,
    /// The department that decides: its region code.
    pub decide_region: String,
    /// Where it stands.
    pub status: StarApplicationStatus,
    /// Who decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<i64>,
    /// When.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub decided_at: Option<DateTime<Utc>>,
    /// The decision's (or revocation's) reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When applied.
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub created_at: DateTime<Utc>,
}

/// An application to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStarApplication {
    /// The volunteer.
    pub volunteer_id: i64,
    /// The star.
    pub stars: u8,
    /// Confirmed hours now.
    pub hours: u32,
    /// The threshold.
    pub threshold_hours: u32,
    /// The deciding department's region.
    pub decide_region: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// A review of a granted star after a correction took the volunteer under its threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct StarReview {
    /// Its id.
    pub id: i64,
    /// The grant under review.
    pub application_id: i64,
    /// The volunteer.
    pub volunteer_id: i64,
    /// The star held.
    pub stars: u8,
    /// Confirmed hours when the review was raised.
    pub hours: u32,
    /// The star's threshold.
    pub threshold_hours: u32,
    /// The department that granted the star and decides.
    pub decide_region: String,
    /// `open`, `kept` or `revoked`.
    pub status: String,
    /// The decision's reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When raised.
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub created_at: DateTime<Utc>,
}

/// Applying for a star.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StarRequest {
    /// The star applied for: one more than held.
    pub stars: u8,
}

/// A department's decision.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StarDecision {
    /// Grant (true) or decline (false).
    pub grant: bool,
    /// Why (1–500 characters; shown to the volunteer).
    pub reason: String,
}

/// A department's decision on a review.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StarReviewDecision {
    /// Revoke the star (true) or keep it (false).
    pub revoke: bool,
    /// Why (1–500 characters; shown to the volunteer).
    pub reason: String,
}

/// Where a volunteer stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct StarStanding {
    /// Stars held.
    pub stars: u8,
    /// Confirmed hours (whole hours; only civil-affairs-confirmed register minutes count).
    pub confirmed_hours: u32,
    /// The next star, if any is left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<NextStar>,
    /// Every application, newest first.
    pub applications: Vec<StarApplication>,
}

/// The next star.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct NextStar {
    /// Which.
    pub stars: u8,
    /// Hours it needs.
    pub threshold_hours: u32,
    /// Whether an application would be accepted now.
    pub eligible: bool,
    /// Why not, if not (Chinese, for the volunteer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_because: Option<String>,
}

/// The stars a volunteer holds: the highest granted star.
pub fn stars_held(applications: &[StarApplication]) -> u8 {
    applications.iter().filter(|a| a.status == StarApplicationStatus::Granted).map(|a| a.stars).max().unwrap_or(0)
}

fn reason_text(reason: &str) -> Result<String, CoreError> {
    crate::text::clean(reason, 500, "reason", crate::text::Lines::Many)
}

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
    async fn served_hours(&self, volunteer_id: i64) -> Result<(u32, Option<String>), CoreError> {
        let by_region = self.store().confirmed_minutes_by_region(volunteer_id).await?;
        let total: i64 = by_region.iter().map(|(_, m)| m).sum();
        let region =
            by_region.iter().max_by_key(|(region, m)| (*m, std::cmp::Reverse(region.clone()))).map(|(r, _)| r.clone());
        Ok((u32::try_from(total.max(0) / 60).unwrap_or(u32::MAX), region))
    }

    async fn complaint_blocks(&self, volunteer_id: i64, rule: &StarRule) -> Result<bool, CoreError> {
        if rule.complaint_block_days == 0 {
            return Ok(false);
        }
        let since = self.now() - Duration::days(i64::from(rule.complaint_block_days));
        let complaints = self.store().complaints_of(volunteer_id).await?;
        Ok(complaints.iter().any(|c| c.status == ComplaintStatus::Verified && c.filed_at >= since))
    }

    /// A civil-affairs officer's region (the volunteer departments sit in civil affairs).
    async fn star_officer_region(&self, by: &Principal) -> Result<String, CoreError> {
        self.officer_region(staff_id(by)?).await
    }
}

fn staff_id(by: &Principal) -> Result<i64, CoreError> {
    match by {
        Principal::Staff { id, role: crate::identity::StaffRole::Officer, .. } => Ok(*id),
        _ => Err(CoreError::code(ErrorCode::Forbidden)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_star_is_decided_at_its_level() {
        assert_eq!(deciding_region(1, "530102"), "530102");
        assert_eq!(deciding_region(2, "530102"), "530102");
        assert_eq!(deciding_region(3, "530102"), "530100");
        assert_eq!(deciding_region(4, "530102"), "530100");
        assert_eq!(deciding_region(5, "530102"), "530000");
        assert_eq!(province_of("530102"), "530000");
    }

    #[test]
    fn rules_need_five_increasing_thresholds() {
        assert!(StarRule::default().validate().is_ok());
        assert_eq!(StarRule::default().hours_for(3), 600);
        for thresholds in [[100, 100, 600, 1000, 1500], [0, 300, 600, 1000, 1500], [100, 300, 600, 1000, 200_000]] {
            assert!(StarRule { thresholds, complaint_block_days: 365 }.validate().is_err(), "{thresholds:?}");
        }
        assert!(StarRule { thresholds: DEFAULT_THRESHOLDS, complaint_block_days: 4000 }.validate().is_err());
    }
}
