//! `/mp/v1`: volunteer registration and scanning.

use axum::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hourmark_core::Hourmark;
use hourmark_core::attendance::reading::CodeReading;
use hourmark_core::attendance::scan::{ScanReceipt, ScanRequest};
use hourmark_core::error::Problem;
use hourmark_core::identity::registration::MyData;
use hourmark_core::identity::registration::NewVolunteer;
use hourmark_core::identity::registration::VolunteerWithToken;
use hourmark_core::login::sms::{SmsCodeRequest, SmsCodeSent, SmsLoginAnswer, SmsLoginRequest};
use hourmark_core::login::{DevLoginRequest, LoginAnswer, PhoneBindingRequest, WeChatLoginRequest};
use hourmark_core::privacy::{ConsentChange, GuardianConsent};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ClientAddress, Json, VolunteerCaller};
use crate::problem::{ApiError, PROBLEM_JSON, json_response};

pub(crate) fn router() -> OpenApiRouter<Hourmark> {
    OpenApiRouter::new()
        .routes(routes!(register_volunteer))
        .routes(routes!(my_data))
        .routes(routes!(change_consent))
        .routes(routes!(guardian_consent))
        .routes(routes!(rebind_device))
        .routes(routes!(bind_phone))
        .routes(routes!(login_wechat))
        .routes(routes!(login_dev))
        .routes(routes!(send_sms_code))
        .routes(routes!(login_sms))
        .routes(routes!(read_code))
        .routes(routes!(scan))
        .routes(routes!(scan_page))
        .routes(routes!(scan_page_upper))
        .routes(routes!(scan_page_script))
        .routes(routes!(privacy_notice))
}

/// Register a volunteer and sign them in.
///
/// Records what the rule asks (name, gender, birth month, ID type and number, skills,
/// phone) and the volunteer's consents, each separately. ID and phone numbers are sealed
/// at rest and masked in the answer. The answer carries a bearer token for the scan
/// endpoint.
#[utoipa::path(
    post,
    path = "/mp/v1/volunteers",
    tag = "volunteers",
    request_body = NewVolunteer,
    responses(
        (status = 201, description = "Registered", body = VolunteerWithToken),
        (status = 409, description = "`id_number_taken` (one person, one volunteer), `phone_taken`, `wechat_already_bound`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited` (see `Retry-After`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`id_number_invalid`, `consent_required`, `registration_ticket_invalid`, `invalid_body`", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn register_volunteer(
    State(hourmark): State<Hourmark>,
    ClientAddress(client): ClientAddress,
    Json(new): Json<NewVolunteer>,
) -> Result<(StatusCode, axum::Json<VolunteerWithToken>), ApiError> {
    hourmark.limit("register", &client.to_string(), hourmark.settings().rate_limits.registration_per_client).await?;
    Ok((StatusCode::CREATED, axum::Json(hourmark.register_volunteer(new).await?)))
}

/// Sign in with WeChat: send the code from `wx.login`.
///
/// A WeChat account already bound to a volunteer gets a bearer token; one not yet
/// registered gets a `registration_ticket` (30 minutes) to pass as `wechat_ticket` when
/// registering. WeChat's `session_key` never leaves the server.
#[utoipa::path(
    post,
    path = "/mp/v1/login/wechat",
    tag = "volunteers",
    request_body = WeChatLoginRequest,
    responses(
        (status = 200, body = LoginAnswer),
        (status = 403, description = "`wechat_user_blocked`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`wechat_code_invalid` (call wx.login again), `invalid_body`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`wechat_rate_limited`; `rate_limited` (see `Retry-After`)", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "`wechat_unavailable`, `wechat_error`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`wechat_busy` (retry), `wechat_not_configured`", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "`wechat_timeout` (retry)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn login_wechat(
    State(hourmark): State<Hourmark>,
    ClientAddress(client): ClientAddress,
    Json(request): Json<WeChatLoginRequest>,
) -> Result<axum::Json<LoginAnswer>, ApiError> {
    hourmark.limit("login", &client.to_string(), hourmark.settings().rate_limits.login_per_client).await?;
    Ok(axum::Json(hourmark.login_wechat(request).await?))
}

/// Development login by phone number, without WeChat. Answers `not_found` unless the
/// server runs with `HOURMARK_DEV_LOGIN=true` (refused in production).
#[utoipa::path(
    post,
    path = "/mp/v1/login/dev",
    tag = "volunteers",
    request_body = DevLoginRequest,
    responses(
        (status = 200, body = LoginAnswer),
        (status = 404, description = "`not_found`: disabled, or no volunteer has this phone", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited` (see `Retry-After`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn login_dev(
    State(hourmark): State<Hourmark>,
    ClientAddress(client): ClientAddress,
    Json(request): Json<DevLoginRequest>,
) -> Result<axum::Json<LoginAnswer>, ApiError> {
    hourmark.limit("login", &client.to_string(), hourmark.settings().rate_limits.login_per_client).await?;
    Ok(axum::Json(hourmark.login_dev(request).await?))
}

/// Ask for a one-time sign-in code by SMS, for a volunteer already registered with this
/// number (a new phone, or a browser that lost its sign-in).
///
/// The code has 6 digits, works once, for 5 minutes, and dies after 5 wrong tries. One
/// code per `resend_after_secs` per number (and a few per hour); codes asked from one
/// client address are limited too. Asking again replaces the earlier code.
#[utoipa::path(
    post,
    path = "/mp/v1/login/sms/code",
    tag = "volunteers",
    request_body = SmsCodeRequest,
    responses(
        (status = 200, description = "Sent", body = SmsCodeSent),
        (status = 404, description = "`phone_not_registered` (register instead)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body` (not a mainland mobile number)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`sms_rate_limited`: too many codes for this number or from this client, or the provider's limit for the number; the detail says how long to wait", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "`sms_unavailable`: the provider refused or could not be reached", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`sms_not_configured`: this server sends no SMS", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn send_sms_code(
    State(hourmark): State<Hourmark>,
    ClientAddress(client): ClientAddress,
    Json(request): Json<SmsCodeRequest>,
) -> Result<axum::Json<SmsCodeSent>, ApiError> {
    Ok(axum::Json(hourmark.send_sms_code(request, &client.to_string()).await?))
}

/// Sign in with the SMS code, and bind this phone by the device binding rule.
///
/// The answer carries the bearer token and `device`: whether scans from this `device_id`
/// will be accepted (`bound`, `newly_bound`, `rebound`), or, when another phone was bound
/// within the cool-down (`bound_elsewhere`), from when this one can be, with what to do.
#[utoipa::path(
    post,
    path = "/mp/v1/login/sms",
    tag = "volunteers",
    request_body = SmsLoginRequest,
    responses(
        (status = 200, description = "Signed in", body = SmsLoginAnswer),
        (status = 404, description = "`phone_not_registered`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`sms_code_invalid` (wrong, used, not 6 digits, or none sent to this number), `sms_code_expired`, `sms_code_attempts_exhausted` (5 wrong tries: ask for a new code), `invalid_body`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`sms_rate_limited`: too many tries from this client", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn login_sms(
    State(hourmark): State<Hourmark>,
    ClientAddress(client): ClientAddress,
    Json(request): Json<SmsLoginRequest>,
) -> Result<axum::Json<SmsLoginAnswer>, ApiError> {
    Ok(axum::Json(hourmark.login_sms(request, &client.to_string()).await?))
}

/// Everything held about the signed-in volunteer, unmasked, with their consent history.
/// The answer is the volunteer's copy of their data (个人信息保护法 Art. 45).
#[utoipa::path(
    get,
    path = "/mp/v1/me",
    tag = "volunteers",
    security(("bearer" = [])),
    responses(
        (status = 200, body = MyData),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden` (a staff token)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn my_data(
    State(hourmark): State<Hourmark>,
    VolunteerCaller(volunteer_id): VolunteerCaller,
) -> Result<axum::Json<MyData>, ApiError> {
    Ok(axum::Json(hourmark.my_data(volunteer_id).await?))
}

/// Give or withdraw one consent (`record`, `publicity`, `location`). It takes effect for
/// the next scan. Answers with the volunteer's data and consent history.
#[utoipa::path(
    post,
    path = "/mp/v1/me/consents",
    tag = "volunteers",
    request_body = ConsentChange,
    security(("bearer" = [])),
    responses(
        (status = 200, body = MyData),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn change_consent(
    State(hourmark): State<Hourmark>,
    VolunteerCaller(volunteer_id): VolunteerCaller,
    Json(change): Json<ConsentChange>,
) -> Result<axum::Json<MyData>, ApiError> {
    Ok(axum::Json(hourmark.change_consent(volunteer_id, change).await?))
}

/// Record a guardian's consent for a volunteer under 18 (required before they take part;
/// for under-14s, before any processing beyond registration).
#[utoipa::path(
    post,
    path = "/mp/v1/me/guardian-consent",
    tag = "volunteers",
    request_body = GuardianConsent,
    security(("bearer" = [])),
    responses(
        (status = 200, body = MyData),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn guardian_consent(
    State(hourmark): State<Hourmark>,
    VolunteerCaller(volunteer_id): VolunteerCaller,
    Json(consent): Json<GuardianConsent>,
) -> Result<axum::Json<MyData>, ApiError> {
    Ok(axum::Json(hourmark.record_guardian_consent(volunteer_id, consent).await?))
}

/// Replace the phone number with the one WeChat verified (the code from the mini
/// program's `getPhoneNumber` button). Written to the audit log.
#[utoipa::path(
    post,
    path = "/mp/v1/me/phone",
    tag = "volunteers",
    request_body = PhoneBindingRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = MyData),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`phone_taken`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`wechat_code_invalid`, `invalid_body` (not a mainland number)", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "`wechat_unavailable`, `wechat_error`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`wechat_busy`, `wechat_not_configured`", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "`wechat_timeout`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn bind_phone(
    State(hourmark): State<Hourmark>,
    VolunteerCaller(volunteer_id): VolunteerCaller,
    Json(request): Json<PhoneBindingRequest>,
) -> Result<axum::Json<MyData>, ApiError> {
    Ok(axum::Json(hourmark.bind_wechat_phone(volunteer_id, request).await?))
}

/// The device to bind.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceBinding {
    /// The new device's id, 1–64 printable ASCII characters.
    pub device_id: String,
}

/// Bind a new device (a new phone). Scans then have to come from it. Allowed once per
/// cool-down (24 hours by default) and written to the audit log.
#[utoipa::path(
    post,
    path = "/mp/v1/me/device",
    tag = "volunteers",
    request_body = DeviceBinding,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Bound"),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`device_rebind_too_soon`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn rebind_device(
    State(hourmark): State<Hourmark>,
    VolunteerCaller(volunteer_id): VolunteerCaller,
    Json(binding): Json<DeviceBinding>,
) -> Result<StatusCode, ApiError> {
    hourmark.rebind_device(volunteer_id, &binding.device_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Read a scanned code before scanning: what it names, and whether it is still fresh.
///
/// Public: the scan page calls it first, before it knows who is scanning, to show the
/// activity, organisation, gate and 签到/签退, and to say so before any form when the code
/// is forged, damaged or stale. Nothing is recorded and nothing personal is returned. A
/// fresh code's answer carries a `pending_ticket`: send it with the scan and the scan is
/// taken as of this moment even if registering first takes a few minutes.
#[utoipa::path(
    get,
    path = "/mp/v1/codes/{token}",
    tag = "scans",
    params(("token" = String, Path, description = "The code's token, or its whole URL, URL-encoded")),
    responses(
        (status = 200, description = "A fresh code and what it names", body = CodeReading),
        (status = 422, description = "`code_unreadable`, `code_invalid` (forged, damaged, or naming no activity or gate), `code_expired`, `code_not_yet_valid`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn read_code(
    State(hourmark): State<Hourmark>,
    Path(token): Path<String>,
) -> Result<axum::Json<CodeReading>, ApiError> {
    Ok(axum::Json(hourmark.read_code(&token).await?))
}

/// Scan a code.
///
/// Send the scanned text with a fresh `nonce` (UUID) per scan; on a timeout, retry with
/// the *same* nonce: the answer is then the one already recorded, and the scan never
/// counts twice. An accepted scan answers 200 with a receipt; a refused one answers with a
/// problem whose `code` says why (and the refusal is recorded too). Every answer is
/// durable before it is sent.
///
/// A scan the phone kept while it had no network is uploaded later with `offline`
/// (`elapsed_ms`: how long ago it was made, by the phone's own measure). It is judged and
/// recorded at that time, the server's arrival time less `elapsed_ms`: refused with
/// `late_upload_code_not_valid_then` if its code was not valid then, with
/// `late_upload_too_late` if it arrives after the bound (by default, when the activity's
/// check-out window closes; `HOURMARK_LATE_UPLOAD_MINUTES`), and with `device_not_bound`
/// unless it comes from the volunteer's bound device. Retries with the same nonce count
/// once, as for any scan; an accepted late upload is flagged `late_upload` for review when it
/// arrived more than the threshold after its code was shown.
#[utoipa::path(
    post,
    path = "/mp/v1/scans",
    tag = "scans",
    request_body = ScanRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Checked in or out", body = ScanReceipt),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden` (a staff token), `consent_withdrawn`, `guardian_consent_required` (nothing recorded); `device_not_bound` (recorded as refused; for a late upload also when no device is bound)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`activity_not_open`, `activity_ended`, `wrong_direction`, `repeat_scan`, `organisation_not_approved` (not yet approved, or revoked); `late_upload_too_late` (an `offline` scan past the bound; recorded as refused); `walk_in_refused` (a check-in without an approved sign-up where the activity admits no walk-ins; recorded as refused); `activity_cancelled` (a check-in at a cancelled activity; recorded as refused)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`code_unreadable`, `code_invalid`, `code_expired`, `code_not_yet_valid`, `invalid_body`; `scan_ticket_invalid`, `scan_ticket_expired` (a bad `pending_ticket`: nothing recorded); `late_upload_code_not_valid_then` (an `offline` scan claiming a time its code was not valid at; recorded as refused)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: not recorded; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`unavailable`: not recorded; retry with the same nonce", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn scan(
    State(hourmark): State<Hourmark>,
    VolunteerCaller(volunteer_id): VolunteerCaller,
    ClientAddress(client): ClientAddress,
    Json(request): Json<ScanRequest>,
) -> Result<Response, ApiError> {
    let answer = hourmark.scan(volunteer_id, request, Some(client)).await?;
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let media_type = if status.is_success() { "application/json" } else { PROBLEM_JSON };
    Ok(json_response(status, answer.body.into_bytes(), media_type).into_response())
}

/// The page a phone camera opens from the QR code's URL: a web stand-in for the mini
/// program that registers the volunteer once and then submits the scan (with a nonce
/// kept until an answer arrives, so retries on a weak network never count twice).
const SCAN_PAGE: &str = include_str!("scan.html");

fn scan_page_response() -> Response {
    let mut response = axum::response::Html(SCAN_PAGE).into_response();
    response.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    response
}

/// The web stand-in page for a scanned code (lower-case path).
#[utoipa::path(
    get, path = "/s/{token}", tag = "scans",
    params(("token" = String, Path, description = "The code's token")),
    responses((status = 200, description = "An HTML page that submits the scan", content_type = "text/html", body = String))
)]
pub(crate) async fn scan_page() -> Response {
    scan_page_response()
}

/// The web stand-in page for a scanned code, as QR codes spell it (upper case keeps them small).
#[utoipa::path(
    get, path = "/S/{token}", tag = "scans",
    params(("token" = String, Path, description = "The code's token")),
    responses((status = 200, description = "An HTML page that submits the scan", content_type = "text/html", body = String))
)]
pub(crate) async fn scan_page_upper() -> Response {
    scan_page_response()
}

const SCAN_SCRIPT: &str = include_str!("scan.js");

/// The scan page's script: a file of its own, since the pages' Content-Security-Policy
/// allows no inline script.
#[utoipa::path(
    get, path = "/mp/static/scan.js", tag = "scans",
    responses((status = 200, description = "The scan page's script", content_type = "text/javascript", body = String))
)]
pub(crate) async fn scan_page_script() -> Response {
    let mut response = SCAN_SCRIPT.into_response();
    let headers = response.headers_mut();
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    headers.insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("public, max-age=300"));
    response
}

/// The privacy notice every form on the volunteer's pages links to. Its version is the
/// `notice_version` recorded with each consent given on those pages.
const PRIVACY_NOTICE: &str = include_str!("privacy.html");

/// The privacy notice for volunteers and guardians: what is kept, why, for how long, and
/// how to withdraw.
#[utoipa::path(
    get, path = "/privacy", tag = "volunteers",
    responses((status = 200, description = "The privacy notice (HTML)", content_type = "text/html", body = String))
)]
pub(crate) async fn privacy_notice() -> Response {
    let mut response = axum::response::Html(PRIVACY_NOTICE).into_response();
    response.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-cache"));
    response
}
