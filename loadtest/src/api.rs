//! The slice of Hourmark's HTTP API the simulator speaks, typed just enough to drive it.
//!
//! Deliberately independent of the server's crates: the simulator must see the API exactly
//! as a phone or an organiser's screen does, through JSON over HTTP, so a change in the
//! wire format shows up here as a failure instead of being hidden by shared types.
//!
//! Every exchange reads the whole body before the clock stops, because a scan is only
//! "answered" for the volunteer once the phone has the answer in hand.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use reqwest::{Client, RequestBuilder, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::sms_sink::SmsSink;

/// How a request could fail before the server answered it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TransportError {
    /// No answer within `--request-timeout`.
    Timeout,
    /// The connection could not be made (server down, port wrong, out of sockets).
    Connect,
    /// Anything else: reset connection, truncated body, ...
    Other,
}

impl TransportError {
    fn classify(e: &reqwest::Error) -> Self {
        if e.is_timeout() {
            Self::Timeout
        } else if e.is_connect() {
            Self::Connect
        } else {
            Self::Other
        }
    }

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Connect => "connect",
            Self::Other => "other",
        }
    }
}

/// What the server said, with the body decoded as far as the status allows.
#[derive(Debug)]
pub enum Reply<T> {
    /// The expected success status with a body of the expected shape.
    Ok(T),
    /// An `application/problem+json` answer with its stable `code`.
    Problem { status: StatusCode, code: String, detail: String },
    /// Any other answer: an unexpected status, or a body that did not parse.
    Unexpected { status: StatusCode },
}

impl<T> Reply<T> {
    /// The HTTP status of the answer, for reporting.
    pub fn status(&self, ok: StatusCode) -> StatusCode {
        match self {
            Self::Ok(_) => ok,
            Self::Problem { status, .. } | Self::Unexpected { status } => *status,
        }
    }

    /// The success value, or an error naming what failed and why (for setup steps, where
    /// any refusal ends the run).
    fn into_result(self, what: &str) -> Result<T> {
        match self {
            Self::Ok(v) => Ok(v),
            Self::Problem { status, code, detail } => {
                let hint = match code.as_str() {
                    "unauthenticated" | "forbidden" => " (is the staff token an administrator's, and current?)",
                    _ => "",
                };
                bail!("{what} was refused: HTTP {status}, code `{code}`: {detail}{hint}")
            }
            Self::Unexpected { status } => bail!("{what} got an unexpected answer: HTTP {status}"),
        }
    }
}

/// One answered request and how long the answer took, body included.
#[derive(Debug)]
pub struct Timed<T> {
    /// What the server said.
    pub reply: Reply<T>,
    /// From just before sending to the last byte of the body.
    pub latency: Duration,
}

/// The answer in `ok` with a body of `T`'s shape, a problem, or neither.
pub(crate) fn decode<T: DeserializeOwned>(status: StatusCode, body: &[u8], ok: StatusCode) -> Reply<T> {
    if status == ok {
        match serde_json::from_slice::<T>(body) {
            Ok(v) => Reply::Ok(v),
            Err(_) => Reply::Unexpected { status },
        }
    } else {
        match serde_json::from_slice::<ProblemBody>(body) {
            Ok(p) => Reply::Problem { status, code: p.code, detail: p.detail },
            Err(_) => Reply::Unexpected { status },
        }
    }
}

/// A registration waiting for its code.
#[derive(Deserialize)]
struct Pending {
    registration_id: String,
}

#[derive(Deserialize)]
struct ProblemBody {
    code: String,
    #[serde(default)]
    detail: String,
}

#[derive(Deserialize)]
struct Invite {
    token: String,
}

#[derive(Deserialize)]
struct WithInvite {
    invite: Invite,
}

#[derive(Deserialize)]
struct EnrolmentStart {
    ceremony_id: String,
    options: webauthn_authenticator_rs::prelude::CreationChallengeResponse,
}

#[derive(Deserialize)]
struct WithToken {
    access_token: String,
}

#[derive(Deserialize)]
struct WithId {
    id: i64,
}

/// The organiser screen's view of the current code.
#[derive(Debug, Clone, Deserialize)]
pub struct CurrentCode {
    /// The URL the QR code holds: what a phone's scanner reads and sends.
    pub url: String,
    /// Seconds until the screen should fetch the next code.
    pub seconds_to_rotation: u32,
}

/// What an accepted scan did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanOutcome {
    /// The volunteer is now inside.
    CheckedIn,
    /// The volunteer has left.
    CheckedOut,
}

#[derive(Debug, Deserialize)]
pub struct ScanReceipt {
    pub outcome: ScanOutcome,
}

/// A phone's position fix.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Location {
    pub lat: f64,
    pub lng: f64,
    pub accuracy_m: f64,
}

#[derive(Serialize)]
pub(crate) struct ScanBody<'a> {
    code: &'a str,
    nonce: Uuid,
    client_time: String,
    device_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<Location>,
}

impl<'a> ScanBody<'a> {
    /// A scan of `code` now, with a fresh nonce.
    pub(crate) fn new(code: &'a str, device_id: &'a str, location: Option<Location>) -> Self {
        Self {
            code,
            nonce: Uuid::new_v4(),
            client_time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            device_id,
            location,
        }
    }
}

/// Checks that `--base-url` is plain HTTP(S) on this machine and returns it without a
/// trailing slash.
///
/// The simulator is a load generator: pointed at the wrong host it is indistinguishable
/// from an attack, and its numbers only mean something with client and server side by
/// side. So it refuses anything but a loopback address or `localhost`.
pub fn loopback_base(raw: &str) -> Result<String> {
    let url = Url::parse(raw).with_context(|| format!("--base-url {raw:?} is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        bail!("--base-url must be http:// or https://, not {}://", url.scheme());
    }
    if url.query().is_some() || url.fragment().is_some() {
        bail!("--base-url must not have a query or fragment");
    }
    // `host_str` writes IPv6 addresses in brackets.
    let host = url.host_str().unwrap_or_default();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    };
    if !loopback {
        bail!(
            "--base-url must name this machine (127.0.0.0/8, [::1] or localhost): the simulator only loads a local server"
        );
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// A valid resident ID number (GB 11643 check character) derived from a phone number, so
/// each simulated volunteer has their own: the birth date (1960 onwards) and the sequence
/// number together take 15 million values.
pub fn resident_id_for(phone: &str) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let n: u64 =
        phone.bytes().filter(u8::is_ascii_digit).fold(0, |n, b| n.wrapping_mul(10).wrapping_add(u64::from(b - b'0')));
    let first = chrono::NaiveDate::from_ymd_opt(1960, 1, 1).unwrap_or_default();
    let birth = first + chrono::Duration::days(i64::try_from(n % 15_000).unwrap_or(0));
    let body = format!("530102{}{:03}", birth.format("%Y%m%d"), (n / 15_000) % 1_000);
    let sum: u32 = body.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    format!("{body}{}", char::from(b"10X98765432"[(sum % 11) as usize]))
}

/// A client for one server, shared by every simulated phone.
#[derive(Debug, Clone)]
pub struct Api {
    client: Client,
    base: Arc<str>,
    /// `--request-timeout`, also how long a registration waits for its SMS.
    timeout: Duration,
}

impl Api {
    /// A client with a connection pool for `connections` phones at once, HTTP/1.1 only
    /// (what the mini-program's `wx.request` speaks), no proxy and no redirects: it only
    /// ever talks to `base`.
    pub fn new(base: String, connections: usize, request_timeout: Duration) -> Result<Self> {
        // reqwest is built without a TLS provider of its own (see the workspace); plain HTTP
        // still needs one installed before a client is built.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = Client::builder()
            .http1_only()
            .pool_max_idle_per_host(connections)
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .connect_timeout(request_timeout.min(Duration::from_secs(5)))
            .timeout(request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("hourmark-loadtest/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Self { client, base: base.into(), timeout: request_timeout })
    }

    /// The server's base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `--request-timeout`.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends, reads the whole body, and decodes it: `T` on `ok`, a problem's `code` otherwise.
    async fn exchange<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
        ok: StatusCode,
    ) -> Result<Timed<T>, TransportError> {
        let started = Instant::now();
        let (status, body) = Self::send(request).await?;
        Ok(Timed { reply: decode(status, &body, ok), latency: started.elapsed() })
    }

    /// Sends and reads the whole answer.
    async fn send(request: RequestBuilder) -> Result<(StatusCode, bytes::Bytes), TransportError> {
        let response = request.send().await.map_err(|e| TransportError::classify(&e))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| TransportError::classify(&e))?;
        Ok((status, body))
    }

    /// A setup step: any transport error or refusal is fatal and explained.
    async fn setup<T: DeserializeOwned>(&self, what: &str, request: RequestBuilder, ok: StatusCode) -> Result<T> {
        let timed = self.exchange::<T>(request, ok).await.map_err(|e| {
            anyhow::anyhow!(
                "{what} failed before the server answered ({}); is the server running at {}?",
                e.name(),
                self.base
            )
        })?;
        timed.reply.into_result(what)
    }

    /// Redeems the one-time bootstrap token, enrols a throwaway software passkey with the
    /// invite it returns, and gives back the new administrator's bearer token (valid for
    /// the staff token lifetime, 12 h by default). `staff_origin` must be the server's
    /// `HOURMARK_STAFF_ORIGIN`: passkeys are bound to it.
    pub async fn bootstrap(&self, token: &str, staff_origin: &str) -> Result<String> {
        use webauthn_authenticator_rs::prelude::{Url as OriginUrl, WebauthnAuthenticator};
        let request = self
            .client
            .post(self.url("/api/v1/bootstrap"))
            .json(&serde_json::json!({ "token": token, "name": "Load Test", "login": "loadtest" }));
        let timed = self.exchange::<WithInvite>(request, StatusCode::CREATED).await.map_err(|e| {
            anyhow::anyhow!(
                "bootstrap failed before the server answered ({}); is the server running at {}?",
                e.name(),
                self.base
            )
        })?;
        let invite = match timed.reply {
            Reply::Problem { code, .. } if code == "bootstrap_token_invalid" => bail!(
                "the server refused the bootstrap token (bootstrap_token_invalid): it is one-time and has probably \
                 been used already; pass an administrator's token with --staff-token instead"
            ),
            other => other.into_result("bootstrap")?.invite.token,
        };
        let request =
            self.client.post(self.url("/api/v1/invites/passkey/start")).json(&serde_json::json!({ "invite": invite }));
        let start: EnrolmentStart = self.setup("starting the passkey enrolment", request, StatusCode::OK).await?;
        let origin = OriginUrl::parse(staff_origin).context("--staff-origin is not a URL")?;
        let credential = webauthn_authenticator_rs::softpasskey::SoftPasskey::new(true)
            .do_registration(origin, start.options)
            .map_err(|e| anyhow::anyhow!("the software passkey could not register: {e:?}"))?;
        let request = self.client.post(self.url("/api/v1/invites/passkey/finish")).json(&serde_json::json!({
            "ceremony_id": start.ceremony_id,
            "credential": credential,
            "label": "loadtest",
        }));
        let enrolled: WithToken = self
            .setup(
                "finishing the passkey enrolment (is --staff-origin the server's HOURMARK_STAFF_ORIGIN?)",
                request,
                StatusCode::CREATED,
            )
            .await?;
        Ok(enrolled.access_token)
    }

    /// Creates an organisation and returns its id.
    pub async fn create_organisation(&self, staff: &str, name: &str) -> Result<i64> {
        let request = self
            .client
            .post(self.url("/api/v1/organisations"))
            .bearer_auth(staff)
            .json(&serde_json::json!({ "name": name, "region_code": "530102" }));
        Ok(self.setup::<WithId>("creating the organisation", request, StatusCode::CREATED).await?.id)
    }

    /// Creates a toggle-mode large event with one gate around `location`, and returns its id.
    pub async fn create_activity(
        &self,
        staff: &str,
        organisation_id: i64,
        name: &str,
        location: Location,
        starts_at: &str,
        ends_at: &str,
    ) -> Result<i64> {
        let request = self.client.post(self.url("/api/v1/activities")).bearer_auth(staff).json(&serde_json::json!({
            "organisation_id": organisation_id,
            "name": name,
            "category": "large_event",
            "recipients": "市民",
            "content": "大型活动志愿服务",
            "address": "昆明",
            "location": { "lat": location.lat, "lng": location.lng },
            "radius_m": 2000,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "gates": ["北门"],
            "code_mode": "toggle",
        }));
        Ok(self.setup::<WithId>("creating the activity", request, StatusCode::CREATED).await?.id)
    }

    /// The code gate 0 shows now, as the organiser screen fetches it.
    pub async fn current_code(&self, staff: &str, activity_id: i64) -> Result<CurrentCode> {
        let request = self
            .client
            .get(self.url(&format!("/api/v1/activities/{activity_id}/code")))
            .query(&[("gate", "0"), ("direction", "toggle")])
            .bearer_auth(staff);
        self.setup::<CurrentCode>("fetching the current code", request, StatusCode::OK).await
    }

    /// Registers a volunteer; on success the reply holds their bearer token. The simulated
    /// volunteers are adults. A server that asks for the phone's code (production, or
    /// `HOURMARK_REGISTRATION_PHONE_CODE`) answers 202 and sends the code through its SMS
    /// client to `sms` (see [`crate::sms_sink`]); the same registration then goes again
    /// with the code, as the page does, and the latency is the whole of it: both requests
    /// and the wait for the SMS. Without a sink a 202 is counted as a refusal.
    pub async fn register_volunteer(
        &self,
        name: &str,
        phone: &str,
        device_id: &str,
        sms: Option<&SmsSink>,
    ) -> Result<Timed<String>, TransportError> {
        let mut body = serde_json::json!({
            "name": name,
            "id_type": "resident_id",
            "id_number": resident_id_for(phone),
            "phone": phone,
            "device_id": device_id,
            "consent": { "notice_version": "loadtest", "record": true, "publicity": false, "location": true },
        });
        let code = sms.map(|sink| sink.expect(phone));
        let started = Instant::now();
        let (status, answer) = Self::send(self.client.post(self.url("/mp/v1/volunteers")).json(&body)).await?;
        let reply = if status == StatusCode::ACCEPTED {
            let pending = serde_json::from_slice::<Pending>(&answer).ok();
            match (code, pending) {
                (None, _) => Reply::Problem {
                    status,
                    code: "code_needed".into(),
                    detail: "the server asks for the phone's code: start the load test with --sms-sink".into(),
                },
                (Some(_), None) => Reply::Unexpected { status },
                (Some(code), Some(pending)) => match code.wait(self.timeout).await {
                    None => Reply::Problem {
                        status,
                        code: "code_not_received".into(),
                        detail: "no code reached the SMS sink: is HOURMARK_SMS_TENCENT_ENDPOINT the sink?".into(),
                    },
                    Some(code) => {
                        body["confirmation"] =
                            serde_json::json!({"registration_id": pending.registration_id, "code": code});
                        let (status, answer) =
                            Self::send(self.client.post(self.url("/mp/v1/volunteers")).json(&body)).await?;
                        decode::<WithToken>(status, &answer, StatusCode::CREATED)
                    }
                },
            }
        } else {
            decode::<WithToken>(status, &answer, StatusCode::CREATED)
        };
        let reply = match reply {
            Reply::Ok(w) => Reply::Ok(w.access_token),
            Reply::Problem { status, code, detail } => Reply::Problem { status, code, detail },
            Reply::Unexpected { status } => Reply::Unexpected { status },
        };
        Ok(Timed { reply, latency: started.elapsed() })
    }

    /// One scan of `code` by the volunteer holding `token`, with a fresh nonce.
    pub async fn scan(
        &self,
        token: &str,
        code: &str,
        device_id: &str,
        location: Option<Location>,
    ) -> Result<Timed<ScanReceipt>, TransportError> {
        let body = ScanBody::new(code, device_id, location);
        let request = self.client.post(self.url("/mp/v1/scans")).bearer_auth(token).json(&body);
        self.exchange::<ScanReceipt>(request, StatusCode::OK).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_resident_ids_are_valid_and_distinct() {
        assert_eq!(resident_id_for("13800001234").len(), 18);
        let ids: std::collections::HashSet<String> =
            (0..20_000).map(|i| resident_id_for(&format!("138{i:08}"))).collect();
        assert_eq!(ids.len(), 20_000);
    }

    #[test]
    fn only_loopback_bases_are_accepted() {
        assert_eq!(loopback_base("http://127.0.0.1:8080/").unwrap(), "http://127.0.0.1:8080");
        assert_eq!(loopback_base("http://localhost:1/prefix/").unwrap(), "http://localhost:1/prefix");
        assert!(loopback_base("http://127.9.9.9").is_ok());
        assert!(loopback_base("http://[::1]:80").is_ok());
        assert!(loopback_base("http://10.0.0.1:8080").is_err());
        assert!(loopback_base("http://example.com").is_err());
        assert!(loopback_base("ftp://127.0.0.1").is_err());
        assert!(loopback_base("not a url").is_err());
    }
}
