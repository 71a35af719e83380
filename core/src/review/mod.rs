//! Review: the anomaly rules, the flags they raise, a recorder's decisions on them,
//! [`closing`] sessions left open, and [`finalise`]: late entries and fixing an activity's
//! minutes once nothing is left unresolved.
//!
//! Rules run twice. As a scan arrives, the rules one scan can be judged by alone run in the
//! scan's own task, after its commit, and cost nothing unless a location, clock or upload
//! delay is out of line (most scans). Over the whole activity, every rule runs when a
//! reviewer opens the activity's review (unless this instance's last pass still holds:
//! [`passes`]), and always when left-open sessions are closed and when it is finalised.
//! Both raise flags keyed so that a finding raised twice is stored once.

pub mod book;
pub mod closing;
pub mod correction;
pub mod finalise;
pub mod passes;
pub mod record;
pub mod rules;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::attendance::{Direction, ScanFact, Schedule, derive_minutes};
use crate::error::CoreError;
use rules::{Finding, OtherSession, Reviewer, RuleCode, RuleParams, ScanEvidence, Severity};

mod use_cases;

/// What happens to a session still open after the activity (and its grace) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeftOpenPolicy {
    /// Credit up to the scheduled end, and flag it (the default: the volunteer probably
    /// served and forgot to scan out).
    #[default]
    CreditToEnd,
    /// Credit nothing, and flag it.
    CreditNothing,
}

crate::stored_names!(LeftOpenPolicy {
    CreditToEnd => "credit_to_end",
    CreditNothing => "credit_nothing",
});

/// An activity's review settings: rule parameters and the left-open policy.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ReviewSettings {
    /// The rules' parameters (any omitted keep their defaults).
    pub params: RuleParams,
    /// What to do with sessions left open.
    pub left_open_policy: LeftOpenPolicy,
}

/// Where a flag stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FlagStatus {
    /// Waiting for a decision.
    Open,
    /// The scan-derived minutes stand.
    Accepted,
    /// The day's minutes were set by hand.
    Adjusted,
    /// The day earns nothing.
    Rejected,
}

crate::stored_names!(FlagStatus {
    Open => "open",
    Accepted => "accepted",
    Adjusted => "adjusted",
    Rejected => "rejected",
});

/// A raised flag and its resolution.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Flag {
    /// Its id.
    pub id: i64,
    /// The activity.
    pub activity_id: i64,
    /// Whose session.
    pub volunteer_id: i64,
    /// The rule.
    pub rule: RuleCode,
    /// How serious.
    pub severity: Severity,
    /// Who must resolve it.
    pub reviewer: Reviewer,
    /// The local day it concerns.
    #[schema(value_type = String, format = Date)]
    pub day: NaiveDate,
    /// What the rule judged: values and thresholds.
    #[schema(value_type = Object)]
    pub evidence: serde_json::Value,
    /// What it means (Chinese).
    pub explanation: String,
    /// Raised when.
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub raised_at: DateTime<Utc>,
    /// Where it stands.
    pub status: FlagStatus,
    /// Resolved by (staff id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_by: Option<i64>,
    /// Resolved when.
    #[serde(
        serialize_with = "crate::activity::shanghai_time::option::serialize",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub resolved_at: Option<DateTime<Utc>>,
    /// Why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution_reason: Option<String>,
    /// For `adjusted`: the day's minutes set by hand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adjusted_minutes: Option<u32>,
}

/// A finding to store as a flag.
#[derive(Debug, Clone)]
pub struct NewFlag {
    /// The activity.
    pub activity_id: i64,
    /// The finding.
    pub finding: Finding,
    /// Raised when.
    pub raised_at: DateTime<Utc>,
}

/// A reviewer's decision on a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The scan-derived minutes stand.
    Accept,
    /// Set the day's minutes by hand (`minutes`, at most the day's scheduled minutes).
    Adjust,
    /// The day earns nothing.
    Reject,
}

/// A decision with its reason.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagResolution {
    /// Accept, adjust or reject.
    pub decision: Decision,
    /// For `adjust`: the day's minutes.
    #[serde(default)]
    pub minutes: Option<u32>,
    /// Why, 1–500 characters.
    pub reason: String,
}

/// One of an activity's scans, as a reviewer sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewScan {
    /// The scan.
    pub id: uuid::Uuid,
    /// When.
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub at: DateTime<Utc>,
    /// In or out.
    pub direction: Option<Direction>,
    /// Outcome code.
    pub outcome: String,
    /// Geofence verdict.
    pub geofence: Option<String>,
    /// Distance to the venue, metres.
    pub distance_m: Option<f64>,
    /// The device.
    pub device_id: Option<String>,
}

/// A volunteer's day at the activity with its flags and the evidence behind them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlaggedDay {
    /// Who.
    pub volunteer_id: i64,
    /// Their name.
    pub volunteer_name: String,
    /// The local day.
    #[schema(value_type = String, format = Date)]
    pub day: NaiveDate,
    /// Minutes the scans earn that day.
    pub scan_minutes: u32,
    /// The most that may be credited that day: the scheduled minutes within it.
    pub scheduled_minutes: u32,
    /// The flags.
    pub flags: Vec<Flag>,
    /// The volunteer's scans that day.
    pub scans: Vec<ReviewScan>,
}

/// An activity's review: one page of its flagged days, and how many flags are still open.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActivityReview {
    /// The activity.
    pub activity_id: i64,
    /// Flags waiting for a decision, on every page.
    pub open_flags: u32,
    /// Days with a flag, on every page.
    pub days_total: u32,
    /// When every rule last ran over the activity (absent once it is finalised): a pass
    /// stands for up to 30 seconds while no scan arrives, so flags from scans elsewhere may
    /// follow that much later.
    #[serde(
        serialize_with = "crate::activity::shanghai_time::option::serialize",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub rules_run_at: Option<DateTime<Utc>>,
    /// The activity's settings.
    pub settings: ReviewSettings,
    /// This page's flagged days, by volunteer and day.
    pub days: Vec<FlaggedDay>,
    /// Where the next page starts (pass it as `after`); absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// A volunteer's day: where a page of flagged days starts (after it) or ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DayCursor {
    /// The volunteer.
    pub volunteer_id: i64,
    /// The local day.
    pub day: NaiveDate,
}

impl DayCursor {
    /// Reads `"{volunteer_id}:{YYYY-MM-DD}"`, as [`Display`](std::fmt::Display) writes it.
    pub fn parse(text: &str) -> Option<Self> {
        let (volunteer, day) = text.split_once(':')?;
        Some(Self { volunteer_id: volunteer.parse().ok()?, day: NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()? })
    }
}

impl std::fmt::Display for DayCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.volunteer_id, self.day.format("%Y-%m-%d"))
    }
}

/// Which flagged days to list: at most `limit`, after `after`.
///
/// An activity where twenty thousand volunteers each raised a flag cannot be answered in
/// one piece: the evidence and scans of every day came to 146 MB and took a minute
/// (BENCHMARKS.md). A page carries the days a reviewer can work through at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewPage {
    /// Start after this day (the previous page's `next`); from the first when absent.
    pub after: Option<DayCursor>,
    /// Days on the page, 1 to [`ReviewPage::MAX_LIMIT`].
    pub limit: u32,
}

impl ReviewPage {
    /// Days on a page when the caller does not say.
    pub const DEFAULT_LIMIT: u32 = 100;
    /// The most days on one page.
    pub const MAX_LIMIT: u32 = 500;
}

/// How many of an activity's flags are open, and on how many days it has flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlagCounts {
    /// Flags waiting for a decision.
    pub open: u32,
    /// Distinct (volunteer, day) pairs with a flag.
    pub days: u32,
}

/// A scan as the store hands it to review.
#[derive(Debug, Clone)]
pub struct StoredScanEvidence {
    /// The rules' view.
    pub evidence: ScanEvidence,
    /// The volunteer's name.
    pub volunteer_name: String,
    /// Outcome code.
    pub outcome: String,
    /// The code window (for when it was shown).
    pub code_window: Option<u32>,
}

/// An accepted scan at another activity, with that activity's venue and schedule.
#[derive(Debug, Clone)]
pub struct ScanElsewhere {
    /// Who.
    pub volunteer_id: i64,
    /// Where.
    pub activity_id: i64,
    /// The venue.
    pub venue: crate::geo::LatLng,
    /// Its schedule.
    pub schedule: Schedule,
    /// When.
    pub at: DateTime<Utc>,
    /// In or out.
    pub direction: Direction,
}

/// The minutes scheduled within one local day: what hand-set minutes may never exceed.
pub fn scheduled_minutes_on(schedule: &Schedule, day: NaiveDate) -> u32 {
    use chrono::TimeZone;
    let start_of = |d: NaiveDate| {
        chrono_tz::Asia::Shanghai
            .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    };
    let (Some(day_start), Some(day_end)) = (start_of(day), day.succ_opt().and_then(start_of)) else { return 0 };
    let from = schedule.starts_at.max(day_start);
    let to = schedule.ends_at.min(day_end);
    u32::try_from((to - from).num_minutes().max(0)).unwrap_or(u32::MAX)
}

/// One volunteer's scans on a page of the review: their name, what their minutes are
/// derived from, and each local day's scans as the page lists them.
struct VolunteerScans {
    name: String,
    facts: Vec<ScanFact>,
    by_day: BTreeMap<NaiveDate, Vec<ReviewScan>>,
}

fn validate_reason(reason: &str) -> Result<String, CoreError> {
    crate::identity::bounded_text(reason, 500, "reason")
}

/// Pairs of accepted scans at other activities, per volunteer and activity.
fn sessions_elsewhere(scans: &[ScanElsewhere], policy: &crate::attendance::MinutesPolicy) -> Vec<OtherSession> {
    let mut groups: BTreeMap<(i64, i64), (crate::geo::LatLng, Schedule, Vec<ScanFact>)> = BTreeMap::new();
    for s in scans {
        groups
            .entry((s.volunteer_id, s.activity_id))
            .or_insert_with(|| (s.venue, s.schedule, Vec::new()))
            .2
            .push(ScanFact { at: s.at, direction: s.direction });
    }
    let mut sessions = Vec::new();
    for ((volunteer_id, activity_id), (venue, schedule, facts)) in groups {
        for pair in derive_minutes(&facts, &schedule, policy, None).pairs {
            if let Some(out) = pair.checked_out_at {
                sessions.push(OtherSession {
                    activity_id,
                    venue,
                    volunteer_id,
                    checked_in_at: pair.checked_in_at,
                    checked_out_at: out,
                });
            }
        }
    }
    sessions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduled_minutes_are_split_by_local_day() {
        let t = |s: &str| -> DateTime<Utc> { s.parse().expect("time") };
        // 2026-12-05 20:00 to 2026-12-06 02:00 (+08:00).
        let schedule = Schedule { starts_at: t("2026-12-05T12:00:00Z"), ends_at: t("2026-12-05T18:00:00Z") };
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
        assert_eq!(scheduled_minutes_on(&schedule, d("2026-12-05")), 240);
        assert_eq!(scheduled_minutes_on(&schedule, d("2026-12-06")), 120);
        assert_eq!(scheduled_minutes_on(&schedule, d("2026-12-07")), 0);
    }
}
