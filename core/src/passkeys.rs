//! Staff sign-in with passkeys (WebAuthn): enrolment through single-use invites, sign-in,
//! more passkeys per person, and removal.
//!
//! Staff have no passwords. An administrator creates a staff member and hands them an
//! invite link; opening it enrols a passkey and signs them in. Later sign-ins name the
//! login and answer the passkey's challenge.
//!
//! Every ceremony is two calls. `start` keeps webauthn-rs's state server-side in the cache
//! (shared through Redis when several instances run) under a random id for a few minutes;
//! `finish` *takes* it (get-and-delete), so the state dies with the first finish, whether
//! it succeeds or not, and a replayed answer finds nothing to match.
//!
//! An invite is spent in the same transaction that stores the passkey, so two enrolments
//! racing on one link leave exactly one passkey. Sign-in does not reveal whether a login
//! exists: an unknown login gets a challenge listing credential ids derived from the
//! login (stable, so repeated probes see the same ones), and then fails like a wrong key.
//!
//! ```text
//! enrolment (invite)                          sign-in
//! browser ── start {invite} ──► server        browser ── start {login} ──► server
//!            server: invite valid? ─ no: invite_invalid   server: known login? ─ no: decoy
//!            cache[ceremony] = state (6 min)              cache[ceremony] = state (6 min)
//! browser ◄─ {ceremony_id, options} ──        browser ◄─ {ceremony_id, options} ──
//! authenticator: create credential            authenticator: sign challenge
//! browser ── finish {ceremony_id, cred} ─►    browser ── finish {ceremony_id, answer} ─►
//!            take cache[ceremony] (GETDEL) ─ gone: ceremony_invalid (replays end here)
//!            verify (origin, RP id, challenge; counter on sign-in) ─ bad: passkey_rejected
//!            one transaction: passkey stored,   counter moved on, session token issued
//!              invite spent, session issued
//! browser ◄─ token (API) / HttpOnly cookie + CSRF token (console) ──
//! ```

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use webauthn_rs::prelude::{
    CreationChallengeResponse, Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, RequestChallengeResponse, Url, Webauthn, WebauthnBuilder,
};

use crate::error::{CoreError, ErrorCode};
use crate::identity::{Staff, TokenHash};

mod use_cases;

/// How long a started ceremony waits for its finish: the authenticator's own timeout
/// (five minutes in webauthn-rs) and a margin for a slow network.
const CEREMONY_TTL: Duration = Duration::minutes(6);

/// Passkey settings: who we are to authenticators, and where staff open invites.
#[derive(Debug, Clone)]
pub struct PasskeySettings {
    /// The relying party (webauthn-rs checks origins and the RP id hash).
    pub webauthn: Arc<Webauthn>,
    /// The relying-party id (a domain).
    pub rp_id: String,
    /// The origin of the staff web pages, e.g. `https://hm.example.cn`; invite links
    /// point at `<origin>/staff/enrol`.
    pub staff_origin: Url,
    /// How long an invite link stays valid.
    pub invite_ttl: Duration,
}

impl PasskeySettings {
    /// Settings for staff pages served from `origin`. The relying-party id is `rp_id`, or
    /// the origin's host. Browsers allow passkeys only on HTTPS origins and `localhost`.
    pub fn new(origin: &str, rp_id: Option<&str>, invite_ttl: Duration) -> Result<Self, CoreError> {
        let staff_origin =
            Url::parse(origin).map_err(|e| CoreError::Internal(format!("the staff origin is not a URL: {e}")))?;
        let host = staff_origin
            .host_str()
            .ok_or_else(|| CoreError::Internal("the staff origin has no host".into()))?
            .to_owned();
        let rp_id = rp_id.unwrap_or(&host);
        let webauthn =
            WebauthnBuilder::new(rp_id, &staff_origin).and_then(|b| b.rp_name("Hourmark").build()).map_err(|e| {
                CoreError::Internal(format!(
                    "passkeys cannot work with origin {origin} and relying party {rp_id} ({e}); the origin must be a \
                     domain name (not an IP address) ending in the relying party id"
                ))
            })?;
        Ok(Self { webauthn: Arc::new(webauthn), rp_id: rp_id.to_owned(), staff_origin, invite_ttl })
    }

    fn invite_url(&self, token: &str) -> String {
        // The token rides in the fragment: browsers never send it, so it stays out of logs.
        let origin = self.staff_origin.as_str().trim_end_matches('/');
        format!("{origin}/staff/enrol#invite={token}")
    }
}

impl Default for PasskeySettings {
    fn default() -> Self {
        Self::new("http://localhost:8080", None, Duration::hours(72)).expect("the default origin is valid")
    }
}

/// An invite to enrol a passkey. The token is shown once, here.
#[derive(Clone, Serialize, ToSchema)]
pub struct Invite {
    /// The single-use token (also inside `url`).
    pub token: String,
    /// The link to hand over.
    pub url: String,
    /// When it stops working.
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for Invite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invite").field("token", &"<redacted>").field("expires_at", &self.expires_at).finish()
    }
}

/// A staff member and the invite that lets them enrol their first passkey.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StaffWithInvite {
    /// Who.
    pub staff: Staff,
    /// Their invite.
    pub invite: Invite,
}

/// The first call of an enrolment: pass `options` to `navigator.credentials.create()`,
/// then send the answer with `ceremony_id` to the matching finish.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EnrolmentStart {
    /// Names the held state; valid once, for a few minutes.
    pub ceremony_id: String,
    /// WebAuthn creation options (`publicKey`, binary fields base64url).
    #[schema(value_type = Object)]
    pub options: CreationChallengeResponse,
}

/// The first call of a sign-in: pass `options` to `navigator.credentials.get()`, then send
/// the answer with `ceremony_id` to the sign-in finish.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SignInStart {
    /// Names the held state; valid once, for a few minutes.
    pub ceremony_id: String,
    /// WebAuthn request options (`publicKey`, binary fields base64url).
    #[schema(value_type = Object)]
    pub options: RequestChallengeResponse,
}

/// One of a staff member's passkeys, as they see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PasskeySummary {
    /// Its id (for removal).
    pub id: Uuid,
    /// The name given at enrolment ("工作手机").
    pub label: String,
    /// When it was enrolled.
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub created_at: DateTime<Utc>,
    /// When it last signed in.
    #[serde(
        serialize_with = "crate::activity::shanghai_time::option::serialize",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A passkey as the store keeps it.
#[derive(Debug, Clone)]
pub struct StoredPasskey {
    /// Its id.
    pub id: Uuid,
    /// Whose.
    pub staff_id: i64,
    /// The credential id the authenticator names it by.
    pub credential_id: Vec<u8>,
    /// webauthn-rs's `Passkey`, as JSON.
    pub credential: String,
    /// A name the owner gave it.
    pub label: String,
    /// Enrolled when.
    pub created_at: DateTime<Utc>,
    /// Last used when.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl StoredPasskey {
    fn passkey(&self) -> Result<Passkey, CoreError> {
        serde_json::from_str(&self.credential).map_err(|_| CoreError::Internal("a stored passkey is corrupt".into()))
    }

    fn summary(&self) -> PasskeySummary {
        PasskeySummary {
            id: self.id,
            label: self.label.clone(),
            created_at: self.created_at,
            last_used_at: self.last_used_at,
        }
    }
}

/// A new invite's stored half.
#[derive(Debug, Clone, Copy)]
pub struct NewInvite {
    /// SHA-256 of the token.
    pub hash: TokenHash,
    /// Who issued it (none for the bootstrap administrator's own).
    pub created_by: Option<i64>,
    /// Issued when.
    pub created_at: DateTime<Utc>,
    /// Valid until.
    pub expires_at: DateTime<Utc>,
}

/// A staff member's sign-in identity.
#[derive(Debug, Clone)]
pub struct StaffAccount {
    /// Who.
    pub staff: Staff,
    /// The user handle passkeys carry.
    pub webauthn_user_id: Uuid,
}

/// What removing a passkey did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasskeyRemoval {
    /// Gone.
    Removed,
    /// No such passkey of this staff member.
    NotFound,
    /// It is their only one: kept.
    Last,
}

/// The body of a finish call.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FinishEnrolment {
    /// From the start call.
    pub ceremony_id: String,
    /// `navigator.credentials.create()`'s answer, binary fields base64url.
    #[schema(value_type = Object)]
    pub credential: RegisterPublicKeyCredential,
    /// A name for this passkey ("工作手机"); default "通行密钥".
    #[serde(default)]
    pub label: Option<String>,
}

impl std::fmt::Debug for FinishEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FinishEnrolment").field("ceremony_id", &"<redacted>").field("label", &self.label).finish()
    }
}

/// The body of a sign-in finish.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FinishSignIn {
    /// From the start call.
    pub ceremony_id: String,
    /// `navigator.credentials.get()`'s answer, binary fields base64url.
    #[schema(value_type = Object)]
    pub credential: PublicKeyCredential,
}

impl std::fmt::Debug for FinishSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FinishSignIn").field("ceremony_id", &"<redacted>").finish_non_exhaustive()
    }
}

/// Ceremony state held between start and finish.
#[derive(Serialize, Deserialize)]
enum Ceremony {
    /// Enrolling a passkey: through an invite (`invite` is its hash), or signed in.
    Enrol { staff_id: i64, invite: Option<TokenHash>, state: PasskeyRegistration },
    /// Signing in; `None` for a login that does not exist.
    SignIn { account: Option<(i64, PasskeyAuthentication)> },
    /// A signed-in staff member proving presence again ([`crate::step_up`]).
    StepUp { staff_id: i64, state: PasskeyAuthentication },
}

/// The held form: the ceremony and when it stops being valid (checked against the
/// injected clock, whatever the cache's own expiry does).
#[derive(Serialize, Deserialize)]
struct Held {
    ceremony: Ceremony,
    expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.ceremony {
            Ceremony::Enrol { .. } => "enrol",
            Ceremony::SignIn { .. } => "sign_in",
            Ceremony::StepUp { .. } => "step_up",
        };
        f.debug_struct("Held").field("kind", &kind).field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}

/// Checks a login: 3–32 of lower-case ASCII letters, digits, `.`, `_` and `-`, starting
/// with a letter. Upper case is folded, so `Zhang.San` and `zhang.san` are one login.
pub fn validate_login(login: &str) -> Result<String, CoreError> {
    let login = login.trim().to_ascii_lowercase();
    let ok = (3..=32).contains(&login.len())
        && login.starts_with(|c: char| c.is_ascii_lowercase())
        && login.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(login)
    } else {
        Err(CoreError::refused(
            ErrorCode::InvalidBody,
            "login 须为 3 至 32 位小写字母、数字、点、下划线或连字符，以字母开头",
        ))
    }
}

fn validate_label(label: Option<&str>) -> Result<String, CoreError> {
    let label = label.map(str::trim).filter(|l| !l.is_empty()).unwrap_or("通行密钥");
    crate::identity::line_text(label, 40, "label")
}

fn rejected(e: impl std::fmt::Display) -> CoreError {
    tracing::info!(error = %e, "a passkey answer did not verify");
    CoreError::code(ErrorCode::PasskeyRejected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_are_folded_and_checked() {
        assert_eq!(validate_login(" Zhang.San ").expect("valid"), "zhang.san");
        assert_eq!(validate_login("abc").expect("valid"), "abc");
        for bad in ["ab", "1abc", "zhang san", "张三", "a".repeat(33).as_str(), "-abc", ""] {
            assert!(validate_login(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn labels_default_and_are_bounded() {
        assert_eq!(validate_label(None).expect("default"), "通行密钥");
        assert_eq!(validate_label(Some("  ")).expect("default"), "通行密钥");
        assert_eq!(validate_label(Some(" 工作手机 ")).expect("valid"), "工作手机");
        assert!(validate_label(Some(&"长".repeat(41))).is_err());
        assert!(validate_label(Some("a\u{7}b")).is_err());
    }

    #[test]
    fn an_ip_address_origin_is_refused_with_a_reason() {
        let error = PasskeySettings::new("http://127.0.0.1:8080", None, Duration::hours(1)).expect_err("IP origin");
        assert!(error.to_string().contains("domain name"), "{error}");
        let settings = PasskeySettings::new("https://hm.example.cn", Some("example.cn"), Duration::hours(1))
            .expect("a parent domain is a valid relying party");
        assert_eq!(settings.invite_url("hm_x"), "https://hm.example.cn/staff/enrol#invite=hm_x");
    }
}
