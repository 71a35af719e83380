//! Activities: what volunteers serve at, when and where, and how its codes work.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDateTime, SubsecRound, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::error::{CoreError, ErrorCode};
use crate::geo::LatLng;

/// The service areas the rule recognises (云南省志愿服务记录实施办法, point 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceCategory {
    /// 扶贫济困
    PovertyRelief,
    /// 助残
    DisabilityHelp,
    /// 助老
    ElderlyHelp,
    /// 关爱儿童
    ChildCare,
    /// 社区服务
    CommunityService,
    /// 支教助学
    Teaching,
    /// 医疗卫生
    Health,
    /// 科普
    ScienceOutreach,
    /// 文化体育
    CultureSport,
    /// 环境保护
    Environment,
    /// 心理疏导
    PsychologicalSupport,
    /// 法律援助
    LegalAid,
    /// 大型活动
    LargeEvent,
    /// 救灾
    DisasterRelief,
    /// 应急救援
    EmergencyRescue,
    /// 公共安全
    PublicSafety,
    /// 其他公益
    OtherPublicGood,
}

crate::stored_names!(ServiceCategory {
    PovertyRelief => "poverty_relief",
    DisabilityHelp => "disability_help",
    ElderlyHelp => "elderly_help",
    ChildCare => "child_care",
    CommunityService => "community_service",
    Teaching => "teaching",
    Health => "health",
    ScienceOutreach => "science_outreach",
    CultureSport => "culture_sport",
    Environment => "environment",
    PsychologicalSupport => "psychological_support",
    LegalAid => "legal_aid",
    LargeEvent => "large_event",
    DisasterRelief => "disaster_relief",
    EmergencyRescue => "emergency_rescue",
    PublicSafety => "public_safety",
    OtherPublicGood => "other_public_good",
});

/// How an activity's codes decide between arrival and departure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CodeMode {
    /// One code per gate; each accepted scan toggles the volunteer in or out.
    Toggle,
    /// Separate arrival and departure codes per gate.
    Separate,
}

crate::stored_names!(CodeMode {
    Toggle => "toggle",
    Separate => "separate",
});

/// An activity as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Activity {
    /// Its id; also what the rotating code names.
    pub id: i64,
    /// The recording organisation it belongs to.
    pub organisation_id: i64,
    /// 活动名称.
    pub name: String,
    /// Service area.
    pub category: ServiceCategory,
    /// 服务对象: who is served.
    pub recipients: String,
    /// 服务内容: what volunteers do.
    pub content: String,
    /// Where, in words.
    pub address: String,
    /// Where, as a WGS-84 point.
    pub location: LatLng,
    /// Geofence radius around `location`, metres.
    pub radius_m: u32,
    /// Scheduled start (shown in Asia/Shanghai time).
    #[serde(with = "shanghai_time")]
    #[schema(value_type = String, format = DateTime, example = "2026-12-05T08:00:00+08:00")]
    pub starts_at: DateTime<Utc>,
    /// Scheduled end (shown in Asia/Shanghai time).
    #[serde(with = "shanghai_time")]
    #[schema(value_type = String, format = DateTime, example = "2026-12-05T17:00:00+08:00")]
    pub ends_at: DateTime<Utc>,
    /// Named gates (e.g. "北门"); gate numbers in codes index this list. Never empty.
    pub gates: Vec<String>,
    /// One toggling code, or separate arrival and departure codes.
    pub code_mode: CodeMode,
    /// The staff member who created it.
    pub created_by: i64,
    /// Whether its organisation may record now (approved, not revoked): check-in opens
    /// only then.
    #[serde(default = "approved_unless_known")]
    pub organisation_approved: bool,
}

fn approved_unless_known() -> bool {
    true
}

/// What staff send to create an activity.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewActivity {
    /// The organisation it belongs to.
    pub organisation_id: i64,
    /// 活动名称, 1–100 characters.
    pub name: String,
    /// Service area.
    pub category: ServiceCategory,
    /// 服务对象, 1–200 characters.
    pub recipients: String,
    /// 服务内容, 1–2000 characters.
    pub content: String,
    /// Address, 1–200 characters.
    pub address: String,
    /// The point, in `location_datum` (WGS-84 unless said otherwise).
    pub location: LatLng,
    /// `wgs84` (default: GPS, phones) or `gcj02` (高德/腾讯 maps in China): a GCJ-02
    /// point is converted to WGS-84 before it is stored; the activity always answers WGS-84.
    #[serde(default)]
    pub location_datum: crate::geo::Datum,
    /// Geofence radius, 10–50 000 metres.
    pub radius_m: u32,
    /// Scheduled start: RFC 3339; without an offset it is read as Asia/Shanghai time.
    #[serde(deserialize_with = "deserialize_local_or_offset")]
    #[schema(value_type = String, example = "2026-12-05T08:00:00+08:00")]
    pub starts_at: DateTime<Utc>,
    /// Scheduled end, after the start and at most 31 days later.
    #[serde(deserialize_with = "deserialize_local_or_offset")]
    #[schema(value_type = String, example = "2026-12-05T17:00:00+08:00")]
    pub ends_at: DateTime<Utc>,
    /// Gate names, at most 64, each 1–40 characters and distinct. Empty or absent: one gate, "主入口".
    #[serde(default)]
    pub gates: Vec<String>,
    /// Defaults to `toggle`.
    #[serde(default = "default_code_mode")]
    pub code_mode: CodeMode,
}

fn default_code_mode() -> CodeMode {
    CodeMode::Toggle
}

/// The name given to the only gate of an activity created without gates.
pub const DEFAULT_GATE: &str = "主入口";

/// Largest gate count: the code has six bits for the gate.
pub const MAX_GATES: usize = 64;

impl NewActivity {
    /// Checks every field, trimming text, and fills in the default gate.
    pub fn validate(mut self) -> Result<Self, CoreError> {
        use crate::text::{Lines, clean};
        fn text(field: &str, value: &mut String, max: usize, lines: Lines) -> Result<(), CoreError> {
            *value = clean(value, max, field, lines)?;
            Ok(())
        }
        text("name", &mut self.name, 100, Lines::One)?;
        text("recipients", &mut self.recipients, 200, Lines::One)?;
        text("content", &mut self.content, 2000, Lines::Many)?;
        text("address", &mut self.address, 200, Lines::One)?;
        if !self.location.is_valid() {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "location 坐标超出范围"));
        }
        self.location = self.location_datum.to_wgs84(self.location);
        self.location_datum = crate::geo::Datum::Wgs84;
        if !(10..=50_000).contains(&self.radius_m) {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "radius_m 须在 10 至 50000 米之间"));
        }
        let sane = |t: DateTime<Utc>| (2000..=2100).contains(&t.with_timezone(&Shanghai).year());
        if !sane(self.starts_at) || !sane(self.ends_at) {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "活动时间须在 2000 至 2100 年之间"));
        }
        self.starts_at = self.starts_at.trunc_subsecs(3);
        self.ends_at = self.ends_at.trunc_subsecs(3);
        if self.ends_at <= self.starts_at {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "结束时间须晚于开始时间"));
        }
        if self.ends_at - self.starts_at > chrono::Duration::days(31) {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "活动时长不能超过 31 天"));
        }
        if self.gates.is_empty() {
            self.gates.push(DEFAULT_GATE.to_owned());
        }
        if self.gates.len() > MAX_GATES {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "入口不能超过 64 个"));
        }
        for gate in &mut self.gates {
            text("gates[]", gate, 40, Lines::One)?;
        }
        let mut distinct = self.gates.clone();
        distinct.sort();
        distinct.dedup();
        if distinct.len() != self.gates.len() {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "入口名称不能重复"));
        }
        Ok(self)
    }
}

/// Reads RFC 3339 with an offset, or a bare local date-time as Asia/Shanghai.
fn deserialize_local_or_offset<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let s = String::deserialize(d)?;
    parse_local_or_offset(&s)
        .ok_or_else(|| serde::de::Error::custom(format!("expected an RFC 3339 date-time, got {s:?}")))
}

/// Parses RFC 3339 with an offset, or `YYYY-MM-DDTHH:MM[:SS]` as Asia/Shanghai.
pub fn parse_local_or_offset(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"))
        .ok()?;
    Shanghai.from_local_datetime(&naive).single().map(|t| t.with_timezone(&Utc))
}

/// Shows instants in Asia/Shanghai time (+08:00): the time people on site read.
pub fn to_shanghai(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_timezone(&Shanghai).fixed_offset()
}

/// Serde for instants shown as +08:00 and read in any offset.
pub mod shanghai_time {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serialises as RFC 3339 in +08:00.
    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::to_shanghai(*t).to_rfc3339())
    }

    /// Reads RFC 3339 in any offset.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_local_or_offset(&s).ok_or_else(|| serde::de::Error::custom("expected an RFC 3339 date-time"))
    }

    /// The same for optional instants.
    pub mod option {
        use chrono::{DateTime, Utc};
        use serde::Serializer;

        /// Serialises as RFC 3339 in +08:00, or null.
        pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_activity() -> NewActivity {
        serde_json::from_value(serde_json::json!({
            "organisation_id": 1,
            "name": " 翠湖清洁 ",
            "category": "environment",
            "recipients": "市民",
            "content": "捡拾垃圾",
            "address": "昆明市五华区翠湖公园",
            "location": { "lat": 25.047, "lng": 102.704 },
            "radius_m": 300,
            "starts_at": "2026-12-05T08:00",
            "ends_at": "2026-12-05T17:00:00+08:00"
        }))
        .expect("parses")
    }

    #[test]
    fn local_times_are_read_as_shanghai_and_defaults_fill_in() {
        let a = new_activity().validate().expect("valid");
        assert_eq!(a.name, "翠湖清洁");
        assert_eq!(a.starts_at.to_rfc3339(), "2026-12-05T00:00:00+00:00");
        assert_eq!(a.ends_at.to_rfc3339(), "2026-12-05T09:00:00+00:00");
        assert_eq!(a.gates, vec![DEFAULT_GATE.to_owned()]);
        assert_eq!(a.code_mode, CodeMode::Toggle);
    }

    #[test]
    fn invalid_fields_are_refused() {
        type Mutation = Box<dyn Fn(&mut NewActivity)>;
        let cases: Vec<Mutation> = vec![
            Box::new(|a| a.name = "  ".into()),
            Box::new(|a| a.content = "x".repeat(2001)),
            Box::new(|a| a.radius_m = 5),
            Box::new(|a| a.location.lat = 95.0),
            Box::new(|a| a.ends_at = a.starts_at),
            Box::new(|a| a.ends_at = a.starts_at + chrono::Duration::days(32)),
            Box::new(|a| a.gates = vec!["北门".into(), "北门".into()]),
            Box::new(|a| a.gates = (0..65).map(|i| i.to_string()).collect()),
            Box::new(|a| a.starts_at = parse_local_or_offset("1899-12-05T08:00").expect("parses")),
            Box::new(|a| a.ends_at = parse_local_or_offset("2101-01-01T00:00").expect("parses")),
        ];
        for (i, mutate) in cases.iter().enumerate() {
            let mut a = new_activity();
            mutate(&mut a);
            let err = a.validate().expect_err(&format!("case {i} must be refused"));
            assert_eq!(err.error_code(), ErrorCode::InvalidBody, "case {i}");
        }
        // Hidden characters have their own code, in every text field.
        let hidden: Vec<Mutation> = vec![
            Box::new(|a| a.name = "清洁\u{0}".into()),
            Box::new(|a| a.name = "翠湖\u{202e}清洁".into()),
            Box::new(|a| a.recipients = "市民\u{200b}".into()),
            Box::new(|a| a.content = "捡拾\u{2066}垃圾".into()),
            Box::new(|a| a.address = "\u{feff}翠湖公园".into()),
            Box::new(|a| a.gates = vec!["北门\u{200f}".into()]),
        ];
        for (i, mutate) in hidden.iter().enumerate() {
            let mut a = new_activity();
            mutate(&mut a);
            let err = a.validate().expect_err(&format!("hidden case {i} must be refused"));
            assert_eq!(err.error_code(), ErrorCode::TextInvalid, "hidden case {i}");
        }
    }

    #[test]
    fn unknown_fields_and_categories_do_not_parse() {
        let mut v = serde_json::to_value(serde_json::json!({"organisation_id": 1})).expect("json");
        v["surprise"] = serde_json::json!(true);
        assert!(serde_json::from_value::<NewActivity>(v).is_err());
        assert_eq!(ServiceCategory::parse("legal_aid"), Some(ServiceCategory::LegalAid));
        assert_eq!(ServiceCategory::parse("gardening"), None);
    }
}
