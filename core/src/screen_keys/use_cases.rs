//! The use cases of screen keys (`impl Hourmark`), apart from its types and rules in the
//! parent module, which the store and the context import without importing these.

use super::*;
use crate::attendance::checkin::{Refusal, judge_code};
use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::Principal;
use crate::qr::{CodeClaims, CodeDirection, CodeError, ScannedCode};
use chrono::{DateTime, Duration, Utc};
use data_encoding::BASE64URL_NOPAD;

impl Hourmark {
    /// Issues a screen key for one gate and direction of an activity the caller manages:
    /// valid for [`SCREEN_KEY_HOURS`] hours, or until the activity stops taking scans if
    /// that is sooner.
    pub async fn issue_screen_key(
        &self,
        by: &Principal,
        activity_id: i64,
        request: ScreenKeyRequest,
    ) -> Result<IssuedScreenKey, CoreError> {
        let activity = self.managed_activity(by, activity_id).await?;
        code_target(&activity, request.gate, request.direction)?;
        let Principal::Staff { id: staff_id, .. } = by else { return Err(CoreError::code(ErrorCode::Forbidden)) };
        let code_activity_id =
            u32::try_from(activity.id).map_err(|_| CoreError::Internal("activity id exceeds 32 bits".into()))?;
        let now = self.now();
        let settings = self.settings();
        let closes = activity.ends_at + settings.checkin.checkout_closes_after;
        let expires_at = (now + Duration::hours(SCREEN_KEY_HOURS)).min(closes);
        if expires_at <= now {
            return Err(CoreError::refused(ErrorCode::ActivityEnded, "活动已结束，不再签发投屏密钥"));
        }
        let windows = &settings.code_windows;
        // The last window that starts before the key's end.
        let last_window = windows.window_at(expires_at - Duration::milliseconds(1));
        let key_id = self.inner().keys.current_key_id();
        let new = NewScreenKey {
            activity_id: activity.id,
            gate: request.gate,
            direction: request.direction,
            key_id,
            last_window,
            expires_at,
            issued_by: *staff_id,
            created_at: now,
        };
        // Issuing a key hands a browser the power to mint this gate's codes for hours:
        // who did it, for which gate, and until when is kept.
        let audit = AuditEvent {
            at: now,
            actor_kind: "staff".into(),
            actor_id: Some(*staff_id),
            action: "screen_key_issued".into(),
            subject_kind: "activity".into(),
            subject_id: Some(activity.id),
            detail: serde_json::json!({
                "gate": request.gate,
                "direction": direction_word(request.direction),
                "expires_at": expires_at,
            }),
        };
        let id = self.store().add_screen_key(&new, &audit).await?;
        let record = ScreenKeyRecord {
            id,
            activity_id: activity.id,
            gate: new.gate,
            direction: new.direction,
            key_id,
            last_window,
            expires_at,
            issued_by: *staff_id,
            created_at: now,
            revoked_at: None,
            revoked_by: None,
        };
        let grant = grant_of(&record).ok_or_else(|| CoreError::Internal("screen key id exceeds 32 bits".into()))?;
        let key = self
            .inner()
            .keys
            .screen_key(&grant)
            .ok_or_else(|| CoreError::Internal("the current QR key vanished from the ring".into()))?;
        Ok(IssuedScreenKey {
            record,
            key: BASE64URL_NOPAD.encode(&key.0),
            code_activity_id,
            window_secs: windows.secs.max(1),
            code_base_url: settings.code_base_url.clone(),
            server_time: now,
            server_time_ms: now.timestamp_millis(),
        })
    }

    /// The screen keys of an activity the caller manages, newest first.
    pub async fn screen_keys(&self, by: &Principal, activity_id: i64) -> Result<Vec<ScreenKeyRecord>, CoreError> {
        let activity = self.managed_activity(by, activity_id).await?;
        let mut keys = self.store().screen_keys(activity.id).await?;
        keys.sort_by_key(|k| std::cmp::Reverse(k.id));
        Ok(keys)
    }

    /// Revokes a screen key of an activity the caller manages: its codes are refused from
    /// now on (`screen_key_revoked`). Audited on the activity. Revoking a revoked key
    /// changes nothing and answers it as it is.
    pub async fn revoke_screen_key(
        &self,
        by: &Principal,
        activity_id: i64,
        screen_key_id: i64,
    ) -> Result<ScreenKeyRecord, CoreError> {
        let activity = self.managed_activity(by, activity_id).await?;
        let Principal::Staff { id: staff_id, .. } = by else { return Err(CoreError::code(ErrorCode::Forbidden)) };
        let not_found = || CoreError::refused(ErrorCode::NotFound, "该活动没有这个投屏密钥");
        let existing = self.store().screen_key(screen_key_id).await?.ok_or_else(not_found)?;
        if existing.activity_id != activity.id {
            return Err(not_found());
        }
        if existing.revoked_at.is_some() {
            return Ok(existing);
        }
        let now = self.now();
        let audit = AuditEvent {
            at: now,
            actor_kind: "staff".into(),
            actor_id: Some(*staff_id),
            action: "screen_key_revoked".into(),
            subject_kind: "activity".into(),
            subject_id: Some(activity.id),
            detail: serde_json::json!({
                "screen_key_id": screen_key_id,
                "gate": existing.gate,
                "direction": direction_word(existing.direction),
            }),
        };
        let record = match self.store().revoke_screen_key(screen_key_id, *staff_id, now, &audit).await? {
            Some(record) => record,
            // Revoked meanwhile by someone else.
            None => self.store().screen_key(screen_key_id).await?.ok_or_else(not_found)?,
        };
        self.cache_grant(&record).await;
        Ok(record)
    }

    /// Writes a grant to the shared cache (a revoked one too: every instance then refuses
    /// its codes without reading the store).
    async fn cache_grant(&self, record: &ScreenKeyRecord) {
        let Ok(bytes) = serde_json::to_vec(&CachedGrant::of(record)) else { return };
        if let Err(e) = self.inner().cache.set(&cache_key(record.id), &bytes, GRANT_CACHE_TTL).await {
            tracing::warn!(error = %e, "could not cache a screen key; dropping it instead");
            if let Err(e) = self.inner().cache.delete(&cache_key(record.id)).await {
                tracing::error!(error = %e, screen_key_id = record.id, "could not drop a cached screen key either");
            }
        }
    }

    /// A grant, from the shared cache or the store.
    async fn grant(&self, id: i64) -> Result<Option<ScreenKeyRecord>, CoreError> {
        match self.inner().cache.get(&cache_key(id)).await {
            Ok(Some(bytes)) => {
                if let Some(record) = serde_json::from_slice::<CachedGrant>(&bytes).ok().and_then(CachedGrant::record) {
                    return Ok(Some(record));
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cache unavailable; reading the screen key from the store"),
        }
        let record = self.store().screen_key(id).await?;
        if let Some(record) = &record {
            self.cache_grant(record).await;
        }
        Ok(record)
    }

    /// Checks a scanned token of either kind at `now`: authentic, fresh, and for a
    /// screen's code, a grant that is neither revoked nor past its last window. The outer
    /// `Result` is for outages; the inner one is the verdict.
    pub(crate) async fn check_code(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<CodeClaims, Refusal>, CoreError> {
        let keys = &self.inner().keys;
        let windows = &self.settings().code_windows;
        let code = match crate::qr::read(keys, token) {
            Ok(ScannedCode::Server(claims)) => return Ok(judge_code(Ok(claims), windows, now)),
            Ok(ScannedCode::Screen(code)) => code,
            Err(e) => return Ok(judge_code(Err(e), windows, now)),
        };
        let Some(record) = self.grant(i64::from(code.screen_key_id)).await? else {
            return Ok(judge_code(Err(CodeError::BadSignature), windows, now));
        };
        let verified = grant_of(&record).ok_or(CodeError::BadSignature).and_then(|grant| code.verify(keys, &grant));
        let claims = match judge_code(verified, windows, now) {
            Ok(claims) => claims,
            Err(refusal) => return Ok(Err(refusal)),
        };
        if record.revoked_at.is_some() {
            return Ok(Err(Refusal {
                code: ErrorCode::ScreenKeyRevoked,
                detail: "这块屏幕的签到码已被停用，请扫描工作人员重新打开的二维码".into(),
            }));
        }
        if claims.window > record.last_window {
            return Ok(Err(Refusal {
                code: ErrorCode::CodeExpired,
                detail: "这块屏幕的投屏密钥已过期，请工作人员刷新投屏页面".into(),
            }));
        }
        Ok(Ok(claims))
    }
}

impl Hourmark {
    /// The code to show now at `gate` for `direction`.
    pub async fn current_code(
        &self,
        by: &Principal,
        activity_id: i64,
        gate: u8,
        direction: CodeDirection,
    ) -> Result<CurrentCode, CoreError> {
        let activity = self.managed_activity(by, activity_id).await?;
        let gate_name = crate::screen_keys::code_target(&activity, gate, direction)?;
        let activity_id =
            u32::try_from(activity.id).map_err(|_| CoreError::Internal("activity id exceeds 32 bits".into()))?;
        let now = self.now();
        let windows = &self.inner().settings.code_windows;
        let window = windows.window_at(now);
        let signed = self
            .inner()
            .keys
            .sign(activity_id, gate, direction, window)
            .map_err(|e| CoreError::refused(ErrorCode::InvalidParameter, e.to_string()))?;
        Ok(CurrentCode {
            url: crate::qr::code_url(&self.inner().settings.code_base_url, &signed.token),
            token: signed.token,
            gate,
            gate_name,
            direction,
            window_start: windows.window_start(window),
            expires_at: windows.expires_at(window),
            seconds_to_rotation: windows.seconds_to_rotation(now),
        })
    }
}
