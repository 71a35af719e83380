//! Who is asking: organisations, staff, volunteers and their bearer tokens.
//!
//! This is the minimum the attendance core needs. Full identity (ID numbers, consent,
//! WeChat login, passkeys, regional scopes) builds on these types later.

use chrono::{DateTime, Utc};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{CoreError, ErrorCode};

pub mod confirmation;
pub mod consent;
pub(crate) mod guards;
pub mod id_number;
pub mod pii;
pub mod registration;
mod reseal;
pub mod staff;

pub use id_number::{Gender, IdNumber, IdType};

/// A staff member's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    /// Runs the installation: creates organisations and staff.
    Administrator,
    /// Staff of one organisation: creates activities, shows codes, watches attendance.
    Organiser,
    /// A certified recorder (记录员) of one organisation: reviews, evaluates, finalises
    /// (from later issues), only while the qualification is valid.
    Recorder,
    /// An activity leader (活动负责人) of one organisation: shows the code and watches
    /// attendance at the activities they are assigned to, and nothing else.
    Leader,
    /// A civil-affairs officer of one region: checks, approves and revokes recording
    /// organisations there.
    Officer,
}

crate::stored_names!(StaffRole {
    Administrator => "administrator",
    Organiser => "organiser",
    Recorder => "recorder",
    Leader => "leader",
    Officer => "officer",
});

/// The body an officer speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Agency {
    /// The civil-affairs department (民政部门) of the officer's region: checks, approves
    /// and revokes recording organisations, oversees volunteers and records.
    CivilAffairs,
    /// The Communist Youth League committee (共青团) of the officer's region: approves
    /// university volunteer groups at the provincial level, and nothing else.
    YouthLeague,
}

crate::stored_names!(Agency {
    CivilAffairs => "civil_affairs",
    YouthLeague => "youth_league",
});

/// The authenticated caller behind a bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Principal {
    /// A staff member.
    Staff {
        /// Staff id.
        id: i64,
        /// Their role.
        role: StaffRole,
        /// Their organisation (none for administrators).
        organisation_id: Option<i64>,
    },
    /// A volunteer.
    Volunteer {
        /// Volunteer id.
        id: i64,
    },
}

/// What kind of recording organisation, which decides who approves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum OrganisationKind {
    /// Approved by the civil-affairs department one level above its region's.
    #[default]
    General,
    /// A university volunteer group: approved through the provincial Youth League.
    University,
}

/// Where an organisation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrganisationStatus {
    /// 申报: applied to its region's civil-affairs department.
    Applied,
    /// Checked by that department; waiting for approval by the level above.
    Checked,
    /// Approved: on the public list, may record.
    Approved,
    /// 撤销记录资格: may no longer record; its history stays.
    Revoked,
}

crate::stored_names!(OrganisationStatus {
    Applied => "applied",
    Checked => "checked",
    Approved => "approved",
    Revoked => "revoked",
});

crate::stored_names!(OrganisationKind {
    General => "general",
    University => "university",
});

/// A recording organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Organisation {
    /// Its id.
    pub id: i64,
    /// Its name, unique.
    pub name: String,
    /// GB/T 2260 region code of the civil-affairs department it answers to.
    pub region_code: String,
    /// General or university group.
    pub kind: OrganisationKind,
    /// Applied, checked, approved or revoked.
    pub status: OrganisationStatus,
}

/// What an administrator sends to create an organisation.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrganisation {
    /// 1–100 characters.
    pub name: String,
    /// Six-digit GB/T 2260 code, e.g. "530102" (Kunming, Wuhua district).
    pub region_code: String,
    /// `general` (default) or `university`.
    #[serde(default)]
    pub kind: OrganisationKind,
}

impl NewOrganisation {
    /// Trims and checks the fields.
    pub fn validate(mut self) -> Result<Self, CoreError> {
        self.name = line_text(&self.name, 100, "name")?;
        if self.region_code.len() != 6 || !self.region_code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "region_code 须为 6 位行政区划代码"));
        }
        Ok(self)
    }
}

/// A staff member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Staff {
    /// Their id.
    pub id: i64,
    /// Their name.
    pub name: String,
    /// The name they sign in with.
    pub login: String,
    /// Their role.
    pub role: StaffRole,
    /// Their organisation (organisers, recorders and leaders).
    pub organisation_id: Option<i64>,
    /// Their region (officers only), GB/T 2260.
    pub region_code: Option<String>,
    /// The body they speak for (officers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agency: Option<Agency>,
    /// Their certificate (recorders only).
    pub qualification: Option<RecorderQualification>,
}

/// A recorder's certificate: trained and examined by civil affairs, reviewed yearly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecorderQualification {
    /// Certificate number, 1–40 characters.
    pub certificate_number: String,
    /// Issue date.
    #[schema(value_type = String, format = Date)]
    pub issued_on: chrono::NaiveDate,
    /// The annual review is due by this date; after it the qualification has lapsed.
    #[schema(value_type = String, format = Date)]
    pub review_due_on: chrono::NaiveDate,
}

impl RecorderQualification {
    /// Valid from the issue date through the review due date (Asia/Shanghai days).
    pub fn valid_on(&self, today: chrono::NaiveDate) -> bool {
        self.issued_on <= today && today <= self.review_due_on
    }

    /// Days from `today` to the review due date: 0 on the due day (still valid), negative
    /// once it has lapsed.
    pub fn days_left(&self, today: chrono::NaiveDate) -> i64 {
        (self.review_due_on - today).num_days()
    }

    /// Where the qualification stands on `today`.
    pub fn state_on(&self, today: chrono::NaiveDate) -> QualificationState {
        let days_left = self.days_left(today);
        if today < self.issued_on {
            QualificationState::NotYetValid
        } else if days_left < 0 {
            QualificationState::Lapsed
        } else if days_left <= REVIEW_WARNING_DAYS {
            QualificationState::DueSoon
        } else {
            QualificationState::Valid
        }
    }

    /// The review due date after an annual review (年审) passed on `reviewed_on`, or `None`
    /// when no review is due yet (more than [`REVIEW_OPENS_DAYS`] days before the due date).
    ///
    /// The next review is a year after the old due date when the review was on time, so
    /// reviewing a few weeks early costs the recorder nothing; and a year after the review
    /// itself when the qualification had lapsed, so a lapsed recorder gets a whole year
    /// back rather than one already partly gone. The window keeps one year's review from
    /// being counted twice (a repeated request, two officers recording the same review).
    /// 29 February moves to 28 February in a common year.
    pub fn next_review_due_on(&self, reviewed_on: chrono::NaiveDate) -> Option<chrono::NaiveDate> {
        if (self.review_due_on - reviewed_on).num_days() > REVIEW_OPENS_DAYS {
            return None;
        }
        self.review_due_on.max(reviewed_on).checked_add_months(chrono::Months::new(12))
    }

    /// The sentence a recorder sees from [`REVIEW_WARNING_DAYS`] days before the due date,
    /// and once the qualification has lapsed; `None` otherwise.
    pub fn warning_on(&self, today: chrono::NaiveDate) -> Option<String> {
        let due = self.review_due_on.format("%Y年%m月%d日");
        match (self.state_on(today), self.days_left(today)) {
            (QualificationState::DueSoon, 0) => {
                Some(format!("您的记录员资格今天（{due}）年审到期，请尽快参加年审，逾期将不能定稿和出具证明。"))
            }
            (QualificationState::DueSoon, days) => Some(format!(
                "您的记录员资格将于 {due} 年审到期（还有 {days} 天），请及时参加年审，逾期将不能定稿和出具证明。"
            )),
            (QualificationState::Lapsed, _) => {
                Some(format!("您的记录员资格已于 {due} 年审到期而失效，请尽快参加年审；年审通过后即可恢复。"))
            }
            _ => None,
        }
    }
}

/// From this many days before the review due date (the due day counted as 0), a recorder
/// is warned and listed as `due_soon`.
pub const REVIEW_WARNING_DAYS: i64 = 30;

/// An annual review can be recorded from this many days before the due date: early enough
/// for a department that reviews its recorders together once a year, never so early that
/// one year's review could be counted for the next.
pub const REVIEW_OPENS_DAYS: i64 = 90;

/// Where a staff member's recorder qualification stands today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QualificationState {
    /// Valid, the review more than 30 days away.
    Valid,
    /// Valid, the review due within 30 days (the due day included): the recorder is warned.
    DueSoon,
    /// The review due date has passed: no finalising, deciding or issuing until a review
    /// or a renewal is recorded.
    Lapsed,
    /// The certificate's issue date has not come yet.
    NotYetValid,
    /// Not a recorder: no certificate.
    None,
}

/// A staff member's qualification as an overseer sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QualificationStatus {
    /// Valid, due soon, lapsed, not yet valid, or none (not a recorder).
    pub state: QualificationState,
    /// The review due date (recorders only).
    #[schema(value_type = Option<String>, format = Date)]
    pub review_due_on: Option<chrono::NaiveDate>,
    /// Days to the due date: 0 on the day, negative once lapsed (recorders only).
    pub days_left: Option<i64>,
}

impl QualificationStatus {
    /// The status of `qualification` (none for staff without one) on `today`.
    pub fn of(qualification: Option<&RecorderQualification>, today: chrono::NaiveDate) -> Self {
        match qualification {
            Some(q) => Self {
                state: q.state_on(today),
                review_due_on: Some(q.review_due_on),
                days_left: Some(q.days_left(today)),
            },
            None => Self { state: QualificationState::None, review_due_on: None, days_left: None },
        }
    }
}

/// Whether a region code is well formed: six digits.
pub fn is_region_code(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

/// The region one level above: county → prefecture (XXXX00), prefecture → province
/// (XX0000), province → none.
pub fn parent_region(code: &str) -> Option<String> {
    if !is_region_code(code) || code.ends_with("0000") {
        None
    } else if code.ends_with("00") {
        Some(format!("{}0000", &code[..2]))
    } else {
        Some(format!("{}00", &code[..4]))
    }
}

/// Whether an officer of `officer_region` oversees `region`: a province its whole
/// province, a prefecture its prefecture, a county itself.
pub fn region_covers(officer_region: &str, region: &str) -> bool {
    if !is_region_code(officer_region) || !is_region_code(region) {
        return false;
    }
    if officer_region.ends_with("0000") {
        officer_region[..2] == region[..2]
    } else if officer_region.ends_with("00") {
        officer_region[..4] == region[..4]
    } else {
        officer_region == region
    }
}

/// A volunteer as shown: to themselves in full, to everyone else with the ID and phone
/// numbers masked (ID: first and last characters only, [`IdNumber::masked`] says why;
/// phone 3 + **** + 4). `Debug` never shows the numbers.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VolunteerProfile {
    /// Internal id.
    pub id: i64,
    /// The volunteer number: shown wherever an identifier is needed publicly. Random, not
    /// derived from the ID number.
    pub volunteer_number: String,
    /// Name.
    pub name: String,
    /// GB/T 2261.1 code: 0 unknown, 1 male, 2 female, 9 unstated.
    pub gender: Gender,
    /// Birth year and month, `YYYY-MM`.
    pub birth_month: String,
    /// The kind of ID document.
    pub id_type: IdType,
    /// The ID number, masked unless this is the volunteer's own view.
    pub id_number: String,
    /// The mobile number, masked unless this is the volunteer's own view.
    pub phone: String,
    /// Skills (特长), as the volunteer listed them.
    pub skills: Vec<String>,
}

impl std::fmt::Debug for VolunteerProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VolunteerProfile")
            .field("id", &self.id)
            .field("volunteer_number", &self.volunteer_number)
            .field("id_type", &self.id_type)
            .finish_non_exhaustive()
    }
}

/// What a consent is for. Each is asked and recorded separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentPurpose {
    /// Processing for the service record itself (required to register).
    Record,
    /// Publishing a masked name and hours on publicity boards.
    Publicity,
    /// Using the phone's location at scan time (only the distance is kept).
    Location,
    /// A guardian's consent for a minor (recorded with the guardian's details).
    Guardian,
}

crate::stored_names!(ConsentPurpose {
    Record => "record",
    Publicity => "publicity",
    Location => "location",
    Guardian => "guardian",
});

/// One recorded consent decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsentRecord {
    /// What for.
    pub purpose: ConsentPurpose,
    /// Given (true) or withheld/withdrawn (false).
    pub granted: bool,
    /// The version of the notice the volunteer was shown.
    pub notice_version: String,
    /// When (+08:00).
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub recorded_at: DateTime<Utc>,
}

/// A WeChat account to bind to a volunteer: of the mini program, or of the Official
/// Account when the volunteer signed in inside WeChat's browser. `Debug` hides the ids.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeChatIdentity {
    /// The user's id within this app.
    pub openid: String,
    /// The user's id across the organisation's apps, when WeChat gives one.
    pub unionid: Option<String>,
    /// Whether `openid` is the Official Account's (网页授权) rather than the mini
    /// program's: the two apps give one user different openids, and only the mini
    /// program's may receive subscription messages, so they are bound in different tables.
    #[serde(default)]
    pub official_account: bool,
}

impl std::fmt::Debug for WeChatIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WeChatIdentity(<redacted>)")
    }
}

/// A volunteer row as stored: personal numbers sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredVolunteer {
    /// Internal id (0 before insertion).
    pub id: i64,
    /// Public volunteer number.
    pub volunteer_number: String,
    /// Name.
    pub name: String,
    /// Gender.
    pub gender: Gender,
    /// `YYYY-MM`.
    pub birth_month: String,
    /// ID document kind.
    pub id_type: IdType,
    /// Sealed ID number.
    pub id_number_sealed: String,
    /// Keyed hash of the normalised ID number.
    pub id_number_lookup: [u8; 32],
    /// Sealed mobile number.
    pub phone_sealed: String,
    /// Keyed hash of the normalised mobile number.
    pub phone_lookup: [u8; 32],
    /// Skills.
    pub skills: Vec<String>,
    /// The bound device: scans come from it.
    pub device_id: Option<String>,
    /// When it was bound (re-binding has a cool-down).
    pub device_bound_at: Option<DateTime<Utc>>,
}

/// A person's name (volunteer, staff, guardian): NFC, trimmed, 1–50 characters, one line,
/// no hidden characters ([`crate::text`] says why), so one name cannot pass for another.
pub fn validate_person_name(name: &str) -> Result<String, CoreError> {
    crate::text::clean_with(name, 50, "姓名", crate::text::Lines::One, Some("姓名须为 1 至 50 个字符"))
}

/// Device ids are opaque but bounded: at most 64 printable ASCII characters.
pub(crate) fn validate_device_id(device_id: Option<&str>) -> Result<Option<&str>, CoreError> {
    match device_id {
        Some(d) if d.is_empty() || d.len() > 64 || !d.bytes().all(|b| b.is_ascii_graphic()) => {
            Err(CoreError::refused(ErrorCode::InvalidBody, "device_id 须为 1 至 64 个可见 ASCII 字符"))
        }
        other => Ok(other),
    }
}

/// A one-line text others read (a title, an address, a label): as
/// [`validate_person_name`], 1 to `max` characters; `field` names it in the refusal.
pub(crate) fn line_text(text: &str, max: usize, field: &str) -> Result<String, CoreError> {
    crate::text::clean(text, max, field, crate::text::Lines::One)
}

/// Free text a person types (a reason, a comment, evidence): NFC, trimmed, 1 to `max`
/// characters, no hidden characters but newlines; `field` names it in the refusal.
pub(crate) fn bounded_text(text: &str, max: usize, field: &str) -> Result<String, CoreError> {
    crate::text::clean(text, max, field, crate::text::Lines::Many)
}

/// Normalises a mainland mobile number: strips spaces, dashes and a +86/0086 prefix, then
/// requires 11 digits starting with 1 and a second digit 3–9.
pub fn normalise_phone(phone: &str) -> Result<String, CoreError> {
    let digits: String = phone.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let digits = digits.strip_prefix("+86").or_else(|| digits.strip_prefix("0086")).unwrap_or(&digits);
    let b = digits.as_bytes();
    if b.len() == 11 && b.iter().all(u8::is_ascii_digit) && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) {
        Ok(digits.to_owned())
    } else {
        Err(CoreError::refused(ErrorCode::InvalidBody, "手机号格式不正确"))
    }
}

/// A bearer token as handed to its owner once. Only its SHA-256 is ever stored, so a
/// database leak does not hand out sessions.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken(String);

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

/// The stored form of a token: SHA-256 of its text.
pub type TokenHash = [u8; 32];

impl BearerToken {
    /// A fresh token: `hm_` and 32 random bytes in base64url (no padding).
    pub fn generate() -> Result<Self, CoreError> {
        let mut bytes = [0u8; 32];
        SystemRandom::new().fill(&mut bytes).map_err(|_| CoreError::Internal("system random source failed".into()))?;
        Ok(Self(format!("hm_{}", data_encoding::BASE64URL_NOPAD.encode(&bytes))))
    }

    /// Wraps text a client presented. Returns `None` for text that cannot be one of ours,
    /// so obviously bad tokens never reach the cache or the database.
    pub fn from_presented(text: &str) -> Option<Self> {
        let body = text.strip_prefix("hm_")?;
        (body.len() == 43 && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
            .then(|| Self(text.to_owned()))
    }

    /// The text to give the owner.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The hash under which it is stored.
    pub fn hash(&self) -> TokenHash {
        let digest = ring::digest::digest(&ring::digest::SHA256, self.0.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        out
    }
}

/// A stored token's owner and lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenGrant {
    /// Who it authenticates.
    pub principal: Principal,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// For a console (browser) session: the minutes without use after which it ends.
    #[serde(default)]
    pub idle_minutes: Option<u32>,
    /// For a console session: when it was last used (moved on about once a minute).
    #[serde(default)]
    pub last_seen_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_qualification_lapses_the_day_after_its_review_is_due() {
        let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
        let q = RecorderQualification {
            certificate_number: "YN-2025-0001".into(),
            issued_on: d("2025-12-01"),
            review_due_on: d("2026-12-01"),
        };
        assert!(!q.valid_on(d("2025-11-30")));
        assert!(q.valid_on(d("2025-12-01")));
        assert!(q.valid_on(d("2026-12-01")));
        assert!(!q.valid_on(d("2026-12-02")));
    }

    fn date(s: &str) -> chrono::NaiveDate {
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    fn due_on(due: &str) -> RecorderQualification {
        RecorderQualification {
            certificate_number: "YN-2025-0001".into(),
            issued_on: date("2025-12-01"),
            review_due_on: date(due),
        }
    }

    #[test]
    fn a_qualification_is_due_soon_from_thirty_days_before_its_review() {
        let q = due_on("2027-01-04");
        assert_eq!(q.state_on(date("2026-12-04")), QualificationState::Valid);
        assert_eq!(q.days_left(date("2026-12-04")), 31);
        assert!(q.warning_on(date("2026-12-04")).is_none(), "31 days before: no warning yet");
        assert_eq!(q.state_on(date("2026-12-05")), QualificationState::DueSoon);
        let warning = q.warning_on(date("2026-12-05")).expect("30 days before: warned");
        assert!(warning.contains("2027年01月04日") && warning.contains("30 天"), "{warning}");
        assert_eq!(q.state_on(date("2027-01-04")), QualificationState::DueSoon);
        assert!(q.warning_on(date("2027-01-04")).expect("due today").contains("今天"));
        assert_eq!(q.state_on(date("2027-01-05")), QualificationState::Lapsed);
        assert_eq!(q.days_left(date("2027-01-05")), -1);
        assert!(q.warning_on(date("2027-01-05")).expect("lapsed").contains("失效"));
        assert_eq!(q.state_on(date("2025-11-30")), QualificationState::NotYetValid);
        assert!(q.warning_on(date("2025-11-30")).is_none());
        let none = QualificationStatus::of(None, date("2026-12-05"));
        assert_eq!((none.state, none.review_due_on, none.days_left), (QualificationState::None, None, None));
        let some = QualificationStatus::of(Some(&q), date("2026-12-05"));
        assert_eq!((some.state, some.days_left), (QualificationState::DueSoon, Some(30)));
    }

    #[test]
    fn a_review_moves_the_due_date_on_a_year_from_the_later_of_due_date_and_review() {
        let q = due_on("2026-12-31");
        // On time, even weeks early: a year after the old due date.
        assert_eq!(q.next_review_due_on(date("2026-12-05")), Some(date("2027-12-31")));
        assert_eq!(q.next_review_due_on(date("2026-12-31")), Some(date("2027-12-31")));
        // Lapsed: a year after the review.
        assert_eq!(q.next_review_due_on(date("2027-02-10")), Some(date("2028-02-10")));
        // Opens 90 days before the due date, not earlier: one year's review counts once.
        assert_eq!(q.next_review_due_on(date("2026-10-02")), Some(date("2027-12-31")));
        assert_eq!(q.next_review_due_on(date("2026-10-01")), None);
        let reviewed = due_on("2027-12-31");
        assert_eq!(reviewed.next_review_due_on(date("2026-12-05")), None, "already reviewed this year");
        // 29 February has no anniversary in a common year.
        assert_eq!(due_on("2028-02-29").next_review_due_on(date("2028-02-01")), Some(date("2029-02-28")));
    }

    #[test]
    fn regions_nest_province_prefecture_county() {
        assert_eq!(parent_region("530102").as_deref(), Some("530100"));
        assert_eq!(parent_region("530100").as_deref(), Some("530000"));
        assert_eq!(parent_region("530000"), None);
        assert_eq!(parent_region("53010"), None);
        assert!(region_covers("530000", "530102"));
        assert!(region_covers("530100", "530102"));
        assert!(!region_covers("530100", "530202"));
        assert!(region_covers("530102", "530102"));
        assert!(!region_covers("530102", "530103"));
        assert!(!region_covers("510000", "530102"));
    }

    #[test]
    fn phone_numbers_are_normalised_or_refused() {
        assert_eq!(normalise_phone("138 0000 1234").expect("ok"), "13800001234");
        assert_eq!(normalise_phone("+86-139-0000-1234").expect("ok"), "13900001234");
        assert_eq!(normalise_phone("008615900001234").expect("ok"), "15900001234");
        for bad in ["", "12800001234", "1380000123", "138000012345", "1380000123a", "２３８００００１２３４"]
        {
            assert!(normalise_phone(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn tokens_round_trip_hash_and_refuse_garbage() {
        let t = BearerToken::generate().expect("random");
        assert!(t.expose().starts_with("hm_"));
        let again = BearerToken::from_presented(t.expose()).expect("our own shape");
        assert_eq!(again.hash(), t.hash());
        assert_ne!(BearerToken::generate().expect("random").hash(), t.hash());
        assert!(BearerToken::from_presented("hm_short").is_none());
        assert!(BearerToken::from_presented(&t.expose()[3..]).is_none());
        assert!(!format!("{t:?}").contains(&t.expose()[3..]));
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(validate_person_name("  张三 ").expect("ok"), "张三");
        assert!(validate_person_name("").is_err());
        assert!(validate_person_name(&"李".repeat(51)).is_err());
        assert!(validate_person_name("a\u{0}b").is_err());
        let err = validate_person_name("张\u{202e}三丰").expect_err("an override is refused");
        assert_eq!(err.error_code(), ErrorCode::TextInvalid);
        assert_eq!(validate_person_name("Jose\u{301}").expect("ok"), "Jos\u{e9}", "stored in NFC");
    }
}
