//! Signing in inside WeChat's own browser, through the Official Account's web authorisation
//! (公众号网页授权), for a volunteer who opens a scan page from WeChat's scanner or chat.
//!
//! ```text
//! scan page (WeChat browser)      Hourmark                         WeChat
//!   │ POST …/wechat-oa/start {code}  │                                 │
//!   ├───────────────────────────────►│ state: random, kept 10 min      │
//!   │ 200 {authorize_url}            │ with the scan code and a hash   │
//!   │ Set-Cookie binder (HttpOnly)   │ of the binder cookie            │
//!   │◄───────────────────────────────┤                                 │
//!   │ GET open.weixin.qq.com/connect/oauth2/authorize?…&state=S#wechat_redirect
//!   ├─────────────────────────────────────────────────────────────────►│
//!   │ 302 …/wechat-oa/callback?code=C&state=S (no code: refused)       │
//!   │◄─────────────────────────────────────────────────────────────────┤
//!   │ GET …/callback (cookie)        │ take S (once); cookie matches?  │
//!   ├───────────────────────────────►│ sns/oauth2/access_token(C) ────►│
//!   │                                │ volunteer by OA openid/unionid  │
//!   │ 303 /S/<code>#wechat_oa=H      │ result kept 5 min under H       │
//!   │◄───────────────────────────────┤                                 │
//!   │ POST …/finish {H, device_id}   │ take H (once); cookie matches?  │
//!   ├───────────────────────────────►│ found: token + device binding   │
//!   │ 200 token | registration ticket│ not found: a ticket that binds  │
//!   │◄───────────────────────────────┤ this WeChat account on register │
//! ```
//!
//! The `state` WeChat carries back is only a random key (WeChat allows 128 characters of
//! `[a-zA-Z0-9]`, too little for a sealed value): what it names (the scan code to return
//! to, who started) stays in the cache and is taken once, so a replayed or forged state
//! finds nothing. It is bound to the browser that started by an HttpOnly cookie whose hash
//! is kept with it (login CSRF: a link with someone else's state signs nobody in here).
//! The token is not put in the URL either: the callback leaves a one-time handle in the
//! fragment, and the page exchanges it, with the same cookie and its device id, for the
//! token, applying the device binding rule as the SMS sign-in does.
//!
//! The unionid is what finds a volunteer registered through the mini program (the two
//! apps' openids differ). WeChat documents the unionid as returned only for
//! `snsapi_userinfo`, so that is the default scope; `snsapi_base` is silent but finds only
//! volunteers who registered in WeChat's browser before (by OA openid).

use chrono::Duration;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::LoginAnswer;
use super::sms::DeviceStanding;
use crate::error::{CoreError, ErrorCode};
use crate::wechat::WeChatClient;

mod use_cases;

/// How long a started sign-in waits for WeChat to send the browser back.
pub const STATE_TTL: Duration = Duration::minutes(10);
/// How long the page has to collect the result after WeChat sent it back.
pub const RESULT_TTL: Duration = Duration::minutes(5);
/// The cookie binding a sign-in to the browser that started it.
pub const COOKIE_NAME: &str = "hourmark_wx_oa";
/// Where the cookie is sent: the start, callback and finish routes only.
pub const COOKIE_PATH: &str = "/mp/v1/login/wechat-oa";
/// The callback route, under the redirect base URL.
pub const CALLBACK_PATH: &str = "/mp/v1/login/wechat-oa/callback";
/// WeChat's production authorisation host.
pub const DEFAULT_AUTHORIZE_BASE_URL: &str = "https://open.weixin.qq.com";

/// Longest scan code accepted as the place to return to (real ones are about 60).
const MAX_SCAN_CODE_LEN: usize = 512;

/// The scope asked of WeChat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OaScope {
    /// Silent; gives the OA openid only.
    SnsapiBase,
    /// May ask the user (unless they follow the OA); gives the unionid too.
    SnsapiUserinfo,
}

impl OaScope {
    /// As WeChat spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SnsapiBase => "snsapi_base",
            Self::SnsapiUserinfo => "snsapi_userinfo",
        }
    }
}

/// The Official Account sign-in settings.
#[derive(Debug, Clone)]
pub struct WeChatOaSettings {
    /// A client built from the Official Account's appid and secret (not the mini
    /// program's), pointed at WeChat's API.
    pub client: WeChatClient,
    /// Scheme and host of WeChat's authorisation page ([`DEFAULT_AUTHORIZE_BASE_URL`]).
    pub authorize_base_url: String,
    /// Scheme and host at which browsers reach Hourmark: the callback is this plus
    /// [`CALLBACK_PATH`]. Its host must be the OA's 网页授权域名.
    pub redirect_base_url: String,
    /// The scope asked.
    pub scope: OaScope,
}

/// Start a sign-in: the scan code to come back to.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeChatOaStartRequest {
    /// The token of the scan page's code (the last part of `/S/<code>`).
    pub code: String,
}

/// Where to send the browser, and the cookie that binds the sign-in to it.
#[derive(Clone, Serialize, ToSchema)]
pub struct WeChatOaStart {
    /// WeChat's authorisation page, ending in `#wechat_redirect`. Navigate to it.
    pub authorize_url: String,
    /// The binder cookie's value (the HTTP layer sets it; never in the body).
    #[serde(skip)]
    pub binder: String,
}

impl std::fmt::Debug for WeChatOaStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeChatOaStart").field("authorize_url", &self.authorize_url).finish_non_exhaustive()
    }
}

/// What WeChat adds to the callback URL. Both optional: a refusal has no code, and a
/// forged request may have anything.
#[derive(Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WeChatOaCallback {
    /// The authorisation code (absent when the user refused).
    pub code: Option<String>,
    /// The state given at the start.
    pub state: Option<String>,
}

impl std::fmt::Debug for WeChatOaCallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WeChatOaCallback(<redacted>)")
    }
}

/// Collect a sign-in's result. `Debug` hides the handle.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeChatOaFinishRequest {
    /// The handle from the fragment (`#wechat_oa=…`) of the page WeChat sent back to.
    pub handle: String,
    /// This phone's device id: the device binding rule is applied to it, as for SMS.
    #[serde(default)]
    pub device_id: Option<String>,
}

impl std::fmt::Debug for WeChatOaFinishRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WeChatOaFinishRequest(<redacted>)")
    }
}

/// Signed in (`registered`: token and `device`), or a registration ticket for this WeChat
/// account (pass it as `wechat_ticket` when registering).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WeChatOaAnswer {
    /// The token and who, or the registration ticket.
    #[serde(flatten)]
    pub login: LoginAnswer,
    /// For a registered volunteer: the device binding rule applied to `device_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceStanding>,
}

/// What a state names, in the cache.
#[derive(Serialize, Deserialize)]
struct Started {
    scan_code: String,
    binder_hash: String,
    expires_ms: i64,
}

/// What a result handle names, in the cache.
#[derive(Serialize, Deserialize)]
struct Finished {
    volunteer_id: Option<i64>,
    openid: String,
    unionid: Option<String>,
    binder_hash: String,
    expires_ms: i64,
}

fn random_hex(bytes: usize) -> Result<String, CoreError> {
    let mut buffer = vec![0u8; bytes];
    SystemRandom::new().fill(&mut buffer).map_err(|_| CoreError::Internal("no randomness".into()))?;
    Ok(data_encoding::HEXLOWER.encode(&buffer))
}

fn binder_hash(binder: &str) -> String {
    data_encoding::HEXLOWER.encode(ring::digest::digest(&ring::digest::SHA256, binder.as_bytes()).as_ref())
}

/// A state or handle as issued: 32 lowercase hex digits. Anything else is refused before
/// the cache is asked.
fn well_formed(key: &str) -> bool {
    key.len() == 32 && key.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn state_invalid() -> CoreError {
    CoreError::code(ErrorCode::WechatOaStateInvalid)
}

/// A scan code safe to put back into `/S/<code>` unescaped.
fn plausible_scan_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= MAX_SCAN_CODE_LEN
        && code.bytes().all(|b| b.is_ascii_alphanumeric() || b"$*+-.:_~".contains(&b))
}

/// The scheme and host (and port) of `url`, lower-cased: where a browser that opened a
/// code URL (spelt in capitals in QR codes) reaches Hourmark. `None` if it is not a URL.
pub fn origin_of(url: &str) -> Option<String> {
    let url = reqwest::Url::parse(&url.to_ascii_lowercase()).ok()?;
    url.has_host().then(|| url.origin().ascii_serialization())
}

/// The authorisation URL, parameters in the order WeChat documents, with the
/// `#wechat_redirect` WeChat requires.
pub fn authorize_url(settings: &WeChatOaSettings, state: &str) -> Result<String, CoreError> {
    let base = settings.authorize_base_url.trim_end_matches('/');
    let mut url = reqwest::Url::parse(&format!("{base}/connect/oauth2/authorize"))
        .map_err(|e| CoreError::Internal(format!("the WeChat authorisation base URL is invalid: {e}")))?;
    let redirect_uri = format!("{}{CALLBACK_PATH}", settings.redirect_base_url.trim_end_matches('/'));
    url.query_pairs_mut()
        .append_pair("appid", &settings.client.config().appid)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("response_type", "code")
        .append_pair("scope", settings.scope.as_str())
        .append_pair("state", state);
    url.set_fragment(Some("wechat_redirect"));
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_scan_codes_are_checked_before_use() {
        assert!(well_formed(&"0a".repeat(16)));
        for bad in ["", "0A".repeat(16).as_str(), &"0".repeat(31), &"0".repeat(33), &"g".repeat(32)] {
            assert!(!well_formed(bad), "{bad:?}");
        }
        assert!(plausible_scan_code("HM1.ABC-123:$*+._~"));
        assert_eq!(origin_of("HTTPS://HM.EXAMPLE.CN/S/").as_deref(), Some("https://hm.example.cn"));
        assert_eq!(origin_of("HTTP://127.0.0.1:8080/S/").as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(origin_of("not a url"), None);
        for bad in ["", "a/b", "a b", "a#b", "a?b", "a%2F", "码", &"A".repeat(MAX_SCAN_CODE_LEN + 1)] {
            assert!(!plausible_scan_code(bad), "{bad:?}");
        }
    }
}
