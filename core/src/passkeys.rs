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

use crate::Hourmark;
use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::identity::staff::StaffWithToken;
use crate::identity::{BearerToken, Principal, Staff, TokenHash};
use crate::tokens::IssuedToken;

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

impl Hourmark {
    fn passkey_settings(&self) -> &PasskeySettings {
        &self.settings().passkeys
    }

    /// A new invite for `staff_id`: the token to hand over and the row to store.
    pub(crate) fn new_invite(&self, created_by: Option<i64>) -> Result<(Invite, NewInvite), CoreError> {
        let token = BearerToken::generate()?;
        let now = self.now();
        let expires_at = now + self.passkey_settings().invite_ttl;
        let invite = Invite {
            token: token.expose().to_owned(),
            url: self.passkey_settings().invite_url(token.expose()),
            expires_at,
        };
        Ok((invite, NewInvite { hash: token.hash(), created_by, created_at: now, expires_at }))
    }

    /// A fresh invite for an existing staff member who lost their passkeys
    /// (administrators). Earlier unused invites keep working until they expire.
    pub async fn reinvite_staff(&self, by: &Principal, staff_id: i64) -> Result<Invite, CoreError> {
        let admin = crate::identity::guards::require_administrator(by)?;
        if self.store().get_staff(staff_id).await?.is_none() {
            return Err(CoreError::code(ErrorCode::NotFound));
        }
        let (invite, new) = self.new_invite(Some(admin))?;
        let audit = AuditEvent {
            at: self.now(),
            actor_kind: "staff".into(),
            actor_id: Some(admin),
            action: "staff_invited".into(),
            subject_kind: "staff".into(),
            subject_id: Some(staff_id),
            detail: serde_json::json!({ "expires_at": invite.expires_at }),
        };
        self.store().add_invite(staff_id, &new, &audit).await?;
        Ok(invite)
    }

    async fn hold(&self, ceremony: Ceremony) -> Result<String, CoreError> {
        let mut id = [0u8; 16];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut id)
            .map_err(|_| CoreError::Internal("no randomness".into()))?;
        let id = data_encoding::BASE64URL_NOPAD.encode(&id);
        let held = Held { ceremony, expires_at: self.now() + CEREMONY_TTL };
        let bytes = serde_json::to_vec(&held).map_err(|e| CoreError::Internal(format!("ceremony state: {e}")))?;
        let ttl = CEREMONY_TTL.to_std().unwrap_or_default();
        self.cache().set(&format!("ceremony:{id}"), &bytes, ttl).await?;
        Ok(id)
    }

    /// Takes a held ceremony: it is gone afterwards, whatever happens next.
    async fn take(&self, ceremony_id: &str) -> Result<Ceremony, CoreError> {
        let invalid = || CoreError::code(ErrorCode::CeremonyInvalid);
        if ceremony_id.len() != 22 || data_encoding::BASE64URL_NOPAD.decode(ceremony_id.as_bytes()).is_err() {
            return Err(invalid());
        }
        let bytes = self.cache().take(&format!("ceremony:{ceremony_id}")).await?.ok_or_else(invalid)?;
        let held: Held = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        if held.expires_at <= self.now() {
            return Err(invalid());
        }
        Ok(held.ceremony)
    }

    async fn start_enrolment(&self, staff_id: i64, invite: Option<TokenHash>) -> Result<EnrolmentStart, CoreError> {
        let account =
            self.store().staff_account(staff_id).await?.ok_or_else(|| CoreError::code(ErrorCode::NotFound))?;
        let existing = self.store().passkeys(staff_id).await?;
        let exclude = existing.iter().map(|p| p.credential_id.clone()).collect::<Vec<_>>();
        let (options, state) = self
            .passkey_settings()
            .webauthn
            .start_passkey_registration(
                account.webauthn_user_id,
                &account.staff.login,
                &account.staff.name,
                Some(exclude).filter(|e| !e.is_empty()),
            )
            .map_err(|e| CoreError::Internal(format!("passkey registration: {e}")))?;
        let ceremony_id = self.hold(Ceremony::Enrol { staff_id, invite, state }).await?;
        Ok(EnrolmentStart { ceremony_id, options })
    }

    /// Starts enrolling a passkey through an invite link.
    pub async fn start_invited_enrolment(&self, invite: &str) -> Result<EnrolmentStart, CoreError> {
        let invalid = || CoreError::code(ErrorCode::InviteInvalid);
        let token = BearerToken::from_presented(invite).ok_or_else(invalid)?;
        let hash = token.hash();
        let staff_id = self.store().invited_staff(&hash, self.now()).await?.ok_or_else(invalid)?;
        self.start_enrolment(staff_id, Some(hash)).await
    }

    /// Finishes an invited enrolment: stores the passkey, spends the invite and signs in.
    pub async fn finish_invited_enrolment(&self, finish: FinishEnrolment) -> Result<StaffWithToken, CoreError> {
        let label = validate_label(finish.label.as_deref())?;
        let Ceremony::Enrol { staff_id, invite: Some(invite), state } = self.take(&finish.ceremony_id).await? else {
            return Err(CoreError::code(ErrorCode::CeremonyInvalid));
        };
        self.store_new_passkey(staff_id, Some(&invite), &state, &finish.credential, label).await?;
        let staff = self.store().get_staff(staff_id).await?.ok_or_else(|| CoreError::code(ErrorCode::NotFound))?;
        let token = self.sign_in_staff(&staff).await?;
        Ok(StaffWithToken { staff, token })
    }

    /// Starts adding another passkey for the signed-in staff member, on a session that
    /// stepped up recently (`session`: its token as presented; see [`crate::step_up`]).
    pub async fn start_passkey_addition(&self, by: &Principal, session: &str) -> Result<EnrolmentStart, CoreError> {
        let Principal::Staff { id, .. } = by else { return Err(CoreError::code(ErrorCode::Forbidden)) };
        self.verified(by, session).await?;
        self.start_enrolment(*id, None).await
    }

    /// Finishes adding a passkey. Only the staff member who started may finish.
    pub async fn finish_passkey_addition(
        &self,
        by: &Principal,
        session: &str,
        finish: FinishEnrolment,
    ) -> Result<PasskeySummary, CoreError> {
        let Principal::Staff { id, .. } = by else { return Err(CoreError::code(ErrorCode::Forbidden)) };
        self.verified(by, session).await?;
        let label = validate_label(finish.label.as_deref())?;
        match self.take(&finish.ceremony_id).await? {
            Ceremony::Enrol { staff_id, invite: None, state } if staff_id == *id => {
                self.store_new_passkey(staff_id, None, &state, &finish.credential, label).await
            }
            _ => Err(CoreError::code(ErrorCode::CeremonyInvalid)),
        }
    }

    async fn store_new_passkey(
        &self,
        staff_id: i64,
        invite: Option<&TokenHash>,
        state: &PasskeyRegistration,
        credential: &RegisterPublicKeyCredential,
        label: String,
    ) -> Result<PasskeySummary, CoreError> {
        let passkey =
            self.passkey_settings().webauthn.finish_passkey_registration(credential, state).map_err(rejected)?;
        let now = self.now();
        let stored = StoredPasskey {
            id: Uuid::new_v4(),
            staff_id,
            credential_id: passkey.cred_id().to_vec(),
            credential: serde_json::to_string(&passkey).map_err(|e| CoreError::Internal(format!("passkey: {e}")))?,
            label,
            created_at: now,
            last_used_at: None,
        };
        let audit = AuditEvent {
            at: now,
            actor_kind: "staff".into(),
            actor_id: Some(staff_id),
            action: "passkey_enrolled".into(),
            subject_kind: "staff".into(),
            subject_id: Some(staff_id),
            detail: serde_json::json!({ "passkey_id": stored.id, "label": stored.label, "via_invite": invite.is_some() }),
        };
        match self.store().add_passkey(&stored, invite, &audit).await {
            Ok(true) => Ok(stored.summary()),
            Ok(false) => Err(CoreError::code(ErrorCode::InviteInvalid)),
            Err(CoreError::Storage(crate::store::StorageError::Conflict(_))) => {
                Err(CoreError::code(ErrorCode::PasskeyExists))
            }
            Err(e) => Err(e),
        }
    }

    /// Starts signing in as `login`. Whether the login exists is not revealed.
    pub async fn start_sign_in(&self, login: &str) -> Result<SignInStart, CoreError> {
        let login = login.trim().to_ascii_lowercase();
        let account = match validate_login(&login) {
            Ok(login) => self.store().staff_account_by_login(&login).await?,
            Err(_) => None,
        };
        let passkeys = match &account {
            Some(account) => self.store().passkeys(account.staff.id).await?,
            None => Vec::new(),
        };
        let passkeys = passkeys.iter().map(StoredPasskey::passkey).collect::<Result<Vec<_>, _>>()?;
        let (options, ceremony) = match (account, passkeys.is_empty()) {
            (Some(account), false) => {
                let (options, state) = self
                    .passkey_settings()
                    .webauthn
                    .start_passkey_authentication(&passkeys)
                    .map_err(|e| CoreError::Internal(format!("passkey authentication: {e}")))?;
                (options, Ceremony::SignIn { account: Some((account.staff.id, state)) })
            }
            _ => (self.decoy_challenge(&login)?, Ceremony::SignIn { account: None }),
        };
        let ceremony_id = self.hold(ceremony).await?;
        Ok(SignInStart { ceremony_id, options })
    }

    /// The challenge an unknown login (or one with no passkey yet) gets: shaped like a
    /// real one, with credential ids derived from the login under a server secret.
    fn decoy_challenge(&self, login: &str) -> Result<RequestChallengeResponse, CoreError> {
        use webauthn_rs::fake::{FakePasskeyDistribution, WebauthnFakeCredentialGenerator};
        use webauthn_rs_proto::{AllowCredentials, PublicKeyCredentialRequestOptions, UserVerificationPolicy};
        let key = self.vault().derive_secret("passkey-decoy-credentials");
        let ids = WebauthnFakeCredentialGenerator::<FakePasskeyDistribution>::new(&key)
            .and_then(|g| g.generate(login.as_bytes()))
            .map_err(|e| CoreError::Internal(format!("decoy credentials: {e}")))?;
        let mut challenge = vec![0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut challenge)
            .map_err(|_| CoreError::Internal("no randomness".into()))?;
        Ok(RequestChallengeResponse {
            public_key: PublicKeyCredentialRequestOptions {
                challenge,
                timeout: Some(300_000),
                rp_id: self.passkey_settings().rp_id.clone(),
                allow_credentials: ids
                    .into_iter()
                    .map(|id| AllowCredentials { type_: "public-key".into(), id, transports: None })
                    .collect(),
                user_verification: UserVerificationPolicy::Required,
                hints: None,
                extensions: None,
            },
            mediation: None,
        })
    }

    /// Finishes signing in: a staff bearer token, and the passkey's counter moves on.
    pub async fn finish_sign_in(&self, finish: FinishSignIn) -> Result<StaffWithToken, CoreError> {
        let Ceremony::SignIn { account } = self.take(&finish.ceremony_id).await? else {
            return Err(CoreError::code(ErrorCode::CeremonyInvalid));
        };
        let Some((staff_id, state)) = account else { return Err(CoreError::code(ErrorCode::PasskeyRejected)) };
        self.verify_assertion(staff_id, &state, &finish.credential).await?;
        let staff =
            self.store().get_staff(staff_id).await?.ok_or_else(|| CoreError::code(ErrorCode::PasskeyRejected))?;
        let token = self.sign_in_staff(&staff).await?;
        Ok(StaffWithToken { staff, token })
    }

    /// A challenge over `staff_id`'s passkeys, for a step-up.
    pub(crate) async fn start_assertion(&self, staff_id: i64) -> Result<SignInStart, CoreError> {
        let passkeys = self.store().passkeys(staff_id).await?;
        let passkeys = passkeys.iter().map(StoredPasskey::passkey).collect::<Result<Vec<_>, _>>()?;
        if passkeys.is_empty() {
            return Err(CoreError::code(ErrorCode::NotFound));
        }
        let (options, state) = self
            .passkey_settings()
            .webauthn
            .start_passkey_authentication(&passkeys)
            .map_err(|e| CoreError::Internal(format!("passkey authentication: {e}")))?;
        let ceremony_id = self.hold(Ceremony::StepUp { staff_id, state }).await?;
        Ok(SignInStart { ceremony_id, options })
    }

    /// Checks a step-up's answer: the ceremony must be `staff_id`'s own.
    pub(crate) async fn finish_assertion(&self, staff_id: i64, finish: FinishSignIn) -> Result<(), CoreError> {
        match self.take(&finish.ceremony_id).await? {
            Ceremony::StepUp { staff_id: started_by, state } if started_by == staff_id => {
                self.verify_assertion(staff_id, &state, &finish.credential).await
            }
            _ => Err(CoreError::code(ErrorCode::CeremonyInvalid)),
        }
    }

    /// Verifies an assertion (user verification included: webauthn-rs requires it of
    /// passkeys) and moves the passkey's counter on.
    async fn verify_assertion(
        &self,
        staff_id: i64,
        state: &PasskeyAuthentication,
        credential: &PublicKeyCredential,
    ) -> Result<(), CoreError> {
        let result =
            self.passkey_settings().webauthn.finish_passkey_authentication(credential, state).map_err(rejected)?;
        let stored = self.store().passkeys(staff_id).await?;
        let used = stored
            .iter()
            .find(|p| p.credential_id.as_slice() == result.cred_id().as_slice())
            .ok_or_else(|| rejected("the passkey was removed during the ceremony"))?;
        let mut passkey = used.passkey()?;
        passkey.update_credential(&result);
        let credential = serde_json::to_string(&passkey).map_err(|e| CoreError::Internal(format!("passkey: {e}")))?;
        self.store().passkey_used(used.id, &credential, self.now()).await?;
        Ok(())
    }

    /// A new session for a staff member who has just answered a passkey challenge with
    /// user verification: fresh for [`crate::step_up`] from the start.
    async fn sign_in_staff(&self, staff: &Staff) -> Result<IssuedToken, CoreError> {
        let token =
            self.issue_token(crate::identity::guards::staff_principal(staff), self.settings().staff_token_ttl).await?;
        if let Some(presented) = BearerToken::from_presented(&token.access_token) {
            self.mark_verified(&presented.hash()).await?;
        }
        Ok(token)
    }

    /// The signed-in staff member's passkeys.
    pub async fn my_passkeys(&self, by: &Principal) -> Result<Vec<PasskeySummary>, CoreError> {
        let Principal::Staff { id, .. } = by else { return Err(CoreError::code(ErrorCode::Forbidden)) };
        Ok(self.store().passkeys(*id).await?.iter().map(StoredPasskey::summary).collect())
    }

    /// Removes one of the signed-in staff member's passkeys; never the last one. On a
    /// session that stepped up recently.
    pub async fn remove_passkey(&self, by: &Principal, session: &str, passkey_id: Uuid) -> Result<(), CoreError> {
        let Principal::Staff { id, .. } = by else { return Err(CoreError::code(ErrorCode::Forbidden)) };
        self.verified(by, session).await?;
        let audit = AuditEvent {
            at: self.now(),
            actor_kind: "staff".into(),
            actor_id: Some(*id),
            action: "passkey_removed".into(),
            subject_kind: "staff".into(),
            subject_id: Some(*id),
            detail: serde_json::json!({ "passkey_id": passkey_id }),
        };
        match self.store().remove_passkey(*id, passkey_id, false, &audit).await? {
            PasskeyRemoval::Removed => Ok(()),
            PasskeyRemoval::NotFound => Err(CoreError::code(ErrorCode::NotFound)),
            PasskeyRemoval::Last => Err(CoreError::code(ErrorCode::LastPasskey)),
        }
    }

    /// A staff member's passkeys (administrators): which one a lost phone held.
    pub async fn staff_passkeys(&self, by: &Principal, staff_id: i64) -> Result<Vec<PasskeySummary>, CoreError> {
        crate::identity::guards::require_administrator(by)?;
        if self.store().get_staff(staff_id).await?.is_none() {
            return Err(CoreError::code(ErrorCode::NotFound));
        }
        Ok(self.store().passkeys(staff_id).await?.iter().map(StoredPasskey::summary).collect())
    }

    /// Removes a staff member's passkey (administrators), for a phone lost or stolen.
    ///
    /// Someone else's last passkey may go: that is the lost-phone case, and the person is
    /// re-invited to enrol a new one. An administrator's own last passkey never goes
    /// (`last_passkey`, as on `/me`): they could lock themselves, perhaps the only
    /// administrator, out for good. Removing someone else's passkey also ends every
    /// session they hold, since a lost phone may still be signed in; with a passkey left,
    /// they simply sign in again.
    ///
    /// On a session that stepped up recently: whoever holds an administrator's session
    /// could otherwise lock anyone out.
    pub async fn remove_staff_passkey(
        &self,
        by: &Principal,
        session: &str,
        staff_id: i64,
        passkey_id: Uuid,
    ) -> Result<(), CoreError> {
        let admin = crate::identity::guards::require_administrator(by)?;
        self.verified(by, session).await?;
        let Some(staff) = self.store().get_staff(staff_id).await? else {
            return Err(CoreError::code(ErrorCode::NotFound));
        };
        let someone_else = staff_id != admin;
        let audit = AuditEvent {
            at: self.now(),
            actor_kind: "staff".into(),
            actor_id: Some(admin),
            action: "passkey_removed".into(),
            subject_kind: "staff".into(),
            subject_id: Some(staff_id),
            detail: serde_json::json!({ "passkey_id": passkey_id, "by_administrator": true }),
        };
        match self.store().remove_passkey(staff_id, passkey_id, someone_else, &audit).await? {
            PasskeyRemoval::Removed => {}
            PasskeyRemoval::NotFound => return Err(CoreError::code(ErrorCode::NotFound)),
            PasskeyRemoval::Last => return Err(CoreError::code(ErrorCode::LastPasskey)),
        }
        if someone_else {
            self.revoke(&crate::identity::guards::staff_principal(&staff), None).await?;
        }
        Ok(())
    }
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
