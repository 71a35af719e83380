//! Screen keys as use cases: issuing one to a projector page, listing an activity's, and
//! revoking one (audited); and checking a scanned code of either kind, which every path
//! that reads codes (the scan, the code reading, the pending-scan ticket) goes through.
//!
//! The cryptography is in [`crate::qr::screen`]. A key is valid for at most
//! [`SCREEN_KEY_HOURS`] hours and never past the time the activity still takes scans (its
//! end plus the departure grace), so a stolen laptop's key dies on its own; revoking it
//! stops its codes at once on every instance (the shared cache entry is replaced).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::activity::{CodeMode, shanghai_time};
use crate::error::{CoreError, ErrorCode};
use crate::qr::{CodeDirection, ScreenGrant};

mod use_cases;

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
