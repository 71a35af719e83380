//! Issuing, reading, revoking and verifying certificates.

use super::*;
use crate::hourmark::Hourmark;

impl Hourmark {
    /// Who may issue for this service: a qualified recorder of the one organisation that
    /// recorded it all, or a civil-affairs officer whose region covers every organisation.
    pub(super) async fn certificate_issuer(
        &self,
        by: &Principal,
        route: &(Option<i64>, String),
    ) -> Result<Issuer, CoreError> {
        match by {
            Principal::Staff { role: StaffRole::Recorder, .. } => {
                let Some(org) = route.0 else {
                    return Err(CoreError::refused(
                        ErrorCode::Forbidden,
                        "服务记录来自多个组织，由区县志愿服务主管部门（民政）出具证明",
                    ));
                };
                let staff_id = self.require_recorder_of(by, org).await?;
                Ok(Issuer::Recorder { staff_id, organisation_id: org })
            }
            Principal::Staff { id, role: StaffRole::Officer, .. } => {
                let region = self.officer_region(*id).await?;
                if !region_covers(&region, &route.1) {
                    return Err(CoreError::refused(ErrorCode::Forbidden, "服务记录不在本部门辖区内"));
                }
                Ok(Issuer::Officer { staff_id: *id, region })
            }
            _ => Err(CoreError::code(ErrorCode::Forbidden)),
        }
    }

    /// Issues the certificate a volunteer asked for: reads their confirmed service again,
    /// numbers, signs and stores it. Audited.
    pub async fn issue_certificate(
        &self,
        by: &Principal,
        request_id: i64,
        issue: CertificateIssue,
    ) -> Result<CertificateView, CoreError> {
        if !matches!(by, Principal::Staff { role: StaffRole::Recorder | StaffRole::Officer, .. }) {
            return Err(CoreError::code(ErrorCode::Forbidden));
        }
        let request =
            self.store().certificate_request(request_id).await?.ok_or_else(|| CoreError::code(ErrorCode::NotFound))?;
        let services = self.confirmed_services(request.volunteer_id, &request.scope).await?;
        let route = self.certificate_route(&services).await?;
        let issuer = self.certificate_issuer(by, &route).await?;
        request.status.require_pending()?;
        let handler = crate::text::clean(&issue.handler, 50, "handler", crate::text::Lines::One)?;
        let contact = contact_text(&issue.contact)?;
        let (issuer_content, staff_id, issuer_organisation_id, issuer_region) = match &issuer {
            Issuer::Recorder { staff_id, organisation_id } => {
                let organisation = self
                    .store()
                    .get_organisation(*organisation_id)
                    .await?
                    .ok_or_else(|| CoreError::code(ErrorCode::NotFound))?;
                let content = CertificateIssuer {
                    kind: "organisation".into(),
                    name: organisation.name,
                    reference: organisation_id.to_string(),
                };
                (content, *staff_id, Some(*organisation_id), None)
            }
            Issuer::Officer { staff_id, region } => {
                let Some(department) = issue.department.as_deref() else {
                    return Err(CoreError::refused(
                        ErrorCode::InvalidBody,
                        "department 必填：出具证明的部门名称，如 昆明市五华区民政局",
                    ));
                };
                let name = crate::text::clean(department, 80, "department", crate::text::Lines::One)?;
                let content = CertificateIssuer { kind: "department".into(), name, reference: region.clone() };
                (content, *staff_id, None, Some(region.clone()))
            }
        };
        let volunteer = self.masked(self.my_data(request.volunteer_id).await?.volunteer);
        let stars = crate::stars::stars_held(&self.store().star_applications_of(request.volunteer_id).await?);
        let now = self.now();
        let issued_on = today(now);
        let sequence = self.store().next_certificate_sequence(issued_on.year()).await?;
        let number = format!("HM{}{:06}", issued_on.year(), sequence);
        let signer = &self.certificate_settings().signer;
        let services: Vec<CertificateService> = services.into_iter().map(|(_, s)| s).collect();
        let total_minutes = services.iter().map(|s| s.minutes).sum();
        let content = CertificateContent {
            number: number.clone(),
            issued_on,
            volunteer_name: volunteer.name,
            id_type: id_type_label(volunteer.id_type).to_owned(),
            id_number: volunteer.id_number,
            volunteer_number: volunteer.volunteer_number,
            scope: request.scope.clone(),
            services,
            total_minutes,
            stars,
            issuer: issuer_content,
            handler,
            contact,
            key_id: signer.key_id().to_owned(),
        };
        let canonical = serde_json::to_string(&content).map_err(|e| CoreError::Internal(e.to_string()))?;
        let stored = StoredCertificate {
            number: number.clone(),
            request_id,
            volunteer_id: request.volunteer_id,
            signature: signer.sign(&canonical),
            content: canonical,
            key_id: signer.key_id().to_owned(),
            total_minutes,
            issuer_organisation_id,
            issuer_region,
            issued_by: staff_id,
            issued_at: now,
            revoked_at: None,
            revoke_reason: None,
        };
        let audit = AuditEvent {
            at: now,
            actor_kind: "staff".into(),
            actor_id: Some(staff_id),
            action: "certificate_issued".into(),
            subject_kind: "volunteer".into(),
            subject_id: Some(request.volunteer_id),
            detail: serde_json::json!({ "request_id": request_id, "number": number, "total_minutes": total_minutes }),
        };
        if !self.store().issue_certificate(&stored, &audit).await? {
            return Err(CoreError::code(ErrorCode::CertificateRequestIssued));
        }
        self.notify_hours(crate::notification::HoursNotice::CertificateIssued {
            volunteer_id: request.volunteer_id,
            request_id,
            number,
            minutes: total_minutes,
        })
        .await;
        self.certificate_view(&stored)
    }

    fn certificate_view(&self, stored: &StoredCertificate) -> Result<CertificateView, CoreError> {
        Ok(CertificateView {
            content: stored.parsed()?,
            signature: stored.signature.clone(),
            verify_url: self.verify_url(&stored.number),
            revoke_reason: stored.revoke_reason.clone(),
        })
    }

    /// The verification URL of a number.
    pub fn verify_url(&self, number: &str) -> String {
        format!("{}{number}", self.certificate_settings().verify_base_url)
    }

    /// A certificate for its volunteer (others' numbers are `not_found`).
    pub async fn my_certificate(&self, volunteer_id: i64, number: &str) -> Result<StoredCertificate, CoreError> {
        self.store()
            .certificate(number)
            .await?
            .filter(|c| c.volunteer_id == volunteer_id)
            .ok_or_else(|| CoreError::code(ErrorCode::NotFound))
    }

    /// A volunteer's certificates, newest first.
    pub async fn my_certificates(&self, volunteer_id: i64) -> Result<Vec<CertificateView>, CoreError> {
        let stored = self.store().certificates_of(volunteer_id).await?;
        stored.iter().map(|c| self.certificate_view(c)).collect()
    }

    /// A certificate for the issuer side: a recorder of the issuing organisation, or a
    /// civil-affairs officer whose region covers the issuer (the organisation's region or
    /// the issuing department's).
    pub async fn issued_certificate(&self, by: &Principal, number: &str) -> Result<StoredCertificate, CoreError> {
        if !matches!(by, Principal::Staff { role: StaffRole::Recorder | StaffRole::Officer, .. }) {
            return Err(CoreError::code(ErrorCode::Forbidden));
        }
        let certificate =
            self.store().certificate(number).await?.ok_or_else(|| CoreError::code(ErrorCode::NotFound))?;
        let region = match (&certificate.issuer_organisation_id, &certificate.issuer_region) {
            (Some(org), _) => self.store().get_organisation(*org).await?.map(|o| o.region_code),
            (None, Some(region)) => Some(region.clone()),
            _ => None,
        };
        match by {
            Principal::Staff { role: StaffRole::Recorder, organisation_id: Some(org), .. }
                if certificate.issuer_organisation_id == Some(*org) =>
            {
                self.require_qualified_recorder(by).await?;
                Ok(certificate)
            }
            Principal::Staff { id, role: StaffRole::Officer, .. } => {
                let officer = self.officer_region(*id).await?;
                if region.is_some_and(|r| region_covers(&officer, &r)) {
                    Ok(certificate)
                } else {
                    Err(CoreError::code(ErrorCode::NotFound))
                }
            }
            Principal::Staff { role: StaffRole::Recorder, .. } => Err(CoreError::code(ErrorCode::NotFound)),
            _ => Err(CoreError::code(ErrorCode::Forbidden)),
        }
    }

    /// The issuer's view of a certificate.
    pub async fn issued_certificate_view(&self, by: &Principal, number: &str) -> Result<CertificateView, CoreError> {
        let stored = self.issued_certificate(by, number).await?;
        self.certificate_view(&stored)
    }

    /// Revokes a certificate with a reason (the issuer side). Audited.
    pub async fn revoke_certificate(
        &self,
        by: &Principal,
        number: &str,
        revocation: CertificateRevocation,
    ) -> Result<CertificateView, CoreError> {
        let certificate = self.issued_certificate(by, number).await?;
        let Principal::Staff { id: staff_id, .. } = by else {
            return Err(CoreError::code(ErrorCode::Forbidden));
        };
        let reason = crate::text::clean(&revocation.reason, 500, "reason", crate::text::Lines::Many)?;
        if certificate.revoked_at.is_some() {
            return Err(CoreError::code(ErrorCode::CertificateRevoked));
        }
        let now = self.now();
        let audit = AuditEvent {
            at: now,
            actor_kind: "staff".into(),
            actor_id: Some(*staff_id),
            action: "certificate_revoked".into(),
            subject_kind: "volunteer".into(),
            subject_id: Some(certificate.volunteer_id),
            detail: serde_json::json!({ "number": number, "reason": reason }),
        };
        let revoked = self
            .store()
            .revoke_certificate(number, *staff_id, &reason, now, &audit)
            .await?
            .ok_or_else(|| CoreError::code(ErrorCode::CertificateRevoked))?;
        self.certificate_view(&revoked)
    }

    /// What anyone may learn of a certificate number: its state and masked content. A
    /// number that was never issued (or is malformed) is `not_found`.
    pub async fn verify_certificate(&self, number: &str) -> Result<CertificateVerification, CoreError> {
        let well_formed =
            number.len() == 12 && number.starts_with("HM") && number[2..].chars().all(|c| c.is_ascii_digit());
        if !well_formed {
            return Err(CoreError::code(ErrorCode::NotFound));
        }
        let certificate =
            self.store().certificate(number).await?.ok_or_else(|| CoreError::code(ErrorCode::NotFound))?;
        let content = certificate.parsed()?;
        let public = self.certificate_settings().signer.pair.public_key().as_ref().to_vec();
        let signed_by_us = certificate.key_id != self.certificate_settings().signer.key_id
            || verify_signed(&certificate.signed_payload(), &public).is_ok();
        if !signed_by_us {
            // The stored content no longer matches its signature: say nothing about it.
            tracing::error!(number, "a stored certificate fails its signature check");
            return Err(CoreError::code(ErrorCode::NotFound));
        }
        let current: i64 = self
            .confirmed_services(certificate.volunteer_id, &content.scope)
            .await?
            .iter()
            .map(|(_, s)| s.minutes)
            .sum();
        let (state, current_minutes) = if certificate.revoked_at.is_some() {
            (CertificateState::Revoked, None)
        } else if current < content.total_minutes {
            (CertificateState::Superseded, Some(current))
        } else {
            (CertificateState::Valid, None)
        };
        Ok(CertificateVerification {
            state,
            number: content.number,
            issued_on: content.issued_on,
            volunteer_name: crate::identity::id_number::mask_name(&content.volunteer_name),
            id_type: content.id_type,
            id_number: content.id_number,
            volunteer_number: content.volunteer_number,
            services: content.services,
            total_minutes: content.total_minutes,
            total_hours: hours_text(content.total_minutes),
            stars: content.stars,
            issuer: content.issuer.name,
            key_id: content.key_id,
            revoke_reason: certificate.revoke_reason,
            current_minutes,
            current_hours: current_minutes.map(hours_text),
        })
    }
}
