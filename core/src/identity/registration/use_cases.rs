//! The use cases of volunteer registration (`impl Hourmark`), apart from its types and
//! rules in the parent module, which the store and the context import without importing
//! these.

use super::*;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::confirmation::CodeRecipient;
use crate::identity::consent::{AgeBand, age_band, latest_birth_date};
use crate::identity::id_number::{IdNumberError, mask_phone};
use crate::identity::pii::PiiField;
use crate::identity::validate_device_id;
use crate::identity::{
    BearerToken, ConsentPurpose, ConsentRecord, IdNumber, Principal, StoredVolunteer, TokenGrant, VolunteerProfile,
    normalise_phone, validate_person_name,
};
use crate::sms::SmsNotice;
use crate::store::NewRegistration;
use crate::tokens::IssuedToken;

impl Hourmark {
    /// Registers a volunteer: at once when no code is needed (an adult on a server that
    /// does not ask for one), else in two steps (see [`crate::identity::confirmation`]):
    /// without `confirmation` a code goes to the phone given (a minor's guardian's) and
    /// nothing is stored; with it, the same registration is checked against the code and
    /// only then stored. One person, one volunteer: a second registration with the same ID
    /// number is refused, found by keyed hash, but only told once the phone is proven.
    pub async fn register_volunteer(&self, new: NewVolunteer, client: &str) -> Result<Registration, CoreError> {
        let valid = self.validate_registration(&new)?;
        // The mini program's phone button proves an adult's phone through WeChat: no SMS
        // of ours is needed then. A minor still needs the guardian's code, so the
        // (single-use) WeChat code is not spent on them.
        let proven_by_wechat = match (new.wechat_phone_code.as_deref(), valid.band) {
            (Some(code), AgeBand::Adult) => {
                if self.wechat_phone(code).await? != valid.phone {
                    return Err(CoreError::refused(ErrorCode::InvalidBody, "手机号与微信验证的手机号不一致"));
                }
                true
            }
            _ => false,
        };
        let needs_code = valid.band != AgeBand::Adult || (self.settings().registration_phone_code && !proven_by_wechat);
        if !needs_code {
            if new.confirmation.is_some() {
                return Err(CoreError::refused(ErrorCode::InvalidBody, "本次登记无需验证码，请去掉 confirmation"));
            }
            return Ok(Registration::Registered(self.store_registration(valid).await?));
        }
        let content = new.binding_content()?;
        let Some(confirmation) = new.confirmation.as_ref() else {
            let (phone, recipient) = match &valid.guardian {
                Some(g) => (g.phone.as_str(), CodeRecipient::Guardian),
                None => (valid.phone.as_str(), CodeRecipient::Volunteer),
            };
            return Ok(Registration::Pending(
                self.start_confirmed_registration(content, phone, recipient, &valid.row.name, client).await?,
            ));
        };
        self.check_registration_code(content, confirmation, client).await?;
        Ok(Registration::Registered(self.store_registration(valid).await?))
    }

    /// Checks every field of a registration; stores nothing.
    fn validate_registration(&self, new: &NewVolunteer) -> Result<ValidRegistration, CoreError> {
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
        // The youngest the volunteer could be when only the month is known: the
        // protective reading, as for scans.
        let band = id_number
            .birth_date()
            .or_else(|| latest_birth_date(&birth_month))
            .map_or(AgeBand::Under14, |birth| age_band(birth, today));
        let skills = validate_skills(new.skills.clone())?;
        let device_id = validate_device_id(new.device_id.as_deref())?.map(str::to_owned);
        let consent = &new.consent;
        let version = crate::identity::line_text(&consent.notice_version, 32, "consent.notice_version")?;
        if !consent.record {
            return Err(CoreError::refused(
                ErrorCode::ConsentRequired,
                "登记志愿服务记录须同意为记录之目的处理您的个人信息",
            ));
        }
        let vault = &self.inner().vault;
        let guardian = match (&new.guardian, band) {
            (None, AgeBand::Adult) => None,
            (Some(_), AgeBand::Adult) => {
                return Err(CoreError::refused(ErrorCode::InvalidBody, "年满 18 周岁无需填写监护人"));
            }
            (None, _) => {
                return Err(CoreError::refused(
                    ErrorCode::GuardianRequired,
                    "未满 18 周岁须填写监护人的姓名、关系和手机号，验证码将发送给监护人",
                ));
            }
            (Some(g), _) => {
                let guardian = ValidGuardian {
                    name: validate_person_name(&g.name)?,
                    relation: crate::identity::line_text(&g.relation, 20, "guardian.relation")?,
                    phone: normalise_phone(&g.phone)?,
                };
                // The code must reach someone other than the child.
                if vault.lookup(PiiField::Phone, &guardian.phone) == vault.lookup(PiiField::Phone, &phone) {
                    return Err(CoreError::refused(
                        ErrorCode::GuardianPhoneSame,
                        "监护人手机号不能与本人相同：验证码须发送给监护人",
                    ));
                }
                Some(guardian)
            }
        };
        let consents: Vec<ConsentRecord> = [
            (ConsentPurpose::Record, consent.record),
            (ConsentPurpose::Publicity, consent.publicity),
            (ConsentPurpose::Location, consent.location),
        ]
        .into_iter()
        .map(|(purpose, granted)| ConsentRecord { purpose, granted, notice_version: version.clone(), recorded_at: now })
        .collect();

        let wechat = new.wechat_ticket.as_deref().map(|t| self.open_ticket(t)).transpose()?;
        let seal = |field, value: &str| vault.seal(field, value).map_err(|e| CoreError::Internal(e.to_string()));
        let row = StoredVolunteer {
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
        Ok(ValidRegistration { row, consents, wechat, phone, band, guardian, notice_version: version })
    }

    /// Stores a checked registration (with the guardian's consent, for a minor whose
    /// guardian's code confirmed it, in the same transaction) and signs the volunteer in.
    async fn store_registration(&self, valid: ValidRegistration) -> Result<VolunteerWithToken, CoreError> {
        let ValidRegistration { mut row, mut consents, wechat, guardian, notice_version, .. } = valid;
        let now = self.now();
        let bearer = BearerToken::generate()?;
        let expires_at = now + self.inner().settings.volunteer_token_ttl;
        let guardian = match guardian {
            Some(g) => {
                let record = ConsentRecord {
                    purpose: ConsentPurpose::Guardian,
                    granted: true,
                    notice_version,
                    recorded_at: now,
                };
                let detail = guardian_detail(&g.name, &g.relation, &g.phone, "sms_code_to_guardian_phone");
                let sealed = self
                    .inner()
                    .vault
                    .seal(PiiField::GuardianDetail, &detail)
                    .map_err(|e| CoreError::Internal(e.to_string()))?;
                Some((record, sealed))
            }
            None => None,
        };
        let mut attempts = 0;
        let stored = loop {
            row.volunteer_number = new_volunteer_number()?;
            let token = (&bearer.hash(), expires_at);
            let with_guardian = guardian.as_ref().map(|(record, sealed)| (record, sealed.as_str()));
            let registration = NewRegistration {
                volunteer: &row,
                consents: &consents,
                guardian: with_guardian,
                wechat: wechat.as_ref(),
                token,
                at: now,
            };
            match self.inner().store.create_volunteer(&registration).await {
                Err(CoreError::Storage(e)) if e.is_conflict_on("volunteer_number") && attempts < 5 => attempts += 1,
                Err(e) if e.error_code() == ErrorCode::IdNumberTaken => {
                    self.tell_id_number_owner(row.id_number_lookup);
                    return Err(e);
                }
                other => break other?,
            }
        };
        consents.extend(guardian.map(|(record, _)| record));
        let grant = TokenGrant {
            principal: Principal::Volunteer { id: stored.id },
            expires_at,
            idle_minutes: None,
            last_seen_at: None,
        };
        // Both go to the shared cache at once: the two writes leave in one flush to Redis
        // and their answers come back together, a round trip and its wake-ups fewer than
        // one after the other (BENCHMARKS.md, "Registration in one statement").
        let hash = bearer.hash();
        tokio::join!(self.share_grant(&hash, &grant), self.share_permission(&stored, &consents));
        let token = IssuedToken { access_token: bearer.expose().to_owned(), expires_at };
        Ok(VolunteerWithToken { volunteer: self.profile(&stored, false)?, token })
    }

    /// Tells the volunteer whose ID number a refused registration gave that someone tried
    /// it, by SMS, when the operator configured that notice: at most once per ID number a
    /// day (China's calendar day, counted in the cache; a cache failure sends nothing
    /// rather than risk many). In the background, so the refusal's answer and its timing
    /// stay as they are.
    fn tell_id_number_owner(&self, id_number_lookup: [u8; 32]) {
        let sender = match &self.settings().sms.sender {
            Some(sender) if sender.sends(SmsNotice::IdNumberTried) => sender.clone(),
            _ => return,
        };
        let this = self.clone();
        tokio::spawn(async move {
            let now = this.now();
            let day = now.with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
            let key = format!("id_number_tried:{}:{day}", data_encoding::HEXLOWER.encode(&id_number_lookup[..16]));
            match this.cache().hit(&key, std::time::Duration::from_secs(2 * 24 * 3600)).await {
                Ok(1) => {}
                Ok(_) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "the ID number owner was not told of a refused registration");
                    return;
                }
            }
            let phone = async {
                let id = this.store().volunteer_by_id_number(&id_number_lookup).await?;
                let Some(volunteer) = (match id {
                    Some(id) => this.store().get_volunteer(id).await?,
                    None => None,
                }) else {
                    return Ok(None);
                };
                this.vault()
                    .open(PiiField::Phone, &volunteer.phone_sealed)
                    .map(Some)
                    .map_err(|e| CoreError::Internal(e.to_string()))
            };
            match phone.await {
                Ok(Some(phone)) => {
                    if let Err(e) = sender.send_notice(&phone, SmsNotice::IdNumberTried, now).await {
                        tracing::warn!(error = %e, "the ID number owner was not told of a refused registration");
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "the ID number owner could not be found"),
            }
        });
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

    /// The volunteer registered with this phone number, if any: for operators' tools and
    /// tests, since no answer to the public tells whether a number is registered.
    pub async fn volunteer_with_phone(&self, phone: &str) -> Result<Option<i64>, CoreError> {
        let phone = normalise_phone(phone)?;
        self.store().volunteer_by_phone(&self.vault().lookup(PiiField::Phone, &phone)).await
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
