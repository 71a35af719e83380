//! What the core needs to know beyond its services: the settings every area reads, filled
//! in by the server's configuration. Each area declares its own settings type beside its
//! rules (`PasskeySettings`, `SmsSettings`, …); this file only gathers them.

use chrono::Duration;

use crate::attendance::checkin::CheckinPolicy;
use crate::qr::CodeWindows;

/// What the core needs to know beyond its services. The server's `Config` fills it in.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Rotation period and how many earlier windows are still accepted.
    pub code_windows: CodeWindows,
    /// The URL prefix codes are put behind, e.g. `HTTPS://HM.EXAMPLE.CN/S/`.
    pub code_base_url: String,
    /// The check-in and minutes rules.
    pub checkin: CheckinPolicy,
    /// How long a pending-scan ticket keeps a scan valid while the volunteer registers
    /// (see [`crate::attendance::ticket`]).
    pub pending_scan_ttl: Duration,
    /// Until when a scan the phone kept offline may still be uploaded (see
    /// [`crate::attendance::offline`]).
    pub late_upload_bound: crate::attendance::offline::LateUploadBound,
    /// How long a volunteer's bearer token lives.
    pub volunteer_token_ttl: Duration,
    /// How long a staff bearer token lives.
    pub staff_token_ttl: Duration,
    /// How long a console (browser) session lasts without use.
    pub console_idle: Duration,
    /// Largest group commit of scans.
    pub scan_batch_max: usize,
    /// Scan batches committing at once.
    pub scan_batches_in_flight: usize,
    /// The WeChat login client, when the server has a mini-program app configured.
    pub wechat: Option<crate::wechat::WeChatClient>,
    /// Sign-in inside WeChat's browser through the Official Account, when configured.
    pub wechat_oa: Option<crate::login::wechat_oa::WeChatOaSettings>,
    /// Whether the development login (by phone number, no WeChat) is on.
    pub dev_login: bool,
    /// SMS sign-in: the sender and its limits.
    pub sms: crate::login::sms::SmsSettings,
    /// Whether an adult's registration waits for a one-time code sent to the phone given
    /// (see [`crate::identity::confirmation`]): always in production, so that nobody can
    /// learn whether an ID number is registered without proving a phone. A minor's
    /// registration always waits for their guardian's code, whatever this says.
    pub registration_phone_code: bool,
    /// A production installation: no development shortcuts (an administrator's new
    /// organisation goes through application, check and approval like any other).
    pub production: bool,
    /// Rate limits.
    pub rate_limits: crate::ratelimit::RateLimits,
    /// How long after binding a device a volunteer must wait to bind another.
    pub device_rebind_cooldown: Duration,
    /// Whether to take the client address from the last `X-Forwarded-For` hop (only
    /// behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    /// Staff passkeys: the relying party and the invite links.
    pub passkeys: crate::passkeys::PasskeySettings,
    /// Development aid: every problem answer an operation's description does not list
    /// becomes a 500 that says so (the tests run with it on).
    pub check_error_docs: bool,
    /// The bearer token `GET /metrics` answers to; none: the endpoint does not exist.
    pub metrics_token: Option<crate::wechat::Secret>,
    /// Certificates: the signing key and the verification URL.
    pub certificates: crate::certificates::CertificateSettings,
    /// How long the public board's rendered answers are kept and served again (zero: not
    /// kept); see `crate::publicity::board_cache`.
    pub public_board_fresh: std::time::Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            code_windows: CodeWindows { secs: 15, accept_previous: 1 },
            code_base_url: "HTTP://127.0.0.1:8080/S/".to_owned(),
            checkin: CheckinPolicy::default(),
            pending_scan_ttl: Duration::minutes(10),
            late_upload_bound: crate::attendance::offline::LateUploadBound::CheckoutCloses,
            volunteer_token_ttl: Duration::days(7),
            staff_token_ttl: Duration::hours(12),
            console_idle: Duration::minutes(30),
            scan_batch_max: 512,
            scan_batches_in_flight: 2,
            wechat: None,
            wechat_oa: None,
            dev_login: false,
            sms: crate::login::sms::SmsSettings::default(),
            registration_phone_code: false,
            production: false,
            rate_limits: crate::ratelimit::RateLimits::default(),
            device_rebind_cooldown: Duration::hours(24),
            trust_forwarded_for: false,
            passkeys: crate::passkeys::PasskeySettings::default(),
            check_error_docs: false,
            metrics_token: None,
            certificates: crate::certificates::CertificateSettings::default(),
            public_board_fresh: std::time::Duration::from_secs(1),
        }
    }
}
