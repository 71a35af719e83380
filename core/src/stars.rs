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

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{CoreError, ErrorCode};
use crate::identity::Principal;

mod use_cases;

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
