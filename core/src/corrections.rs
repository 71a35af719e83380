//! A volunteer's right to see, take away and correct what is held about them
//! (个人信息保护法 Arts. 45–46): a downloadable copy of everything, and correction requests
//! that staff accept (the change is applied and audited in one transaction) or reject
//! with a reason.
//!
//! What a resident ID already says (birth month, gender) is not corrected by request: the
//! ID decides. Numbers (ID, phone) are not corrected here either: the phone is re-bound
//! through WeChat, and an ID is a new registration's business.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::identity::registration::MyData;
use crate::identity::{Gender, validate_person_name};

mod use_cases;

/// At most this many requests may wait for a decision per volunteer.
const MAX_OPEN_PER_VOLUNTEER: usize = 5;

/// What a correction is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CorrectionField {
    /// The name.
    Name,
    /// Gender, as a GB/T 2261.1 code (`0`, `1`, `2`, `9`); not for resident-ID holders.
    Gender,
    /// Birth month `YYYY-MM`; not for resident-ID holders.
    BirthMonth,
    /// Skills, separated by `、`, `,` or `，`.
    Skills,
    /// Anything else (a service record, say): a person reads it and decides.
    Other,
}

crate::stored_names!(CorrectionField {
    Name => "name",
    Gender => "gender",
    BirthMonth => "birth_month",
    Skills => "skills",
    Other => "other",
});

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CorrectionStatus {
    /// Waiting for staff.
    Open,
    /// Accepted: the change was applied.
    Accepted,
    /// Rejected, with a reason.
    Rejected,
}

crate::stored_names!(CorrectionStatus {
    Open => "open",
    Accepted => "accepted",
    Rejected => "rejected",
});

/// A volunteer's request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCorrection {
    /// What to correct.
    pub field: CorrectionField,
    /// The correct value (for `other`: what is wrong and what is right), 1–200 characters.
    pub requested_value: String,
    /// Why, 1–500 characters.
    pub reason: String,
}

/// A correction request and its decision.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CorrectionRequest {
    /// Its id.
    pub id: i64,
    /// Whose.
    pub volunteer_id: i64,
    /// What.
    pub field: CorrectionField,
    /// The value asked for.
    pub requested_value: String,
    /// Why.
    pub reason: String,
    /// Where it stands.
    pub status: CorrectionStatus,
    /// Asked when.
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub requested_at: DateTime<Utc>,
    /// Decided by (staff id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<i64>,
    /// Decided when.
    #[serde(
        serialize_with = "crate::activity::shanghai_time::option::serialize",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub decided_at: Option<DateTime<Utc>>,
    /// The decision's reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_reason: Option<String>,
}

/// A staff decision.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionDecision {
    /// Accept (apply the change) or reject.
    pub accept: bool,
    /// Why, 1–500 characters (shown to the volunteer).
    pub reason: String,
}

/// The change an accepted request makes to the volunteer's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolunteerChange {
    /// A new name.
    Name(String),
    /// A new gender.
    Gender(Gender),
    /// A new birth month.
    BirthMonth(String),
    /// New skills.
    Skills(Vec<String>),
}

/// One of a volunteer's scans, as their export lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyScan {
    /// When the server took it.
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub at: DateTime<Utc>,
    /// Which activity (absent for codes that named none).
    pub activity_id: Option<i64>,
    /// Its name.
    pub activity_name: Option<String>,
    /// `in` or `out` when accepted.
    pub direction: Option<String>,
    /// The outcome code (`checked_in`, `checked_out`, or why it was refused).
    pub outcome: String,
    /// The geofence verdict, when a location was given.
    pub geofence: Option<String>,
    /// The distance to the venue in metres, when a location was given.
    pub distance_m: Option<f64>,
    /// The device it came from.
    pub device_id: Option<String>,
}

/// Everything held about a volunteer, to download.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyDataExport {
    /// When this copy was made.
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub generated_at: DateTime<Utc>,
    /// Profile (unmasked) and consent history.
    #[serde(flatten)]
    pub data: MyData,
    /// Every scan, accepted or refused, oldest first.
    pub scans: Vec<MyScan>,
    /// Extra fields given with their own consent, and that consent's history.
    pub extra_fields: crate::extra_fields::MyExtraFields,
    /// Correction requests and their decisions.
    pub corrections: Vec<CorrectionRequest>,
    /// Sign-ups for activities, newest first.
    pub signups: Vec<crate::signups::Signup>,
    /// Who did what with their data (device changes, staff reads in clear, corrections).
    pub audit: Vec<AuditEvent>,
}

/// The change a field and value make; `None` for `other` (decided by a person, nothing
/// applied automatically).
fn parse_change(field: CorrectionField, value: &str, now: DateTime<Utc>) -> Result<Option<VolunteerChange>, CoreError> {
    let today = now.with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
    Ok(match field {
        CorrectionField::Name => Some(VolunteerChange::Name(validate_person_name(value)?)),
        CorrectionField::Gender => {
            let gender =
                value.parse::<u8>().ok().and_then(Gender::from_code).ok_or_else(|| {
                    CoreError::refused(ErrorCode::InvalidBody, "性别须为 GB/T 2261.1 代码：0、1、2 或 9")
                })?;
            Some(VolunteerChange::Gender(gender))
        }
        CorrectionField::BirthMonth => {
            Some(VolunteerChange::BirthMonth(crate::identity::registration::validate_birth_month(value, today)?))
        }
        CorrectionField::Skills => {
            let skills = value.split(['、', ',', '，']).map(str::to_owned).collect();
            Some(VolunteerChange::Skills(crate::identity::registration::validate_skills(skills)?))
        }
        CorrectionField::Other => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::bounded_text;

    fn now() -> DateTime<Utc> {
        "2026-12-05T01:00:00Z".parse().expect("time")
    }

    #[test]
    fn values_become_changes_or_are_refused() {
        assert_eq!(
            parse_change(CorrectionField::Name, " 张三丰 ", now()).expect("ok"),
            Some(VolunteerChange::Name("张三丰".into()))
        );
        assert_eq!(
            parse_change(CorrectionField::Gender, "2", now()).expect("ok"),
            Some(VolunteerChange::Gender(Gender::Female))
        );
        assert!(parse_change(CorrectionField::Gender, "3", now()).is_err());
        assert!(parse_change(CorrectionField::Gender, "女", now()).is_err());
        assert_eq!(
            parse_change(CorrectionField::BirthMonth, "1990-02", now()).expect("ok"),
            Some(VolunteerChange::BirthMonth("1990-02".into()))
        );
        assert!(parse_change(CorrectionField::BirthMonth, "2027-01", now()).is_err(), "not in the future");
        assert_eq!(
            parse_change(CorrectionField::Skills, "急救、 外语,驾驶，", now()).expect("ok"),
            Some(VolunteerChange::Skills(vec!["急救".into(), "外语".into(), "驾驶".into()]))
        );
        assert_eq!(parse_change(CorrectionField::Other, "服务时长少记了两小时", now()).expect("ok"), None);
    }

    #[test]
    fn texts_are_bounded() {
        assert!(bounded_text("", 10, "x").is_err());
        assert!(bounded_text("   ", 10, "x").is_err());
        assert!(bounded_text(&"长".repeat(11), 10, "x").is_err());
        assert_eq!(bounded_text(" 第一行\n第二行 ", 10, "x").expect("ok"), "第一行\n第二行");
        assert!(bounded_text("a\u{0}b", 10, "x").is_err());
    }
}
