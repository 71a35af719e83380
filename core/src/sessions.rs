//! Sessions: a principal's bearer tokens, listed and revoked. A session is shown by an id
//! derived from the token's hash, never by the token. Revoking drops the grant from the
//! shared cache and this instance's copy; other instances stop accepting it within their
//! in-process grant lifetime (seconds).
//!
//! Console (browser) sessions also end after `Settings::console_idle` without use. Use
//! moves `last_seen_at` on, in the store and in the cached grant, at most once every
//! [`TOUCH_EVERY`], so a busy page costs one write a minute, not one per request. API
//! tokens and volunteers' sessions never idle out.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::activity::shanghai_time;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::{Principal, TokenHash};

/// How stale a console session's `last_seen_at` may get before a request moves it on.
pub const TOUCH_EVERY: chrono::Duration = chrono::Duration::seconds(60);

/// One session as its owner sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionView {
    /// Identifies the session (16 hex digits of its token's hash).
    pub session_id: String,
    /// When it began (+08:00).
    #[serde(with = "shanghai_time")]
    #[schema(value_type = String)]
    pub created_at: DateTime<Utc>,
    /// When it ends by itself (+08:00).
    #[serde(with = "shanghai_time")]
    #[schema(value_type = String)]
    pub expires_at: DateTime<Utc>,
    /// Whether this is the session making the request.
    pub current: bool,
    /// `console` for a browser session (it ends after a stretch without use), `token` for
    /// a bearer token (a mini program's, a script's).
    pub kind: &'static str,
    /// A console session's last use (+08:00), to the minute.
    #[serde(serialize_with = "crate::activity::shanghai_time::option::serialize")]
    #[schema(value_type = Option<String>)]
    pub last_seen_at: Option<DateTime<Utc>>,
    /// When a console session ends if it is not used before (+08:00).
    #[serde(serialize_with = "crate::activity::shanghai_time::option::serialize")]
    #[schema(value_type = Option<String>)]
    pub idle_expires_at: Option<DateTime<Utc>>,
}

/// When a session with `idle_minutes`, last used at `last_seen_at`, ends for want of use.
fn idle_end(idle_minutes: Option<u32>, last_seen_at: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    Some(last_seen_at? + chrono::Duration::minutes(i64::from(idle_minutes?)))
}

/// How many sessions a sign-out ended.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SignedOut {
    /// Sessions ended.
    pub ended: usize,
}

fn session_id(hash: &TokenHash) -> String {
    data_encoding::HEXLOWER.encode(&hash[..8])
}

impl Hourmark {
    /// Makes a just-issued token a console (browser) session: it ends after
    /// `Settings::console_idle` without use.
    pub async fn begin_console_session(&self, hash: &TokenHash) -> Result<(), CoreError> {
        let minutes = u32::try_from(self.settings().console_idle.num_minutes().max(1)).unwrap_or(u32::MAX);
        self.store().set_token_idle(hash, minutes, self.now()).await?;
        // The grant was cached when the token was issued, without its idle limit.
        self.forget_grant(hash).await;
        Ok(())
    }

    /// Checks a console session's idleness on use, and moves its last use on when it is
    /// more than [`TOUCH_EVERY`] old. An idle session is refused like an expired one.
    pub(crate) async fn console_session_in_use(
        &self,
        hash: &TokenHash,
        grant: crate::identity::TokenGrant,
    ) -> Result<(), CoreError> {
        let now = self.now();
        if idle_end(grant.idle_minutes, grant.last_seen_at).is_some_and(|end| end <= now) {
            self.forget_grant(hash).await;
            return Err(CoreError::refused(ErrorCode::Unauthenticated, "长时间未操作，已自动退出登录，请重新登录"));
        }
        if grant.last_seen_at.is_none_or(|seen| now - seen >= TOUCH_EVERY) {
            self.store().touch_access_token(hash, now).await?;
            let touched = crate::identity::TokenGrant { last_seen_at: Some(now), ..grant };
            self.share_grant(hash, &touched).await;
        }
        Ok(())
    }

    /// The principal's live sessions, newest first.
    pub async fn sessions(&self, principal: &Principal, current: &TokenHash) -> Result<Vec<SessionView>, CoreError> {
        let now = self.now();
        Ok(self
            .store()
            .list_access_tokens(principal)
            .await?
            .into_iter()
            .filter(|s| s.expires_at > now && idle_end(s.idle_minutes, s.last_seen_at).is_none_or(|end| end > now))
            .map(|s| SessionView {
                session_id: session_id(&s.hash),
                created_at: s.created_at,
                expires_at: s.expires_at,
                current: &s.hash == current,
                kind: if s.idle_minutes.is_some() { "console" } else { "token" },
                last_seen_at: s.last_seen_at,
                idle_expires_at: idle_end(s.idle_minutes, s.last_seen_at),
            })
            .collect())
    }

    /// Ends one of the principal's sessions by its id.
    pub async fn end_session(&self, principal: &Principal, id: &str) -> Result<SignedOut, CoreError> {
        let target = self
            .store()
            .list_access_tokens(principal)
            .await?
            .into_iter()
            .find(|s| session_id(&s.hash) == id)
            .ok_or_else(|| CoreError::refused(ErrorCode::NotFound, "没有这个会话"))?;
        self.revoke(principal, Some(&target.hash)).await
    }

    /// Ends the current session, or every session of the principal.
    pub async fn sign_out(
        &self,
        principal: &Principal,
        current: &TokenHash,
        everywhere: bool,
    ) -> Result<SignedOut, CoreError> {
        self.revoke(principal, (!everywhere).then_some(current)).await
    }

    /// Replaces a volunteer's token with a new one of the full lifetime and revokes the
    /// one presented. Volunteer tokens are short-lived (a week by default) so that one
    /// left on a lost or sold phone dies soon; a mini program in daily use refreshes and
    /// never has to log in again. An expired or revoked token cannot refresh: it does not
    /// authenticate in the first place.
    pub async fn refresh_volunteer_token(
        &self,
        principal: &Principal,
        current: &TokenHash,
    ) -> Result<crate::tokens::IssuedToken, CoreError> {
        if !matches!(principal, Principal::Volunteer { .. }) {
            return Err(CoreError::refused(ErrorCode::Forbidden, "此接口仅供志愿者使用"));
        }
        // The new token first: should revoking fail, the caller still holds a working one.
        let issued = self.issue_token(*principal, self.settings().volunteer_token_ttl).await?;
        let ended = self.revoke(principal, Some(current)).await?;
        if ended.ended != 1 {
            // Revoked between authentication and now (a sign-out elsewhere): no new token.
            let hash = crate::identity::BearerToken::from_presented(&issued.access_token).map(|t| t.hash());
            if let Some(hash) = hash {
                self.revoke(principal, Some(&hash)).await?;
            }
            return Err(CoreError::refused(ErrorCode::Unauthenticated, "登录已失效，请重新登录"));
        }
        Ok(issued)
    }

    pub(crate) async fn revoke(&self, principal: &Principal, only: Option<&TokenHash>) -> Result<SignedOut, CoreError> {
        let revoked = self.store().revoke_access_tokens(principal, only, self.now()).await?;
        for hash in &revoked {
            self.forget_grant(hash).await;
        }
        Ok(SignedOut { ended: revoked.len() })
    }
}

impl Hourmark {
    /// A bearer token for a staff member's scripts and API clients (curl, a spreadsheet
    /// import): a session of its own, as long as a sign-in's, listed and revocable with the
    /// others, audited. The console's cookie never leaves the browser, so this is how a
    /// signed-in person gets a token to use elsewhere.
    pub async fn issue_api_token(&self, by: &Principal) -> Result<crate::tokens::IssuedToken, CoreError> {
        let Principal::Staff { id, .. } = by else {
            return Err(CoreError::refused(crate::error::ErrorCode::Forbidden, "此接口仅供工作人员使用"));
        };
        let issued = self.issue_token(*by, self.settings().staff_token_ttl).await?;
        let audit = crate::audit::AuditEvent {
            at: self.now(),
            actor_kind: "staff".into(),
            actor_id: Some(*id),
            action: "api_token_issued".into(),
            subject_kind: "staff".into(),
            subject_id: Some(*id),
            detail: serde_json::json!({ "expires_at": issued.expires_at }),
        };
        self.store().add_audit(&audit).await?;
        Ok(issued)
    }
}
