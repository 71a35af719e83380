//! Configuration: one typed struct, from built-in defaults, then an optional TOML file
//! (`hourmark.toml`, or the file `HOURMARK_CONFIG` names), then `HOURMARK_*` variables.
//!
//! The defaults run Hourmark on a bare machine: SQLite under `./data`, the in-process
//! cache, 127.0.0.1:8080, and a QR master key generated into `./data/qr-keys` on first
//! start. Production sets `HOURMARK_DATABASE_URL`, `HOURMARK_REDIS_URL`, `HOURMARK_QR_KEYS`
//! and `HOURMARK_CODE_BASE_URL`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};

use crate::key_files::{read_pii_key_file, write_private};
use hourmark_core::certificates::{CertificateSettings, CertificateSigner};
use hourmark_core::identity::pii::PiiVault;
use hourmark_core::login::sms::SmsSettings;
use hourmark_core::login::wechat_oa::{OaScope, WeChatOaSettings};
use hourmark_core::passkeys::PasskeySettings;
use hourmark_core::qr::KeyRing;
use hourmark_core::ratelimit::Limit;
use hourmark_core::sms::tencent::{TencentSms, TencentSmsConfig};
use hourmark_core::wechat::{WeChatClient, WeChatConfig};
use serde::{Deserialize, Serialize};

/// A secret string: usable, but never printed. Read like [`text`]: a secret of digits
/// set in the environment arrives as a number.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(#[serde(deserialize_with = "text::exact")] pub String);

mod core_settings;
mod text;

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Everything an operator can set. Each field is also an environment variable:
/// `HOURMARK_` and the field name in capitals (e.g. `HOURMARK_DATABASE_URL`).
///
/// `Debug` hides secrets: keys, the bootstrap token, and passwords inside the URLs.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// `sqlite:<path>` (the default, `sqlite:data/hourmark.db`) or `postgres://…`.
    pub database_url: String,
    /// `redis://…` to share the cache across instances; unset: an in-process cache.
    pub redis_url: Option<String>,
    /// Prefix of every Redis key, so several installations can share one Redis.
    pub redis_prefix: String,
    /// Folder for the SQLite file and generated keys.
    pub data_dir: PathBuf,
    /// QR master keys, `id:base64,id:base64`. Unset: read or create `<data_dir>/qr-keys`.
    /// Every instance must have the same keys. To rotate, add a key with a higher id and
    /// keep the old one until its codes have expired (seconds).
    pub qr_keys: Option<Secret>,
    /// Which of `qr_keys` signs new codes; unset: the highest id.
    pub qr_current_key: Option<u8>,
    /// Keys sealing ID and phone numbers at rest, `id:base64,…` (32 bytes each). Unset
    /// (with `pii_lookup_key`): read or create `<data_dir>/pii-keys`. To rotate, add a key
    /// with a higher id; values sealed under older keys still open while those stay listed.
    pub pii_keys: Option<Secret>,
    /// A file holding the sealing keys and the lookup key (two lines, as `pii_keys` and
    /// `pii_lookup_key`), for installations that keep secrets in files (a mounted secret,
    /// a file only the service user reads) rather than in the environment. It must not sit
    /// in the data folder, where a copy of the database would carry its keys along, and
    /// must not be readable by other users.
    pub pii_key_file: Option<PathBuf>,
    /// Which of `pii_keys` seals new values; unset: the highest id.
    pub pii_current_key: Option<u8>,
    /// Key of the keyed hash that finds an ID or phone number without decrypting (base64,
    /// at least 32 bytes). Never change it once volunteers are registered.
    pub pii_lookup_key: Option<Secret>,
    /// The URL prefix printed in QR codes. Upper case keeps the QR small (alphanumeric
    /// mode). Unset: `HTTP://<listen>/S/`.
    pub code_base_url: Option<String>,
    /// Seconds per code window (rotation period).
    pub code_window_secs: u32,
    /// Earlier windows still accepted (covers the time between display and scan).
    pub code_accept_previous: u32,
    /// Minutes before the scheduled start that check-in opens.
    pub checkin_opens_before_minutes: i64,
    /// Minutes after the scheduled end that departures are still taken (arrivals stop at the
    /// end). At least the late grace.
    pub checkout_closes_after_minutes: i64,
    /// Seconds after an accepted scan within which another is refused as a repeat (0: off).
    pub repeat_scan_guard_secs: i64,
    /// Minutes a scan made when the scan page opened stays valid while a first-time
    /// volunteer registers (the pending-scan ticket; default 10, 1–60). Longer widens what
    /// a forwarded page link is worth; the scan is always recorded at the opening time.
    pub pending_scan_minutes: i64,
    /// Until when a scan the phone kept offline may be uploaded: unset (the default), before
    /// the activity's check-out window closes; a number (1–10080), within that many minutes
    /// of the scan the phone claims. Longer lets a longer-offline phone count, and lets a
    /// photo of a code be claimed as a scan for longer; every late upload past the review
    /// threshold is flagged `late_upload` either way.
    pub late_upload_minutes: Option<i64>,
    /// Minutes before the scheduled start that already count (default 0).
    pub early_grace_minutes: i64,
    /// Minutes after the scheduled end that still count (default 30).
    pub late_grace_minutes: i64,
    /// Credited check-in/check-out pairs per volunteer per day (default 3).
    pub max_pairs_per_day: u32,
    /// Largest group commit of scans.
    pub scan_batch_max: usize,
    /// Scan batches committing concurrently; unset: 2 on PostgreSQL, 1 on SQLite.
    pub scan_batches_in_flight: Option<usize>,
    /// Registrations per client address per minute (0: no limit).
    pub rate_registrations_per_minute: u64,
    /// Logins (and bootstrap attempts) per client address per minute (0: no limit).
    pub rate_logins_per_minute: u64,
    /// Scans per volunteer per minute (0: no limit). Not per address: carriers put
    /// thousands of phones behind one.
    pub rate_scans_per_volunteer_per_minute: u64,
    /// Sign-up attempts per volunteer per minute (0: no limit).
    pub rate_signups_per_volunteer_per_minute: u64,
    /// Hours a volunteer must wait after binding a device before binding another.
    pub device_rebind_cooldown_hours: i64,
    /// Take the client address from the last `X-Forwarded-For` hop: only behind a proxy
    /// that sets it, or clients could pick their own address.
    pub trust_forwarded_for: bool,
    /// The WeChat mini program's AppID; with `wechat_secret`, turns on WeChat login.
    #[serde(deserialize_with = "text::optional", default)]
    pub wechat_appid: Option<String>,
    /// The mini program's AppSecret.
    pub wechat_secret: Option<Secret>,
    /// WeChat's API base URL (tests point it at a local stand-in).
    pub wechat_base_url: String,
    /// Timeout of one call to WeChat, milliseconds.
    pub wechat_timeout_ms: u64,
    /// The subscription-message template that tells volunteers what happened to their
    /// hours (keywords `thing1` activity, `date2` day, `phrase3` status, `thing4` what
    /// happened); unset: in-app notifications only.
    #[serde(deserialize_with = "text::optional", default)]
    pub wechat_notice_template_id: Option<String>,
    /// The Official Account's AppID; with `wechat_oa_secret`, turns on sign-in inside
    /// WeChat's browser (网页授权). Not the mini program's: each app has its own.
    #[serde(deserialize_with = "text::optional", default)]
    pub wechat_oa_appid: Option<String>,
    /// The Official Account's AppSecret.
    pub wechat_oa_secret: Option<Secret>,
    /// WeChat's authorisation page host (tests point it at a local stand-in).
    pub wechat_oa_authorize_base_url: String,
    /// WeChat's API host for the Official Account's calls (tests point it at a stand-in).
    pub wechat_oa_base_url: String,
    /// `snsapi_userinfo` (default: gives the unionid shared with the mini program, may ask
    /// the user) or `snsapi_base` (silent; finds only volunteers bound through the OA).
    pub wechat_oa_scope: String,
    /// Scheme and host at which phones reach Hourmark, for WeChat's redirect back (its host
    /// must be the OA's 网页授权域名); unset: the scheme and host of `code_base_url`.
    pub wechat_oa_redirect_base_url: Option<String>,
    /// The development login (by phone number, no WeChat). Never in production.
    pub dev_login: bool,
    /// Whether an adult's registration is confirmed by a one-time code sent by SMS to the
    /// phone given before anything is stored (a minor's always is, by the guardian's
    /// code). Always on in production, whatever this says: it is what keeps anyone from
    /// learning whether an ID number is registered. Off by default elsewhere, so that a
    /// development server registers in one step.
    pub registration_phone_code: bool,
    /// Who sends SMS sign-in codes: `dev` (writes each code to the log instead: the
    /// default outside production, refused in production), `tencent` (Tencent Cloud SMS,
    /// needs the `sms_tencent_*` settings) or `off`. Unset in production means `off`.
    pub sms_provider: Option<String>,
    /// Tencent Cloud API key: SecretId.
    #[serde(deserialize_with = "text::optional", default)]
    pub sms_tencent_secret_id: Option<String>,
    /// Tencent Cloud API key: SecretKey.
    pub sms_tencent_secret_key: Option<Secret>,
    /// The SMS application's SdkAppId.
    #[serde(deserialize_with = "text::optional", default)]
    pub sms_tencent_sdk_app_id: Option<String>,
    /// The approved SMS signature (签名).
    #[serde(deserialize_with = "text::optional", default)]
    pub sms_tencent_sign_name: Option<String>,
    /// The approved template: two parameters, the code and the minutes it is valid.
    #[serde(deserialize_with = "text::optional", default)]
    pub sms_tencent_template_id: Option<String>,
    /// An approved template without parameters, "this number is not registered", sent to a
    /// number a sign-in code is asked for that no volunteer has. Unset: nothing is sent
    /// then (the answer is the same either way).
    #[serde(deserialize_with = "text::optional", default)]
    pub sms_tencent_not_registered_template_id: Option<String>,
    /// An approved template without parameters, "someone tried to register with your ID
    /// number", sent to a volunteer (at most once a day) when a registration with their
    /// ID number is refused. Unset: not sent.
    #[serde(deserialize_with = "text::optional", default)]
    pub sms_tencent_id_number_tried_template_id: Option<String>,
    /// The region the request names.
    pub sms_tencent_region: String,
    /// Tencent's endpoint (tests point it at a local stand-in).
    pub sms_tencent_endpoint: String,
    /// Timeout of one call to the SMS provider, milliseconds.
    pub sms_timeout_ms: u64,
    /// Seconds before another code may be sent to the same number.
    pub sms_resend_secs: u64,
    /// Codes per number per hour.
    pub sms_codes_per_number_per_hour: u64,
    /// Codes asked from one client address per hour (0: no limit).
    pub sms_codes_per_client_per_hour: u64,
    /// Codes tried from one client address per hour (0: no limit).
    pub sms_checks_per_client_per_hour: u64,
    /// This is a production installation: refuses development shortcuts (the development
    /// login; an administrator's organisation approved without application, check and
    /// approval).
    pub production: bool,
    /// Development aid: answer 500 for any problem an operation's description does not
    /// list, naming it (the tests run with this on, so they check the description).
    pub check_error_docs: bool,
    /// The origin staff open the web pages at (invite links, passkey sign-in), e.g.
    /// `https://hm.example.cn`. Passkeys are bound to it: browsers allow them only on
    /// HTTPS origins and on `localhost`. Unset: `http://localhost:<listen port>`.
    pub staff_origin: Option<String>,
    /// The passkey relying-party id: the origin's host (the default) or a parent domain.
    /// Changing it later makes every enrolled passkey unusable.
    pub passkey_rp_id: Option<String>,
    /// Hours an invite link stays valid.
    pub invite_ttl_hours: i64,
    /// Hours a volunteer's bearer token lives (1 to 2160, default 168: a week). The mini
    /// program refreshes it (`POST /mp/v1/me/token/refresh`); a token on a lost phone
    /// dies on its own this long after its last refresh.
    pub volunteer_token_ttl_hours: i64,
    /// Minutes a console (browser) session lasts without use before it ends (1 to 1440,
    /// default 30). Applies to sessions begun after a change. API tokens never idle out.
    pub console_idle_minutes: i64,
    /// Milliseconds the public board's answers are kept and served again (0 to 60 000,
    /// default 1 000; 0: never kept). Another instance's change shows this much later.
    pub public_board_cache_ms: u64,
    /// A preset bootstrap token (`hm_` + 43 base64url characters) instead of a random
    /// one, for scripted first starts. Used only while no administrator exists.
    pub bootstrap_token: Option<Secret>,
    /// The bearer token `GET /metrics` (Prometheus text) answers to; unset: no metrics
    /// endpoint at all.
    pub metrics_token: Option<Secret>,
    /// The Ed25519 key signing service-record certificates, base64: a PKCS#8 document or
    /// a 32-byte seed. Unset: a key generated at start-up (with a warning), so certificates
    /// issued before a restart no longer verify; refused in production. Keep it as long as
    /// its certificates must verify.
    pub certificate_key: Option<Secret>,
    /// The key's id, printed in each certificate (letters, digits, `-`, `_`).
    #[serde(deserialize_with = "text::exact")]
    pub certificate_key_id: String,
    /// The URL prefix certificates' QR codes lead to; the number follows. Unset:
    /// `<staff_origin>/verify/`.
    pub certificate_verify_base_url: Option<String>,
    /// The CJK font certificates are rendered with (TrueType, or a collection whose first
    /// face is used). The default is Debian's `fonts-wqy-microhei` (Apache-2.0, or GPLv3
    /// with the font exception: embedding it in a PDF is allowed).
    pub certificate_font: PathBuf,
    /// Seconds between runs of the periodic jobs (closing sessions left open); 0: off.
    pub job_interval_secs: u64,
    /// Log filter, in `tracing_subscriber::EnvFilter` syntax (`RUST_LOG` overrides).
    pub log: String,
    /// How log lines are written: `text` (the default, for people) or `json` (one JSON
    /// object a line, for a log collector). Either way each request's lines carry its
    /// `request_id`.
    pub log_format: LogFormat,
    /// Seconds a shutdown (SIGTERM, Ctrl-C) waits for in-flight requests (scans waiting
    /// for their commit, exports) before the process exits anyway (1–600, default 20).
    /// Keep it below the service manager's own stop timeout (systemd: `TimeoutStopSec`,
    /// 90 s by default; containers: often 10 s), or it kills the process first.
    pub shutdown_grace_secs: u64,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object a line (`timestamp`, `level`, `fields`, `target`, `span`).
    Json,
}

/// A URL with any password replaced, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:<redacted>{}", &url[..scheme_end + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("database_url", &redact_url(&self.database_url))
            .field("redis_url", &self.redis_url.as_deref().map(redact_url))
            .field("redis_prefix", &self.redis_prefix)
            .field("data_dir", &self.data_dir)
            .field("qr_keys", &self.qr_keys)
            .field("qr_current_key", &self.qr_current_key)
            .field("pii_keys", &self.pii_keys)
            .field("pii_key_file", &self.pii_key_file)
            .field("pii_lookup_key", &self.pii_lookup_key)
            .field("code_base_url", &self.code_base_url)
            .field("code_window_secs", &self.code_window_secs)
            .field("code_accept_previous", &self.code_accept_previous)
            .field("bootstrap_token", &self.bootstrap_token)
            .field("metrics_token", &self.metrics_token)
            .field("wechat_appid", &self.wechat_appid)
            .field("wechat_secret", &self.wechat_secret)
            .field("wechat_oa_appid", &self.wechat_oa_appid)
            .field("wechat_oa_secret", &self.wechat_oa_secret)
            .field("certificate_key", &self.certificate_key)
            .field("certificate_key_id", &self.certificate_key_id)
            .field("dev_login", &self.dev_login)
            .field("registration_phone_code", &self.registration_phone_code)
            .field("sms_provider", &self.sms_provider)
            .field("sms_tencent_secret_id", &self.sms_tencent_secret_id)
            .field("sms_tencent_secret_key", &self.sms_tencent_secret_key)
            .field("production", &self.production)
            .field("log", &self.log)
            .field("log_format", &self.log_format)
            .field("shutdown_grace_secs", &self.shutdown_grace_secs)
            .finish_non_exhaustive()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite:data/hourmark.db".to_owned(),
            redis_url: None,
            redis_prefix: "hourmark".to_owned(),
            data_dir: PathBuf::from("data"),
            qr_keys: None,
            qr_current_key: None,
            pii_keys: None,
            pii_key_file: None,
            pii_current_key: None,
            pii_lookup_key: None,
            code_base_url: None,
            code_window_secs: 15,
            code_accept_previous: 1,
            checkin_opens_before_minutes: 60,
            checkout_closes_after_minutes: 120,
            repeat_scan_guard_secs: 60,
            pending_scan_minutes: 10,
            late_upload_minutes: None,
            early_grace_minutes: 0,
            late_grace_minutes: 30,
            max_pairs_per_day: 3,
            scan_batch_max: 512,
            scan_batches_in_flight: None,
            bootstrap_token: None,
            metrics_token: None,
            staff_origin: None,
            passkey_rp_id: None,
            invite_ttl_hours: 72,
            volunteer_token_ttl_hours: 24 * 7,
            console_idle_minutes: 30,
            public_board_cache_ms: 1_000,
            rate_registrations_per_minute: 120,
            rate_logins_per_minute: 300,
            rate_scans_per_volunteer_per_minute: 30,
            rate_signups_per_volunteer_per_minute: 10,
            trust_forwarded_for: false,
            device_rebind_cooldown_hours: 24,
            wechat_appid: None,
            wechat_secret: None,
            wechat_base_url: hourmark_core::wechat::DEFAULT_BASE_URL.to_owned(),
            wechat_timeout_ms: 5_000,
            wechat_notice_template_id: None,
            wechat_oa_appid: None,
            wechat_oa_secret: None,
            wechat_oa_authorize_base_url: hourmark_core::login::wechat_oa::DEFAULT_AUTHORIZE_BASE_URL.to_owned(),
            wechat_oa_base_url: hourmark_core::wechat::DEFAULT_BASE_URL.to_owned(),
            wechat_oa_scope: "snsapi_userinfo".to_owned(),
            wechat_oa_redirect_base_url: None,
            dev_login: false,
            registration_phone_code: false,
            sms_provider: None,
            sms_tencent_secret_id: None,
            sms_tencent_secret_key: None,
            sms_tencent_sdk_app_id: None,
            sms_tencent_sign_name: None,
            sms_tencent_template_id: None,
            sms_tencent_not_registered_template_id: None,
            sms_tencent_id_number_tried_template_id: None,
            sms_tencent_region: "ap-guangzhou".to_owned(),
            sms_tencent_endpoint: hourmark_core::sms::tencent::DEFAULT_ENDPOINT.to_owned(),
            sms_timeout_ms: 5_000,
            sms_resend_secs: 60,
            sms_codes_per_number_per_hour: 5,
            sms_codes_per_client_per_hour: 120,
            sms_checks_per_client_per_hour: 240,
            production: false,
            check_error_docs: false,
            certificate_key: None,
            certificate_key_id: "1".to_owned(),
            certificate_verify_base_url: None,
            certificate_font: PathBuf::from("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
            job_interval_secs: 60,
            log: "info".to_owned(),
            log_format: LogFormat::Text,
            shutdown_grace_secs: 20,
        }
    }
}

impl Config {
    /// Loads defaults, then the file, then the environment, and checks the result.
    pub fn load() -> anyhow::Result<Self> {
        let file = std::env::var("HOURMARK_CONFIG").unwrap_or_else(|_| "hourmark.toml".to_owned());
        let config: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(&file))
            .merge(Env::prefixed("HOURMARK_").ignore(&["CONFIG"]))
            .extract()
            .context("configuration is invalid (check hourmark.toml and the HOURMARK_* variables)")?;
        config.check()?;
        Ok(config)
    }

    /// Refuses settings that cannot work, saying what to fix.
    pub fn check(&self) -> anyhow::Result<()> {
        if !(5..=300).contains(&self.code_window_secs) {
            bail!("HOURMARK_CODE_WINDOW_SECS must be between 5 and 300, not {}", self.code_window_secs);
        }
        if self.code_accept_previous > 20 {
            bail!("HOURMARK_CODE_ACCEPT_PREVIOUS must be at most 20, not {}", self.code_accept_previous);
        }
        if !(1..=600).contains(&self.shutdown_grace_secs) {
            bail!("HOURMARK_SHUTDOWN_GRACE_SECS must be between 1 and 600, not {}", self.shutdown_grace_secs);
        }
        if self.scan_batch_max == 0 || self.scan_batch_max > 5_000 {
            bail!("HOURMARK_SCAN_BATCH_MAX must be between 1 and 5000");
        }
        for (name, v) in [
            ("HOURMARK_CHECKIN_OPENS_BEFORE_MINUTES", self.checkin_opens_before_minutes),
            ("HOURMARK_REPEAT_SCAN_GUARD_SECS", self.repeat_scan_guard_secs),
            ("HOURMARK_EARLY_GRACE_MINUTES", self.early_grace_minutes),
            ("HOURMARK_LATE_GRACE_MINUTES", self.late_grace_minutes),
            ("HOURMARK_CHECKOUT_CLOSES_AFTER_MINUTES", self.checkout_closes_after_minutes),
        ] {
            if !(0..=24 * 60).contains(&v) {
                bail!("{name} must be between 0 and 1440, not {v}");
            }
        }
        if !(1..=60).contains(&self.pending_scan_minutes) {
            bail!("HOURMARK_PENDING_SCAN_MINUTES must be between 1 and 60, not {}", self.pending_scan_minutes);
        }
        if let Some(m) = self.late_upload_minutes
            && !(1..=7 * 24 * 60).contains(&m)
        {
            bail!(
                "HOURMARK_LATE_UPLOAD_MINUTES must be between 1 and 10080 (or unset: until check-out closes), not {m}"
            );
        }
        if !(0..=24 * 365).contains(&self.device_rebind_cooldown_hours) {
            bail!("HOURMARK_DEVICE_REBIND_COOLDOWN_HOURS must be between 0 and 8760");
        }
        if !(1..=24 * 30).contains(&self.invite_ttl_hours) {
            bail!("HOURMARK_INVITE_TTL_HOURS must be between 1 and 720");
        }
        if self.public_board_cache_ms > 60_000 {
            bail!("HOURMARK_PUBLIC_BOARD_CACHE_MS must be between 0 and 60000, not {}", self.public_board_cache_ms);
        }
        if !(1..=24 * 60).contains(&self.console_idle_minutes) {
            bail!("HOURMARK_CONSOLE_IDLE_MINUTES must be between 1 and 1440, not {}", self.console_idle_minutes);
        }
        if !(1..=24 * 90).contains(&self.volunteer_token_ttl_hours) {
            bail!(
                "HOURMARK_VOLUNTEER_TOKEN_TTL_HOURS must be between 1 and 2160, not {}",
                self.volunteer_token_ttl_hours
            );
        }
        self.passkey_settings()?;
        if let Some(Secret(key)) = &self.certificate_key {
            CertificateSigner::from_base64(&self.certificate_key_id, key)
                .map_err(|e| anyhow::anyhow!("HOURMARK_CERTIFICATE_KEY / HOURMARK_CERTIFICATE_KEY_ID: {e}"))?;
        }
        if let Some(url) = &self.certificate_verify_base_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            bail!("HOURMARK_CERTIFICATE_VERIFY_BASE_URL must be an http(s) URL");
        }
        if self.dev_login && self.production {
            bail!("HOURMARK_DEV_LOGIN cannot be on when HOURMARK_PRODUCTION is set");
        }
        if self.wechat_appid.is_some() != self.wechat_secret.is_some() {
            bail!("set both HOURMARK_WECHAT_APPID and HOURMARK_WECHAT_SECRET, or neither");
        }
        if !(100..=60_000).contains(&self.wechat_timeout_ms) {
            bail!("HOURMARK_WECHAT_TIMEOUT_MS must be between 100 and 60000");
        }
        if self.wechat_notice_template_id.is_some() && self.wechat_appid.is_none() {
            bail!("HOURMARK_WECHAT_NOTICE_TEMPLATE_ID needs HOURMARK_WECHAT_APPID and HOURMARK_WECHAT_SECRET");
        }
        if self.wechat_oa_appid.is_some() != self.wechat_oa_secret.is_some() {
            bail!("set both HOURMARK_WECHAT_OA_APPID and HOURMARK_WECHAT_OA_SECRET, or neither");
        }
        self.wechat_oa_scope()?;
        for (name, url) in [
            ("HOURMARK_WECHAT_OA_AUTHORIZE_BASE_URL", Some(&self.wechat_oa_authorize_base_url)),
            ("HOURMARK_WECHAT_OA_BASE_URL", Some(&self.wechat_oa_base_url)),
            ("HOURMARK_WECHAT_OA_REDIRECT_BASE_URL", self.wechat_oa_redirect_base_url.as_ref()),
        ] {
            if let Some(url) = url
                && !(url.starts_with("https://") || url.starts_with("http://"))
            {
                bail!("{name} must be an http(s) URL");
            }
        }
        self.sms_settings()?;
        if self.checkout_closes_after_minutes < self.late_grace_minutes {
            bail!("HOURMARK_CHECKOUT_CLOSES_AFTER_MINUTES must be at least HOURMARK_LATE_GRACE_MINUTES");
        }
        if self.database_url.starts_with("sqlite:") && self.database_url.contains(":memory:") {
            bail!("HOURMARK_DATABASE_URL cannot be an in-memory SQLite database: scans must survive a restart");
        }
        if !(self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            bail!("HOURMARK_DATABASE_URL must start with sqlite: or postgres://");
        }
        Ok(())
    }

    /// Whether the store is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.database_url.starts_with("postgres")
    }

    /// The QR key ring: from `qr_keys`, or from `<data_dir>/qr-keys`, created on first use.
    pub fn key_ring(&self) -> anyhow::Result<KeyRing> {
        let spec = match &self.qr_keys {
            Some(Secret(spec)) => spec.clone(),
            None if self.is_postgres() || self.production => {
                bail!(
                    "set HOURMARK_QR_KEYS: with PostgreSQL or in production every instance needs the same keys, from configuration"
                )
            }
            None => {
                let path = self.data_dir.join("qr-keys");
                match std::fs::read_to_string(&path) {
                    Ok(spec) => spec.trim().to_owned(),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        std::fs::create_dir_all(&self.data_dir)
                            .with_context(|| format!("cannot create {}", self.data_dir.display()))?;
                        let spec = KeyRing::generate_spec();
                        write_private(&path, &spec)?;
                        tracing::warn!(path = %path.display(), "generated a QR master key; set HOURMARK_QR_KEYS when running several instances");
                        spec
                    }
                    Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
                }
            }
        };
        KeyRing::parse(&spec, self.qr_current_key).map_err(|e| anyhow::anyhow!("HOURMARK_QR_KEYS is invalid: {e}"))
    }

    /// The personal-data vault: from `pii_keys` and `pii_lookup_key`, from `pii_key_file`,
    /// or (development on SQLite only) from `<data_dir>/pii-keys` (two lines), created on
    /// first use.
    pub fn pii_vault(&self) -> anyhow::Result<PiiVault> {
        let (keys, lookup) = match (&self.pii_keys, &self.pii_lookup_key) {
            (Some(_), Some(_)) if self.pii_key_file.is_some() => {
                bail!("set HOURMARK_PII_KEYS and HOURMARK_PII_LOOKUP_KEY, or HOURMARK_PII_KEY_FILE, not both")
            }
            (Some(Secret(k)), Some(Secret(l))) => (k.clone(), l.clone()),
            (None, None) if self.pii_key_file.is_some() => {
                let path = self.pii_key_file.as_deref().unwrap_or(Path::new(""));
                read_pii_key_file(path, &self.data_dir)?
            }
            (None, None) if self.is_postgres() || self.production => bail!(
                "set HOURMARK_PII_KEYS and HOURMARK_PII_LOOKUP_KEY (or HOURMARK_PII_KEY_FILE): with PostgreSQL or in \
                 production every instance needs the same keys, from configuration (a generated key on one instance \
                 would lock the others out), never from the data folder"
            ),
            (None, None) => {
                let path = self.data_dir.join("pii-keys");
                match std::fs::read_to_string(&path) {
                    Ok(text) => {
                        let mut lines = text.lines();
                        match (lines.next(), lines.next()) {
                            (Some(k), Some(l)) => (k.trim().to_owned(), l.trim().to_owned()),
                            _ => bail!("{} must hold two lines: the sealing keys and the lookup key", path.display()),
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        std::fs::create_dir_all(&self.data_dir)
                            .with_context(|| format!("cannot create {}", self.data_dir.display()))?;
                        let (k, l) = PiiVault::generate().map_err(|e| anyhow::anyhow!("{e}"))?;
                        write_private(&path, &format!("{k}\n{l}\n"))?;
                        tracing::warn!(path = %path.display(), "generated personal-data keys; back them up: without them ID and phone numbers cannot be read");
                        (k, l)
                    }
                    Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
                }
            }
            _ => bail!("set both HOURMARK_PII_KEYS and HOURMARK_PII_LOOKUP_KEY, or neither"),
        };
        PiiVault::parse(&keys, self.pii_current_key, &lookup)
            .map_err(|e| anyhow::anyhow!("HOURMARK_PII_KEYS / HOURMARK_PII_LOOKUP_KEY: {e}"))
    }

    /// The WeChat login client, when an app is configured. Talks TLS with ring's provider.
    fn wechat_oa_scope(&self) -> anyhow::Result<OaScope> {
        match self.wechat_oa_scope.as_str() {
            "snsapi_userinfo" => Ok(OaScope::SnsapiUserinfo),
            "snsapi_base" => Ok(OaScope::SnsapiBase),
            other => bail!("HOURMARK_WECHAT_OA_SCOPE must be snsapi_userinfo or snsapi_base, not {other:?}"),
        }
    }

    /// Sign-in inside WeChat's browser, when the Official Account is configured. WeChat
    /// sends phones back to the redirect base URL, by default where the codes point
    /// (`code_base_url`'s scheme and host, lower-cased: QR codes spell it in capitals).
    pub fn wechat_oa_settings(&self) -> anyhow::Result<Option<WeChatOaSettings>> {
        let (Some(appid), Some(Secret(secret))) = (&self.wechat_oa_appid, &self.wechat_oa_secret) else {
            return Ok(None);
        };
        let timeout = std::time::Duration::from_millis(self.wechat_timeout_ms);
        let http = hourmark_core::wechat::http_client(timeout).context("cannot build the HTTP client for WeChat")?;
        let mut oa = WeChatConfig::new(appid.clone(), secret.clone());
        oa.base_url = self.wechat_oa_base_url.trim_end_matches('/').to_owned();
        oa.timeout = timeout;
        let redirect_base_url = match &self.wechat_oa_redirect_base_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => {
                let codes = self.settings().code_base_url;
                hourmark_core::login::wechat_oa::origin_of(&codes).context("HOURMARK_CODE_BASE_URL is not a URL")?
            }
        };
        Ok(Some(WeChatOaSettings {
            client: WeChatClient::new(oa, http),
            authorize_base_url: self.wechat_oa_authorize_base_url.trim_end_matches('/').to_owned(),
            redirect_base_url,
            scope: self.wechat_oa_scope()?,
        }))
    }

    pub fn wechat_client(&self) -> anyhow::Result<Option<WeChatClient>> {
        let (Some(appid), Some(Secret(secret))) = (&self.wechat_appid, &self.wechat_secret) else { return Ok(None) };
        let timeout = std::time::Duration::from_millis(self.wechat_timeout_ms);
        let http = hourmark_core::wechat::http_client(timeout).context("cannot build the HTTP client for WeChat")?;
        let mut wechat = WeChatConfig::new(appid.clone(), secret.clone());
        wechat.base_url = self.wechat_base_url.trim_end_matches('/').to_owned();
        wechat.timeout = timeout;
        wechat.notice_template_id = self.wechat_notice_template_id.clone();
        Ok(Some(WeChatClient::new(wechat, http)))
    }

    /// SMS sign-in: who sends the codes, and the limits.
    pub fn sms_settings(&self) -> anyhow::Result<SmsSettings> {
        let hourly = |max| Limit { max, per: std::time::Duration::from_secs(3600) };
        let mut sms = SmsSettings {
            sender: None,
            per_number: Limit { max: 1, per: std::time::Duration::from_secs(self.sms_resend_secs.max(1)) },
            per_number_hourly: hourly(self.sms_codes_per_number_per_hour),
            per_client: hourly(self.sms_codes_per_client_per_hour),
            checks_per_client: hourly(self.sms_checks_per_client_per_hour),
        };
        if !(10..=3600).contains(&self.sms_resend_secs) {
            bail!("HOURMARK_SMS_RESEND_SECS must be between 10 and 3600");
        }
        if !(1..=100).contains(&self.sms_codes_per_number_per_hour) {
            bail!("HOURMARK_SMS_CODES_PER_NUMBER_PER_HOUR must be between 1 and 100");
        }
        if !(100..=60_000).contains(&self.sms_timeout_ms) {
            bail!("HOURMARK_SMS_TIMEOUT_MS must be between 100 and 60000");
        }
        let default = if self.production { "off" } else { "dev" };
        match self.sms_provider.as_deref().unwrap_or(default) {
            "off" => {}
            "dev" if self.production => {
                bail!(
                    "HOURMARK_SMS_PROVIDER=dev writes sign-in codes to the log: not in production (use tencent or off)"
                )
            }
            "dev" => sms.sender = Some(std::sync::Arc::new(hourmark_core::sms::DevSmsSink::new())),
            "tencent" => {
                let need = |value: &Option<String>, name: &str| {
                    value
                        .clone()
                        .filter(|v| !v.trim().is_empty())
                        .with_context(|| format!("HOURMARK_SMS_PROVIDER=tencent needs HOURMARK_{name}"))
                };
                let optional = |value: &Option<String>| value.clone().filter(|v| !v.trim().is_empty());
                let secret_key = self
                    .sms_tencent_secret_key
                    .as_ref()
                    .map(|Secret(s)| s.clone())
                    .filter(|s| !s.is_empty())
                    .context("HOURMARK_SMS_PROVIDER=tencent needs HOURMARK_SMS_TENCENT_SECRET_KEY")?;
                let config = TencentSmsConfig {
                    secret_id: need(&self.sms_tencent_secret_id, "SMS_TENCENT_SECRET_ID")?,
                    secret_key: hourmark_core::wechat::Secret::new(secret_key),
                    sdk_app_id: need(&self.sms_tencent_sdk_app_id, "SMS_TENCENT_SDK_APP_ID")?,
                    sign_name: need(&self.sms_tencent_sign_name, "SMS_TENCENT_SIGN_NAME")?,
                    template_id: need(&self.sms_tencent_template_id, "SMS_TENCENT_TEMPLATE_ID")?,
                    not_registered_template_id: optional(&self.sms_tencent_not_registered_template_id),
                    id_number_tried_template_id: optional(&self.sms_tencent_id_number_tried_template_id),
                    region: self.sms_tencent_region.clone(),
                    endpoint: self.sms_tencent_endpoint.trim_end_matches('/').to_owned(),
                    timeout: std::time::Duration::from_millis(self.sms_timeout_ms),
                };
                let client =
                    TencentSms::new(config).map_err(|e| anyhow::anyhow!("HOURMARK_SMS_TENCENT_ENDPOINT: {e}"))?;
                sms.sender = Some(std::sync::Arc::new(client));
            }
            other => bail!("HOURMARK_SMS_PROVIDER must be dev, tencent or off, not {other:?}"),
        }
        Ok(sms)
    }

    /// The passkey relying party and invite links, from `staff_origin` and `passkey_rp_id`.
    pub fn passkey_settings(&self) -> anyhow::Result<PasskeySettings> {
        let origin = self.staff_origin.clone().unwrap_or_else(|| format!("http://localhost:{}", self.listen.port()));
        PasskeySettings::new(&origin, self.passkey_rp_id.as_deref(), chrono::Duration::hours(self.invite_ttl_hours))
            .map_err(|e| anyhow::anyhow!("HOURMARK_STAFF_ORIGIN / HOURMARK_PASSKEY_RP_ID: {e}"))
    }

    /// Certificates' signing key and verification URL.
    pub fn certificate_settings(&self) -> anyhow::Result<CertificateSettings> {
        let signer = match &self.certificate_key {
            Some(Secret(key)) => CertificateSigner::from_base64(&self.certificate_key_id, key)
                .map_err(|e| anyhow::anyhow!("HOURMARK_CERTIFICATE_KEY / HOURMARK_CERTIFICATE_KEY_ID: {e}"))?,
            None if self.production => {
                bail!(
                    "set HOURMARK_CERTIFICATE_KEY: certificates signed with a key generated at start-up stop verifying after a restart"
                )
            }
            None => {
                tracing::warn!(
                    "generated an ephemeral certificate key; set HOURMARK_CERTIFICATE_KEY, or certificates issued now stop verifying after a restart"
                );
                CertificateSigner::ephemeral(&self.certificate_key_id)
            }
        };
        let origin = self.staff_origin.clone().unwrap_or_else(|| format!("http://localhost:{}", self.listen.port()));
        let verify_base_url = self
            .certificate_verify_base_url
            .clone()
            .unwrap_or_else(|| format!("{}/verify/", origin.trim_end_matches('/')));
        if !(verify_base_url.starts_with("https://") || verify_base_url.starts_with("http://")) {
            bail!("HOURMARK_CERTIFICATE_VERIFY_BASE_URL must be an http(s) URL");
        }
        Ok(CertificateSettings { signer, verify_base_url, font_path: self.certificate_font.clone() })
    }
}

#[cfg(test)]
mod tests;
