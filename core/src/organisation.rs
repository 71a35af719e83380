//! Recording organisations' approval (云南省志愿服务记录实施办法, point 1): an organisation
//! applies (申报) to its region's civil-affairs department, which checks it; the level
//! above approves it (the provincial Youth League committee for university groups);
//! approved organisations are listed publicly. Revoking the
//! recording qualification (撤销记录资格) stops new recording at once and keeps history.

use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::guards::require_administrator;
use crate::identity::{
    Agency, NewOrganisation, Organisation, OrganisationKind, OrganisationStatus, Principal, Staff, StaffRole,
    parent_region, region_covers,
};

/// Why an organisation's qualification is revoked.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    /// The reason, 1–500 characters (e.g. 弄虚作假).
    pub reason: String,
}

impl Hourmark {
    /// An officer's region and body; anyone else is `forbidden`.
    pub(crate) async fn officer(&self, staff_id: i64) -> Result<(String, Agency), CoreError> {
        let staff = self.store().get_staff(staff_id).await?.filter(|s| s.role == StaffRole::Officer);
        match staff {
            Some(Staff { region_code: Some(region), agency, .. }) => {
                Ok((region, agency.unwrap_or(Agency::CivilAffairs)))
            }
            _ => Err(CoreError::code(ErrorCode::Forbidden)),
        }
    }

    /// A civil-affairs officer's region; anyone else (a Youth League officer too) is
    /// `forbidden`. Civil affairs oversees volunteers and their records.
    pub(crate) async fn officer_region(&self, staff_id: i64) -> Result<String, CoreError> {
        match self.officer(staff_id).await? {
            (region, Agency::CivilAffairs) => Ok(region),
            (_, Agency::YouthLeague) => Err(CoreError::refused(ErrorCode::Forbidden, "此操作由民政部门办理")),
        }
    }

    async fn officer_of(&self, by: &Principal) -> Result<(i64, String, Agency), CoreError> {
        match by {
            Principal::Staff { id, role: StaffRole::Officer, .. } => {
                let (region, agency) = self.officer(*id).await?;
                Ok((*id, region, agency))
            }
            _ => Err(CoreError::code(ErrorCode::Forbidden)),
        }
    }

    pub(crate) async fn civil_affairs_officer_of(&self, by: &Principal) -> Result<(i64, String), CoreError> {
        match self.officer_of(by).await? {
            (id, region, Agency::CivilAffairs) => Ok((id, region)),
            _ => Err(CoreError::refused(ErrorCode::Forbidden, "此操作由民政部门办理")),
        }
    }

    /// An application from an organisation (no account needed).
    pub async fn apply_organisation(&self, new: NewOrganisation) -> Result<Organisation, CoreError> {
        let new = new.validate()?;
        self.store().create_organisation(&new, OrganisationStatus::Applied, self.now()).await
    }

    /// The approved organisations: the public list.
    pub async fn approved_organisations(&self) -> Result<Vec<Organisation>, CoreError> {
        self.store().list_organisations(Some(OrganisationStatus::Approved)).await
    }

    async fn organisation_in_scope(&self, region: &str, agency: Agency, id: i64) -> Result<Organisation, CoreError> {
        let org = self.store().get_organisation(id).await?;
        // An organisation outside the officer's region (or, for the Youth League, one that
        // is not a university group) is as good as unknown to them.
        org.filter(|o| region_covers(region, &o.region_code))
            .filter(|o| agency == Agency::CivilAffairs || o.kind == OrganisationKind::University)
            .ok_or_else(|| CoreError::refused(ErrorCode::NotFound, "没有这个组织"))
    }

    async fn transition(
        &self,
        staff_id: i64,
        org: &Organisation,
        from: &[OrganisationStatus],
        to: OrganisationStatus,
        reason: Option<&str>,
    ) -> Result<Organisation, CoreError> {
        self.store().change_organisation_status(org.id, from, to, staff_id, reason, self.now()).await?.ok_or_else(
            || {
                CoreError::refused(
                    ErrorCode::OrganisationStatusConflict,
                    format!("该组织当前为 {}，不能进行此操作", org.status.as_str()),
                )
            },
        )
    }

    /// The region's department checks an application.
    pub async fn check_organisation(&self, by: &Principal, id: i64) -> Result<Organisation, CoreError> {
        let (staff_id, region) = self.civil_affairs_officer_of(by).await?;
        let org = self.organisation_in_scope(&region, Agency::CivilAffairs, id).await?;
        if org.region_code != region {
            return Err(CoreError::refused(ErrorCode::Forbidden, "应由组织所在地的民政部门审核"));
        }
        self.transition(staff_id, &org, &[OrganisationStatus::Applied], OrganisationStatus::Checked, None).await
    }

    /// Approves a checked application: the civil-affairs department one level above, or
    /// for a university group the provincial Youth League committee.
    pub async fn approve_organisation(&self, by: &Principal, id: i64) -> Result<Organisation, CoreError> {
        let (staff_id, region, agency) = self.officer_of(by).await?;
        let org = self.organisation_in_scope(&region, agency, id).await?;
        let approver = match org.kind {
            OrganisationKind::General => (parent_region(&org.region_code), Agency::CivilAffairs),
            OrganisationKind::University => (Some(format!("{}0000", &org.region_code[..2])), Agency::YouthLeague),
        };
        if approver != (Some(region), agency) {
            return Err(CoreError::refused(ErrorCode::Forbidden, "应由上一级民政部门（高校志愿组织由省级共青团）批准"));
        }
        let approved =
            self.transition(staff_id, &org, &[OrganisationStatus::Checked], OrganisationStatus::Approved, None).await?;
        // Activities created while it applied were cached as not approved.
        for activity_id in self.store().activity_ids_of(org.id).await? {
            self.forget_activity(activity_id).await;
        }
        Ok(approved)
    }

    /// Revokes an organisation's recording qualification: its activities stop taking scans
    /// at once (their cached snapshots are dropped); history stays.
    pub async fn revoke_organisation(
        &self,
        by: &Principal,
        id: i64,
        revocation: Revocation,
    ) -> Result<Organisation, CoreError> {
        let reason = &crate::identity::bounded_text(&revocation.reason, 500, "reason")?;
        let (staff_id, region) = self.civil_affairs_officer_of(by).await?;
        let org = self.organisation_in_scope(&region, Agency::CivilAffairs, id).await?;
        let from = [OrganisationStatus::Applied, OrganisationStatus::Checked, OrganisationStatus::Approved];
        let revoked = self.transition(staff_id, &org, &from, OrganisationStatus::Revoked, Some(reason)).await?;
        for activity_id in self.store().activity_ids_of(org.id).await? {
            self.forget_activity(activity_id).await;
        }
        Ok(revoked)
    }
}

impl Hourmark {
    /// Creates an organisation (administrators only), audited. In production it is an
    /// application made on the organisation's behalf, checked and approved like any other:
    /// the chain is the only way to the right to record. A development installation keeps
    /// the shortcut that approves it at once (first sessions and tests rely on it), and the
    /// audit log says it skipped the chain.
    pub async fn create_organisation(&self, by: &Principal, new: NewOrganisation) -> Result<Organisation, CoreError> {
        use crate::identity::OrganisationStatus;
        let admin = require_administrator(by)?;
        let new = new.validate()?;
        let (status, action, installation, reason) = if self.inner().settings.production {
            (OrganisationStatus::Applied, "organisation_applied_for", "production", "管理员代为申报，须经审核和批准")
        } else {
            (
                OrganisationStatus::Approved,
                "organisation_approved_without_chain",
                "development",
                "开发环境：未经申报、审核和批准，直接批准",
            )
        };
        let audit = crate::audit::AuditEvent {
            at: self.now(),
            actor_kind: "staff".into(),
            actor_id: Some(admin),
            action: action.into(),
            subject_kind: "organisation".into(),
            subject_id: None,
            detail: serde_json::json!({
                "installation": installation, "reason": reason, "status": status.as_str(),
                "name": new.name, "region_code": new.region_code, "kind": new.kind.as_str(),
            }),
        };
        self.inner().store.create_organisation_audited(&new, status, admin, reason, &audit).await
    }

    /// Lists organisations: all for administrators; their region's for officers (only
    /// university groups for the Youth League); their own for organisation staff.
    pub async fn list_organisations(&self, by: &Principal) -> Result<Vec<Organisation>, CoreError> {
        match by {
            Principal::Staff { role: StaffRole::Administrator, .. } => {
                self.inner().store.list_organisations(None).await
            }
            Principal::Staff { id, role: StaffRole::Officer, .. } => {
                let (region, agency) = self.officer(*id).await?;
                let all = self.inner().store.list_organisations(None).await?;
                Ok(all
                    .into_iter()
                    .filter(|o| crate::identity::region_covers(&region, &o.region_code))
                    .filter(|o| {
                        agency == crate::identity::Agency::CivilAffairs
                            || o.kind == crate::identity::OrganisationKind::University
                    })
                    .collect())
            }
            Principal::Staff { organisation_id: Some(id), .. } => {
                Ok(self.inner().store.get_organisation(*id).await?.into_iter().collect())
            }
            _ => Err(CoreError::code(ErrorCode::Forbidden)),
        }
    }
}
