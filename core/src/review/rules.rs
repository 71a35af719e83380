//! The anomaly rules: what looks wrong in an activity's scans and sessions, for a
//! recorder's judgement. Pure functions, no I/O: the live pass on each scan, the pass over
//! the whole activity and the tests all see the same rules.
//!
//! A rule never drops anything. It raises a [`Finding`]: a stable code, a severity, who must
//! review it (the organisation, or civil affairs for the longest days), the values it
//! judged, and a sentence in Chinese a recorder can act on. Findings carry a key that is
//! stable across passes (a scan id, a day, a device), so evaluating again raises nothing
//! twice.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::attendance::minutes::{UnpairedReason, local_day as local_date};
use crate::attendance::{Direction, MinutesPolicy, ScanFact, Schedule, derive_minutes};
use crate::geo::{Geofence, LatLng};

/// Every rule, by its stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleCode {
    /// The phone was outside the geofence.
    OutsideGeofence,
    /// The location fix was too poor to judge (accuracy worse than the radius).
    PoorLocationFix,
    /// No location, where the activity requires one.
    LocationMissing,
    /// One device scanned for several volunteers at the activity.
    SharedDevice,
    /// A volunteer scanned from more than one device at the activity.
    DeviceSwitch,
    /// Many scans within one second from one network address or one device.
    ScanBurst,
    /// A scan uploaded long after its code was shown (an offline phone).
    LateUpload,
    /// The phone's clock was far from the server's.
    ClientClockSkew,
    /// A session shorter than the minimum.
    SessionTooShort,
    /// A day over the organisation's review limit (8 h by default).
    DailyOverOrganisationLimit,
    /// A day over civil affairs' review limit (12 h by default).
    DailyOverOfficerLimit,
    /// A session overlapping one at another activity.
    OverlappingSessions,
    /// Not enough time between two activities' venues to travel between them.
    ImpossibleTravel,
    /// Signed in for less than the required share of the scheduled time.
    LowAttendanceShare,
    /// More check-in/check-out pairs in a day than allowed.
    TooManyPairs,
    /// A check-out with no check-in.
    CheckoutWithoutCheckin,
    /// A session left open after the activity: closed by the system.
    LeftOpen,
}

impl RuleCode {
    /// Every rule.
    pub const ALL: [RuleCode; 17] = [
        Self::OutsideGeofence,
        Self::PoorLocationFix,
        Self::LocationMissing,
        Self::SharedDevice,
        Self::DeviceSwitch,
        Self::ScanBurst,
        Self::LateUpload,
        Self::ClientClockSkew,
        Self::SessionTooShort,
        Self::DailyOverOrganisationLimit,
        Self::DailyOverOfficerLimit,
        Self::OverlappingSessions,
        Self::ImpossibleTravel,
        Self::LowAttendanceShare,
        Self::TooManyPairs,
        Self::CheckoutWithoutCheckin,
        Self::LeftOpen,
    ];

    /// How serious a finding of this rule is.
    pub fn severity(self) -> Severity {
        match self {
            Self::PoorLocationFix | Self::ClientClockSkew | Self::SessionTooShort | Self::CheckoutWithoutCheckin => {
                Severity::Low
            }
            Self::OutsideGeofence
            | Self::LocationMissing
            | Self::DeviceSwitch
            | Self::LateUpload
            | Self::DailyOverOrganisationLimit
            | Self::LowAttendanceShare
            | Self::TooManyPairs
            | Self::LeftOpen => Severity::Medium,
            Self::SharedDevice
            | Self::ScanBurst
            | Self::DailyOverOfficerLimit
            | Self::OverlappingSessions
            | Self::ImpossibleTravel => Severity::High,
        }
    }

    /// Who must resolve a finding of this rule.
    pub fn reviewer(self) -> Reviewer {
        match self {
            Self::DailyOverOfficerLimit => Reviewer::CivilAffairs,
            _ => Reviewer::Organisation,
        }
    }
}

crate::stored_names!(RuleCode {
    OutsideGeofence => "outside_geofence",
    PoorLocationFix => "poor_location_fix",
    LocationMissing => "location_missing",
    SharedDevice => "shared_device",
    DeviceSwitch => "device_switch",
    ScanBurst => "scan_burst",
    LateUpload => "late_upload",
    ClientClockSkew => "client_clock_skew",
    SessionTooShort => "session_too_short",
    DailyOverOrganisationLimit => "daily_over_organisation_limit",
    DailyOverOfficerLimit => "daily_over_officer_limit",
    OverlappingSessions => "overlapping_sessions",
    ImpossibleTravel => "impossible_travel",
    LowAttendanceShare => "low_attendance_share",
    TooManyPairs => "too_many_pairs",
    CheckoutWithoutCheckin => "checkout_without_checkin",
    LeftOpen => "left_open",
});

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Probably innocent; look when convenient.
    Low,
    /// Look before finalising.
    Medium,
    /// Looks like a forged or padded hour.
    High,
}

crate::stored_names!(Severity { Low => "low", Medium => "medium", High => "high" });

/// Who must resolve a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reviewer {
    /// A qualified recorder of the organisation.
    Organisation,
    /// A civil-affairs officer of the organisation's region.
    CivilAffairs,
}

crate::stored_names!(Reviewer { Organisation => "organisation", CivilAffairs => "civil_affairs" });

/// The rules' parameters. Each activity may override any of them; the rest keep these
/// defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RuleParams {
    /// Whether every scan must carry a location (default: no).
    pub require_location: bool,
    /// Seconds between a code being shown and its scan reaching the server beyond which
    /// the scan counts as uploaded late (default 600).
    pub late_upload_secs: i64,
    /// Seconds between the phone's clock and the server's beyond which the clock is
    /// suspect (default 300).
    pub clock_skew_secs: i64,
    /// Scans in one second from one network address that make a burst (default 20).
    pub burst_per_network: u32,
    /// Scans in one second from one device that make a burst (default 3).
    pub burst_per_device: u32,
    /// Sessions shorter than this many minutes are flagged (default 10; 0: off).
    pub min_session_minutes: u32,
    /// Minutes in a day above which the organisation reviews (default 480: 8 h).
    pub organisation_review_minutes: u32,
    /// Minutes in a day above which civil affairs reviews (default 720: 12 h).
    pub officer_review_minutes: u32,
    /// Fastest believable travel between venues, km/h (default 120).
    pub max_travel_kmh: f64,
    /// Share of the scheduled time a volunteer must be signed in for, 0–1; `null` turns
    /// the rule off (the default; 0.6 is the usual choice when an organisation wants it).
    pub min_attendance_share: Option<f64>,
}

impl Default for RuleParams {
    fn default() -> Self {
        Self {
            require_location: false,
            late_upload_secs: 600,
            clock_skew_secs: 300,
            burst_per_network: 20,
            burst_per_device: 3,
            min_session_minutes: 10,
            organisation_review_minutes: 480,
            officer_review_minutes: 720,
            max_travel_kmh: 120.0,
            min_attendance_share: None,
        }
    }
}

impl RuleParams {
    /// The least `late_upload_secs` and `clock_skew_secs` may be.
    pub const LEAST_DELAY_SECS: i64 = 30;

    /// Refuses parameters that would make the rules meaningless.
    pub fn validate(&self) -> Result<(), &'static str> {
        if self.late_upload_secs < Self::LEAST_DELAY_SECS || self.clock_skew_secs < Self::LEAST_DELAY_SECS {
            return Err("late_upload_secs 和 clock_skew_secs 至少为 30 秒");
        }
        if self.burst_per_network < 2 || self.burst_per_device < 2 {
            return Err("burst_per_network 和 burst_per_device 至少为 2");
        }
        if self.organisation_review_minutes == 0 || self.officer_review_minutes < self.organisation_review_minutes {
            return Err("officer_review_minutes 不能小于 organisation_review_minutes");
        }
        if self.officer_review_minutes > 24 * 60 {
            return Err("officer_review_minutes 不能超过 1440");
        }
        if !(self.max_travel_kmh > 0.0 && self.max_travel_kmh <= 1000.0) {
            return Err("max_travel_kmh 须在 0 到 1000 之间");
        }
        if let Some(share) = self.min_attendance_share
            && !(share > 0.0 && share <= 1.0)
        {
            return Err("min_attendance_share 须在 0 到 1 之间");
        }
        Ok(())
    }
}

/// The activity, as the rules see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActivityFacts {
    /// Its id.
    pub id: i64,
    /// Scheduled window.
    pub schedule: Schedule,
    /// The venue.
    pub venue: LatLng,
    /// The geofence radius, metres.
    pub radius_m: u32,
}

/// One scan, as the rules see it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanEvidence {
    /// The scan's id.
    pub id: Uuid,
    /// Who.
    pub volunteer_id: i64,
    /// When the server took it; for a late upload, the scan time the phone claimed.
    pub at: DateTime<Utc>,
    /// For a late upload (a scan kept offline on the phone): when it reached the server.
    pub uploaded_at: Option<DateTime<Utc>>,
    /// In or out (accepted scans only).
    pub direction: Option<Direction>,
    /// What the phone's clock said.
    pub client_time: Option<DateTime<Utc>>,
    /// When the code's window began: the earliest the code could have been seen.
    pub code_shown_at: Option<DateTime<Utc>>,
    /// Distance to the venue, metres.
    pub distance_m: Option<f64>,
    /// The fix's accuracy, metres.
    pub accuracy_m: Option<f64>,
    /// The geofence verdict, when a location was given.
    pub geofence: Option<Geofence>,
    /// The device.
    pub device_id: Option<String>,
    /// A keyed digest of the network address it came from (never the address).
    pub network: Option<String>,
}

/// A session the same volunteer had at another activity.
#[derive(Debug, Clone, PartialEq)]
pub struct OtherSession {
    /// The other activity.
    pub activity_id: i64,
    /// Its venue.
    pub venue: LatLng,
    /// Who.
    pub volunteer_id: i64,
    /// Check-in.
    pub checked_in_at: DateTime<Utc>,
    /// Check-out.
    pub checked_out_at: DateTime<Utc>,
}

/// What a rule found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The rule.
    pub rule: RuleCode,
    /// Whose session.
    pub volunteer_id: i64,
    /// The local day it concerns.
    pub day: NaiveDate,
    /// Stable across passes: what makes this finding the same finding next time.
    pub key: String,
    /// The values the rule judged, and its thresholds.
    pub values: serde_json::Value,
    /// What a recorder reads (Chinese).
    pub explanation: String,
}

impl Finding {
    pub(super) fn new(
        rule: RuleCode,
        volunteer_id: i64,
        day: NaiveDate,
        key: String,
        values: serde_json::Value,
        explanation: String,
    ) -> Self {
        Self { rule, volunteer_id, day, key, values, explanation }
    }
}

fn secs(d: Duration) -> i64 {
    d.num_seconds()
}

/// The rules one scan can be judged by alone: cheap enough to run as it arrives.
pub fn scan_findings(activity: &ActivityFacts, params: &RuleParams, scan: &ScanEvidence) -> Vec<Finding> {
    let mut found = Vec::new();
    if scan.direction.is_none() {
        return found;
    }
    let day = local_date(scan.at);
    let key = scan.id.simple().to_string();
    match scan.geofence {
        Some(Geofence::Outside) => found.push(Finding::new(
            RuleCode::OutsideGeofence,
            scan.volunteer_id,
            day,
            key.clone(),
            json!({ "scan_id": scan.id, "distance_m": scan.distance_m, "accuracy_m": scan.accuracy_m,
                    "radius_m": activity.radius_m }),
            format!(
                "扫码位置距活动地点约 {:.0} 米，超出 {} 米的范围",
                scan.distance_m.unwrap_or_default(),
                activity.radius_m
            ),
        )),
        Some(Geofence::PoorFix) => found.push(Finding::new(
            RuleCode::PoorLocationFix,
            scan.volunteer_id,
            day,
            key.clone(),
            json!({ "scan_id": scan.id, "accuracy_m": scan.accuracy_m, "radius_m": activity.radius_m }),
            format!(
                "定位精度约 {:.0} 米，差于活动范围 {} 米，无法判断是否在场",
                scan.accuracy_m.unwrap_or_default(),
                activity.radius_m
            ),
        )),
        Some(Geofence::Inside) => {}
        None if params.require_location => found.push(Finding::new(
            RuleCode::LocationMissing,
            scan.volunteer_id,
            day,
            key.clone(),
            json!({ "scan_id": scan.id }),
            "本活动要求扫码时提供位置，此次扫码没有位置".to_owned(),
        )),
        None => {}
    }
    if let Some(shown) = scan.code_shown_at {
        // A late upload is recorded at its claimed scan time; the delay that matters is
        // until it arrived, which is what the recorder must weigh.
        let delay = secs(scan.uploaded_at.unwrap_or(scan.at) - shown);
        if delay > params.late_upload_secs {
            found.push(Finding::new(
                RuleCode::LateUpload,
                scan.volunteer_id,
                day,
                key.clone(),
                json!({ "scan_id": scan.id, "delay_secs": delay, "threshold_secs": params.late_upload_secs }),
                format!("签到码显示约 {} 分钟后才上传（可能离线扫码后补传）", delay / 60),
            ));
        }
    }
    if let Some(client) = scan.client_time {
        let skew = secs(client - scan.at);
        if skew.abs() > params.clock_skew_secs {
            found.push(Finding::new(
                RuleCode::ClientClockSkew,
                scan.volunteer_id,
                day,
                key,
                json!({ "scan_id": scan.id, "skew_secs": skew, "threshold_secs": params.clock_skew_secs }),
                format!("手机时间与服务器相差约 {} 分钟", skew.abs() / 60),
            ));
        }
    }
    found
}

/// One volunteer's sessions and days at the activity, from their scans in time order.
pub(super) fn session_findings(
    activity: &ActivityFacts,
    params: &RuleParams,
    policy: &MinutesPolicy,
    volunteer_id: i64,
    facts: &[ScanFact],
    elsewhere: &[&OtherSession],
) -> Vec<Finding> {
    let mut found = Vec::new();
    let report = derive_minutes(facts, &activity.schedule, policy, None);

    for pair in &report.pairs {
        let Some(out) = pair.checked_out_at else { continue };
        let day = local_date(pair.checked_in_at);
        let key = format!("pair:{}", pair.checked_in_at.timestamp());
        if params.min_session_minutes > 0 && !pair.excess && pair.minutes < params.min_session_minutes {
            found.push(Finding::new(
                RuleCode::SessionTooShort,
                volunteer_id,
                day,
                key.clone(),
                json!({ "minutes": pair.minutes, "minimum": params.min_session_minutes }),
                format!("本次服务仅 {} 分钟，少于 {} 分钟", pair.minutes, params.min_session_minutes),
            ));
        }
        for other in elsewhere {
            if other.checked_in_at < out && pair.checked_in_at < other.checked_out_at {
                found.push(Finding::new(
                    RuleCode::OverlappingSessions,
                    volunteer_id,
                    day,
                    format!("overlap:{}:{}", other.activity_id, other.checked_in_at.timestamp()),
                    json!({ "other_activity_id": other.activity_id,
                            "here": [pair.checked_in_at, out],
                            "there": [other.checked_in_at, other.checked_out_at] }),
                    format!("与活动 #{} 的签到时间重叠", other.activity_id),
                ));
                continue;
            }
            // Not overlapping: is the gap between them long enough to travel?
            let gap = if other.checked_out_at <= pair.checked_in_at {
                pair.checked_in_at - other.checked_out_at
            } else {
                other.checked_in_at - out
            };
            let km = activity.venue.distance_m(&other.venue) / 1000.0;
            let hours = gap.num_seconds() as f64 / 3600.0;
            let needed_hours = km / params.max_travel_kmh;
            if km >= 1.0 && hours < needed_hours {
                found.push(Finding::new(
                    RuleCode::ImpossibleTravel,
                    volunteer_id,
                    day,
                    format!("travel:{}:{}", other.activity_id, other.checked_in_at.timestamp()),
                    json!({ "other_activity_id": other.activity_id, "distance_km": (km * 10.0).round() / 10.0,
                            "gap_minutes": gap.num_minutes(), "max_travel_kmh": params.max_travel_kmh }),
                    format!("两个活动地点相距约 {:.1} 公里，间隔仅 {} 分钟，来不及往返", km, gap.num_minutes()),
                ));
            }
        }
    }

    for day in &report.per_day {
        let minutes = day.minutes;
        if minutes > params.officer_review_minutes {
            found.push(Finding::new(
                RuleCode::DailyOverOfficerLimit,
                volunteer_id,
                day.day,
                format!("day:{}", day.day),
                json!({ "minutes": minutes, "limit": params.officer_review_minutes }),
                format!(
                    "当日服务 {:.1} 小时，超过 {} 小时，须民政部门审核",
                    f64::from(minutes) / 60.0,
                    params.officer_review_minutes / 60
                ),
            ));
        } else if minutes > params.organisation_review_minutes {
            found.push(Finding::new(
                RuleCode::DailyOverOrganisationLimit,
                volunteer_id,
                day.day,
                format!("day:{}", day.day),
                json!({ "minutes": minutes, "limit": params.organisation_review_minutes }),
                format!(
                    "当日服务 {:.1} 小时，超过 {} 小时，须组织审核",
                    f64::from(minutes) / 60.0,
                    params.organisation_review_minutes / 60
                ),
            ));
        }
    }

    if let Some(share) = params.min_attendance_share {
        let scheduled = (activity.schedule.ends_at - activity.schedule.starts_at).num_minutes().max(0);
        let served: i64 = report.pairs.iter().map(|p| i64::from(p.minutes)).sum();
        if scheduled > 0 && (served as f64) < share * scheduled as f64 {
            let day = local_date(activity.schedule.starts_at);
            found.push(Finding::new(
                RuleCode::LowAttendanceShare,
                volunteer_id,
                day,
                "share".to_owned(),
                json!({ "served_minutes": served, "scheduled_minutes": scheduled, "required_share": share }),
                format!("签到时长 {} 分钟，不足计划时长 {} 分钟的 {:.0}%", served, scheduled, share * 100.0),
            ));
        }
    }

    let mut excess_days: BTreeMap<NaiveDate, u32> = BTreeMap::new();
    for pair in report.pairs.iter().filter(|p| p.excess) {
        *excess_days.entry(local_date(pair.checked_in_at)).or_default() += 1;
    }
    for (day, excess) in excess_days {
        found.push(Finding::new(
            RuleCode::TooManyPairs,
            volunteer_id,
            day,
            format!("pairs:{day}"),
            json!({ "excess_pairs": excess, "max_pairs_per_day": policy.max_pairs_per_day }),
            format!("当日签到签退超过 {} 次，多出的 {} 次未计时长", policy.max_pairs_per_day, excess),
        ));
    }

    for unpaired in report.unpaired.iter().filter(|u| u.reason == UnpairedReason::OutWithoutIn) {
        found.push(Finding::new(
            RuleCode::CheckoutWithoutCheckin,
            volunteer_id,
            local_date(unpaired.at),
            format!("out:{}", unpaired.at.timestamp()),
            json!({ "at": unpaired.at }),
            "有签退记录但没有对应的签到".to_owned(),
        ));
    }
    found
}

#[cfg(test)]
mod tests;
