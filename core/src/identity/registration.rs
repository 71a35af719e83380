//! Volunteer registration and the volunteer's own view of their data: what a first-time
//! volunteer sends (validated against the rule's fields, ID numbers checked and sealed),
//! the consents asked separately, and the profile shown back (masked to everyone but the
//! volunteer).

use chrono::Datelike;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::id_number::{IdNumberError, mask_phone};
use crate::identity::pii::PiiField;
use crate::identity::validate_device_id;
use crate::identity::{
    BearerToken, ConsentPurpose, ConsentRecord, Gender, IdNumber, IdType, Principal, StoredVolunteer, TokenGrant,
    VolunteerProfile, normalise_phone, validate_person_name,
};
use crate::tokens::IssuedToken;

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
#[derive(Debug, Clone, Deserialize, ToSchema)]
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
#[derive(Clone, Deserialize, ToSchema)]
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

impl Hourmark {
    /// Registers a volunteer and signs them in. One person, one volunteer: a second
    /// registration with the same ID number is refused, found by keyed hash.
    pub async fn register_volunteer(&self, new: NewVolunteer) -> Result<VolunteerWithToken, CoreError> {
        let now = self.now();
        let today = now.with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
        let name = validate_person_name(&new.name)?;
        let phone = normalise_phone(&new.phone)?;
        let id_number = IdNumber::parse(new.id_type, &new.id_number, today)
            .map_err(|e: IdNumberError| CoreError::refused(ErrorCode::IdNumberInvalid, e.message_zh()))?;
        let (gender, birth_month) = match (id_number.gender(), id_number.birth_date()) {
            (Some(gender), Some(birth)) => {
                let derived = birth.format("%Y-%m").to_string();
                if new.gender.is_some_and(|g| g != gender) || new.birth_month.as_ref().is_some_and(|m| *m != derived) {
                    return Err(CoreError::refused(ErrorCode::InvalidBody, "性别或出生年月与身份证号码不符"));
                }
                (gender, derived)
            }
            _ => {
                let (Some(gender), Some(month)) = (new.gender, new.birth_month.as_deref()) else {
                    return Err(CoreError::refused(
                        ErrorCode::InvalidBody,
                        "该证件类型须同时填写 gender 与 birth_month",
                    ));
                };
                (gender, validate_birth_month(month, today)?)
            }
        };
        let skills = validate_skills(new.skills)?;
        let device_id = validate_device_id(new.device_id.as_deref())?.map(str::to_owned);
        let consent = &new.consent;
        let version = &crate::identity::line_text(&consent.notice_version, 32, "consent.notice_version")?;
        if !consent.record {
            return Err(CoreError::refused(
                ErrorCode::ConsentRequired,
                "登记志愿服务记录须同意为记录之目的处理您的个人信息",
            ));
        }
        let consents: Vec<ConsentRecord> = [
            (ConsentPurpose::Record, consent.record),
            (ConsentPurpose::Publicity, consent.publicity),
            (ConsentPurpose::Location, consent.location),
        ]
        .into_iter()
        .map(|(purpose, granted)| ConsentRecord {
            purpose,
            granted,
            notice_version: version.to_owned(),
            recorded_at: now,
        })
        .collect();

        let wechat = new.wechat_ticket.as_deref().map(|t| self.open_ticket(t)).transpose()?;
        let vault = &self.inner().vault;
        let seal = |field, value: &str| vault.seal(field, value).map_err(|e| CoreError::Internal(e.to_string()));
        let mut row = StoredVolunteer {
            id: 0,
            volunteer_number: String::new(),
            name,
            gender,
            birth_month,
            id_type: id_number.id_type(),
            id_number_sealed: seal(PiiField::IdNumber, id_number.as_str())?,
            // The document type is part of what is unique: a passport and a permit may share digits.
            id_number_lookup: vault
                .lookup(PiiField::IdNumber, &format!("{}:{}", id_number.id_type().as_str(), id_number.as_str())),
            phone_sealed: seal(PiiField::Phone, &phone)?,
            phone_lookup: vault.lookup(PiiField::Phone, &phone),
            skills,
            device_bound_at: device_id.as_ref().map(|_| now),
            device_id,
        };
        let bearer = BearerToken::generate()?;
        let expires_at = now + self.inner().settings.volunteer_token_ttl;
        let mut attempts = 0;
        let stored = loop {
            row.volunteer_number = new_volunteer_number()?;
            let token = (&bearer.hash(), expires_at);
            match self.inner().store.create_volunteer(&row, &consents, wechat.as_ref(), token, now).await {
                Err(CoreError::Storage(e)) if e.is_conflict_on("volunteer_number") && attempts < 5 => attempts += 1,
                other => break other?,
            }
        };
        let grant = TokenGrant {
            principal: Principal::Volunteer { id: stored.id },
            expires_at,
            idle_minutes: None,
            last_seen_at: None,
        };
        self.share_grant(&bearer.hash(), &grant).await;
        let token = IssuedToken { access_token: bearer.expose().to_owned(), expires_at };
        self.share_permission(&stored, &consents).await;
        Ok(VolunteerWithToken { volunteer: self.profile(&stored, false)?, token })
    }

    /// A volunteer's own data, unmasked, with their consent history.
    pub async fn my_data(&self, volunteer_id: i64) -> Result<MyData, CoreError> {
        let stored = self
            .inner()
            .store
            .get_volunteer(volunteer_id)
            .await?
            .ok_or_else(|| CoreError::refused(ErrorCode::NotFound, "志愿者不存在"))?;
        Ok(MyData {
            volunteer: self.profile(&stored, true)?,
            consents: self.inner().store.consents(volunteer_id).await?,
        })
    }

    /// The masked form of a volunteer's own (unmasked) profile.
    pub(crate) fn masked(&self, mut own: VolunteerProfile) -> VolunteerProfile {
        let today = self.now().with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
        own.id_number = IdNumber::parse(own.id_type, &own.id_number, today)
            .map(|n| n.masked())
            .unwrap_or_else(|_| "*".repeat(own.id_number.chars().count()));
        own.phone = mask_phone(&own.phone);
        own
    }

    /// Builds the shown form of a volunteer: unmasked only for their own view.
    pub(crate) fn profile(&self, v: &StoredVolunteer, own: bool) -> Result<VolunteerProfile, CoreError> {
        let vault = &self.inner().vault;
        let open = |field, sealed: &str| vault.open(field, sealed).map_err(|e| CoreError::Internal(e.to_string()));
        let profile = VolunteerProfile {
            id: v.id,
            volunteer_number: v.volunteer_number.clone(),
            name: v.name.clone(),
            gender: v.gender,
            birth_month: v.birth_month.clone(),
            id_type: v.id_type,
            id_number: open(PiiField::IdNumber, &v.id_number_sealed)?,
            phone: open(PiiField::Phone, &v.phone_sealed)?,
            skills: v.skills.clone(),
        };
        Ok(if own { profile } else { self.masked(profile) })
    }
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
