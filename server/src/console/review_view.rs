//! How the review pages put the review's facts into words: rule names, evidence values
//! with their units, scan rows and decisions, all in Chinese. A recorder reads a flag's
//! evidence to decide it, so raw JSON keys and seconds are never shown as such.

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use hourmark_core::activity::to_shanghai;
use hourmark_core::attendance::Direction;
use hourmark_core::notification::{format_day, format_minutes};
use hourmark_core::review::rules::{RuleCode, Severity};
use hourmark_core::review::{Flag, FlagStatus, ReviewScan};
use serde::Serialize;
use serde_json::Value;

/// The rule's name as recorders know it.
pub(super) fn rule_name(rule: RuleCode) -> &'static str {
    match rule {
        RuleCode::OutsideGeofence => "超出签到范围",
        RuleCode::PoorLocationFix => "定位精度不足",
        RuleCode::LocationMissing => "缺少定位",
        RuleCode::SharedDevice => "多人共用一部手机",
        RuleCode::DeviceSwitch => "更换手机扫码",
        RuleCode::ScanBurst => "同一秒内大量扫码",
        RuleCode::LateUpload => "延迟上传",
        RuleCode::ClientClockSkew => "手机时间不准",
        RuleCode::SessionTooShort => "单次时长过短",
        RuleCode::DailyOverOrganisationLimit => "单日时长超过组织审核上限",
        RuleCode::DailyOverOfficerLimit => "单日超过 12 小时（民政部门审核）",
        RuleCode::OverlappingSessions => "与其他活动时间重叠",
        RuleCode::ImpossibleTravel => "两地之间来不及往返",
        RuleCode::LowAttendanceShare => "在场时间占比过低",
        RuleCode::TooManyPairs => "当日签到次数过多",
        RuleCode::CheckoutWithoutCheckin => "有签退无签到",
        RuleCode::LeftOpen => "未签退，由系统关闭",
    }
}

fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Low => "轻",
        Severity::Medium => "中",
        Severity::High => "重",
    }
}

/// `07:25`, in Kunming's time.
pub(super) fn clock(t: DateTime<Utc>) -> String {
    let local = to_shanghai(t);
    format!("{:02}:{:02}", local.hour(), local.minute())
}

/// `12月5日 07:25`.
pub(super) fn day_and_clock(t: DateTime<Utc>) -> String {
    format!("{} {}", format_day(to_shanghai(t).date_naive()), clock(t))
}

pub(super) fn day(d: NaiveDate) -> String {
    format_day(d)
}

/// `2小时15分`, or `0分钟`.
pub(super) fn duration(minutes: u32) -> String {
    format_minutes(i64::from(minutes))
}

fn seconds(secs: i64) -> String {
    match (secs / 3600, (secs % 3600) / 60, secs % 60) {
        (0, 0, s) => format!("{s}秒"),
        (0, m, 0) => format!("{m}分钟"),
        (0, m, s) => format!("{m}分{s}秒"),
        (h, m, _) => format!("{h}小时{m}分"),
    }
}

/// One line of a flag's evidence: what the value is and the value with its unit.
#[derive(Serialize)]
pub(super) struct EvidenceRow {
    label: String,
    value: String,
}

/// The evidence a rule stored, readably: known keys named and given units; identifiers
/// that mean nothing to a reader (the scan's uuid) left out; anything unknown shown as is.
pub(super) fn evidence_rows(evidence: &Value) -> Vec<EvidenceRow> {
    let Some(fields) = evidence.as_object() else { return Vec::new() };
    let mut rows = Vec::new();
    for (key, value) in fields {
        let number = value.as_f64();
        let int = value.as_i64();
        let (label, shown) = match key.as_str() {
            "scan_id" => continue,
            "distance_m" => ("离活动地点", number.map(|n| format!("{n:.0} 米"))),
            "accuracy_m" => ("定位精度", number.map(|n| format!("±{n:.0} 米"))),
            "radius_m" => ("签到范围", number.map(|n| format!("{n:.0} 米"))),
            "delay_secs" => ("上传延迟", int.map(seconds)),
            "skew_secs" => ("手机时间偏差", int.map(seconds)),
            "threshold_secs" => ("容许上限", int.map(seconds)),
            "minutes" => ("时长", int.map(format_minutes)),
            "minimum" => ("最短时长", int.map(format_minutes)),
            "limit" => ("审核上限", int.map(format_minutes)),
            "served_minutes" => ("在场时长", int.map(format_minutes)),
            "scheduled_minutes" => ("计划时长", int.map(format_minutes)),
            "required_share" => ("要求占比", number.map(|n| format!("{:.0}%", n * 100.0))),
            "excess_pairs" => ("超出次数", int.map(|n| format!("{n} 次"))),
            "max_pairs_per_day" => ("每日最多", int.map(|n| format!("{n} 次"))),
            "scans_in_one_second" => ("一秒内扫码", int.map(|n| format!("{n} 次"))),
            "distance_km" => ("两地距离", number.map(|n| format!("{n} 公里"))),
            "other_activity_id" => ("另一活动编号", int.map(|n| n.to_string())),
            "device_id" => ("手机", value.as_str().map(str::to_owned)),
            "source" => {
                ("来源", value.as_str().map(|s| if s == "ip" { "同一网络地址".into() } else { "同一手机".into() }))
            }
            "at" => (
                "时间",
                value
                    .as_str()
                    .and_then(|s| {
                        s.parse::<DateTime<Utc>>()
                            .ok()
                            .or_else(|| DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc)))
                    })
                    .map(day_and_clock),
            ),
            other => (other, None),
        };
        let shown = shown.unwrap_or_else(|| match value {
            Value::String(s) => s.clone(),
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join("、"),
            other => other.to_string(),
        });
        rows.push(EvidenceRow { label: label.to_owned(), value: shown });
    }
    rows
}

/// A flag as the review page shows it.
#[derive(Serialize)]
pub(super) struct FlagView {
    id: i64,
    rule: &'static str,
    code: &'static str,
    severity: &'static str,
    explanation: String,
    evidence: Vec<EvidenceRow>,
    open: bool,
    /// For the organisation's recorder; days over 12 hours go to civil affairs.
    for_officer: bool,
    decision: String,
    reason: Option<String>,
}

pub(super) fn flag_view(flag: &Flag) -> FlagView {
    let decision = match flag.status {
        FlagStatus::Open => "待审核".to_owned(),
        FlagStatus::Accepted => "已认可扫码时长".to_owned(),
        FlagStatus::Adjusted => format!("已调整为 {}", duration(flag.adjusted_minutes.unwrap_or_default())),
        FlagStatus::Rejected => "不予认可（当日不计时长）".to_owned(),
    };
    FlagView {
        id: flag.id,
        rule: rule_name(flag.rule),
        code: flag.rule.as_str(),
        severity: severity_name(flag.severity),
        explanation: flag.explanation.clone(),
        evidence: evidence_rows(&flag.evidence),
        open: flag.status == FlagStatus::Open,
        for_officer: flag.reviewer == hourmark_core::review::rules::Reviewer::CivilAffairs,
        decision,
        reason: flag.resolution_reason.clone(),
    }
}

/// One of the day's scans: `07:25`, in or out, the outcome and where the phone was.
#[derive(Serialize)]
pub(super) struct ScanRow {
    time: String,
    direction: &'static str,
    outcome: String,
    location: String,
    outside: bool,
    device: String,
}

pub(super) fn scan_row(scan: &ReviewScan) -> ScanRow {
    let direction = match scan.direction {
        Some(Direction::In) => "签到",
        Some(Direction::Out) => "签退",
        None => "—",
    };
    let outcome = match scan.outcome.as_str() {
        "checked_in" => "签到成功".to_owned(),
        "checked_out" => "签退成功".to_owned(),
        other => format!("未记录（{other}）"),
    };
    let distance = scan.distance_m.map(|d| format!("，距离 {d:.0} 米")).unwrap_or_default();
    let location = match scan.geofence.as_deref() {
        Some("inside") => format!("范围内{distance}"),
        Some("outside") => format!("范围外{distance}"),
        Some("poor_fix") => format!("定位不准{distance}"),
        Some(other) => format!("{other}{distance}"),
        None => "无定位".to_owned(),
    };
    ScanRow {
        time: clock(scan.at),
        direction,
        outcome,
        outside: matches!(scan.geofence.as_deref(), Some("outside" | "poor_fix") | None),
        location,
        device: scan.device_id.clone().unwrap_or_else(|| "—".to_owned()),
    }
}
