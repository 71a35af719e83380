//! The use cases of staff (`impl Hourmark`), apart from its types and rules in the parent
//! module, which the store and the context import without importing these.

use super::*;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::guards::require_administrator;
use crate::identity::{BearerToken, Principal, StaffRole, validate_person_name};
use uuid::Uuid;

impl Hourmark {
    /// On an empty installation, issues the one-time token that creates the first
    /// administrator. Returns `None` once an administrator exists. Each start issues a new
    /// token (older unused ones keep working until an administrator exists).
    pub async fn issue_bootstrap_token(&self, preset: Option<&str>) -> Result<Option<String>, CoreError> {
        if self.inner().store.administrator_exists().await? {
            return Ok(None);
        }
        let token = match preset {
            Some(text) => BearerToken::from_presented(text).ok_or_else(|| {
                CoreError::Internal("the preset bootstrap token must look like hm_ and 43 base64url characters".into())
            })?,
            None => BearerToken::generate()?,
        };
        match self.inner().store.put_bootstrap_token(&token.hash(), self.now()).await {
            Ok(()) => {}
            // The same preset on a restart is already stored: that is fine.
            Err(CoreError::Storage(e)) if preset.is_some() && matches!(e, crate::store::StorageError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
        Ok(Some(token.expose().to_owned()))
    }

    /// Spends the bootstrap token and creates the first administrator, with the invite
    /// that enrols their first passkey (in the same transaction: a spent bootstrap token
    /// always leaves a way in).
    pub async fn redeem_bootstrap_token(
        &self,
        token: &str,
        name: &str,
        login: &str,
    ) -> Result<crate::passkeys::StaffWithInvite, CoreError> {
        let name = validate_person_name(name)?;
        let login = crate::passkeys::validate_login(login)?;
        let token =
            BearerToken::from_presented(token).ok_or_else(|| CoreError::code(ErrorCode::BootstrapTokenInvalid))?;
        let (invite, new_invite) = self.new_invite(None)?;
        let record = StaffRecord {
            name: &name,
            login: &login,
            role: StaffRole::Administrator,
            organisation_id: None,
            region_code: None,
            agency: None,
            qualification: None,
            webauthn_user_id: Uuid::new_v4(),
        };
        let staff = self
            .inner()
            .store
            .redeem_bootstrap_token(&token.hash(), &record, &new_invite)
            .await?
            .ok_or_else(|| CoreError::code(ErrorCode::BootstrapTokenInvalid))?;
        Ok(crate::passkeys::StaffWithInvite { staff, invite })
    }

    /// Creates a staff member and the invite that enrols their first passkey
    /// (administrators only). Handing over the invite link is how a staff member gets in.
    pub async fn create_staff(
        &self,
        by: &Principal,
        new: NewStaff,
    ) -> Result<crate::passkeys::StaffWithInvite, CoreError> {
        let admin = require_administrator(by)?;
        let name = validate_person_name(&new.name)?;
        let login = crate::passkeys::validate_login(&new.login)?;
        match (new.role, new.organisation_id) {
            (StaffRole::Organiser | StaffRole::Recorder | StaffRole::Leader, None) => {
                return Err(CoreError::refused(
                    ErrorCode::InvalidBody,
                    "组织人员、记录员和活动负责人须指定 organisation_id",
                ));
            }
            (StaffRole::Administrator | StaffRole::Officer, Some(_)) => {
                return Err(CoreError::refused(ErrorCode::InvalidBody, "管理员和民政工作人员不属于任何组织"));
            }
            (_, Some(id)) if self.inner().store.get_organisation(id).await?.is_none() => {
                return Err(CoreError::refused(ErrorCode::InvalidBody, "organisation_id 所指的组织不存在"));
            }
            _ => {}
        }
        let region = match (new.role, new.region_code.as_deref()) {
            (StaffRole::Officer, Some(code)) if crate::identity::is_region_code(code) => Some(code),
            (StaffRole::Officer, _) => {
                return Err(CoreError::refused(ErrorCode::InvalidBody, "民政工作人员须指定 6 位 region_code"));
            }
            (_, Some(_)) => return Err(CoreError::refused(ErrorCode::InvalidBody, "只有民政工作人员有 region_code")),
            (_, None) => None,
        };
        let agency = match (new.role, new.agency) {
            (StaffRole::Officer, agency) => Some(agency.unwrap_or(crate::identity::Agency::CivilAffairs)),
            (_, Some(_)) => {
                return Err(CoreError::refused(ErrorCode::InvalidBody, "只有民政和共青团工作人员有 agency"));
            }
            (_, None) => None,
        };
        let qualification = match (new.role, new.qualification) {
            (StaffRole::Recorder, Some(q)) => Some(crate::qualification::validate_certificate(q)?),
            (StaffRole::Recorder, None) => {
                return Err(CoreError::refused(ErrorCode::InvalidBody, "记录员须持证上岗：请填写 qualification"));
            }
            (_, Some(_)) => return Err(CoreError::refused(ErrorCode::InvalidBody, "只有记录员有 qualification")),
            (_, None) => None,
        };
        let (invite, new_invite) = self.new_invite(Some(admin))?;
        let record = StaffRecord {
            name: &name,
            login: &login,
            role: new.role,
            organisation_id: new.organisation_id,
            region_code: region,
            agency,
            qualification: qualification.as_ref(),
            webauthn_user_id: Uuid::new_v4(),
        };
        let staff = match self.inner().store.create_staff(&record, &new_invite, self.now()).await {
            Err(CoreError::Storage(crate::store::StorageError::Conflict(_))) => {
                return Err(CoreError::code(ErrorCode::LoginTaken));
            }
            other => other?,
        };
        Ok(crate::passkeys::StaffWithInvite { staff, invite })
    }

    /// The caller's own staff record.
    pub async fn staff_profile(&self, by: &Principal) -> Result<StaffProfile, CoreError> {
        let Principal::Staff { id, .. } = by else { return Err(CoreError::code(ErrorCode::Forbidden)) };
        let staff =
            self.inner().store.get_staff(*id).await?.ok_or_else(|| CoreError::code(ErrorCode::Unauthenticated))?;
        let today = self.now().with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
        let qualification_valid = staff.qualification.as_ref().map(|q| q.valid_on(today));
        let qualification_warning = staff.qualification.as_ref().and_then(|q| {
            let message = q.warning_on(today)?;
            Some(QualificationWarning { message, review_due_on: q.review_due_on, days_left: q.days_left(today) })
        });
        Ok(StaffProfile { staff, qualification_valid, qualification_warning })
    }

    /// The staff id of a recorder whose qualification is valid today: the gate for
    /// finalising and issuing. A lapsed recorder is `forbidden` here and may still read.
    pub async fn require_qualified_recorder(&self, by: &Principal) -> Result<i64, CoreError> {
        let profile = self.staff_profile(by).await?;
        match (profile.staff.role, profile.qualification_valid) {
            (StaffRole::Recorder, Some(true)) => Ok(profile.staff.id),
            (StaffRole::Recorder, _) => Err(CoreError::refused(ErrorCode::Forbidden, "记录员资格已过期，请完成年审")),
            _ => Err(CoreError::refused(ErrorCode::Forbidden, "只有持证记录员可以进行此操作")),
        }
    }
}
