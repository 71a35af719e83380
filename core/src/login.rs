//! Signing volunteers in: WeChat mini-program login, a one-time SMS code ([`sms`]), and a
//! development login.
//!
//! WeChat: the phone calls `wx.login` and sends us the short-lived code; we exchange it
//! (`jscode2session`) for the user's `openid` and a `session_key` that never leaves the
//! server (we do not even keep it: nothing here needs WeChat-encrypted data). A bound
//! `openid` gets Hourmark's own bearer token. An openid not bound, whose unionid is (the
//! volunteer came first through the Official Account inside WeChat's browser, an app of the
//! same Open Platform account), signs that volunteer in and is bound to them, so the next
//! login finds it directly. An unbound one gets a *registration ticket*:
//! the openid sealed with the personal-data vault and a 30-minute expiry, which the
//! registration request hands back to bind the new volunteer. The ticket needs no storage
//! and cannot be forged or read.
//!
//! Inside WeChat's own browser, a web page signs in through the Official Account instead
//! ([`wechat_oa`]); an account not yet bound gets the same kind of ticket.

pub mod sms;
pub mod wechat_oa;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{CoreError, ErrorCode};
use crate::identity::VolunteerProfile;
use crate::tokens::IssuedToken;
use crate::wechat::WeChatError;

mod use_cases;

/// How long a registration ticket stays good.
const TICKET_TTL: Duration = Duration::minutes(30);

/// A WeChat login request. `Debug` hides the code.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeChatLoginRequest {
    /// The code from `wx.login` (single use, valid five minutes).
    pub code: String,
}

/// A development login request (only when the server enables it). `Debug` hides the phone.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DevLoginRequest {
    /// A registered volunteer's phone number.
    pub phone: String,
}

impl std::fmt::Debug for WeChatLoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WeChatLoginRequest(<redacted>)")
    }
}

impl std::fmt::Debug for DevLoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DevLoginRequest(<redacted>)")
    }
}

/// A phone-number code from the mini program's `getPhoneNumber` button.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneBindingRequest {
    /// The code (single use).
    pub code: String,
}

impl std::fmt::Debug for PhoneBindingRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PhoneBindingRequest(<redacted>)")
    }
}

/// The answer to a login.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LoginAnswer {
    /// Whether this WeChat account already belongs to a volunteer.
    pub registered: bool,
    /// For a registered volunteer: who (numbers masked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volunteer: Option<VolunteerProfile>,
    /// For a registered volunteer: the bearer token.
    #[serde(skip_serializing_if = "Option::is_none", flatten)]
    pub token: Option<IssuedToken>,
    /// For an account not yet registered: pass this as `wechat_ticket` when registering.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_ticket: Option<String>,
    /// When the ticket stops working (+08:00).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::activity::shanghai_time::option::serialize"
    )]
    #[schema(value_type = Option<String>)]
    pub ticket_expires_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, Deserialize)]
struct Ticket {
    openid: String,
    unionid: Option<String>,
    expires_ms: i64,
    /// An Official Account openid (sign-in inside WeChat's browser), not the mini program's.
    #[serde(default)]
    official_account: bool,
}

fn wechat_refusal(e: &WeChatError) -> CoreError {
    let code = match e {
        WeChatError::Busy => ErrorCode::WechatBusy,
        WeChatError::InvalidCode => ErrorCode::WechatCodeInvalid,
        WeChatError::RateLimited => ErrorCode::WechatRateLimited,
        WeChatError::Blocked => ErrorCode::WechatUserBlocked,
        WeChatError::Timeout => ErrorCode::WechatTimeout,
        WeChatError::Unavailable { .. } => ErrorCode::WechatUnavailable,
        _ => ErrorCode::WechatError,
    };
    tracing::warn!(error = %e, code = %code, "WeChat login failed");
    CoreError::code(code)
}
