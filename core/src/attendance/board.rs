//! The organiser's view of an activity: each volunteer's session and the live totals.
//!
//! Both are derived on request from the accepted scans in the store, with the same pure
//! minutes function the scan path uses, so the board and the volunteers' receipts never
//! disagree. A staff request reads the database; the scan path never does this.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::minutes::{CreditedPair, ScanFact, Schedule, UnpairedScan, derive_minutes};
use crate::activity::shanghai_time;
use crate::error::CoreError;
use crate::hourmark::Hourmark;
use crate::identity::Principal;

/// One volunteer's session at an activity.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VolunteerSession {
    /// The volunteer.
    pub volunteer_id: i64,
    /// Their name.
    pub volunteer_name: String,
    /// Whether they are checked in now.
    pub inside: bool,
    /// Since when, if inside (+08:00).
    #[serde(serialize_with = "crate::activity::shanghai_time::option::serialize")]
    #[schema(value_type = Option<String>)]
    pub checked_in_at: Option<DateTime<Utc>>,
    /// Minutes from completed pairs.
    pub minutes_credited: u32,
    /// Minutes counting an open session up to now.
    pub minutes_so_far: u32,
    /// Every pair, credited or not.
    pub pairs: Vec<CreditedPair>,
    /// Scans that could not be paired, with the reason.
    pub unpaired: Vec<UnpairedScan>,
}

/// Live totals for an activity.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActivityTotals {
    /// The activity.
    pub activity_id: i64,
    /// Checked in right now.
    pub inside_now: u32,
    /// Volunteers who checked in at least once.
    pub arrived: u32,
    /// Volunteers who arrived and are not inside now.
    pub left: u32,
    /// Minutes so far, counting open sessions up to now.
    pub minutes_so_far: u64,
    /// Minutes from completed pairs.
    pub minutes_credited: u64,
    /// Accepted scans.
    pub accepted_scans: u64,
    /// When these figures were computed (+08:00).
    #[serde(with = "shanghai_time")]
    #[schema(value_type = String)]
    pub as_of: DateTime<Utc>,
}

impl Hourmark {
    /// Every volunteer's session at an activity the caller manages, by volunteer id.
    pub async fn activity_sessions(
        &self,
        by: &Principal,
        activity_id: i64,
    ) -> Result<Vec<VolunteerSession>, CoreError> {
        Ok(self.sessions_and_scan_count(by, activity_id).await?.0)
    }

    async fn sessions_and_scan_count(
        &self,
        by: &Principal,
        activity_id: i64,
    ) -> Result<(Vec<VolunteerSession>, usize), CoreError> {
        let activity = self.managed_activity(by, activity_id).await?;
        let scans = self.store().accepted_scans(activity.id, None).await?;
        let scan_count = scans.len();
        let mut by_volunteer: BTreeMap<i64, (String, Vec<ScanFact>)> = BTreeMap::new();
        for s in scans {
            by_volunteer
                .entry(s.volunteer_id)
                .or_insert_with(|| (s.volunteer_name.clone(), Vec::new()))
                .1
                .push(ScanFact { at: s.at, direction: s.direction });
        }
        let now = self.now();
        let schedule = Schedule { starts_at: activity.starts_at, ends_at: activity.ends_at };
        let policy = &self.settings().checkin.minutes;
        let sessions = by_volunteer
            .into_iter()
            .map(|(volunteer_id, (volunteer_name, facts))| {
                let live = derive_minutes(&facts, &schedule, policy, Some(now));
                let settled = derive_minutes(&facts, &schedule, policy, None);
                VolunteerSession {
                    volunteer_id,
                    volunteer_name,
                    inside: live.is_inside(),
                    checked_in_at: live.open_since,
                    minutes_credited: settled.total_minutes,
                    minutes_so_far: live.total_minutes,
                    pairs: live.pairs,
                    unpaired: settled.unpaired,
                }
            })
            .collect();
        Ok((sessions, scan_count))
    }

    /// Live totals for an activity the caller manages.
    pub async fn activity_totals(&self, by: &Principal, activity_id: i64) -> Result<ActivityTotals, CoreError> {
        let (sessions, scan_count) = self.sessions_and_scan_count(by, activity_id).await?;
        let arrived = sessions.iter().filter(|s| !s.pairs.is_empty() || s.inside).count();
        let inside_now = sessions.iter().filter(|s| s.inside).count();
        Ok(ActivityTotals {
            activity_id,
            inside_now: u32::try_from(inside_now).unwrap_or(u32::MAX),
            arrived: u32::try_from(arrived).unwrap_or(u32::MAX),
            left: u32::try_from(arrived - inside_now).unwrap_or(u32::MAX),
            minutes_so_far: sessions.iter().map(|s| u64::from(s.minutes_so_far)).sum(),
            minutes_credited: sessions.iter().map(|s| u64::from(s.minutes_credited)).sum(),
            accepted_scans: scan_count as u64,
            as_of: self.now(),
        })
    }
}
