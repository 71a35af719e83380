//! Asking for a certificate: what a scope holds, where it is routed, and the requests
//! waiting for an issuer.

use super::*;
use crate::hourmark::Hourmark;

impl Hourmark {
    /// The certificate settings (signing key, verification URL).
    pub fn certificate_settings(&self) -> &CertificateSettings {
        &self.inner().settings.certificates
    }

    /// A volunteer's confirmed service in a scope, with each day's organisation id.
    pub(super) async fn confirmed_services(
        &self,
        volunteer_id: i64,
        scope: &CertificateScope,
    ) -> Result<Vec<(i64, CertificateService)>, CoreError> {
        let rows = self.store().confirmed_register_entries(volunteer_id).await?;
        Ok(services_from(&rows)?.into_iter().filter(|(org, s)| scope.holds(*org, s.day)).collect())
    }

    /// Where the service of a scope was recorded: the organisation if only one, and the
    /// region covering them all. `certificate_nothing_confirmed` without any.
    pub(super) async fn certificate_route(
        &self,
        services: &[(i64, CertificateService)],
    ) -> Result<(Option<i64>, String), CoreError> {
        if services.is_empty() {
            return Err(CoreError::refused(
                ErrorCode::CertificateNothingConfirmed,
                "所选范围内没有经民政部门确认的服务时长（记录在公示、上报确认后方可出具证明）",
            ));
        }
        let mut organisations: Vec<i64> = services.iter().map(|(o, _)| *o).collect();
        organisations.sort_unstable();
        organisations.dedup();
        let mut regions = Vec::new();
        for id in &organisations {
            let organisation =
                self.store().get_organisation(*id).await?.ok_or_else(|| {
                    CoreError::Internal(format!("organisation {id} is in the register but not stored"))
                })?;
            regions.push(organisation.region_code);
        }
        let single = (organisations.len() == 1).then(|| organisations[0]);
        Ok((single, covering_region(&regions).unwrap_or_else(|| "000000".to_owned())))
    }

    /// A volunteer asks for a certificate. Refused (`certificate_nothing_confirmed`) when
    /// the scope holds no confirmed minutes.
    pub async fn ask_for_certificate(
        &self,
        by: &Principal,
        ask: CertificateAsk,
    ) -> Result<CertificateRequest, CoreError> {
        let Principal::Volunteer { id: volunteer_id } = by else {
            return Err(CoreError::code(ErrorCode::Forbidden));
        };
        if let (Some(from), Some(to)) = (ask.from, ask.to)
            && from > to
        {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "from 不能晚于 to"));
        }
        if let Some(org) = ask.organisation_id
            && self.store().get_organisation(org).await?.is_none()
        {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "organisation_id 不存在"));
        }
        let scope = CertificateScope { organisation_id: ask.organisation_id, from: ask.from, to: ask.to };
        let services = self.confirmed_services(*volunteer_id, &scope).await?;
        let (route_organisation_id, route_region) = self.certificate_route(&services).await?;
        let new = NewCertificateRequest {
            volunteer_id: *volunteer_id,
            scope,
            route_organisation_id,
            route_region,
            at: self.now(),
        };
        self.store().add_certificate_request(&new).await
    }

    /// A volunteer's requests, newest first.
    pub async fn my_certificate_requests(&self, volunteer_id: i64) -> Result<Vec<CertificateRequest>, CoreError> {
        self.store().certificate_requests_of(volunteer_id).await
    }

    /// Pending requests the caller may issue: a recorder's organisation's, or those in a
    /// civil-affairs officer's region; each with who asked and the confirmed service its
    /// scope holds now (what issuing would print).
    pub async fn pending_certificate_requests(
        &self,
        by: &Principal,
    ) -> Result<Vec<PendingCertificateRequest>, CoreError> {
        let pending = self.store().pending_certificate_requests().await?;
        let mine: Vec<CertificateRequest> = match by {
            Principal::Staff { role: StaffRole::Recorder, organisation_id: Some(org), .. } => {
                pending.into_iter().filter(|r| r.route_organisation_id == Some(*org)).collect()
            }
            Principal::Staff { id, role: StaffRole::Officer, .. } => {
                let region = self.officer_region(*id).await?;
                pending.into_iter().filter(|r| region_covers(&region, &r.route_region)).collect()
            }
            _ => return Err(CoreError::code(ErrorCode::Forbidden)),
        };
        let mut desk = Vec::with_capacity(mine.len());
        for request in mine {
            let volunteer = self.store().get_volunteer(request.volunteer_id).await?.ok_or_else(|| {
                CoreError::Internal(format!("certificate request {} names a volunteer not stored", request.id))
            })?;
            let services = self.confirmed_services(request.volunteer_id, &request.scope).await?;
            desk.push(PendingCertificateRequest {
                volunteer_number: volunteer.volunteer_number,
                volunteer_name: volunteer.name,
                confirmed_minutes: services.iter().map(|(_, s)| s.minutes).sum(),
                service_days: services.len(),
                request,
            });
        }
        Ok(desk)
    }

    /// Declines a pending request, with a reason the volunteer reads: whoever could
    /// issue it (a qualified recorder of the organisation, or the civil-affairs
    /// department of a covering region). Audited.
    pub async fn decline_certificate_request(
        &self,
        by: &Principal,
        request_id: i64,
        decline: CertificateDecline,
    ) -> Result<CertificateRequest, CoreError> {
        if !matches!(by, Principal::Staff { role: StaffRole::Recorder | StaffRole::Officer, .. }) {
            return Err(CoreError::code(ErrorCode::Forbidden));
        }
        let request =
            self.store().certificate_request(request_id).await?.ok_or_else(|| CoreError::code(ErrorCode::NotFound))?;
        let route = (request.route_organisation_id, request.route_region.clone());
        let issuer = self.certificate_issuer(by, &route).await?;
        request.status.require_pending()?;
        let reason = crate::text::clean(&decline.reason, 500, "reason", crate::text::Lines::Many)?;
        let staff_id = match issuer {
            Issuer::Recorder { staff_id, .. } | Issuer::Officer { staff_id, .. } => staff_id,
        };
        let now = self.now();
        let audit = AuditEvent {
            at: now,
            actor_kind: "staff".into(),
            actor_id: Some(staff_id),
            action: "certificate_request_declined".into(),
            subject_kind: "volunteer".into(),
            subject_id: Some(request.volunteer_id),
            detail: serde_json::json!({ "request_id": request.id, "reason": reason }),
        };
        match self.store().decline_certificate_request(request.id, &reason, staff_id, now, &audit).await? {
            Some(declined) => {
                self.notify_hours(crate::notification::HoursNotice::CertificateDeclined {
                    volunteer_id: declined.volunteer_id,
                    request_id: declined.id,
                    reason,
                })
                .await;
                Ok(declined)
            }
            // Issued or declined meanwhile by someone else.
            None => {
                let now_stored = self
                    .store()
                    .certificate_request(request.id)
                    .await?
                    .ok_or_else(|| CoreError::code(ErrorCode::NotFound))?;
                now_stored.status.require_pending()?;
                Err(CoreError::Internal("a pending certificate request could not be declined".into()))
            }
        }
    }
}
