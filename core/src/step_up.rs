//! Proof that the person is at the keyboard now, for what a stolen session must not do.
//!
//! A staff session lasts hours, and an API token made from it lasts as long: either can be
//! copied out of a machine left unlocked. Adding or removing a passkey (which would let the
//! thief in for good, or lock the owner out) and reading a volunteer's numbers in clear
//! therefore ask for more than the session: a passkey assertion with user verification
//! (the authenticator's PIN or fingerprint) made on this same session within
//! [`STEP_UP_FRESH`]. Signing in or enrolling with a passkey counts; an API token made
//! later never does until it steps up itself.
//!
//! The proof is kept in the shared cache (Redis when configured, so every instance sees
//! it) under the session's token hash, with the instant of the assertion, which is
//! compared with the injected clock. Losing the cache only means being asked again.
//!
//! ```text
//! browser ── DELETE /api/v1/staff/7/passkeys/… ──► server: fresh proof for this session? ─ no:
//! browser ◄─ 403 reverification_required ──
//! browser ── POST /api/v1/me/step-up/start ──► server: challenge over the caller's own passkeys
//! authenticator: user verification, sign challenge
//! browser ── POST /api/v1/me/step-up/finish ──► server: verify (counter moves on),
//!                                               cache[verified:<session>] = now
//! browser ── DELETE … again ──► server: proof under 5 minutes old ─ yes: done
//! ```

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::Hourmark;
use crate::activity::shanghai_time;
use crate::error::{CoreError, ErrorCode};
use crate::identity::{BearerToken, Principal, TokenHash};
use crate::passkeys::{FinishSignIn, SignInStart};

/// How long an assertion vouches for its session: long enough for the task that asked for
/// it (a few removals, a reveal and a look), short enough that a session left open at
/// lunch is asked again.
pub const STEP_UP_FRESH: Duration = Duration::minutes(5);

/// Proof, for one request, that its session made a user-verified passkey assertion within
/// [`STEP_UP_FRESH`]. Only [`Hourmark::verified`] makes one, so a use case that takes it
/// cannot be called without the check.
#[derive(Debug)]
pub struct Verified(());

/// A completed step-up.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StepUp {
    /// Until when this session may do what asks for a fresh proof (+08:00).
    #[serde(with = "shanghai_time")]
    #[schema(value_type = String)]
    pub verified_until: DateTime<Utc>,
}

fn key(session: &TokenHash) -> String {
    format!("verified:{}", data_encoding::HEXLOWER.encode(session))
}

impl Hourmark {
    /// Records that `session` has just answered a user-verified passkey challenge.
    pub(crate) async fn mark_verified(&self, session: &TokenHash) -> Result<DateTime<Utc>, CoreError> {
        let now = self.now();
        let bytes = serde_json::to_vec(&now).map_err(|e| CoreError::Internal(format!("step-up: {e}")))?;
        self.cache().set(&key(session), &bytes, STEP_UP_FRESH.to_std().unwrap_or_default()).await?;
        Ok(now + STEP_UP_FRESH)
    }

    /// The proof that the staff session presented as `token` stepped up recently, or
    /// `reverification_required`.
    pub async fn verified(&self, by: &Principal, token: &str) -> Result<Verified, CoreError> {
        let Principal::Staff { .. } = by else { return Err(CoreError::code(ErrorCode::Forbidden)) };
        let stale = || {
            CoreError::refused(ErrorCode::ReverificationRequired, "此操作需要先用通行密钥再次确认身份（5 分钟内有效）")
        };
        let session = BearerToken::from_presented(token).ok_or_else(stale)?.hash();
        let at = match self.cache().get(&key(&session)).await? {
            Some(bytes) => serde_json::from_slice::<DateTime<Utc>>(&bytes).map_err(|_| stale())?,
            None => return Err(stale()),
        };
        let now = self.now();
        if at <= now && now - at < STEP_UP_FRESH { Ok(Verified(())) } else { Err(stale()) }
    }

    /// Starts a step-up: a challenge over the caller's own passkeys, with user
    /// verification required.
    pub async fn start_step_up(&self, by: &Principal) -> Result<SignInStart, CoreError> {
        let Principal::Staff { id, .. } = by else { return Err(CoreError::code(ErrorCode::Forbidden)) };
        self.start_assertion(*id).await
    }

    /// Finishes a step-up for the session presented as `token`: the answer must come from
    /// one of the caller's own passkeys.
    pub async fn finish_step_up(&self, by: &Principal, token: &str, finish: FinishSignIn) -> Result<StepUp, CoreError> {
        let Principal::Staff { id, .. } = by else { return Err(CoreError::code(ErrorCode::Forbidden)) };
        let session =
            BearerToken::from_presented(token).ok_or_else(|| CoreError::code(ErrorCode::Unauthenticated))?.hash();
        self.finish_assertion(*id, finish).await?;
        let verified_until = self.mark_verified(&session).await?;
        Ok(StepUp { verified_until })
    }
}
