//! A local stand-in for Tencent Cloud SMS's `SendSms`, scriptable from tests.
//!
//! It checks every request the way Tencent documents it, with its own reading of the
//! signing steps (not the client's code): the action and version headers, the credential
//! scope's date against `X-TC-Timestamp`, and the TC3-HMAC-SHA256 signature recomputed
//! from the headers and body it actually received. It answers in Tencent's format: HTTP
//! 200, `{"Response":{"SendStatusSet":[…],"RequestId":…}}`, or
//! `{"Response":{"Error":{"Code","Message"},"RequestId"}}`. Tests read the codes it
//! "delivered" (also over HTTP, `GET /_sent/<phone>`, for browser tests) and script
//! failures.

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ring::{digest, hmac};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::tencent::TencentSmsConfig;
use crate::wechat::Secret;

/// A message the stand-in accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The number as sent (`+86…`).
    pub phone: String,
    /// The template parameters (the code, the minutes).
    pub params: Vec<String>,
    /// The signature name (签名).
    pub sign_name: String,
    /// The template.
    pub template_id: String,
}

/// What the next request gets instead of success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsFault {
    /// A per-number failure in `SendStatusSet[0].Code`.
    Status(String),
    /// An API error (`Response.Error.Code`).
    Error(String),
}

#[derive(Debug, Default)]
struct Script {
    /// Requests that reached the stand-in, answered with success or not.
    received: usize,
    delivered: Vec<Delivered>,
    faults: VecDeque<SmsFault>,
    rejected_signatures: usize,
}

#[derive(Debug)]
struct Shared {
    secret_id: String,
    secret_key: String,
    script: Mutex<Script>,
}

impl Shared {
    fn script(&self) -> MutexGuard<'_, Script> {
        self.script.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running stand-in on `127.0.0.1`, stopped when dropped.
#[derive(Debug)]
pub struct SmsStandIn {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl Drop for SmsStandIn {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The credentials the stand-in accepts.
pub const SECRET_ID: &str = "AKIDhourmarkstandin";
/// The secret key the stand-in checks signatures with.
pub const SECRET_KEY: &str = "hourmark-standin-secret-key";

impl SmsStandIn {
    /// Starts a stand-in accepting [`SECRET_ID`] / [`SECRET_KEY`].
    pub async fn start() -> Self {
        let shared =
            Arc::new(Shared { secret_id: SECRET_ID.into(), secret_key: SECRET_KEY.into(), script: Mutex::default() });
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind the SMS stand-in");
        let addr = listener.local_addr().expect("stand-in address");
        let app =
            Router::new().route("/", post(send_sms)).route("/_sent/{phone}", get(last_code)).with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, shared, server }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A client configuration pointing here, with the accepted credentials.
    pub fn config(&self) -> TencentSmsConfig {
        TencentSmsConfig {
            secret_id: SECRET_ID.into(),
            secret_key: Secret::new(SECRET_KEY),
            sdk_app_id: "1400006666".into(),
            sign_name: "翠湖志愿者协会".into(),
            template_id: "1110".into(),
            not_registered_template_id: None,
            id_number_tried_template_id: None,
            region: "ap-guangzhou".into(),
            endpoint: self.endpoint(),
            timeout: Duration::from_secs(5),
        }
    }

    /// The code last delivered to `phone`, waiting up to five seconds for it: sign-in codes
    /// are sent after the answer, so the answer does not tell by its timing whether a
    /// number is registered.
    pub async fn wait_for_code(&self, phone: &str) -> Option<String> {
        for _ in 0..100 {
            if let Some(code) = self.last_code(phone) {
                return Some(code);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }

    /// Everything delivered so far, once `count` messages have arrived (or after five
    /// seconds, whatever has): sign-in codes and notices are sent after the answer.
    pub async fn wait_delivered(&self, count: usize) -> Vec<Delivered> {
        for _ in 0..100 {
            if self.shared.script().delivered.len() >= count {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.delivered()
    }

    /// How many requests have been answered, once `count` have (or after five seconds).
    pub async fn wait_received(&self, count: usize) -> usize {
        for _ in 0..100 {
            if self.shared.script().received >= count {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.shared.script().received
    }

    /// Everything delivered so far.
    pub fn delivered(&self) -> Vec<Delivered> {
        self.shared.script().delivered.clone()
    }

    /// The code last delivered to a mainland number (11 digits).
    pub fn last_code(&self, phone: &str) -> Option<String> {
        last_code_for(&self.shared, phone)
    }

    /// The next request fails so.
    pub fn fail_next(&self, fault: SmsFault) {
        self.shared.script().faults.push_back(fault);
    }

    /// How many requests had a wrong signature.
    pub fn rejected_signatures(&self) -> usize {
        self.shared.script().rejected_signatures
    }
}

fn last_code_for(shared: &Shared, phone: &str) -> Option<String> {
    let wanted = format!("+86{phone}");
    shared.script().delivered.iter().rev().find(|d| d.phone == wanted).and_then(|d| d.params.first().cloned())
}

async fn last_code(State(shared): State<Arc<Shared>>, Path(phone): Path<String>) -> Response {
    match last_code_for(&shared, &phone) {
        Some(code) => axum::Json(json!({ "code": code })).into_response(),
        None => (axum::http::StatusCode::NOT_FOUND, "nothing sent").into_response(),
    }
}

fn error(code: &str, message: &str) -> Response {
    axum::Json(json!({"Response": {"Error": {"Code": code, "Message": message}, "RequestId": uuid::Uuid::new_v4()}}))
        .into_response()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

fn hex_sha256(data: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(digest::digest(&digest::SHA256, data).as_ref())
}

fn mac(key: &[u8], data: &str) -> hmac::Tag {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes())
}

/// Checks the request's signature from what arrived. `Err` holds the API error code.
fn verify(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<(), (&'static str, &'static str)> {
    let auth = header(headers, "authorization");
    let rest = auth.strip_prefix("TC3-HMAC-SHA256 ").ok_or(("AuthFailure.InvalidAuthorization", "not TC3"))?;
    let mut credential = "";
    let mut signed_headers = "";
    let mut signature = "";
    for part in rest.split(", ") {
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = v;
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed_headers = v;
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = v;
        }
    }
    let mut scope = credential.splitn(4, '/');
    let (id, date, service, terminal) = (scope.next(), scope.next(), scope.next(), scope.next());
    if id != Some(shared.secret_id.as_str()) {
        return Err(("AuthFailure.SecretIdNotFound", "unknown SecretId"));
    }
    let (Some(date), Some("sms"), Some("tc3_request")) = (date, service, terminal) else {
        return Err(("AuthFailure.InvalidAuthorization", "bad credential scope"));
    };
    let timestamp: i64 =
        header(headers, "x-tc-timestamp").parse().map_err(|_| ("MissingParameter", "X-TC-Timestamp"))?;
    let day = chrono::DateTime::from_timestamp(timestamp, 0).map(|t| t.format("%Y-%m-%d").to_string());
    if day.as_deref() != Some(date) {
        return Err(("AuthFailure.InvalidAuthorization", "the scope's date is not the timestamp's UTC date"));
    }
    let mut canonical_headers = String::new();
    for name in signed_headers.split(';') {
        let value = header(headers, name).trim().to_ascii_lowercase();
        canonical_headers.push_str(&format!("{name}:{value}\n"));
    }
    if !signed_headers.split(';').any(|h| h == "content-type") || !signed_headers.split(';').any(|h| h == "host") {
        return Err(("AuthFailure.InvalidAuthorization", "content-type and host must be signed"));
    }
    let canonical = format!("POST\n/\n\n{canonical_headers}\n{signed_headers}\n{}", hex_sha256(body));
    let to_sign = format!("TC3-HMAC-SHA256\n{timestamp}\n{date}/sms/tc3_request\n{}", hex_sha256(canonical.as_bytes()));
    let k_date = mac(format!("TC3{}", shared.secret_key).as_bytes(), date);
    let k_service = mac(k_date.as_ref(), "sms");
    let k_signing = mac(k_service.as_ref(), "tc3_request");
    let expected = data_encoding::HEXLOWER.encode(mac(k_signing.as_ref(), &to_sign).as_ref());
    if expected != signature {
        return Err((
            "AuthFailure.SignatureFailure",
            "The provided credentials could not be validated. Please check your signature is correct.",
        ));
    }
    Ok(())
}

async fn send_sms(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let answer = answer_send_sms(&shared, &headers, &body);
    // Counted once answered, so a test that waits for the count sees what it did.
    shared.script().received += 1;
    answer
}

fn answer_send_sms(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Response {
    if header(headers, "x-tc-action") != "SendSms" {
        return error("InvalidAction", "unknown action");
    }
    if header(headers, "x-tc-version") != "2021-01-11" {
        return error("NoSuchVersion", "unknown version");
    }
    if header(headers, "x-tc-region").is_empty() {
        return error("MissingParameter", "X-TC-Region");
    }
    if let Err((code, message)) = verify(shared, headers, body) {
        if code == "AuthFailure.SignatureFailure" {
            shared.script().rejected_signatures += 1;
        }
        return error(code, message);
    }
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return error("FailedOperation.FailResolvePacket", "body is not JSON");
    };
    let text = |key: &str| request.get(key).and_then(Value::as_str).unwrap_or("").to_owned();
    let list = |key: &str| -> Vec<String> {
        request
            .get(key)
            .and_then(Value::as_array)
            .map_or_else(Vec::new, |a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
    };
    let phones = list("PhoneNumberSet");
    if phones.len() != 1 || text("SmsSdkAppId").is_empty() || text("TemplateId").is_empty() {
        return error("MissingParameter", "PhoneNumberSet, SmsSdkAppId and TemplateId are required");
    }
    let phone = phones[0].clone();
    match shared.script().faults.pop_front() {
        Some(SmsFault::Error(code)) => return error(&code, "scripted failure"),
        Some(SmsFault::Status(code)) => {
            return axum::Json(json!({"Response": {"SendStatusSet": [{
                "SerialNo": "", "PhoneNumber": phone, "Fee": 0, "SessionContext": "",
                "Code": code, "Message": "scripted failure", "IsoCode": "CN"
            }], "RequestId": uuid::Uuid::new_v4()}}))
            .into_response();
        }
        None => {}
    }
    shared.script().delivered.push(Delivered {
        phone: phone.clone(),
        params: list("TemplateParamSet"),
        sign_name: text("SignName"),
        template_id: text("TemplateId"),
    });
    axum::Json(json!({"Response": {"SendStatusSet": [{
        "SerialNo": format!("5000:{}", uuid::Uuid::new_v4().simple()), "PhoneNumber": phone, "Fee": 1,
        "SessionContext": "", "Code": "Ok", "Message": "send success", "IsoCode": "CN"
    }], "RequestId": uuid::Uuid::new_v4()}}))
    .into_response()
}
