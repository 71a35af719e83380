//! Signing a returning volunteer in by phone number and a one-time SMS code: for a new
//! phone, or a browser whose storage was cleared, outside WeChat.
//!
//! ```text
//! phone                         Hourmark                              SMS provider
//!   │ POST /mp/v1/login/sms/code  │                                        │
//!   │ {phone}                     │ limits (client, number); registered?   │
//!   │ 200 {expires_at, resend…}   │ (the same answer either way)           │
//!   │◄────────────────────────────┤ then, registered: code = 6 digits,     │
//!   │                             │ keep HMAC(number, code), 5 min, 0 tries│
//!   │                             ├── SendSms(+86…, [code, 5]) ───────────►│
//!   │                             │ not registered: nothing, or the        │
//!   │                             ├── "not registered" notice, if set ───►│
//!   │ POST /mp/v1/login/sms       │                                        │
//!   │ {phone, code, device_id}    │ limit (client); check in one           │
//!   ├────────────────────────────►│ transaction: used? 5 wrong? expired?   │
//!   │                             │ right → used; wrong → tries + 1        │
//!   │                             │ device binding rule → standing         │
//!   │ 200 {access_token, device}  │                                        │
//!   │◄────────────────────────────┤                                        │
//! ```
//!
//! The code is never stored in clear: only a keyed hash of the number and the code (the
//! personal-data lookup key), so a copy of the database signs nobody in. One live code per
//! number; asking again replaces it. A code works once, for five minutes, and dies after
//! five wrong tries (even the right code is refused then). Asking is limited per number
//! and per client address, trying per client address, so guessing across many numbers
//! from one place is slow too.
//!
//! Whether a number is registered is not told: asking for a code for a number no
//! volunteer has gets the same answer (status, body, limits counted), and the page says
//! "如该号码已登记，验证码将发送至该号码". Nothing is stored or sent for such a number, unless
//! the operator approved a "not registered" SMS template: then that number is told so by
//! SMS, which only its holder reads. The code is kept and sent after the answer (a
//! spawned task), so that the time the answer takes does not tell either; a provider's
//! refusal is therefore logged, not answered. (Registration says `phone_taken`, where
//! codes are asked, only once the phone is proven: see [`crate::identity::confirmation`].)

use chrono::{DateTime, Duration, Utc};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::LoginAnswer;
use crate::error::{CoreError, ErrorCode};
use crate::ratelimit::Limit;
use crate::sms::SmsError;

mod use_cases;

/// How long a code works.
pub const CODE_TTL: Duration = Duration::minutes(5);
/// Wrong tries that kill a code.
pub const MAX_ATTEMPTS: u32 = 5;

/// The SMS sign-in settings.
#[derive(Debug, Clone)]
pub struct SmsSettings {
    /// Who sends the codes; none: SMS sign-in is off (`sms_not_configured`).
    pub sender: Option<std::sync::Arc<dyn crate::sms::SmsSender>>,
    /// Codes per number in a short window (the resend wait).
    pub per_number: Limit,
    /// Codes per number per hour.
    pub per_number_hourly: Limit,
    /// Codes asked from one client address.
    pub per_client: Limit,
    /// Codes tried from one client address.
    pub checks_per_client: Limit,
}

impl Default for SmsSettings {
    fn default() -> Self {
        Self {
            sender: None,
            per_number: Limit { max: 1, per: std::time::Duration::from_secs(60) },
            per_number_hourly: Limit { max: 5, per: std::time::Duration::from_secs(3600) },
            per_client: Limit { max: 120, per: std::time::Duration::from_secs(3600) },
            checks_per_client: Limit { max: 240, per: std::time::Duration::from_secs(3600) },
        }
    }
}

/// Ask for a code. `Debug` hides the number.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SmsCodeRequest {
    /// The mainland mobile number the volunteer registered with.
    pub phone: String,
}

impl std::fmt::Debug for SmsCodeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SmsCodeRequest(<redacted>)")
    }
}

/// A code is on its way (to a registered number; the same answer for any other).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SmsCodeSent {
    /// The number it goes to, masked (138****1234).
    pub phone: String,
    /// When the code stops working (+08:00).
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub expires_at: DateTime<Utc>,
    /// Seconds before another code may be asked for this number.
    pub resend_after_secs: u64,
    /// Wrong tries the code allows.
    pub attempts_allowed: u32,
}

/// Sign in with a code. `Debug` hides the number and the code.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SmsLoginRequest {
    /// The number the code was sent to.
    pub phone: String,
    /// The six digits from the SMS.
    pub code: String,
    /// This phone's device id (1–64 printable ASCII characters): the device binding rule
    /// is applied to it, and the answer's `device` says where it stands.
    #[serde(default)]
    pub device_id: Option<String>,
}

impl std::fmt::Debug for SmsLoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SmsLoginRequest(<redacted>)")
    }
}

/// Where the signing-in device stands with the device binding rule (scans must come from
/// the bound device; binding another is allowed once per cool-down).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeviceState {
    /// This device is the bound one: scan away.
    Bound,
    /// No device was bound; this one is now.
    NewlyBound,
    /// Another device was bound long enough ago: this one replaces it (audited). The old
    /// phone can no longer scan.
    Rebound,
    /// Another device was bound within the cool-down: signed in (hours and data can be
    /// seen), but scans must come from that device until `rebind_allowed_from`.
    BoundElsewhere,
    /// No `device_id` was sent: nothing changed.
    NotGiven,
}

/// The device binding rule's answer, with what to do.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeviceStanding {
    /// Where this device stands.
    pub state: DeviceState,
    /// For `bound_elsewhere`: when this device may be bound (sign in again then), +08:00.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::activity::shanghai_time::option::serialize"
    )]
    #[schema(value_type = Option<String>)]
    pub rebind_allowed_from: Option<DateTime<Utc>>,
    /// What to do, for the volunteer (Chinese).
    pub advice: String,
    /// Whether scans from this device will be accepted.
    pub may_scan_here: bool,
}

/// A signed-in volunteer, and where this device stands.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SmsLoginAnswer {
    /// The token and who signed in (`registered` is always true).
    #[serde(flatten)]
    pub login: LoginAnswer,
    /// The device binding rule applied to `device_id`.
    pub device: DeviceStanding,
}

/// Six uniformly random digits.
pub(crate) fn new_code() -> Result<String, CoreError> {
    let rng = SystemRandom::new();
    loop {
        let mut bytes = [0u8; 4];
        rng.fill(&mut bytes).map_err(|_| CoreError::Internal("no randomness".into()))?;
        let n = u32::from_le_bytes(bytes);
        // Rejection sampling: the top partial block would favour small codes.
        if n < u32::MAX - u32::MAX % 1_000_000 {
            return Ok(format!("{:06}", n % 1_000_000));
        }
    }
}

pub(crate) fn sms_refusal(e: &SmsError) -> CoreError {
    tracing::warn!(error = %e, "SMS code not sent");
    match e {
        SmsError::RateLimited(_) => {
            CoreError::refused(ErrorCode::SmsRateLimited, "该手机号接收短信过于频繁，请稍后再试")
        }
        SmsError::PhoneRefused(_) => CoreError::refused(ErrorCode::SmsUnavailable, "短信无法发送到该手机号"),
        SmsError::Refused(_) | SmsError::Unavailable(_) => CoreError::code(ErrorCode::SmsUnavailable),
    }
}
