//! The passkey ceremonies as use cases (enrolment, sign-in, removal), each an
//! `impl Hourmark` block over the types and checks in `passkeys`.

use crate::Hourmark;
use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::identity::staff::StaffWithToken;
use crate::identity::{BearerToken, Principal, Staff, TokenHash};
use crate::tokens::IssuedToken;
use uuid::Uuid;
use webauthn_rs::prelude::{
    PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse,
};

use super::{
    CEREMONY_TTL, Ceremony, EnrolmentStart, FinishEnrolment, FinishSignIn, Held, Invite, NewInvite, PasskeyRemoval,
    PasskeySettings, PasskeySummary, SignInStart, StoredPasskey, rejected, validate_label, validate_login,
};

impl Hourmark {
    pub(super) fn passkey_settings(&self) -> &PasskeySettings {
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

    pub(super) async fn hold(&self, ceremony: Ceremony) -> Result<String, CoreError> {
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
    pub(super) async fn take(&self, ceremony_id: &str) -> Result<Ceremony, CoreError> {
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

    pub(super) async fn start_enrolment(
        &self,
        staff_id: i64,
        invite: Option<TokenHash>,
    ) -> Result<EnrolmentStart, CoreError> {
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

    pub(super) async fn store_new_passkey(
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
    pub(super) fn decoy_challenge(&self, login: &str) -> Result<RequestChallengeResponse, CoreError> {
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
    pub(super) async fn verify_assertion(
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
    pub(super) async fn sign_in_staff(&self, staff: &Staff) -> Result<IssuedToken, CoreError> {
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
