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

use crate::activity::Activity;
use crate::attendance::minutes::local_day;
use crate::attendance::{Direction, ScanFact, Schedule, derive_minutes};
use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::{Agency, Principal, StaffRole};
use rules::{ActivityFacts, Finding, OtherSession, Reviewer, RuleCode, RuleParams, ScanEvidence, Severity};

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

impl Hourmark {
    /// An activity's review settings (the defaults when none were set).
    pub async fn review_settings(&self, activity_id: i64) -> Result<ReviewSettings, CoreError> {
        if let Some(settings) = self.inner().review_settings.get(&activity_id).await {
            return Ok(settings);
        }
        let settings = self.store().review_settings(activity_id).await?.unwrap_or_default();
        self.inner().review_settings.insert(activity_id, settings).await;
        Ok(settings)
    }

    /// Sets an activity's rule parameters and left-open policy (its organisers, recorders
    /// and administrators).
    pub async fn put_review_settings(
        &self,
        by: &Principal,
        activity_id: i64,
        settings: ReviewSettings,
    ) -> Result<ReviewSettings, CoreError> {
        let activity = self.managed_activity(by, activity_id).await?;
        let staff_id = crate::identity::guards::require_manager_of(by, activity.organisation_id)?;
        settings.params.validate().map_err(|why| CoreError::refused(ErrorCode::InvalidBody, why))?;
        // Once its left-open sessions are closed, changing the policy would change what was
        // already decided.
        if self.store().is_closed(activity_id).await? || self.store().is_finalised(activity_id).await? {
            return Err(CoreError::refused(ErrorCode::ActivityEnded, "活动已结束，不能再更改审核设置"));
        }
        self.store().put_review_settings(activity_id, &settings, staff_id, self.now()).await?;
        self.inner().review_settings.invalidate(&activity_id).await;
        self.inner().review_passes.forget(activity_id).await;
        Ok(settings)
    }

    /// Hand-set minutes above the activity's civil-affairs review limit (12 h by default)
    /// are for a civil-affairs officer alone: a recorder may not adjust, correct, uphold or
    /// enter a day past what the 12-hour rule would send to civil affairs.
    pub(crate) async fn require_within_organisation_limit(
        &self,
        activity_id: i64,
        minutes: u32,
    ) -> Result<(), CoreError> {
        let limit = self.review_settings(activity_id).await?.params.officer_review_minutes;
        if minutes > limit {
            return Err(CoreError::refused(
                ErrorCode::Forbidden,
                format!("单日超过 {} 小时的时长须由民政部门审核", limit / 60),
            ));
        }
        Ok(())
    }

    /// The activity as the rules see it.
    fn activity_facts(activity: &Activity) -> ActivityFacts {
        ActivityFacts {
            id: activity.id,
            schedule: Schedule { starts_at: activity.starts_at, ends_at: activity.ends_at },
            venue: activity.location,
            radius_m: activity.radius_m,
        }
    }

    /// Runs the per-scan rules on a just-committed accepted scan. Called from the scan's own
    /// task; a failure is logged, never the volunteer's problem (the activity pass will
    /// raise the same flags).
    pub(crate) async fn flag_scan(&self, activity_id: i64, scan: &ScanEvidence) {
        self.inner().review_passes.scan_taken(activity_id).await;
        // Below the least any activity may set, no per-scan rule can fire: most scans stop here.
        let least = rules::RuleParams::LEAST_DELAY_SECS;
        let quick_look = scan.geofence != Some(crate::geo::Geofence::Inside)
            || scan.client_time.is_some_and(|c| (c - scan.at).num_seconds().abs() > least)
            || scan.code_shown_at.is_some_and(|s| (scan.uploaded_at.unwrap_or(scan.at) - s).num_seconds() > least);
        if !quick_look {
            return;
        }
        let result = async {
            let Some(activity) = self.activity(activity_id).await? else { return Ok(0) };
            let settings = self.review_settings(activity_id).await?;
            let findings = rules::scan_findings(&Self::activity_facts(&activity), &settings.params, scan);
            self.raise(activity_id, findings).await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, activity_id, "could not flag a scan; the activity pass will");
        }
    }

    async fn raise(&self, activity_id: i64, findings: Vec<Finding>) -> Result<usize, CoreError> {
        if findings.is_empty() {
            return Ok(0);
        }
        let now = self.now();
        let flags: Vec<NewFlag> =
            findings.into_iter().map(|finding| NewFlag { activity_id, finding, raised_at: now }).collect();
        let raised = self.store().raise_flags(&flags).await?;
        if raised > 0 {
            self.inner().live.publish(crate::live::LiveEvent {
                activity_id,
                id: uuid::Uuid::now_v7(),
                change: crate::live::LiveChange::Flags { raised },
            });
        }
        Ok(raised)
    }

    /// Every rule over the whole activity; returns how many new flags were raised.
    pub async fn evaluate_activity(&self, activity: &Activity) -> Result<usize, CoreError> {
        let start = self.inner().review_passes.begin(activity.id).await;
        let settings = self.review_settings(activity.id).await?;
        let at = self.now();
        let stored = self.store().scan_evidence(activity.id).await?;
        let raised = self.evaluate_scans(activity, &stored).await?;
        passes::Passes::ran(start, Self::activity_facts(activity), settings, at);
        Ok(raised)
    }

    /// Every rule over the activity unless the last pass on this instance still holds
    /// (see [`passes`]); answers when the pass that holds ran. A finalised activity's flags
    /// can no longer change: no pass, `None`.
    async fn evaluate_unless_current(&self, activity: &Activity) -> Result<Option<DateTime<Utc>>, CoreError> {
        if self.store().is_finalised(activity.id).await? {
            return Ok(None);
        }
        let settings = self.review_settings(activity.id).await?;
        let now = self.now();
        let current = self.inner().review_passes.current(&Self::activity_facts(activity), &settings, now).await;
        if let Some(ran) = current {
            return Ok(Some(ran));
        }
        self.evaluate_activity(activity).await?;
        Ok(Some(now))
    }

    /// Every rule over an activity whose scans are already loaded.
    async fn evaluate_scans(&self, activity: &Activity, stored: &[StoredScanEvidence]) -> Result<usize, CoreError> {
        let settings = self.review_settings(activity.id).await?;
        let windows = self.settings().code_windows;
        let scans: Vec<ScanEvidence> = stored
            .iter()
            .map(|s| ScanEvidence {
                code_shown_at: s.code_window.map(|w| windows.window_start(w)),
                ..s.evidence.clone()
            })
            .collect();
        let elsewhere =
            sessions_elsewhere(&self.store().scans_elsewhere(activity.id).await?, &self.settings().checkin.minutes);
        let mut findings = rules::activity_findings(
            &Self::activity_facts(activity),
            &settings.params,
            &self.settings().checkin.minutes,
            &scans,
            &elsewhere,
        );
        // Every pass finds again what earlier passes raised; offering the store tens of
        // thousands of findings it already holds cost one statement each, on every review.
        let raised: std::collections::HashSet<(i64, String, String)> =
            self.store().flag_keys(activity.id).await?.into_iter().collect();
        findings.retain(|f| !raised.contains(&(f.volunteer_id, f.rule.as_str().to_owned(), f.key.clone())));
        self.raise(activity.id, findings).await
    }

    /// An activity a reviewer may look at: administrators; the organisation's organisers
    /// and recorders (not leaders); civil-affairs officers of its region.
    pub(crate) async fn reviewable_activity(
        &self,
        by: &Principal,
        activity_id: i64,
    ) -> Result<std::sync::Arc<Activity>, CoreError> {
        let not_found = || CoreError::refused(ErrorCode::NotFound, "活动不存在");
        let activity = self.activity(activity_id).await?.ok_or_else(not_found)?;
        match by {
            Principal::Staff { role: StaffRole::Administrator, .. } => Ok(activity),
            Principal::Staff { role: StaffRole::Leader, .. } => Err(CoreError::code(ErrorCode::Forbidden)),
            Principal::Staff { role: StaffRole::Officer, id, .. } => {
                let region = self.officer_region(*id).await.map_err(|_| not_found())?;
                let org = self.store().get_organisation(activity.organisation_id).await?.ok_or_else(not_found)?;
                if crate::identity::region_covers(&region, &org.region_code) { Ok(activity) } else { Err(not_found()) }
            }
            Principal::Staff { organisation_id: Some(org), .. } if *org == activity.organisation_id => Ok(activity),
            Principal::Staff { .. } => Err(not_found()),
            Principal::Volunteer { .. } => Err(CoreError::code(ErrorCode::Forbidden)),
        }
    }

    /// How many of the activity's flags await a decision, current as
    /// [`Hourmark::activity_review`] would say, without listing the days: a finalised
    /// activity's flags can no longer change, so only an open one reads its scans and runs
    /// the rules. For the recorder's home, which shows this for every activity begun.
    pub async fn open_flag_count(&self, by: &Principal, activity_id: i64) -> Result<u32, CoreError> {
        let activity = self.reviewable_activity(by, activity_id).await?;
        self.evaluate_unless_current(&activity).await?;
        Ok(self.store().flag_counts(activity_id).await?.open)
    }

    /// The activity's review: runs every rule first unless this instance's last pass over
    /// the activity still holds (see [`passes`]), then lists one page of flagged days with
    /// their scans. Only the page's volunteers' scans are read for the listing, and each
    /// day's scans are picked out once, not searched for per day.
    pub async fn activity_review(
        &self,
        by: &Principal,
        activity_id: i64,
        page: ReviewPage,
    ) -> Result<ActivityReview, CoreError> {
        let activity = self.reviewable_activity(by, activity_id).await?;
        if page.limit == 0 || page.limit > ReviewPage::MAX_LIMIT {
            return Err(CoreError::refused(
                ErrorCode::InvalidParameter,
                format!("limit 须在 1 到 {} 之间", ReviewPage::MAX_LIMIT),
            ));
        }
        let rules_run_at = self.evaluate_unless_current(&activity).await?;
        let settings = self.review_settings(activity_id).await?;
        let counts = self.store().flag_counts(activity_id).await?;
        // One more day than the page holds says whether another page follows.
        let after = page.after.map(|c| (c.volunteer_id, c.day));
        let flags = self.store().flag_page(activity_id, after, page.limit + 1).await?;
        let mut days: BTreeMap<DayCursor, Vec<Flag>> = BTreeMap::new();
        for flag in flags {
            days.entry(DayCursor { volunteer_id: flag.volunteer_id, day: flag.day }).or_default().push(flag);
        }
        let more = days.len() > page.limit as usize;
        if more {
            days.pop_last();
        }
        let next = if more { days.last_key_value().map(|(cursor, _)| cursor.to_string()) } else { None };

        let mut volunteers: Vec<i64> = days.keys().map(|c| c.volunteer_id).collect();
        volunteers.dedup();
        let scans = self.store().scan_evidence_of(activity_id, &volunteers).await?;
        let schedule = Schedule { starts_at: activity.starts_at, ends_at: activity.ends_at };
        let policy = &self.settings().checkin.minutes;
        let mut own: BTreeMap<i64, VolunteerScans> = BTreeMap::new();
        for s in scans {
            let e = s.evidence;
            let entry = own.entry(e.volunteer_id).or_insert_with(|| VolunteerScans {
                name: s.volunteer_name,
                facts: Vec::new(),
                by_day: BTreeMap::new(),
            });
            if let Some(direction) = e.direction {
                entry.facts.push(ScanFact { at: e.at, direction });
            }
            entry.by_day.entry(local_day(e.at)).or_default().push(ReviewScan {
                id: e.id,
                at: e.at,
                direction: e.direction,
                outcome: s.outcome,
                geofence: e.geofence.map(|g| g.as_str().to_owned()),
                distance_m: e.distance_m,
                device_id: e.device_id,
            });
        }
        let mut minutes: BTreeMap<i64, Vec<crate::attendance::minutes::DayMinutes>> = BTreeMap::new();
        let days = days
            .into_iter()
            .map(|(DayCursor { volunteer_id, day }, flags)| {
                let per_day = minutes.entry(volunteer_id).or_insert_with(|| {
                    let facts = own.get(&volunteer_id).map(|o| o.facts.as_slice()).unwrap_or_default();
                    derive_minutes(facts, &schedule, policy, None).per_day
                });
                let scan_minutes = per_day.iter().find(|d| d.day == day).map_or(0, |d| d.minutes);
                let entry = own.get_mut(&volunteer_id);
                let volunteer_name = entry.as_ref().map(|o| o.name.clone()).unwrap_or_default();
                let scans = entry.and_then(|o| o.by_day.remove(&day)).unwrap_or_default();
                FlaggedDay {
                    volunteer_id,
                    volunteer_name,
                    day,
                    scan_minutes,
                    scheduled_minutes: scheduled_minutes_on(&schedule, day),
                    flags,
                    scans,
                }
            })
            .collect();
        Ok(ActivityReview {
            activity_id,
            open_flags: counts.open,
            days_total: counts.days,
            rules_run_at,
            settings,
            days,
            next,
        })
    }

    /// Resolves a flag: a qualified recorder of the organisation for the organisation's
    /// flags, a civil-affairs officer of its region for theirs. Once; audited; hand-set
    /// minutes never exceed the day's scheduled minutes.
    pub async fn resolve_flag(
        &self,
        by: &Principal,
        activity_id: i64,
        flag_id: i64,
        resolution: FlagResolution,
    ) -> Result<Flag, CoreError> {
        let activity = self.reviewable_activity(by, activity_id).await?;
        let flag = self
            .store()
            .get_flag(flag_id)
            .await?
            .filter(|f| f.activity_id == activity_id)
            .ok_or_else(|| CoreError::refused(ErrorCode::NotFound, "没有这个标记"))?;
        let staff_id = match flag.reviewer {
            Reviewer::Organisation => self.require_recorder_of(by, activity.organisation_id).await?,
            Reviewer::CivilAffairs => match by {
                Principal::Staff { id, role: StaffRole::Officer, .. } => {
                    let (_, agency) = self.officer(*id).await?;
                    if agency != Agency::CivilAffairs {
                        return Err(CoreError::code(ErrorCode::Forbidden));
                    }
                    *id
                }
                _ => return Err(CoreError::refused(ErrorCode::Forbidden, "单日超过 12 小时的服务须由民政部门审核")),
            },
        };
        let reason = validate_reason(&resolution.reason)?;
        if self.store().is_finalised(activity_id).await? {
            return Err(CoreError::code(ErrorCode::ActivityFinalised));
        }
        if flag.status != FlagStatus::Open {
            return Err(CoreError::code(ErrorCode::FlagResolved));
        }
        let schedule = Schedule { starts_at: activity.starts_at, ends_at: activity.ends_at };
        let cap = scheduled_minutes_on(&schedule, flag.day);
        let (status, minutes) = match (resolution.decision, resolution.minutes) {
            (Decision::Accept, None) => (FlagStatus::Accepted, None),
            (Decision::Reject, None) => (FlagStatus::Rejected, None),
            (Decision::Adjust, Some(m)) if m <= cap => {
                if flag.reviewer == Reviewer::Organisation {
                    self.require_within_organisation_limit(activity_id, m).await?;
                }
                (FlagStatus::Adjusted, Some(m))
            }
            (Decision::Adjust, Some(m)) => {
                return Err(CoreError::refused(
                    ErrorCode::MinutesOverCap,
                    format!("调整后的时长 {m} 分钟超过当日计划时长 {cap} 分钟"),
                ));
            }
            (Decision::Adjust, None) => {
                return Err(CoreError::refused(ErrorCode::InvalidBody, "调整须填写 minutes"));
            }
            (_, Some(_)) => return Err(CoreError::refused(ErrorCode::InvalidBody, "只有调整需要 minutes")),
        };
        let audit = AuditEvent {
            at: self.now(),
            actor_kind: "staff".into(),
            actor_id: Some(staff_id),
            action: format!("flag_{}", status.as_str()),
            subject_kind: "activity".into(),
            subject_id: Some(activity_id),
            detail: serde_json::json!({
                "flag_id": flag_id, "rule": flag.rule, "volunteer_id": flag.volunteer_id, "day": flag.day,
                "minutes": minutes, "reason": reason,
            }),
        };
        let resolved = self
            .store()
            .resolve_flag(flag_id, status, staff_id, &reason, minutes, self.now(), &audit)
            .await?
            .ok_or_else(|| CoreError::code(ErrorCode::FlagResolved))?;
        // What the day now earns, as the volunteer is told it.
        let counted = match status {
            FlagStatus::Adjusted => minutes.unwrap_or_default(),
            FlagStatus::Rejected => 0,
            _ => {
                let scans = self.store().accepted_scans(activity_id, Some(flag.volunteer_id)).await?;
                let facts: Vec<ScanFact> =
                    scans.iter().map(|s| ScanFact { at: s.at, direction: s.direction }).collect();
                let report = derive_minutes(&facts, &schedule, &self.settings().checkin.minutes, None);
                report.per_day.iter().find(|d| d.day == flag.day).map_or(0, |d| d.minutes)
            }
        };
        self.notify_hours(crate::notification::HoursNotice::FlagDecided {
            volunteer_id: flag.volunteer_id,
            activity: activity.name.clone(),
            day: flag.day,
            decision: status.as_str(),
            minutes: counted,
            reason,
            key: flag_id.to_string(),
        })
        .await;
        Ok(resolved)
    }
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
