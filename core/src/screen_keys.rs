//! Screen keys as use cases: issuing one to a projector page, listing an activity's, and
//! revoking one (audited); and checking a scanned code of either kind, which every path
//! that reads codes (the scan, the code reading, the pending-scan ticket) goes through.
//!
//! The cryptography is in [`crate::qr::screen`]. A key is valid for at most
//! [`SCREEN_KEY_HOURS`] hours and never past the time the activity still takes scans (its
//! end plus the departure grace), so a stolen laptop's key dies on its own; revoking it
//! stops its codes at once on every instance (the shared cache entry is replaced).

use chrono::{DateTime, Duration, Utc};
use data_encoding::BASE64URL_NOPAD;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::activity::{CodeMode, shanghai_time};
use crate::attendance::checkin::{Refusal, judge_code};
use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::Principal;
use crate::qr::{CodeClaims, CodeDirection, CodeError, ScannedCode, ScreenGrant};

/// The longest a screen key is valid.
pub const SCREEN_KEY_HOURS: i64 = 12;

/// How long a grant stays in the shared cache; revocation replaces the entry at once.
const GRANT_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// A screen key as stored: the grant its key derives from, and its life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ScreenKeyRecord {
    /// The screen key's id (inside every code it signs).
    pub id: i64,
    /// The activity.
    pub activity_id: i64,
    /// The gate (index into the activity's gates).
    pub gate: u8,
    /// What its codes record.
    pub direction: CodeDirection,
    /// The master key it derives from.
    pub key_id: u8,
    /// The last code window it may sign.
    pub last_window: u32,
    /// Until when its codes are accepted (+08:00).
    #[serde(with = "shanghai_time")]
    #[schema(value_type = String)]
    pub expires_at: DateTime<Utc>,
    /// Who opened the projector that received it.
    pub issued_by: i64,
    /// When (+08:00).
    #[serde(with = "shanghai_time")]
    #[schema(value_type = String)]
    pub created_at: DateTime<Utc>,
    /// When it was revoked (+08:00), if it was.
    #[serde(with = "crate::activity::shanghai_time::option")]
    #[schema(value_type = Option<String>)]
    pub revoked_at: Option<DateTime<Utc>>,
    /// Who revoked it.
    pub revoked_by: Option<i64>,
}

/// A screen key to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewScreenKey {
    /// The activity.
    pub activity_id: i64,
    /// The gate.
    pub gate: u8,
    /// The direction.
    pub direction: CodeDirection,
    /// The master key id.
    pub key_id: u8,
    /// The last window.
    pub last_window: u32,
    /// Its end.
    pub expires_at: DateTime<Utc>,
    /// Who asked.
    pub issued_by: i64,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Which gate and direction a projector asks a key for.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreenKeyRequest {
    /// Gate number (index into the activity's gates).
    pub gate: u8,
    /// `toggle` for single-code activities; `arrival` or `departure` otherwise.
    pub direction: CodeDirection,
}

/// What a projector page needs to mint codes by itself: the key (secret: the answer is
/// never cached) and how to lay out and time its codes.
#[derive(Clone, Serialize, ToSchema)]
pub struct IssuedScreenKey {
    /// The stored grant.
    #[serde(flatten)]
    pub record: ScreenKeyRecord,
    /// The 32-byte HMAC-SHA256 key, base64url without padding.
    pub key: String,
    /// The code's activity id as signed (the activity id, 32 bits).
    pub code_activity_id: u32,
    /// Seconds per code window.
    pub window_secs: u32,
    /// The URL prefix codes are put behind.
    pub code_base_url: String,
    /// The server's clock now (+08:00), so a page can correct its own clock.
    #[serde(with = "shanghai_time")]
    #[schema(value_type = String)]
    pub server_time: DateTime<Utc>,
    /// The server's clock now in Unix milliseconds (the same instant).
    pub server_time_ms: i64,
}

impl std::fmt::Debug for IssuedScreenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedScreenKey").field("record", &self.record).finish_non_exhaustive()
    }
}

/// The stored word of a direction.
pub(crate) fn direction_word(direction: CodeDirection) -> &'static str {
    match direction {
        CodeDirection::Toggle => "toggle",
        CodeDirection::Arrival => "arrival",
        CodeDirection::Departure => "departure",
    }
}

/// The direction a stored word names.
pub(crate) fn parse_direction_word(word: &str) -> Option<CodeDirection> {
    match word {
        "toggle" => Some(CodeDirection::Toggle),
        "arrival" => Some(CodeDirection::Arrival),
        "departure" => Some(CodeDirection::Departure),
        _ => None,
    }
}

fn grant_of(record: &ScreenKeyRecord) -> Option<ScreenGrant> {
    Some(ScreenGrant {
        screen_key_id: u32::try_from(record.id).ok()?,
        key_id: record.key_id,
        activity_id: u32::try_from(record.activity_id).ok()?,
        gate: record.gate,
        direction: record.direction,
        last_window: record.last_window,
    })
}

fn cache_key(id: i64) -> String {
    format!("screen-key:{id}")
}

/// A grant as the shared cache keeps it (instants as Unix milliseconds).
#[derive(Serialize, Deserialize)]
struct CachedGrant {
    id: i64,
    activity_id: i64,
    gate: u8,
    direction: CodeDirection,
    key_id: u8,
    last_window: u32,
    expires_at_ms: i64,
    issued_by: i64,
    created_at_ms: i64,
    revoked_at_ms: Option<i64>,
    revoked_by: Option<i64>,
}

impl CachedGrant {
    fn of(r: &ScreenKeyRecord) -> Self {
        Self {
            id: r.id,
            activity_id: r.activity_id,
            gate: r.gate,
            direction: r.direction,
            key_id: r.key_id,
            last_window: r.last_window,
            expires_at_ms: r.expires_at.timestamp_millis(),
            issued_by: r.issued_by,
            created_at_ms: r.created_at.timestamp_millis(),
            revoked_at_ms: r.revoked_at.map(|t| t.timestamp_millis()),
            revoked_by: r.revoked_by,
        }
    }

    fn record(self) -> Option<ScreenKeyRecord> {
        let at = DateTime::<Utc>::from_timestamp_millis;
        Some(ScreenKeyRecord {
            id: self.id,
            activity_id: self.activity_id,
            gate: self.gate,
            direction: self.direction,
            key_id: self.key_id,
            last_window: self.last_window,
            expires_at: at(self.expires_at_ms)?,
            issued_by: self.issued_by,
            created_at: at(self.created_at_ms)?,
            revoked_at: match self.revoked_at_ms {
                Some(ms) => Some(at(ms)?),
                None => None,
            },
            revoked_by: self.revoked_by,
        })
    }
}

/// The gate's name, if `gate` and `direction` are ones the activity shows codes for.
pub(crate) fn code_target(
    activity: &crate::activity::Activity,
    gate: u8,
    direction: CodeDirection,
) -> Result<String, CoreError> {
    let gate_name = activity
        .gates
        .get(usize::from(gate))
        .ok_or_else(|| CoreError::refused(ErrorCode::InvalidParameter, format!("活动没有编号为 {gate} 的入口")))?
        .clone();
    let fits = matches!(
        (activity.code_mode, direction),
        (CodeMode::Toggle, CodeDirection::Toggle)
            | (CodeMode::Separate, CodeDirection::Arrival | CodeDirection::Departure)
    );
    if !fits {
        return Err(CoreError::refused(
            ErrorCode::InvalidParameter,
            match activity.code_mode {
                CodeMode::Toggle => "该活动使用单一签到码：direction 须为 toggle",
                CodeMode::Separate => "该活动分设签到码与签退码：direction 须为 arrival 或 departure",
            },
        ));
    }
    Ok(gate_name)
}

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

/// The code to show now at one gate and direction.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CurrentCode {
    /// The signed token (34 characters).
    pub token: String,
    /// The URL the QR code holds.
    pub url: String,
    /// The gate number.
    pub gate: u8,
    /// The gate's name.
    pub gate_name: String,
    /// Toggle, arrival or departure.
    pub direction: CodeDirection,
    /// When this code's window began (+08:00).
    #[serde(with = "shanghai_time")]
    #[schema(value_type = String)]
    pub window_start: DateTime<Utc>,
    /// When the server stops accepting this code (+08:00).
    #[serde(with = "shanghai_time")]
    #[schema(value_type = String)]
    pub expires_at: DateTime<Utc>,
    /// Seconds until the screen should fetch the next code.
    pub seconds_to_rotation: u32,
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
