//! Organisations' seal images, printed on the certificates they issue.

use super::*;
use crate::hourmark::Hourmark;

/// The largest seal image accepted, in bytes.
pub const SEAL_MAX_BYTES: usize = 256 * 1024;

impl Hourmark {
    /// Sets an organisation's seal image (its staff other than leaders, or an
    /// administrator): a PNG of at most [`SEAL_MAX_BYTES`], 64 to 2000 pixels a side.
    /// Audited.
    pub async fn set_organisation_seal(
        &self,
        by: &Principal,
        organisation_id: i64,
        png: &[u8],
    ) -> Result<(), CoreError> {
        let staff_id = crate::identity::guards::require_manager_of(by, organisation_id)?;
        if self.store().get_organisation(organisation_id).await?.is_none() {
            return Err(CoreError::code(ErrorCode::NotFound));
        }
        if png.len() > SEAL_MAX_BYTES {
            return Err(CoreError::refused(
                ErrorCode::SealInvalid,
                format!("印章图片不能超过 {} KiB", SEAL_MAX_BYTES / 1024),
            ));
        }
        let image = image::load_from_memory_with_format(png, image::ImageFormat::Png)
            .map_err(|_| CoreError::refused(ErrorCode::SealInvalid, "不是有效的 PNG 图片"))?;
        let sides = 64..=2000;
        if !sides.contains(&image.width()) || !sides.contains(&image.height()) {
            return Err(CoreError::refused(ErrorCode::SealInvalid, "印章图片边长须在 64 至 2000 像素之间"));
        }
        let now = self.now();
        let audit = AuditEvent {
            at: now,
            actor_kind: "staff".into(),
            actor_id: Some(staff_id),
            action: "organisation_seal_set".into(),
            subject_kind: "organisation".into(),
            subject_id: Some(organisation_id),
            detail: serde_json::json!({ "bytes": png.len(), "width": image.width(), "height": image.height() }),
        };
        self.store().put_organisation_seal(organisation_id, png, staff_id, now, &audit).await?;
        Ok(())
    }

    /// The seal to print on a certificate: its issuing organisation's, if uploaded.
    pub async fn certificate_seal(&self, certificate: &StoredCertificate) -> Result<Option<Vec<u8>>, CoreError> {
        match certificate.issuer_organisation_id {
            Some(org) => Ok(self.store().organisation_seal(org).await?),
            None => Ok(None),
        }
    }
}
