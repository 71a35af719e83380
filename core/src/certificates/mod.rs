//! Service-record certificates (志愿服务记录证明, DOMAIN.md point 9): a volunteer asks for
//! a certificate of their service (all of it, a date range, one organisation, or both); a
//! qualified recorder of the organisation that recorded it issues it, or the civil-affairs
//! volunteer department of a region covering every organisation in it. A certificate
//! counts only register minutes civil affairs confirmed (entries in confirmed report
//! batches, reversals included), netted per service day.
//!
//! ```text
//! volunteer            Hourmark                              recorder / officer
//!   | POST request ------> scope checked: confirmed minutes?
//!   |                      routed (organisation, region) <----- GET pending
//!   |                                                    <----- POST issue (handler, contact)
//!   |                      services read again, numbered HM<year><seq>,
//!   |                      canonical JSON signed (Ed25519), stored, audited
//!   | GET pdf <----------- rendered from the stored content   anyone: GET /verify/<number>
//! ```
//!
//! The signature covers the canonical content exactly as stored, so a verifier needs only
//! the content, the signature and the public key ([`verify_signed`]). A certificate is
//! never edited: it is revoked (with a reason), and a later correction that lowers the
//! confirmed minutes of its scope shows it as superseded, with the new figure.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use data_encoding::BASE64;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::identity::{Principal, StaffRole, region_covers};
use crate::publicity::{RegisterKind, RegisterRow};

/// The signing key of certificates and its id (printed in each certificate).
#[derive(Clone)]
pub struct CertificateSigner {
    key_id: String,
    pair: Arc<Ed25519KeyPair>,
}

impl std::fmt::Debug for CertificateSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateSigner").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

impl CertificateSigner {
    /// From base64: a PKCS#8 Ed25519 key, or a 32-byte seed.
    pub fn from_base64(key_id: &str, key: &str) -> Result<Self, String> {
        let bytes = BASE64.decode(key.trim().as_bytes()).map_err(|_| "not base64".to_owned())?;
        let pair = if bytes.len() == 32 {
            Ed25519KeyPair::from_seed_unchecked(&bytes).map_err(|_| "not an Ed25519 seed".to_owned())?
        } else {
            Ed25519KeyPair::from_pkcs8_maybe_unchecked(&bytes)
                .map_err(|_| "neither a 32-byte seed nor a PKCS#8 Ed25519 key".to_owned())?
        };
        Self::with(key_id, pair)
    }

    /// A new random key (certificates signed with it cannot be verified after a restart).
    pub fn ephemeral(key_id: &str) -> Self {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("the system random source works");
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("a generated key parses");
        Self::with(key_id, pair).expect("a valid key id")
    }

    fn with(key_id: &str, pair: Ed25519KeyPair) -> Result<Self, String> {
        let ok = !key_id.is_empty()
            && key_id.len() <= 32
            && key_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err("the key id must be 1 to 32 letters, digits, '-' or '_'".to_owned());
        }
        Ok(Self { key_id: key_id.to_owned(), pair: Arc::new(pair) })
    }

    /// The key id.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The raw 32-byte public key, base64: what `hourmark verify-certificate` needs.
    pub fn public_key_base64(&self) -> String {
        BASE64.encode(self.pair.public_key().as_ref())
    }

    fn sign(&self, content: &str) -> String {
        BASE64.encode(self.pair.sign(content.as_bytes()).as_ref())
    }
}

/// What certificates need from the configuration.
#[derive(Debug, Clone)]
pub struct CertificateSettings {
    /// Signs new certificates and verifies them.
    pub signer: CertificateSigner,
    /// The CJK font PDFs are rendered with.
    pub font_path: std::path::PathBuf,
    /// The prefix of the verification URL, ending in `/verify/`; the number follows.
    pub verify_base_url: String,
}

impl Default for CertificateSettings {
    fn default() -> Self {
        Self {
            signer: CertificateSigner::ephemeral("ephemeral"),
            font_path: "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc".into(),
            verify_base_url: "http://127.0.0.1:8080/verify/".to_owned(),
        }
    }
}

/// A volunteer's request: every field optional; together they narrow the scope.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateAsk {
    /// Only service recorded by this organisation.
    #[serde(default)]
    pub organisation_id: Option<i64>,
    /// Only service on or after this day.
    #[serde(default)]
    pub from: Option<NaiveDate>,
    /// Only service on or before this day.
    #[serde(default)]
    pub to: Option<NaiveDate>,
}

/// What a certificate covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CertificateScope {
    /// One organisation's service only.
    pub organisation_id: Option<i64>,
    /// From this day (inclusive).
    pub from: Option<NaiveDate>,
    /// To this day (inclusive).
    pub to: Option<NaiveDate>,
}

impl CertificateScope {
    fn holds(&self, organisation_id: i64, day: NaiveDate) -> bool {
        self.organisation_id.is_none_or(|o| o == organisation_id)
            && self.from.is_none_or(|f| day >= f)
            && self.to.is_none_or(|t| day <= t)
    }
}

/// Whether a request is waiting or has its certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CertificateRequestStatus {
    /// Waiting for the issuer.
    Pending,
    /// Issued; the certificate number is on the request.
    Issued,
    /// Declined by the issuer, with the reason on the request.
    Declined,
}

impl CertificateRequestStatus {
    /// Refuses to act on a request that is no longer waiting.
    pub(crate) fn require_pending(self) -> Result<(), CoreError> {
        match self {
            Self::Pending => Ok(()),
            Self::Issued => Err(CoreError::code(ErrorCode::CertificateRequestIssued)),
            Self::Declined => Err(CoreError::code(ErrorCode::CertificateRequestDeclined)),
        }
    }
}

crate::stored_names!(CertificateRequestStatus {
    Pending => "pending",
    Issued => "issued",
    Declined => "declined",
});

/// A volunteer's request for a certificate.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CertificateRequest {
    /// Its id.
    pub id: i64,
    /// Who asked.
    pub volunteer_id: i64,
    /// What it covers.
    pub scope: CertificateScope,
    /// A recorder of this organisation may issue it (all its service was recorded there).
    pub route_organisation_id: Option<i64>,
    /// The civil-affairs department of this region (or above) may issue it.
    pub route_region: String,
    /// Pending, issued or declined.
    pub status: CertificateRequestStatus,
    /// The certificate, once issued.
    pub certificate_number: Option<String>,
    /// When it was asked for.
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub created_at: DateTime<Utc>,
    /// Why the issuer declined it, once declined.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decline_reason: Option<String>,
    /// When it was declined (+08:00).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::activity::shanghai_time::option::serialize"
    )]
    #[schema(value_type = Option<String>)]
    pub declined_at: Option<DateTime<Utc>>,
}

/// A pending request as its issuer sees it: who asked and what the certificate would say
/// today, so the desk can check it before issuing without a second look-up.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PendingCertificateRequest {
    /// The request.
    #[serde(flatten)]
    pub request: CertificateRequest,
    /// The volunteer's public number.
    pub volunteer_number: String,
    /// The volunteer's name (as the certificate will print it).
    pub volunteer_name: String,
    /// Confirmed minutes in the request's scope now, net of corrections.
    pub confirmed_minutes: i64,
    /// Days of service in the scope now.
    pub service_days: usize,
}

/// Why an issuer declines a request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateDecline {
    /// 1–500 characters, shown to the volunteer.
    pub reason: String,
}

/// A request to store.
#[derive(Debug, Clone)]
pub struct NewCertificateRequest {
    /// Who asks.
    pub volunteer_id: i64,
    /// What it covers.
    pub scope: CertificateScope,
    /// See [`CertificateRequest::route_organisation_id`].
    pub route_organisation_id: Option<i64>,
    /// See [`CertificateRequest::route_region`].
    pub route_region: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// The issuer's part: who handles it and how to reach them.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateIssue {
    /// The handler (经办人).
    pub handler: String,
    /// The issuer's contact telephone (联系电话).
    pub contact: String,
    /// The department's name (e.g. 昆明市五华区民政局), required when a civil-affairs
    /// officer issues; a recorder issues in the organisation's name.
    #[serde(default)]
    pub department: Option<String>,
}

/// A revocation's reason.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateRevocation {
    /// Why (shown on the verification page).
    pub reason: String,
}

/// One day of service on a certificate: net confirmed minutes of one activity on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateService {
    /// The day served.
    pub day: NaiveDate,
    /// The activity (project).
    pub activity_name: String,
    /// The recording organisation.
    pub organisation_name: String,
    /// Confirmed minutes, net of corrections.
    pub minutes: i64,
}

/// Who issued a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateIssuer {
    /// `organisation` or `department`.
    pub kind: String,
    /// The organisation's or department's name.
    pub name: String,
    /// The organisation's id, or the department's region code.
    pub reference: String,
}

/// A certificate's content, as national guidance lists it (民发〔2015〕149号). Its JSON,
/// in this field order, is what the signature covers. Personal numbers are masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateContent {
    /// The certificate number, `HM` + year + six digits.
    pub number: String,
    /// The issue date (Beijing time).
    pub issued_on: NaiveDate,
    /// The volunteer's name.
    pub volunteer_name: String,
    /// The ID document's kind, in Chinese (居民身份证…).
    pub id_type: String,
    /// The ID number, masked.
    pub id_number: String,
    /// The volunteer number.
    pub volunteer_number: String,
    /// What the certificate covers.
    pub scope: CertificateScope,
    /// Each day served, oldest first.
    pub services: Vec<CertificateService>,
    /// The sum of the services' minutes.
    pub total_minutes: i64,
    /// Stars held when issued.
    pub stars: u8,
    /// The issuer.
    pub issuer: CertificateIssuer,
    /// The handler (经办人).
    pub handler: String,
    /// The issuer's contact telephone.
    pub contact: String,
    /// The signing key's id.
    pub key_id: String,
}

impl CertificateContent {
    /// Total hours, one decimal (`3.0`).
    pub fn total_hours(&self) -> String {
        hours_text(self.total_minutes)
    }
}

/// Minutes as hours with one decimal.
pub fn hours_text(minutes: i64) -> String {
    format!("{}.{}", minutes / 60, (minutes % 60) * 10 / 60)
}

/// A certificate as stored: its canonical content, signature and state.
#[derive(Debug, Clone)]
pub struct StoredCertificate {
    /// The number.
    pub number: String,
    /// The request it answers.
    pub request_id: i64,
    /// Whose.
    pub volunteer_id: i64,
    /// Canonical JSON of [`CertificateContent`].
    pub content: String,
    /// Base64 Ed25519 signature over `content`.
    pub signature: String,
    /// The signing key's id.
    pub key_id: String,
    /// The total when issued.
    pub total_minutes: i64,
    /// The issuing organisation, if a recorder issued it.
    pub issuer_organisation_id: Option<i64>,
    /// The issuing department's region, if an officer issued it.
    pub issuer_region: Option<String>,
    /// Who issued it.
    pub issued_by: i64,
    /// When.
    pub issued_at: DateTime<Utc>,
    /// When revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Why.
    pub revoke_reason: Option<String>,
}

impl StoredCertificate {
    /// The content, parsed.
    pub fn parsed(&self) -> Result<CertificateContent, CoreError> {
        serde_json::from_str(&self.content).map_err(|e| CoreError::Internal(format!("certificate content: {e}")))
    }

    /// The signed payload a PDF carries: what `verify_signed` checks offline.
    pub fn signed_payload(&self) -> SignedCertificate {
        SignedCertificate {
            content: self.content.clone(),
            signature: self.signature.clone(),
            key_id: self.key_id.clone(),
        }
    }
}

/// Content, signature and key id, together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignedCertificate {
    /// Canonical JSON of the content.
    pub content: String,
    /// Base64 Ed25519 signature.
    pub signature: String,
    /// The key id.
    pub key_id: String,
}

/// Checks a signed certificate against a raw 32-byte Ed25519 public key: the signature
/// must cover the content byte for byte, and the content must parse.
pub fn verify_signed(signed: &SignedCertificate, public_key: &[u8]) -> Result<CertificateContent, String> {
    let signature = BASE64.decode(signed.signature.as_bytes()).map_err(|_| "signature is not base64".to_owned())?;
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(signed.content.as_bytes(), &signature)
        .map_err(|_| "the signature does not match the content".to_owned())?;
    let content: CertificateContent =
        serde_json::from_str(&signed.content).map_err(|e| format!("the content is not a certificate: {e}"))?;
    if content.key_id != signed.key_id {
        return Err("the key id inside the content differs from the one outside".to_owned());
    }
    Ok(content)
}

/// What the verification page says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CertificateState {
    /// Issued, signed, not revoked, and its hours still stand.
    Valid,
    /// Revoked by its issuer.
    Revoked,
    /// A correction since lowered the confirmed minutes of its scope.
    Superseded,
}

/// A certificate as anyone may see it: masked.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CertificateVerification {
    /// Valid, revoked or superseded.
    pub state: CertificateState,
    /// The number.
    pub number: String,
    /// The issue date.
    pub issued_on: NaiveDate,
    /// The volunteer's name, masked (张*三).
    pub volunteer_name: String,
    /// The ID document's kind.
    pub id_type: String,
    /// The ID number, masked.
    pub id_number: String,
    /// The volunteer number.
    pub volunteer_number: String,
    /// Each day served.
    pub services: Vec<CertificateService>,
    /// Total minutes on the certificate.
    pub total_minutes: i64,
    /// Total hours on the certificate (one decimal).
    pub total_hours: String,
    /// Stars when issued.
    pub stars: u8,
    /// The issuer's name.
    pub issuer: String,
    /// The signing key's id.
    pub key_id: String,
    /// Why it was revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoke_reason: Option<String>,
    /// When superseded: the confirmed minutes of its scope today.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_minutes: Option<i64>,
    /// When superseded: the same in hours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_hours: Option<String>,
}

/// A certificate as its volunteer or issuer sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CertificateView {
    /// The content as signed.
    pub content: CertificateContent,
    /// The signature (base64).
    pub signature: String,
    /// Where anyone can check it.
    pub verify_url: String,
    /// When revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoke_reason: Option<String>,
}

/// The confirmed service of a volunteer: net minutes per (organisation, activity, day),
/// with the names from the latest entry. Entries whose net is zero (reversed) drop out.
fn services_from(rows: &[RegisterRow]) -> Result<Vec<(i64, CertificateService)>, CoreError> {
    #[derive(Default)]
    struct Day {
        minutes: i64,
        activity_name: String,
        organisation_name: String,
    }
    let mut days: BTreeMap<(NaiveDate, i64, i64), Day> = BTreeMap::new();
    for row in rows {
        let content: serde_json::Value =
            serde_json::from_str(&row.content).map_err(|e| CoreError::Internal(format!("register content: {e}")))?;
        let entry = if row.kind == RegisterKind::Reversal { &content["entry"] } else { &content };
        let day = entry["day"]
            .as_str()
            .and_then(|d| d.parse::<NaiveDate>().ok())
            .ok_or_else(|| CoreError::Internal(format!("register entry {} has no day", row.seq)))?;
        let activity_id = entry["activity_id"].as_i64().unwrap_or_default();
        let slot = days.entry((day, row.organisation_id, activity_id)).or_default();
        slot.minutes += row.minutes;
        if row.kind != RegisterKind::Reversal || slot.activity_name.is_empty() {
            slot.activity_name = entry["activity_name"].as_str().unwrap_or_default().to_owned();
            slot.organisation_name = entry["organisation_name"].as_str().unwrap_or_default().to_owned();
        }
    }
    Ok(days
        .into_iter()
        .filter(|(_, d)| d.minutes > 0)
        .map(|((day, organisation_id, _), d)| {
            (
                organisation_id,
                CertificateService {
                    day,
                    activity_name: d.activity_name,
                    organisation_name: d.organisation_name,
                    minutes: d.minutes,
                },
            )
        })
        .collect())
}

/// The narrowest region covering all of `regions`: the county if one, its city, its
/// province, or `None` across provinces.
fn covering_region(regions: &[String]) -> Option<String> {
    let first = regions.first()?;
    for len in [6, 4, 2] {
        if first.len() >= len && regions.iter().all(|r| r.get(..len) == first.get(..len)) {
            return Some(format!("{:0<6}", &first[..len]));
        }
    }
    None
}

fn contact_text(contact: &str) -> Result<String, CoreError> {
    let contact = contact.trim();
    let digits = contact.chars().filter(char::is_ascii_digit).count();
    let shape = contact.chars().all(|c| c.is_ascii_digit() || matches!(c, '-' | ' ' | '+' | '(' | ')'));
    if !shape || !(5..=20).contains(&digits) || contact.len() > 32 {
        return Err(CoreError::refused(ErrorCode::InvalidBody, "contact 须为联系电话，如 0871-12345678"));
    }
    Ok(contact.to_owned())
}

fn id_type_label(id_type: crate::identity::id_number::IdType) -> &'static str {
    use crate::identity::id_number::IdType;
    match id_type {
        IdType::ResidentId => "居民身份证",
        IdType::Passport => "护照",
        IdType::HkMacaoPermit => "港澳居民来往内地通行证",
        IdType::TaiwanPermit => "台湾居民来往大陆通行证",
        IdType::ForeignPermanentResident => "外国人永久居留身份证",
    }
}

fn today(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&chrono_tz::Asia::Shanghai).date_naive()
}

/// Whom an issuer is, once checked.
enum Issuer {
    Recorder { staff_id: i64, organisation_id: i64 },
    Officer { staff_id: i64, region: String },
}

mod issue;
mod requests;
mod seal;

pub use seal::SEAL_MAX_BYTES;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_have_one_decimal() {
        assert_eq!(hours_text(180), "3.0");
        assert_eq!(hours_text(90), "1.5");
        assert_eq!(hours_text(59), "0.9");
    }

    #[test]
    fn the_covering_region_is_the_narrowest() {
        assert_eq!(covering_region(&["530102".into()]).as_deref(), Some("530102"));
        assert_eq!(covering_region(&["530102".into(), "530103".into()]).as_deref(), Some("530100"));
        assert_eq!(covering_region(&["530102".into(), "532301".into()]).as_deref(), Some("530000"));
        assert_eq!(covering_region(&["530102".into(), "110105".into()]), None);
    }

    #[test]
    fn a_signature_covers_every_byte() {
        let signer = CertificateSigner::ephemeral("t1");
        let content = CertificateContent {
            number: "HM2026000001".into(),
            issued_on: NaiveDate::from_ymd_opt(2026, 12, 1).expect("date"),
            volunteer_name: "张三".into(),
            id_type: "居民身份证".into(),
            id_number: "1****************X".into(),
            volunteer_number: "V1".into(),
            scope: CertificateScope { organisation_id: None, from: None, to: None },
            services: vec![],
            total_minutes: 180,
            stars: 0,
            issuer: CertificateIssuer { kind: "organisation".into(), name: "翠湖".into(), reference: "1".into() },
            handler: "李四".into(),
            contact: "0871-1234567".into(),
            key_id: "t1".into(),
        };
        let text = serde_json::to_string(&content).expect("json");
        let signed = SignedCertificate { signature: signer.sign(&text), content: text.clone(), key_id: "t1".into() };
        let public = BASE64.decode(signer.public_key_base64().as_bytes()).expect("base64");
        assert_eq!(verify_signed(&signed, &public).expect("valid"), content);
        let tampered = SignedCertificate { content: text.replace("180", "1800"), ..signed.clone() };
        assert!(verify_signed(&tampered, &public).is_err());
        let other = CertificateSigner::ephemeral("t1");
        let other_public = BASE64.decode(other.public_key_base64().as_bytes()).expect("base64");
        assert!(verify_signed(&signed, &other_public).is_err());
    }

    #[test]
    fn keys_load_from_a_seed_or_pkcs8() {
        let seed = BASE64.encode(&[7u8; 32]);
        let a = CertificateSigner::from_base64("k1", &seed).expect("seed");
        let b = CertificateSigner::from_base64("k1", &seed).expect("seed");
        assert_eq!(a.public_key_base64(), b.public_key_base64());
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("pkcs8");
        assert!(CertificateSigner::from_base64("k2", &BASE64.encode(pkcs8.as_ref())).is_ok());
        assert!(CertificateSigner::from_base64("k3", "bm90IGEga2V5").is_err());
        assert!(CertificateSigner::from_base64("bad id!", &seed).is_err());
    }
}
