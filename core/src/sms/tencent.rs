//! Tencent Cloud SMS: API 3.0 `SendSms`, version 2021-01-11, signed with TC3-HMAC-SHA256.
//!
//! ```text
//! Hourmark                                         sms.tencentcloudapi.com
//!    │ POST /   content-type: application/json; charset=utf-8
//!    │          host, X-TC-Action: SendSms, X-TC-Version: 2021-01-11,
//!    │          X-TC-Timestamp, X-TC-Region, Authorization: TC3-HMAC-SHA256 …
//!    │ {"PhoneNumberSet":["+86…"],"SmsSdkAppId","SignName","TemplateId",
//!    │  "TemplateParamSet":[code, minutes]}
//!    ├──────────────────────────────────────────────────►│
//!    │ 200 {"Response":{"SendStatusSet":[{"Code":"Ok",…}],"RequestId"}}
//!    │  or {"Response":{"Error":{"Code","Message"},"RequestId"}}
//!    │◄──────────────────────────────────────────────────┤
//! ```
//!
//! The signature (Tencent's "签名方法 v3"): a canonical request (method, `/`, empty query,
//! the signed headers `content-type;host;x-tc-action` lower-cased, the payload's SHA-256)
//! is hashed into a string to sign (`TC3-HMAC-SHA256`, timestamp, the credential scope
//! `<UTC date>/sms/tc3_request`); the key is derived by chaining HMAC-SHA256 from
//! `"TC3" + SecretKey` over the date, the service and `tc3_request`.
//!
//! API errors come back with HTTP 200 and an `Error` object; per-number failures come back
//! in `SendStatusSet[].Code`. Both are folded into [`SmsError`]; neither the secret key nor
//! the code is ever logged.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ring::{digest, hmac};
use serde_json::Value;

use super::{SmsError, SmsNotice, SmsSender};
use crate::wechat::Secret;

/// Tencent's endpoint for the SMS API.
pub const DEFAULT_ENDPOINT: &str = "https://sms.tencentcloudapi.com";
/// The API version this client speaks.
pub const VERSION: &str = "2021-01-11";
/// The action.
pub const ACTION: &str = "SendSms";
/// The service name in the credential scope.
pub const SERVICE: &str = "sms";
/// The signature algorithm.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";
/// The request's media type, exactly as signed.
pub const CONTENT_TYPE: &str = "application/json; charset=utf-8";
/// The headers signed.
pub const SIGNED_HEADERS: &str = "content-type;host;x-tc-action";

/// The largest answer read; real ones are a few hundred bytes.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Everything needed to send through Tencent Cloud SMS. `Debug` hides the secret key.
#[derive(Clone)]
pub struct TencentSmsConfig {
    /// The API key's SecretId (`AKID…`).
    pub secret_id: String,
    /// The API key's SecretKey.
    pub secret_key: Secret,
    /// The SMS application's SdkAppId (e.g. `1400006666`).
    pub sdk_app_id: String,
    /// The approved signature (签名), e.g. `翠湖志愿者协会`.
    pub sign_name: String,
    /// The approved verification-code template; its two parameters are the code and the
    /// minutes it is valid ("您的登录验证码为{1}，{2}分钟内有效").
    pub template_id: String,
    /// An approved template without parameters for [`SmsNotice::NotRegistered`] ("此号码
    /// 尚未登记为志愿者"); none: that notice is not sent.
    pub not_registered_template_id: Option<String>,
    /// An approved template without parameters for [`SmsNotice::IdNumberTried`] ("有人试图
    /// 用您的证件号码登记"); none: that notice is not sent.
    pub id_number_tried_template_id: Option<String>,
    /// The region, e.g. `ap-guangzhou`.
    pub region: String,
    /// The endpoint, [`DEFAULT_ENDPOINT`] unless testing.
    pub endpoint: String,
    /// Timeout of one call.
    pub timeout: Duration,
}

impl fmt::Debug for TencentSmsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TencentSmsConfig")
            .field("secret_id", &self.secret_id)
            .field("secret_key", &self.secret_key)
            .field("sdk_app_id", &self.sdk_app_id)
            .field("sign_name", &self.sign_name)
            .field("template_id", &self.template_id)
            .field("not_registered_template_id", &self.not_registered_template_id)
            .field("id_number_tried_template_id", &self.id_number_tried_template_id)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

/// The Tencent Cloud SMS client.
#[derive(Debug, Clone)]
pub struct TencentSms {
    config: TencentSmsConfig,
    http: reqwest::Client,
    host: String,
}

impl TencentSms {
    /// A client; fails when the endpoint is not an absolute http(s) URL.
    pub fn new(config: TencentSmsConfig) -> Result<Self, String> {
        let url = reqwest::Url::parse(&config.endpoint).map_err(|e| format!("endpoint: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err("endpoint must be an http(s) URL with a host".into());
        }
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        let http = crate::wechat::http_client(config.timeout).map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Self { config, http, host })
    }
}

/// Lower-case hex.
fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

fn sha256_hex(data: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, data).as_ref())
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data).as_ref().to_vec()
}

/// The `Authorization` header for a `SendSms` request with this payload, host and
/// timestamp (seconds).
pub fn authorization(secret_id: &str, secret_key: &str, host: &str, payload: &[u8], timestamp: i64) -> String {
    let date = DateTime::from_timestamp(timestamp, 0).unwrap_or_default().format("%Y-%m-%d").to_string();
    let canonical_headers =
        format!("content-type:{CONTENT_TYPE}\nhost:{host}\nx-tc-action:{}\n", ACTION.to_ascii_lowercase());
    let canonical_request = format!("POST\n/\n\n{canonical_headers}\n{SIGNED_HEADERS}\n{}", sha256_hex(payload));
    let scope = format!("{date}/{SERVICE}/tc3_request");
    let string_to_sign = format!("{ALGORITHM}\n{timestamp}\n{scope}\n{}", sha256_hex(canonical_request.as_bytes()));
    let secret_date = hmac_sha256(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let secret_service = hmac_sha256(&secret_date, SERVICE.as_bytes());
    let secret_signing = hmac_sha256(&secret_service, b"tc3_request");
    let signature = hex(&hmac_sha256(&secret_signing, string_to_sign.as_bytes()));
    format!("{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders={SIGNED_HEADERS}, Signature={signature}")
}

/// Folds an API-level error code into [`SmsError`].
fn api_error(code: &str) -> SmsError {
    let code = code.chars().take(100).collect::<String>();
    if code.starts_with("LimitExceeded.PhoneNumber") || code == "LimitExceeded.DeliveryFrequencyLimit" {
        SmsError::RateLimited(code)
    } else if code == "InvalidParameterValue.IncorrectPhoneNumber" || code == "FailedOperation.PhoneNumberInBlacklist" {
        SmsError::PhoneRefused(code)
    } else if code.starts_with("InternalError") || code.starts_with("RequestLimitExceeded") {
        SmsError::Unavailable(code)
    } else {
        SmsError::Refused(code)
    }
}

/// Reads Tencent's answer: `Ok` for the one number sent to, or the error it names.
pub fn read_answer(body: &Value) -> Result<(), SmsError> {
    let response = body.get("Response").ok_or_else(|| SmsError::Unavailable("no Response object".into()))?;
    if let Some(error) = response.get("Error") {
        let code = error.get("Code").and_then(Value::as_str).unwrap_or("unknown");
        return Err(api_error(code));
    }
    let status = response
        .get("SendStatusSet")
        .and_then(Value::as_array)
        .and_then(|set| set.first())
        .ok_or_else(|| SmsError::Unavailable("no SendStatusSet".into()))?;
    match status.get("Code").and_then(Value::as_str) {
        Some("Ok") => Ok(()),
        Some(code) => Err(api_error(code)),
        None => Err(SmsError::Unavailable("no Code in SendStatusSet".into())),
    }
}

impl TencentSms {
    /// The template for `notice`, if one is configured.
    fn notice_template(&self, notice: SmsNotice) -> Option<&str> {
        let template = match notice {
            SmsNotice::NotRegistered => &self.config.not_registered_template_id,
            SmsNotice::IdNumberTried => &self.config.id_number_tried_template_id,
        };
        template.as_deref().filter(|t| !t.is_empty())
    }

    /// One `SendSms` call: `template_id` with `params` to `phone`.
    async fn send(
        &self,
        phone: &str,
        template_id: &str,
        params: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), SmsError> {
        let c = &self.config;
        let payload = serde_json::to_vec(&serde_json::json!({
            "PhoneNumberSet": [format!("+86{phone}")],
            "SmsSdkAppId": c.sdk_app_id,
            "SignName": c.sign_name,
            "TemplateId": template_id,
            "TemplateParamSet": params,
        }))
        .map_err(|e| SmsError::Unavailable(e.to_string()))?;
        let timestamp = now.timestamp();
        let authorization = authorization(&c.secret_id, c.secret_key.expose_secret(), &self.host, &payload, timestamp);
        let answer = self
            .http
            .post(&c.endpoint)
            .header("Content-Type", CONTENT_TYPE)
            .header("Host", &self.host)
            .header("X-TC-Action", ACTION)
            .header("X-TC-Version", VERSION)
            .header("X-TC-Timestamp", timestamp.to_string())
            .header("X-TC-Region", &c.region)
            .header("Authorization", authorization)
            .body(payload)
            .send()
            .await
            .map_err(|e| SmsError::Unavailable(if e.is_timeout() { "timeout".into() } else { "unreachable".into() }))?;
        let status = answer.status();
        let bytes = answer.bytes().await.map_err(|_| SmsError::Unavailable("answer cut short".into()))?;
        if bytes.len() > MAX_ANSWER_BYTES {
            return Err(SmsError::Unavailable("answer too large".into()));
        }
        let body: Value = serde_json::from_slice(&bytes)
            .map_err(|_| SmsError::Unavailable(format!("HTTP {} with a body that is not JSON", status.as_u16())))?;
        let result = read_answer(&body);
        if let Err(e) = &result {
            let request_id = body.pointer("/Response/RequestId").and_then(Value::as_str).unwrap_or("");
            tracing::warn!(error = %e, request_id, template_id, "Tencent Cloud SMS did not send a message");
        }
        result
    }
}

#[async_trait]
impl SmsSender for TencentSms {
    async fn send_code(&self, phone: &str, code: &str, valid_minutes: u32, now: DateTime<Utc>) -> Result<(), SmsError> {
        self.send(phone, &self.config.template_id, &[code.to_owned(), valid_minutes.to_string()], now).await
    }

    fn sends(&self, notice: SmsNotice) -> bool {
        self.notice_template(notice).is_some()
    }

    async fn send_notice(&self, phone: &str, notice: SmsNotice, now: DateTime<Utc>) -> Result<(), SmsError> {
        let template = self
            .notice_template(notice)
            .ok_or_else(|| SmsError::Refused(format!("no template configured for {notice:?}")))?;
        self.send(phone, template, &[], now).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_signature_matches_an_independent_computation() {
        // The expected signature was computed outside Rust (Python's hashlib and hmac)
        // following Tencent's published steps for this key, host, payload and time.
        let auth = authorization("AKIDEXAMPLE", "secret", "sms.tencentcloudapi.com", b"{}", 1_551_113_065);
        assert_eq!(
            auth,
            "TC3-HMAC-SHA256 Credential=AKIDEXAMPLE/2019-02-25/sms/tc3_request, \
             SignedHeaders=content-type;host;x-tc-action, \
             Signature=ac4cd01fd32f132d20c556c601e8a0f83d663e761d93af37b275659097542b42"
        );
        let other_key = authorization("AKIDEXAMPLE", "secreT", "sms.tencentcloudapi.com", b"{}", 1_551_113_065);
        let other_body = authorization("AKIDEXAMPLE", "secret", "sms.tencentcloudapi.com", b"{ }", 1_551_113_065);
        assert_ne!(auth, other_key);
        assert_ne!(auth, other_body);
    }

    #[test]
    fn answers_fold_into_errors() {
        let ok = json!({"Response": {"SendStatusSet": [{"SerialNo": "5000:1", "PhoneNumber": "+8613800001234", "Fee": 1, "SessionContext": "", "Code": "Ok", "Message": "send success", "IsoCode": "CN"}], "RequestId": "a0aabda6"}});
        assert_eq!(read_answer(&ok), Ok(()));
        let limited = json!({"Response": {"SendStatusSet": [{"Code": "LimitExceeded.PhoneNumberThirtySecondLimit", "Message": "…"}], "RequestId": "x"}});
        assert!(matches!(read_answer(&limited), Err(SmsError::RateLimited(_))));
        let bad_number = json!({"Response": {"SendStatusSet": [{"Code": "InvalidParameterValue.IncorrectPhoneNumber"}], "RequestId": "x"}});
        assert!(matches!(read_answer(&bad_number), Err(SmsError::PhoneRefused(_))));
        let signature = json!({"Response": {"Error": {"Code": "AuthFailure.SignatureFailure", "Message": "The provided credentials could not be validated."}, "RequestId": "x"}});
        assert_eq!(read_answer(&signature), Err(SmsError::Refused("AuthFailure.SignatureFailure".into())));
        let internal =
            json!({"Response": {"Error": {"Code": "InternalError.Timeout", "Message": ""}, "RequestId": "x"}});
        assert!(matches!(read_answer(&internal), Err(SmsError::Unavailable(_))));
        assert!(matches!(read_answer(&json!({"nope": 1})), Err(SmsError::Unavailable(_))));
    }
}
