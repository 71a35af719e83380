//! The use cases of privacy (`impl Hourmark`), apart from its types and rules in the parent
//! module, which the store and the context import without importing these.

use super::*;
use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::consent::{AgeBand, ConsentState, ScanPermission, age_band, latest_birth_date};
use crate::identity::pii::PiiField;
use crate::identity::registration::MyData;
use crate::identity::{
    ConsentPurpose, ConsentRecord, IdNumber, Principal, StaffRole, StoredVolunteer, VolunteerProfile, normalise_phone,
    validate_person_name,
};

impl Hourmark {
    /// Gives or withdraws one consent; it takes effect for the next scan.
    pub async fn change_consent(&self, volunteer_id: i64, change: ConsentChange) -> Result<MyData, CoreError> {
        // A guardian's consent is given through its own request (who gave it is recorded);
        // withdrawing it is a plain consent change, and takes effect at the next scan.
        if change.purpose == ConsentPurpose::Guardian && change.granted {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "监护人同意请通过 guardian-consent 提交"));
        }
        let record = ConsentRecord {
            purpose: change.purpose,
            granted: change.granted,
            notice_version: notice_version(&change.notice_version)?,
            recorded_at: self.now(),
        };
        self.store().add_consent(volunteer_id, &record, None).await?;
        self.forget_scan_permission(volunteer_id).await;
        // A name shown on the public board goes (or comes) with the publicity consent, and
        // a child's with the guardian's.
        if matches!(change.purpose, ConsentPurpose::Publicity | ConsentPurpose::Guardian) {
            self.public_board_changed();
        }
        self.my_data(volunteer_id).await
    }

    /// A guardian's consent for a minor already registered, confirmed out of band: the
    /// child's session names the guardian, but only the code sent to the guardian's phone
    /// records the consent (who gave it is sealed like an ID number). The code is bound
    /// to this volunteer and to the guardian's details as first sent, so a code for
    /// another request, or for changed details, is wrong.
    pub async fn record_guardian_consent(
        &self,
        volunteer_id: i64,
        consent: GuardianConsent,
        client: &str,
    ) -> Result<GuardianConsentAnswer, CoreError> {
        let name = validate_person_name(&consent.guardian_name)?;
        let relation = crate::identity::line_text(&consent.relation, 20, "relation")?;
        let phone = normalise_phone(&consent.guardian_phone)?;
        let version = notice_version(&consent.notice_version)?;
        let v = self
            .store()
            .get_volunteer(volunteer_id)
            .await?
            .ok_or_else(|| CoreError::refused(ErrorCode::Unauthenticated, "志愿者不存在"))?;
        if self.age_band_of(&v) == AgeBand::Adult {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "成年志愿者无需监护人同意"));
        }
        if self.vault().lookup(PiiField::Phone, &phone) == v.phone_lookup {
            return Err(CoreError::refused(
                ErrorCode::GuardianPhoneSame,
                "监护人手机号不能与志愿者本人相同：验证码须发送给监护人",
            ));
        }
        let content = serde_json::json!([name, relation, phone, version]).to_string();
        let binding = self.code_binding("guardian", &volunteer_id.to_string(), content);
        let Some(code) = consent.code.as_deref() else {
            return Ok(GuardianConsentAnswer::CodeSent(
                self.send_bound_code(&binding, &phone, client, Some(&v.name)).await?,
            ));
        };
        self.check_bound_code(&binding, code, client).await?;
        let detail =
            crate::identity::registration::guardian_detail(&name, &relation, &phone, "sms_code_to_guardian_phone");
        let sealed =
            self.vault().seal(PiiField::GuardianDetail, &detail).map_err(|e| CoreError::Internal(e.to_string()))?;
        let record = ConsentRecord {
            purpose: ConsentPurpose::Guardian,
            granted: true,
            notice_version: version,
            recorded_at: self.now(),
        };
        self.store().add_consent(volunteer_id, &record, Some(&sealed)).await?;
        self.forget_scan_permission(volunteer_id).await;
        // A child's name appears on the public board only with a guardian's consent.
        self.public_board_changed();
        Ok(GuardianConsentAnswer::Recorded(Box::new(self.my_data(volunteer_id).await?)))
    }

    /// What the scan path may do for this volunteer.
    pub(crate) async fn scan_permission(&self, volunteer_id: i64) -> Result<ScanPermission, CoreError> {
        let load = || async { self.compute_permission(volunteer_id).await.map(Some) };
        let permission = self
            .inner()
            .permissions
            .get_or_load(&*self.inner().cache, volunteer_id, |_| SHARED_PERMISSION_TTL, load)
            .await?;
        permission.ok_or_else(|| CoreError::Internal("a computed scan permission went missing".into()))
    }

    /// Caches the permission of a volunteer just registered: they usually scan at once,
    /// and an arrival burst of fresh registrations must not read every consent history.
    pub(crate) async fn share_permission(&self, v: &StoredVolunteer, consents: &[ConsentRecord]) {
        let mut permission = ScanPermission::decide(ConsentState::from_history(consents), self.age_band_of(v));
        permission.device = v.device_id.clone();
        self.inner().permissions.put(&*self.inner().cache, v.id, permission, SHARED_PERMISSION_TTL).await;
    }

    async fn compute_permission(&self, volunteer_id: i64) -> Result<ScanPermission, CoreError> {
        let v = self
            .store()
            .get_volunteer(volunteer_id)
            .await?
            .ok_or_else(|| CoreError::refused(ErrorCode::Unauthenticated, "志愿者不存在"))?;
        let state = ConsentState::from_history(&self.store().consents(volunteer_id).await?);
        let mut permission = ScanPermission::decide(state, self.age_band_of(&v));
        permission.device = v.device_id;
        Ok(permission)
    }

    /// The names a public board may show of `volunteer_ids`: masked (张*三), and only for
    /// a volunteer who consented to publicity; under 14, only with their guardian's consent
    /// too. One read of consents and one of the consenting volunteers for a whole page (the
    /// page of 200 lines read two statements a line before, BENCHMARKS.md); a volunteer's
    /// ID is opened for the age only where a guardian's consent would be missing.
    pub(crate) async fn publicity_names(
        &self,
        volunteer_ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, String>, CoreError> {
        let ids: Vec<i64> =
            volunteer_ids.iter().copied().collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        let mut histories: std::collections::HashMap<i64, Vec<ConsentRecord>> = std::collections::HashMap::new();
        for (id, record) in self.store().consents_of(&ids).await? {
            histories.entry(id).or_default().push(record);
        }
        let states: std::collections::HashMap<i64, ConsentState> =
            histories.iter().map(|(id, history)| (*id, ConsentState::from_history(history))).collect();
        let consenting: Vec<i64> = ids.into_iter().filter(|id| states.get(id).is_some_and(|s| s.publicity)).collect();
        Ok(self
            .store()
            .get_volunteers(&consenting)
            .await?
            .into_iter()
            .filter(|v| states.get(&v.id).is_some_and(|s| s.guardian) || self.age_band_of(v) != AgeBand::Under14)
            .map(|v| (v.id, crate::identity::id_number::mask_name(&v.name)))
            .collect())
    }

    /// A volunteer's age band today: from the exact birth date when the ID carries one,
    /// else the youngest the birth month allows.
    fn age_band_of(&self, v: &StoredVolunteer) -> AgeBand {
        let today = self.now().with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
        // An unreadable birth month is treated as a child's: the protective default.
        self.birth_date_of(v).map_or(AgeBand::Under14, |birth| age_band(birth, today))
    }

    /// A volunteer's birth date as the age rules read it: exact when the ID carries one,
    /// else the last day of the birth month (the youngest they could be); `None` when
    /// neither can be read.
    pub(crate) fn birth_date_of(&self, v: &StoredVolunteer) -> Option<chrono::NaiveDate> {
        let today = self.now().with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
        let exact = self
            .vault()
            .open(PiiField::IdNumber, &v.id_number_sealed)
            .ok()
            .and_then(|plain| IdNumber::parse(v.id_type, &plain, today).ok())
            .and_then(|n| n.birth_date());
        exact.or_else(|| latest_birth_date(&v.birth_month))
    }

    /// Binds the volunteer to a new device, at most once per cool-down, audited.
    pub async fn rebind_device(&self, volunteer_id: i64, device_id: &str) -> Result<(), CoreError> {
        crate::identity::validate_device_id(Some(device_id))?;
        let v = self
            .store()
            .get_volunteer(volunteer_id)
            .await?
            .ok_or_else(|| CoreError::refused(ErrorCode::Unauthenticated, "志愿者不存在"))?;
        if v.device_id.as_deref() == Some(device_id) {
            return Ok(());
        }
        let now = self.now();
        if let Some(bound_at) = v.device_bound_at {
            let allowed_from = bound_at + self.settings().device_rebind_cooldown;
            if now < allowed_from {
                return Err(CoreError::refused(
                    ErrorCode::DeviceRebindTooSoon,
                    format!(
                        "更换设备过于频繁，请于 {} 之后再试",
                        crate::activity::to_shanghai(allowed_from).format("%m月%d日 %H:%M")
                    ),
                ));
            }
        }
        let audit = AuditEvent {
            at: now,
            actor_kind: "volunteer".into(),
            actor_id: Some(volunteer_id),
            action: "device_rebound".into(),
            subject_kind: "volunteer".into(),
            subject_id: Some(volunteer_id),
            detail: serde_json::json!({ "from": v.device_id, "to": device_id }),
        };
        self.store().rebind_device(volunteer_id, device_id, &audit).await?;
        self.forget_scan_permission(volunteer_id).await;
        Ok(())
    }

    /// The staff id of someone who may look at a volunteer: administrators, and
    /// civil-affairs officers of a region where the volunteer has served (an accepted scan
    /// at an activity of an organisation there). To other officers the volunteer does not
    /// exist (`not_found`); anyone else is `forbidden`.
    pub(crate) async fn require_volunteer_overseer(&self, by: &Principal, volunteer_id: i64) -> Result<i64, CoreError> {
        match by {
            Principal::Staff { id, role: StaffRole::Administrator, .. } => Ok(*id),
            Principal::Staff { id, role: StaffRole::Officer, .. } => {
                let region = self.officer_region(*id).await?;
                let served = self.store().volunteer_service_regions(volunteer_id).await?;
                if served.iter().any(|r| crate::identity::region_covers(&region, r)) {
                    Ok(*id)
                } else {
                    Err(CoreError::refused(ErrorCode::NotFound, "志愿者不存在"))
                }
            }
            _ => Err(CoreError::code(ErrorCode::Forbidden)),
        }
    }

    /// A volunteer as staff see them: numbers masked. Administrators, and officers of a
    /// region where the volunteer has served.
    pub async fn volunteer_for_staff(&self, by: &Principal, volunteer_id: i64) -> Result<VolunteerProfile, CoreError> {
        self.require_volunteer_overseer(by, volunteer_id).await?;
        let data = self.my_data(volunteer_id).await?;
        Ok(self.masked(data.volunteer))
    }

    /// A volunteer's personal data in clear, for staff: the read is written to the audit
    /// log first, and nothing is shown if it cannot be. Only on a session that stepped up
    /// recently (`session`: its token as presented; see [`crate::step_up`]), so a session
    /// left open, or a token copied from it, cannot page through people's numbers.
    pub async fn reveal_personal_data(
        &self,
        by: &Principal,
        session: &str,
        volunteer_id: i64,
    ) -> Result<VolunteerProfile, CoreError> {
        let staff_id = self.require_volunteer_overseer(by, volunteer_id).await?;
        self.verified(by, session).await?;
        let data = self.my_data(volunteer_id).await?;
        self.store()
            .add_audit(&AuditEvent {
                at: self.now(),
                actor_kind: "staff".into(),
                actor_id: Some(staff_id),
                action: "personal_data_read".into(),
                subject_kind: "volunteer".into(),
                subject_id: Some(volunteer_id),
                detail: serde_json::json!({ "fields": ["id_number", "phone"] }),
            })
            .await?;
        Ok(data.volunteer)
    }

    /// The audit log about a volunteer: every staff read of their numbers in clear, device
    /// changes, corrections (administrators, and officers where the volunteer served).
    pub async fn volunteer_audit(&self, by: &Principal, volunteer_id: i64) -> Result<Vec<AuditEvent>, CoreError> {
        self.require_volunteer_overseer(by, volunteer_id).await?;
        self.store().audit_events("volunteer", volunteer_id).await
    }

    /// One page of the volunteers who served in a civil-affairs officer's region, masked,
    /// by volunteer number: those whose number starts with `number` (digits, possibly
    /// none), after the number `after` (the previous page's last). The next page's cursor
    /// comes with it while there is more.
    pub async fn volunteers_served_in_region(
        &self,
        by: &Principal,
        number: &str,
        after: Option<&str>,
    ) -> Result<RegionVolunteers, CoreError> {
        let Principal::Staff { id, role: StaffRole::Officer, .. } = by else {
            return Err(CoreError::code(ErrorCode::Forbidden));
        };
        let region = self.officer_region(*id).await?;
        if number.len() > 12 || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CoreError::refused(ErrorCode::InvalidParameter, "志愿者编号只含数字，最多 12 位"));
        }
        // As `region_covers` reads a region: a province (530000) covers every code starting
        // 53, a city (530100) every one starting 5301, a district only itself.
        let prefix = if region.ends_with("0000") {
            &region[..2]
        } else if region.ends_with("00") {
            &region[..4]
        } else {
            &region
        };
        let mut ids = self
            .store()
            .volunteers_served_in(prefix, number, after.unwrap_or_default(), REGION_VOLUNTEERS_PAGE + 1)
            .await?;
        let more = ids.len() > REGION_VOLUNTEERS_PAGE as usize;
        ids.truncate(REGION_VOLUNTEERS_PAGE as usize);
        let mut volunteers = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(stored) = self.store().get_volunteer(id).await? {
                volunteers.push(self.profile(&stored, false)?);
            }
        }
        let next = if more { volunteers.last().map(|v| v.volunteer_number.clone()) } else { None };
        Ok(RegionVolunteers { volunteers, next })
    }

    /// Drops a volunteer's cached scan permission here and in the shared cache (again a
    /// moment later, to beat a racing reload).
    pub(crate) async fn forget_scan_permission(&self, volunteer_id: i64) {
        self.forget_permission_once(volunteer_id).await;
        let this = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(SECOND_FORGET_AFTER).await;
            this.forget_permission_once(volunteer_id).await;
        });
    }

    async fn forget_permission_once(&self, volunteer_id: i64) {
        self.inner().permissions.forget(&*self.inner().cache, &volunteer_id).await;
    }
}
