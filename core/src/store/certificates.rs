//! Certificates' storage: a narrow trait, implemented once for both engines in
//! `shared/certificates.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::audit::AuditEvent;
use crate::certificates::{CertificateRequest, NewCertificateRequest, StoredCertificate};
use crate::publicity::RegisterRow;

/// What certificates keep.
#[async_trait]
pub trait CertificateStore: Send + Sync {
    /// A volunteer's register entries in batches civil affairs confirmed (reversals
    /// included), in register order.
    async fn confirmed_register_entries(&self, volunteer_id: i64) -> StoreResult<Vec<RegisterRow>>;
    /// Stores a request.
    async fn add_certificate_request(&self, new: &NewCertificateRequest) -> StoreResult<CertificateRequest>;
    /// One request.
    async fn certificate_request(&self, id: i64) -> StoreResult<Option<CertificateRequest>>;
    /// A volunteer's requests, newest first.
    async fn certificate_requests_of(&self, volunteer_id: i64) -> StoreResult<Vec<CertificateRequest>>;
    /// Every pending request, oldest first.
    async fn pending_certificate_requests(&self) -> StoreResult<Vec<CertificateRequest>>;
    /// Declines a pending request with its audit entry, in one transaction; `None`
    /// (nothing written) if it was no longer pending.
    async fn decline_certificate_request(
        &self,
        id: i64,
        reason: &str,
        by: i64,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<CertificateRequest>>;
    /// The next number of a year's sequence (from 1; a number taken by an issue that then
    /// fails is not reused).
    async fn next_certificate_sequence(&self, year: i32) -> StoreResult<i64>;
    /// Stores a certificate, marks its request issued and writes the audit entry, in one
    /// transaction; `false` (nothing stored) if the request was no longer pending.
    async fn issue_certificate(&self, certificate: &StoredCertificate, audit: &AuditEvent) -> StoreResult<bool>;
    /// One certificate.
    async fn certificate(&self, number: &str) -> StoreResult<Option<StoredCertificate>>;
    /// A volunteer's certificates, newest first.
    async fn certificates_of(&self, volunteer_id: i64) -> StoreResult<Vec<StoredCertificate>>;
    /// Revokes a certificate with its audit entry; `None` if it was revoked already.
    async fn revoke_certificate(
        &self,
        number: &str,
        by: i64,
        reason: &str,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<StoredCertificate>>;
    /// An organisation's seal image (PNG), if uploaded.
    async fn organisation_seal(&self, organisation_id: i64) -> StoreResult<Option<Vec<u8>>>;
    /// Sets an organisation's seal image with its audit entry.
    async fn put_organisation_seal(
        &self,
        organisation_id: i64,
        png: &[u8],
        by: i64,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
}
