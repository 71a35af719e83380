//! The HTTP client for WeChat's login and phone-number APIs.
//!
//! Everything WeChat sends is treated as untrusted input: bodies are size-limited, parsed
//! field by field without panicking, and error reasons never quote the values they reject
//! (an answer may contain a session key or a phone number). Request URLs carry the app secret
//! or the access token in the query string, so transport errors are stripped of their URL
//! before they are kept or logged.

use std::error::Error as _;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::{RequestBuilder, StatusCode};
use serde::Serialize;
use serde_json::{Map, Value};

use super::config::WeChatConfig;
use super::error::WeChatError;
use super::secret::SessionKey;
use super::token::{AccessToken, Fetched, TokenCache};

/// The longest `wx.login` or phone code accepted; real ones are about 32 characters.
pub const MAX_CODE_LEN: usize = 128;

/// The largest answer read from WeChat; real ones are a few hundred bytes.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// The errcodes saying the access token is invalid (40001, 40014) or expired (42001).
const TOKEN_REJECTED: [i64; 3] = [40001, 40014, 42001];

/// Longest accepted identifier (openid, unionid, session key, phone fields, appid).
const MAX_FIELD_LEN: usize = 256;

/// Longest accepted access token (WeChat asks to reserve 512 characters).
const MAX_TOKEN_LEN: usize = 2048;

/// Longest part of WeChat's `errmsg` kept in an error.
const MAX_ERRMSG_CHARS: usize = 256;

/// Longest access-token lifetime believed (WeChat announces 7200 s).
const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// Who a `wx.login` code belongs to, from `jscode2session`.
///
/// No `Serialize`: the session key must stay on the server. `Debug` redacts it.
#[derive(Debug, Clone)]
pub struct WxSession {
    /// The user's id within this mini program.
    pub openid: String,
    /// The user's id across the organisation's WeChat apps, when the mini program is bound to
    /// an Open Platform account.
    pub unionid: Option<String>,
    /// The key for decrypting data the mini program obtains on the user's behalf.
    pub session_key: SessionKey,
}

/// Who authorised an Official Account web page, from `sns/oauth2/access_token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OaAuthorisation {
    /// The user's id within the Official Account (not the mini program's openid).
    pub openid: String,
    /// The user's id across the Open Platform account's apps. WeChat documents it as
    /// returned only for `snsapi_userinfo`, and only when the Official Account is bound to an
    /// Open Platform account.
    pub unionid: Option<String>,
    /// The scope the user granted (`snsapi_base` or `snsapi_userinfo`).
    pub scope: String,
    /// Set when WeChat answers `is_snapshotuser: 1`: a "snapshot page" visitor who has not
    /// really authorised (a virtual openid that must not be bound to anyone).
    pub snapshot_user: bool,
}

/// A user's phone number, from `getuserphonenumber`, checked to be watermarked for our appid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WxPhone {
    /// The number as WeChat shows it (with the country code for numbers outside mainland China).
    pub phone_number: String,
    /// The number without country code.
    pub pure_phone_number: String,
    /// The country code, such as `86`.
    pub country_code: String,
}

/// A client for WeChat's mini-program login and phone-number APIs.
///
/// Cheap to clone: clones share the HTTP client and the cached access token.
#[derive(Clone)]
pub struct WeChatClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: WeChatConfig,
    /// `config.base_url` without trailing slashes.
    base_url: String,
    http: reqwest::Client,
    tokens: TokenCache,
}

impl fmt::Debug for WeChatClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeChatClient").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

/// The body of a `getuserphonenumber` request.
#[derive(Serialize)]
struct PhoneRequest<'a> {
    code: &'a str,
}

/// A subscription message (订阅消息) to one user: the template's keywords and their values.
/// WeChat limits each keyword by its kind (`thing` 20 characters, `phrase` 5 Chinese
/// characters, …); the caller fits the values to the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeMessage {
    /// The recipient's openid for this mini program.
    pub touser: String,
    /// The template id chosen in the mini program's console.
    pub template_id: String,
    /// The mini-program page the message opens, if any.
    pub page: Option<String>,
    /// Keyword (`thing1`, `date2`, …) → value.
    pub data: std::collections::BTreeMap<String, String>,
}

/// The body of a `subscribeMessage.send` request.
#[derive(Serialize)]
struct SubscribeRequest<'a> {
    touser: &'a str,
    template_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    page: Option<&'a str>,
    miniprogram_state: &'static str,
    lang: &'static str,
    data: std::collections::BTreeMap<&'a str, KeywordValue<'a>>,
}

#[derive(Serialize)]
struct KeywordValue<'a> {
    value: &'a str,
}

/// errcode 43101: the user has not subscribed to the template (or used up their one-time
/// subscription): nothing to retry until they subscribe again.
pub const NOT_SUBSCRIBED: i64 = 43101;

impl WeChatClient {
    /// Sends a subscription message (`subscribeMessage.send`).
    ///
    /// Uses the shared access token, refreshed and retried once if WeChat rejects it, as
    /// [`phone_number`](Self::phone_number) does. [`NOT_SUBSCRIBED`] comes back as
    /// `Upstream { errcode: 43101, .. }`.
    pub async fn send_subscribe_message(&self, message: &SubscribeMessage) -> Result<(), WeChatError> {
        let token = self.access_token(None).await?;
        let result = match self.request_subscribe_send(&token, message).await {
            Err(WeChatError::Upstream { errcode, .. }) if TOKEN_REJECTED.contains(&errcode) => {
                tracing::info!(errcode, "WeChat rejected the access token; refreshing it and retrying once");
                let fresh = self.access_token(Some(&token)).await?;
                self.request_subscribe_send(&fresh, message).await
            }
            other => other,
        };
        log_failure("subscribeMessage.send", &result);
        result
    }

    async fn request_subscribe_send(&self, token: &AccessToken, message: &SubscribeMessage) -> Result<(), WeChatError> {
        let body = SubscribeRequest {
            touser: &message.touser,
            template_id: &message.template_id,
            page: message.page.as_deref(),
            miniprogram_state: "formal",
            lang: "zh_CN",
            data: message.data.iter().map(|(k, v)| (k.as_str(), KeywordValue { value: v })).collect(),
        };
        let request = self
            .inner
            .http
            .post(self.url("/cgi-bin/message/subscribe/send"))
            .query(&[("access_token", token.expose_secret())])
            .json(&body);
        let answer = self.exchange(request).await?;
        checked_object(&answer).map(|_| ())
    }

    /// A client for `config`, sending through `http`.
    ///
    /// The caller builds `http` so that TLS roots, proxies and connection pooling are decided
    /// in one place for the whole server. Each request is limited by `config.timeout`
    /// whatever `http`'s own timeouts are.
    pub fn new(config: WeChatConfig, http: reqwest::Client) -> Self {
        let base_url = config.base_url.trim_end_matches('/').to_owned();
        Self { inner: Arc::new(Inner { config, base_url, http, tokens: TokenCache::default() }) }
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &WeChatConfig {
        &self.inner.config
    }

    /// Exchanges a `wx.login` code for the user's identity (`jscode2session`).
    ///
    /// A malformed code is refused with [`WeChatError::InvalidCode`] without calling WeChat.
    /// Codes are single-use: do not retry with the same code after a timeout, since WeChat may
    /// have consumed it.
    pub async fn code_to_session(&self, js_code: &str) -> Result<WxSession, WeChatError> {
        validate_code(js_code)?;
        let config = &self.inner.config;
        let request = self.inner.http.get(self.url("/sns/jscode2session")).query(&[
            ("appid", config.appid.as_str()),
            ("secret", config.secret.expose_secret()),
            ("js_code", js_code),
            ("grant_type", "authorization_code"),
        ]);
        let result = self.exchange(request).await.and_then(|answer| parse_session(&answer));
        log_failure("jscode2session", &result);
        result
    }

    /// Exchanges a code from the mini program's `getPhoneNumber` button for the user's phone
    /// number (`getuserphonenumber`).
    ///
    /// Uses the shared access token, fetching it when missing or within five minutes of
    /// expiry. If WeChat rejects the token (40001/40014/42001), it is refreshed once and the
    /// request retried once. A number watermarked for another appid is refused.
    pub async fn phone_number(&self, phone_code: &str) -> Result<WxPhone, WeChatError> {
        validate_code(phone_code)?;
        let result = self.phone_number_with_retry(phone_code).await;
        log_failure("getuserphonenumber", &result);
        result
    }

    async fn phone_number_with_retry(&self, phone_code: &str) -> Result<WxPhone, WeChatError> {
        let token = self.access_token(None).await?;
        match self.request_phone_number(&token, phone_code).await {
            Err(WeChatError::Upstream { errcode, .. }) if TOKEN_REJECTED.contains(&errcode) => {
                tracing::info!(errcode, "WeChat rejected the access token; refreshing it and retrying once");
                let fresh = self.access_token(Some(&token)).await?;
                self.request_phone_number(&fresh, phone_code).await
            }
            other => other,
        }
    }

    async fn request_phone_number(&self, token: &AccessToken, phone_code: &str) -> Result<WxPhone, WeChatError> {
        let request = self
            .inner
            .http
            .post(self.url("/wxa/business/getuserphonenumber"))
            .query(&[("access_token", token.expose_secret())])
            .json(&PhoneRequest { code: phone_code });
        let answer = self.exchange(request).await?;
        parse_phone(&answer, &self.inner.config.appid)
    }

    /// The cached access token, or a new one (see [`TokenCache::get`]).
    async fn access_token(&self, rejected: Option<&AccessToken>) -> Result<AccessToken, WeChatError> {
        self.inner
            .tokens
            .get(rejected, || async {
                let result = self.fetch_access_token().await;
                log_failure("cgi-bin/token", &result);
                result
            })
            .await
    }

    async fn fetch_access_token(&self) -> Result<Fetched, WeChatError> {
        let config = &self.inner.config;
        let request = self.inner.http.get(self.url("/cgi-bin/token")).query(&[
            ("grant_type", "client_credential"),
            ("appid", config.appid.as_str()),
            ("secret", config.secret.expose_secret()),
        ]);
        let answer = self.exchange(request).await?;
        parse_token(&answer)
    }

    /// Exchanges an Official Account web-authorisation code (网页授权, the `code` WeChat
    /// adds to the redirect) for who the user is (`sns/oauth2/access_token`).
    ///
    /// The client must be built with the Official Account's appid and secret, not the
    /// mini program's. The user access token WeChat answers with is not kept: Hourmark only
    /// needs to know who signed in, and calls nothing on the user's behalf. Codes live five
    /// minutes and work once: 40029 is [`WeChatError::InvalidCode`], 40163 (already used)
    /// [`WeChatError::CodeUsed`]. A malformed code is refused without calling WeChat.
    pub async fn oa_authorisation(&self, code: &str) -> Result<OaAuthorisation, WeChatError> {
        validate_code(code)?;
        let config = &self.inner.config;
        let request = self.inner.http.get(self.url("/sns/oauth2/access_token")).query(&[
            ("appid", config.appid.as_str()),
            ("secret", config.secret.expose_secret()),
            ("code", code),
            ("grant_type", "authorization_code"),
        ]);
        let result = self.exchange(request).await.and_then(|answer| parse_oa_authorisation(&answer));
        log_failure("sns/oauth2/access_token", &result);
        result
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.inner.base_url)
    }

    /// Sends `request` and returns the JSON answer, within the configured timeout.
    async fn exchange(&self, request: RequestBuilder) -> Result<Value, WeChatError> {
        let body = tokio::time::timeout(self.inner.config.timeout, read_answer(request))
            .await
            .map_err(|_elapsed| WeChatError::Timeout)??;
        serde_json::from_slice(&body).map_err(|_| unavailable("the answer is not JSON"))
    }
}

/// Sends `request` and reads the body of a 200 answer, up to [`MAX_ANSWER_BYTES`].
async fn read_answer(request: RequestBuilder) -> Result<Vec<u8>, WeChatError> {
    let mut response = request.send().await.map_err(transport_error)?;
    let status = response.status();
    if status != StatusCode::OK {
        return Err(unavailable(format!("HTTP status {status}")));
    }
    let too_large = || unavailable(format!("the answer is larger than {MAX_ANSWER_BYTES} bytes"));
    if response.content_length().is_some_and(|length| length > MAX_ANSWER_BYTES as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Refuses, before any request, a code WeChat could not have issued.
fn validate_code(code: &str) -> Result<(), WeChatError> {
    let plausible = !code.is_empty() && code.len() <= MAX_CODE_LEN && code.bytes().all(|b| b.is_ascii_graphic());
    if plausible { Ok(()) } else { Err(WeChatError::InvalidCode) }
}

fn unavailable(reason: impl Into<String>) -> WeChatError {
    WeChatError::Unavailable { reason: reason.into() }
}

fn unexpected(reason: impl Into<String>) -> WeChatError {
    WeChatError::UnexpectedAnswer { reason: reason.into() }
}

/// Maps a reqwest error, stripped of its URL (which holds the secret or the access token).
fn transport_error(error: reqwest::Error) -> WeChatError {
    if error.is_timeout() {
        return WeChatError::Timeout;
    }
    let error = error.without_url();
    let mut reason = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        reason.push_str(": ");
        reason.push_str(&cause.to_string());
        source = cause.source();
    }
    unavailable(reason)
}

fn log_failure<T>(api: &'static str, result: &Result<T, WeChatError>) {
    let Err(error) = result else { return };
    let code = error.code();
    match error {
        WeChatError::InvalidCode | WeChatError::CodeUsed => tracing::debug!(api, code, %error, "WeChat call failed"),
        WeChatError::Busy | WeChatError::RateLimited | WeChatError::Blocked => {
            tracing::info!(api, code, %error, "WeChat call failed");
        }
        _ => tracing::warn!(api, code, %error, "WeChat call failed"),
    }
}

// --- answer parsing: pure functions over untrusted JSON ---

/// The answer as an object, after turning a non-zero `errcode` into its error.
fn checked_object(answer: &Value) -> Result<&Map<String, Value>, WeChatError> {
    let Some(object) = answer.as_object() else {
        return Err(unexpected("the answer is not a JSON object"));
    };
    match object.get("errcode") {
        None | Some(Value::Null) => Ok(object),
        Some(errcode) => match errcode.as_i64() {
            Some(0) => Ok(object),
            Some(errcode) => {
                let errmsg = object.get("errmsg").and_then(Value::as_str).unwrap_or_default();
                let errmsg: String = errmsg.chars().take(MAX_ERRMSG_CHARS).collect();
                tracing::debug!(errcode, errmsg, "WeChat answered with an error");
                Err(WeChatError::from_errcode(errcode, errmsg))
            }
            None => Err(unexpected("`errcode` is not an integer")),
        },
    }
}

/// A field that must be a non-empty string of at most `max_len` bytes.
fn required_str(object: &Map<String, Value>, field: &str, max_len: usize) -> Result<String, WeChatError> {
    match optional_str(object, field, max_len)? {
        Some(value) => Ok(value),
        None => Err(unexpected(format!("`{field}` is missing or empty"))),
    }
}

/// A field that may be absent, null or empty (all read as `None`), else a string of at most
/// `max_len` bytes.
fn optional_str(object: &Map<String, Value>, field: &str, max_len: usize) -> Result<Option<String>, WeChatError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) if value.is_empty() => Ok(None),
        Some(Value::String(value)) if value.len() <= max_len => Ok(Some(value.clone())),
        Some(Value::String(_)) => Err(unexpected(format!("`{field}` is longer than {max_len} bytes"))),
        Some(_) => Err(unexpected(format!("`{field}` is not a string"))),
    }
}

fn required_object<'a>(object: &'a Map<String, Value>, field: &str) -> Result<&'a Map<String, Value>, WeChatError> {
    object
        .get(field)
        .and_then(Value::as_object)
        .ok_or_else(|| unexpected(format!("`{field}` is missing or not an object")))
}

fn parse_session(answer: &Value) -> Result<WxSession, WeChatError> {
    let object = checked_object(answer)?;
    Ok(WxSession {
        openid: required_str(object, "openid", MAX_FIELD_LEN)?,
        unionid: optional_str(object, "unionid", MAX_FIELD_LEN)?,
        session_key: SessionKey::new(required_str(object, "session_key", MAX_FIELD_LEN)?),
    })
}

fn parse_oa_authorisation(answer: &Value) -> Result<OaAuthorisation, WeChatError> {
    let object = checked_object(answer)?;
    // The user access token is required (its absence means this is not the answer we
    // asked for) but dropped at once: nothing is called on the user's behalf.
    required_str(object, "access_token", MAX_TOKEN_LEN)?;
    Ok(OaAuthorisation {
        openid: required_str(object, "openid", MAX_FIELD_LEN)?,
        unionid: optional_str(object, "unionid", MAX_FIELD_LEN)?,
        scope: optional_str(object, "scope", MAX_FIELD_LEN)?.unwrap_or_default(),
        snapshot_user: object.get("is_snapshotuser").and_then(Value::as_i64) == Some(1),
    })
}

fn parse_token(answer: &Value) -> Result<Fetched, WeChatError> {
    let object = checked_object(answer)?;
    let token = AccessToken::new(required_str(object, "access_token", MAX_TOKEN_LEN)?);
    let Some(expires_in) = object.get("expires_in").and_then(Value::as_i64) else {
        return Err(unexpected("`expires_in` is missing or not an integer"));
    };
    let lifetime = Duration::from_secs(u64::try_from(expires_in).unwrap_or(0)).min(MAX_TOKEN_LIFETIME);
    Ok(Fetched { token, lifetime })
}

fn parse_phone(answer: &Value, appid: &str) -> Result<WxPhone, WeChatError> {
    let object = checked_object(answer)?;
    let info = required_object(object, "phone_info")?;
    let watermark = required_object(info, "watermark")?;
    if required_str(watermark, "appid", MAX_FIELD_LEN)? != appid {
        return Err(unexpected("the phone number is watermarked for another appid"));
    }
    // Documented as a string, shown as a number in WeChat's own example: take either.
    let country_code = match info.get("countryCode") {
        Some(Value::Number(number)) if number.is_u64() => number.to_string(),
        _ => required_str(info, "countryCode", MAX_FIELD_LEN)?,
    };
    Ok(WxPhone {
        phone_number: required_str(info, "phoneNumber", MAX_FIELD_LEN)?,
        pure_phone_number: required_str(info, "purePhoneNumber", MAX_FIELD_LEN)?,
        country_code,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn codes_are_validated_before_any_request() {
        for bad in ["", " ", "abc def", "abc\n", "码", "\u{7f}", &"a".repeat(MAX_CODE_LEN + 1)] {
            assert_eq!(validate_code(bad), Err(WeChatError::InvalidCode), "{bad:?}");
        }
        for good in ["0a3Xyz", "!~", &"a".repeat(MAX_CODE_LEN)] {
            assert_eq!(validate_code(good), Ok(()), "{good:?}");
        }
    }

    #[test]
    fn a_session_needs_no_errcode_but_needs_openid_and_session_key() {
        let session = parse_session(&json!({"openid": "o1", "session_key": "k"})).unwrap();
        assert_eq!(session.openid, "o1");
        assert_eq!(session.unionid, None);
        assert_eq!(session.session_key.expose_secret(), "k");

        let session =
            parse_session(&json!({"openid": "o1", "session_key": "k", "unionid": "u", "errcode": 0})).unwrap();
        assert_eq!(session.unionid.as_deref(), Some("u"));
        let session = parse_session(&json!({"openid": "o1", "session_key": "k", "unionid": ""})).unwrap();
        assert_eq!(session.unionid, None, "an empty unionid means none");

        for answer in [
            json!({"errcode": 0, "errmsg": "ok"}),
            json!({"openid": "o1"}),
            json!({"openid": 5, "session_key": "k"}),
            json!({"openid": "o1", "session_key": "k", "unionid": 5}),
            json!({"openid": "o".repeat(MAX_FIELD_LEN + 1), "session_key": "k"}),
            json!({"openid": "o1", "session_key": "k", "errcode": "0"}),
            json!({"openid": "o1", "session_key": "k", "errcode": 1.5}),
            json!(["openid"]),
            json!(null),
        ] {
            let error = parse_session(&answer).unwrap_err();
            assert!(matches!(error, WeChatError::UnexpectedAnswer { .. }), "{answer}: {error:?}");
        }
    }

    #[test]
    fn reasons_never_quote_the_rejected_values() {
        let error = parse_session(&json!({"openid": "o1", "session_key": 123456789})).unwrap_err();
        assert!(!error.to_string().contains("123456789"), "{error}");
    }

    #[test]
    fn an_errcode_wins_over_other_fields_and_its_message_is_bounded() {
        let error = parse_session(&json!({"errcode": 40029, "errmsg": "invalid code", "openid": "o"})).unwrap_err();
        assert_eq!(error, WeChatError::InvalidCode);
        let long = "x".repeat(10_000);
        let WeChatError::Upstream { errcode, errmsg } =
            parse_session(&json!({"errcode": 99999, "errmsg": long})).unwrap_err()
        else {
            panic!("expected Upstream");
        };
        assert_eq!(errcode, 99999);
        assert_eq!(errmsg.chars().count(), MAX_ERRMSG_CHARS);
        let error = parse_session(&json!({"errcode": 12345})).unwrap_err();
        assert_eq!(error, WeChatError::Upstream { errcode: 12345, errmsg: String::new() });
    }

    #[test]
    fn an_oa_authorisation_needs_a_token_and_an_openid() {
        let answer = json!({"access_token": "t", "expires_in": 7200, "refresh_token": "r", "openid": "oa1",
                            "scope": "snsapi_userinfo", "unionid": "u1"});
        let authorisation = parse_oa_authorisation(&answer).unwrap();
        assert_eq!(authorisation.openid, "oa1");
        assert_eq!(authorisation.unionid.as_deref(), Some("u1"));
        assert_eq!(authorisation.scope, "snsapi_userinfo");
        assert!(!authorisation.snapshot_user);
        let snapshot = parse_oa_authorisation(&json!({"access_token": "t", "openid": "oa1", "is_snapshotuser": 1}));
        assert!(snapshot.unwrap().snapshot_user);
        for answer in [
            json!({"openid": "oa1", "scope": "snsapi_base"}),
            json!({"access_token": "t", "scope": "snsapi_base"}),
            json!({"access_token": "t", "openid": 7}),
            json!({"access_token": "t", "openid": "oa1", "unionid": ["u"]}),
            json!("access_token"),
        ] {
            let error = parse_oa_authorisation(&answer).unwrap_err();
            assert!(matches!(error, WeChatError::UnexpectedAnswer { .. }), "{answer}: {error:?}");
        }
        assert_eq!(
            parse_oa_authorisation(&json!({"errcode": 40163, "errmsg": "code been used"})),
            Err(WeChatError::CodeUsed)
        );
    }

    #[test]
    fn token_lifetimes_are_clamped() {
        let lifetime = |expires_in: Value| {
            parse_token(&json!({"access_token": "t", "expires_in": expires_in})).map(|f| f.lifetime)
        };
        assert_eq!(lifetime(json!(7200)), Ok(Duration::from_secs(7200)));
        assert_eq!(lifetime(json!(-5)), Ok(Duration::ZERO));
        assert_eq!(lifetime(json!(i64::MAX)), Ok(MAX_TOKEN_LIFETIME));
        assert!(matches!(lifetime(json!("7200")), Err(WeChatError::UnexpectedAnswer { .. })));
        assert!(matches!(parse_token(&json!({"expires_in": 7200})), Err(WeChatError::UnexpectedAnswer { .. })));
        assert!(matches!(
            parse_token(&json!({"errcode": 40013, "errmsg": "invalid appid"})),
            Err(WeChatError::Upstream { errcode: 40013, .. })
        ));
    }

    #[test]
    fn a_phone_number_takes_either_form_of_country_code() {
        let answer = |country_code: Value| {
            json!({"errcode": 0, "errmsg": "ok", "phone_info": {
                "phoneNumber": "13800001234", "purePhoneNumber": "13800001234", "countryCode": country_code,
                "watermark": {"timestamp": 1637744274, "appid": "wxapp"}}})
        };
        let expected = WxPhone {
            phone_number: "13800001234".into(),
            pure_phone_number: "13800001234".into(),
            country_code: "86".into(),
        };
        assert_eq!(parse_phone(&answer(json!("86")), "wxapp"), Ok(expected.clone()));
        assert_eq!(parse_phone(&answer(json!(86)), "wxapp"), Ok(expected));
        assert!(matches!(parse_phone(&answer(json!(-86)), "wxapp"), Err(WeChatError::UnexpectedAnswer { .. })));
        assert!(matches!(parse_phone(&answer(json!("86")), "wxother"), Err(WeChatError::UnexpectedAnswer { .. })));
        assert!(matches!(
            parse_phone(&json!({"errcode": 0, "errmsg": "ok"}), "wxapp"),
            Err(WeChatError::UnexpectedAnswer { .. })
        ));
    }
}
