//! Volunteer registration and the volunteer's own view of their data: what a first-time
//! volunteer sends (validated against the rule's fields, ID numbers checked and sealed),
//! the consents asked separately, and the profile shown back (masked to everyone but the
//! volunteer). A registration that needs a one-time code (a minor's, by the guardian's;
//! everyone's in production) is stored only once the code confirms it: see
//! [`crate::identity::confirmation`].

use chrono::Datelike;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{CoreError, ErrorCode};
use crate::identity::confirmation::{GuardianContact, RegistrationConfirmation, RegistrationPending};
use crate::identity::consent::AgeBand;
use crate::identity::id_number::mask_phone;
use crate::identity::{ConsentRecord, Gender, IdType, StoredVolunteer, VolunteerProfile};
use crate::tokens::IssuedToken;

mod use_cases;

/// What a registration request came to.
#[derive(Debug, Clone)]
pub enum Registration {
    /// Stored and signed in.
    Registered(VolunteerWithToken),
    /// Waiting for the code.
    Pending(RegistrationPending),
}

/// A volunteer with a fresh token.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VolunteerWithToken {
    /// The volunteer (ID and phone numbers masked).
    pub volunteer: VolunteerProfile,
    /// Their token.
    #[serde(flatten)]
    pub token: IssuedToken,
}

/// The consents asked at registration, each separately (个人信息保护法 Art. 14, 25, 29).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentAnswers {
    /// The version of the privacy notice shown, 1–32 characters.
    pub notice_version: String,
    /// Processing for the service record: required.
    pub record: bool,
    /// Publishing a masked name and hours on publicity boards.
    #[serde(default)]
    pub publicity: bool,
    /// Using the phone's location when scanning (only the distance to the venue is kept).
    #[serde(default)]
    pub location: bool,
}

/// What a volunteer sends to register: what the rule asks a record to hold.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVolunteer {
    /// Name, 1–50 characters.
    pub name: String,
    /// The kind of ID document.
    pub id_type: IdType,
    /// The ID number. Resident ID numbers are checked (region, birth date, check
    /// character; a lower-case x is accepted; 15-digit numbers are converted).
    pub id_number: String,
    /// A mainland mobile number (11 digits; +86 and spaces allowed).
    pub phone: String,
    /// GB/T 2261.1 gender code; derived from a resident ID number, required otherwise.
    #[serde(default)]
    pub gender: Option<Gender>,
    /// `YYYY-MM`; derived from a resident ID number, required otherwise.
    #[serde(default)]
    pub birth_month: Option<String>,
    /// Skills (特长), at most 20, each 1–30 characters.
    #[serde(default)]
    pub skills: Vec<String>,
    /// The device registering, at most 64 characters.
    #[serde(default)]
    pub device_id: Option<String>,
    /// The consents.
    pub consent: ConsentAnswers,
    /// From a WeChat login of an account not yet registered: binds that account.
    #[serde(default)]
    pub wechat_ticket: Option<String>,
    /// The code from the mini program's `getPhoneNumber` button, for an adult: WeChat
    /// verifies that `phone` is theirs, so no SMS code is needed. Not used for a minor
    /// (the guardian's code is).
    #[serde(default)]
    pub wechat_phone_code: Option<String>,
    /// For a volunteer under 18 (required then, refused otherwise): the guardian, whose
    /// phone receives the code that confirms the registration.
    #[serde(default)]
    pub guardian: Option<GuardianContact>,
    /// The code from the SMS, with the 202 answer's `registration_id`: send the same
    /// registration again with it. Absent on the first request.
    #[serde(default)]
    pub confirmation: Option<RegistrationConfirmation>,
}

impl NewVolunteer {
    /// Everything a confirmation code vouches for: the registration without its
    /// confirmation, in serde's fixed field order.
    fn binding_content(&self) -> Result<String, CoreError> {
        let mut plain = self.clone();
        plain.confirmation = None;
        serde_json::to_string(&plain).map_err(|e| CoreError::Internal(e.to_string()))
    }
}

impl std::fmt::Debug for NewVolunteer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewVolunteer").field("id_type", &self.id_type).finish_non_exhaustive()
    }
}

/// A volunteer's own view of their data.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyData {
    /// Everything held about them, unmasked.
    pub volunteer: VolunteerProfile,
    /// Their consent history, oldest first.
    pub consents: Vec<ConsentRecord>,
}

/// A registration checked and ready to store: what confirming it stores.
struct ValidRegistration {
    row: StoredVolunteer,
    consents: Vec<ConsentRecord>,
    wechat: Option<crate::identity::WeChatIdentity>,
    phone: String,
    band: AgeBand,
    guardian: Option<ValidGuardian>,
    notice_version: String,
}

/// A minor's guardian, checked.
struct ValidGuardian {
    name: String,
    relation: String,
    phone: String,
}

/// A fresh public volunteer number: 12 random digits, the first not zero. Random, so it
/// reveals nothing of the ID number or of the registration order.
pub(crate) fn new_volunteer_number() -> Result<String, CoreError> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| CoreError::Internal("system random source failed".into()))?;
    let n = u128::from_le_bytes(bytes);
    Ok(format!("{}{:011}", 1 + n % 9, (n / 9) % 100_000_000_000))
}

/// `YYYY-MM`, a real month, not in the future, not before 1900.
pub(crate) fn validate_birth_month(month: &str, today: chrono::NaiveDate) -> Result<String, CoreError> {
    let bad = || CoreError::refused(ErrorCode::InvalidBody, "birth_month 须为 YYYY-MM 格式的过去年月");
    let first = chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").map_err(|_| bad())?;
    if month.len() != 7 || first > today || first.year() < 1900 {
        return Err(bad());
    }
    Ok(month.to_owned())
}

/// At most 20 skills, each 1–30 characters with no hidden characters; NFC, trimmed,
/// blanks dropped.
pub(crate) fn validate_skills(skills: Vec<String>) -> Result<Vec<String>, CoreError> {
    if skills.len() > 20 {
        return Err(CoreError::refused(ErrorCode::InvalidBody, "skills 最多 20 项"));
    }
    skills
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            crate::text::clean_with(&s, 30, "skills", crate::text::Lines::One, Some("每项 skills 须为 1 至 30 个字符"))
        })
        .collect()
}

/// What is sealed about who gave a guardian's consent: name, relation, phone (sealed, so
/// the organisation can reach them; masked wherever it is shown) and how the consent was
/// confirmed.
pub(crate) fn guardian_detail(name: &str, relation: &str, phone: &str, confirmed_by: &str) -> String {
    serde_json::json!({
        "name": name,
        "relation": relation,
        "phone": phone,
        "phone_masked": mask_phone(phone),
        "confirmed_by": confirmed_by,
    })
    .to_string()
}
