//! `/mp/v1`: volunteer registration and scanning.

use axum::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hourmark_core::Hourmark;
use hourmark_core::attendance::reading::CodeReading;
use hourmark_core::attendance::scan::{ScanReceipt, ScanRequest};
use hourmark_core::error::Problem;
use hourmark_core::identity::confirmation::RegistrationPending;
use hourmark_core::identity::registration::Registration;
use hourmark_core::identity::registration::{MyData, NewVolunteer, VolunteerWithToken};
use hourmark_core::login::sms::{SmsCodeRequest, SmsCodeSent, SmsLoginAnswer, SmsLoginRequest};
use hourmark_core::login::wechat_oa::{
    COOKIE_NAME as OA_COOKIE, COOKIE_PATH as OA_COOKIE_PATH, STATE_TTL as OA_STATE_TTL, WeChatOaAnswer,
    WeChatOaCallback, WeChatOaFinishRequest, WeChatOaStart, WeChatOaStartRequest,
};
use hourmark_core::login::{DevLoginRequest, LoginAnswer, PhoneBindingRequest, WeChatLoginRequest};
use hourmark_core::privacy::{ConsentChange, GuardianConsent, GuardianConsentAnswer};
use hourmark_http::responses::{RateLimited, StaffTokenForbidden, Unauthenticated};
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
        .routes(routes!(wechat_oa_start))
        .routes(routes!(wechat_oa_callback))
        .routes(routes!(wechat_oa_finish))
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
///
/// A registration is confirmed by a one-time SMS code before anything is stored: always
/// for a volunteer under 18 (the code goes to the `guardian`'s phone, never the minor's
/// own, and the guardian's consent is recorded with the registration), and for everyone
/// in production (the code goes to `phone`). The first request answers 202 with a
/// `registration_id`, and answers it the same way whether or not the ID number is
/// registered; send the same registration again with `confirmation` (the id and the six
/// digits). Only then does an ID number already registered answer `id_number_taken`.
/// Codes: 6 digits, 5 minutes, 5 wrong tries, used once, limited like sign-in codes. An
/// adult whose `wechat_phone_code` (the mini program's phone button) shows WeChat verified
/// `phone` needs no SMS code.
#[utoipa::path(
    post,
    path = "/mp/v1/volunteers",
    tag = "volunteers",
    request_body = NewVolunteer,
    responses(
        (status = 201, description = "Registered", body = VolunteerWithToken),
        (status = 202, description = "A code was sent (to the guardian's phone for a minor); nothing is stored yet: send the same registration again with `confirmation`", body = RegistrationPending),
        (status = 409, description = "`id_number_taken` (one person, one volunteer; told only once the code proved the phone), `phone_taken`, `wechat_already_bound`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited` (see `Retry-After`); `sms_rate_limited` (too many codes for this number or from this client, or tries from this client); `wechat_rate_limited`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`id_number_invalid`, `consent_required`, `registration_ticket_invalid`, `guardian_required` (under 18 without a guardian), `guardian_phone_same` (the guardian's phone is the minor's), `registration_expired` (unknown or already confirmed: send it again without `confirmation`), `sms_code_invalid` (wrong, or for another registration or changed fields), `sms_code_expired`, `sms_code_attempts_exhausted`, `wechat_code_invalid`, `invalid_body` (also: the phone is not the one WeChat verified)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`wechat_user_blocked` (a `wechat_phone_code` WeChat refused)", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "`sms_unavailable`: the code could not be sent; `wechat_unavailable`, `wechat_error` (checking a `wechat_phone_code`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`sms_not_configured`: this server sends no SMS, so registrations that need a code cannot be made; `wechat_busy`, `wechat_not_configured`", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "`wechat_timeout`", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn register_volunteer(
    State(hourmark): State<Hourmark>,
    ClientAddress(client): ClientAddress,
    Json(new): Json<NewVolunteer>,
) -> Result<Response, ApiError> {
    let client = client.to_string();
    hourmark.limit("register", &client, hourmark.settings().rate_limits.registration_per_client).await?;
    Ok(match hourmark.register_volunteer(new, &client).await? {
        Registration::Registered(registered) => (StatusCode::CREATED, axum::Json(registered)).into_response(),
        Registration::Pending(pending) => (StatusCode::ACCEPTED, axum::Json(pending)).into_response(),
    })
}

/// Sign in with WeChat: send the code from `wx.login`.
///
/// A WeChat account already bound to a volunteer gets a bearer token, and so does one
/// whose unionid is bound (the volunteer came through the Official Account first): its
/// openid is bound then. One not yet registered gets a `registration_ticket` (30
/// minutes) to pass as `wechat_ticket` when registering. WeChat's `session_key` never
/// leaves the server.
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
        RateLimited,
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
///
/// A number no volunteer has is answered exactly the same way (and limited alike), but
/// gets no code: the answer does not tell whether a number is registered. The SMS is sent
/// after the answer, so a provider's refusal is logged, not answered.
#[utoipa::path(
    post,
    path = "/mp/v1/login/sms/code",
    tag = "volunteers",
    request_body = SmsCodeRequest,
    responses(
        (status = 200, description = "Sent if the number is registered (the same answer if not)", body = SmsCodeSent),
        (status = 422, description = "`invalid_body` (not a mainland mobile number)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`sms_rate_limited`: too many codes for this number or from this client; the detail says how long to wait", body = Problem, content_type = "application/problem+json"),
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

/// The WeChat sign-in's binder cookie: HttpOnly (the page never sees it), SameSite=Lax
/// (sent when WeChat's page sends the browser back, a top-level navigation from another
/// site, but never with another site's form posts), only on the sign-in's own routes, and
/// Secure when browsers reach Hourmark over HTTPS.
fn oa_cookie(hourmark: &Hourmark, value: &str, max_age: i64) -> axum::http::HeaderValue {
    let secure = hourmark
        .settings()
        .wechat_oa
        .as_ref()
        .is_some_and(|oa| oa.redirect_base_url.to_ascii_lowercase().starts_with("https:"));
    let secure = if secure { "; Secure" } else { "" };
    let cookie =
        format!("{OA_COOKIE}={value}; Path={OA_COOKIE_PATH}; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}");
    axum::http::HeaderValue::from_str(&cookie).unwrap_or_else(|_| axum::http::HeaderValue::from_static(""))
}

/// The binder cookie's value, if the request carries one.
fn oa_binder(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == OA_COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// Start signing in inside WeChat's browser (Official Account web authorisation).
///
/// Answers WeChat's authorisation URL (ending in `#wechat_redirect`) for the page to
/// navigate to, and sets an HttpOnly cookie binding the sign-in to this browser. WeChat
/// sends the browser back to `/mp/v1/login/wechat-oa/callback`, which returns it to the
/// scan page of `code`.
#[utoipa::path(
    post,
    path = "/mp/v1/login/wechat-oa/start",
    tag = "volunteers",
    request_body = WeChatOaStartRequest,
    responses(
        (status = 200, description = "Go to `authorize_url`; the cookie is set", body = WeChatOaStart),
        (status = 422, description = "`invalid_body` (not a scan code)", body = Problem, content_type = "application/problem+json"),
        RateLimited,
        (status = 503, description = "`wechat_oa_not_configured`: offer SMS sign-in", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn wechat_oa_start(
    State(hourmark): State<Hourmark>,
    ClientAddress(client): ClientAddress,
    Json(request): Json<WeChatOaStartRequest>,
) -> Result<Response, ApiError> {
    hourmark.limit("login", &client.to_string(), hourmark.settings().rate_limits.login_per_client).await?;
    let start = hourmark.wechat_oa_start(request).await?;
    let mut response = axum::Json(&start).into_response();
    let headers = response.headers_mut();
    headers.insert(axum::http::header::SET_COOKIE, oa_cookie(&hourmark, &start.binder, OA_STATE_TTL.num_seconds()));
    headers.insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Where WeChat sends the browser back after authorisation (`code` and `state`; `state`
/// alone when the user refused).
///
/// A valid state (issued here, not used before, not expired, and started in this browser)
/// sends the browser back to its scan page: `#wechat_oa=<handle>` to finish with, or
/// `#wechat_oa_error=<code>` (`wechat_oa_refused`, `wechat_code_invalid`,
/// `wechat_code_used`, `wechat_timeout`, …) for the page to explain and offer SMS sign-in.
/// Any other state is refused here and nothing is kept.
#[utoipa::path(
    get,
    path = "/mp/v1/login/wechat-oa/callback",
    tag = "volunteers",
    params(WeChatOaCallback),
    responses(
        (status = 303, description = "Back to the scan page, the outcome in the fragment"),
        (status = 404, description = "`not_found`: no Official Account is configured", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`wechat_oa_state_invalid` (forged, used, or started in another browser), `wechat_oa_state_expired`", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "`invalid_parameter` (a malformed query)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn wechat_oa_callback(
    State(hourmark): State<Hourmark>,
    headers: axum::http::HeaderMap,
    crate::extract::Query(callback): crate::extract::Query<WeChatOaCallback>,
) -> Result<Response, ApiError> {
    let location = hourmark.wechat_oa_callback(callback, oa_binder(&headers).as_deref()).await?;
    let mut response = StatusCode::SEE_OTHER.into_response();
    let value = axum::http::HeaderValue::from_str(&location)
        .map_err(|_| ApiError(hourmark_core::CoreError::Internal("unusable return location".into())))?;
    response.headers_mut().insert(axum::http::header::LOCATION, value);
    response.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Finish signing in inside WeChat's browser: the handle from the scan page's fragment,
/// once, from the browser that started.
///
/// A WeChat account already bound to a volunteer (by the Official Account's openid, or by
/// the unionid it shares with the mini program) gets a bearer token and `device`, the
/// device binding rule applied to `device_id` as for SMS sign-in: with `bound_elsewhere`
/// the volunteer is signed in but must scan with the bound phone until
/// `rebind_allowed_from`. One not bound gets a `registration_ticket` to pass as
/// `wechat_ticket` when registering, which binds this WeChat account.
#[utoipa::path(
    post,
    path = "/mp/v1/login/wechat-oa/finish",
    tag = "volunteers",
    request_body = WeChatOaFinishRequest,
    responses(
        (status = 200, description = "Signed in, or a registration ticket", body = WeChatOaAnswer),
        (status = 422, description = "`wechat_oa_state_invalid` (unknown, used, or another browser's handle), `wechat_oa_state_expired`, `invalid_body`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`wechat_oa_not_configured`", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn wechat_oa_finish(
    State(hourmark): State<Hourmark>,
    headers: axum::http::HeaderMap,
    Json(request): Json<WeChatOaFinishRequest>,
) -> Result<Response, ApiError> {
    let answer = hourmark.wechat_oa_finish(request, oa_binder(&headers).as_deref()).await?;
    let mut response = axum::Json(answer).into_response();
    response.headers_mut().insert(axum::http::header::SET_COOKIE, oa_cookie(&hourmark, "", 0));
    response.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(response)
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
        Unauthenticated,
        StaffTokenForbidden,
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
        Unauthenticated,
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
/// for under-14s, before any processing beyond registration), confirmed by the guardian.
///
/// The volunteer's own session cannot declare it: the first request (without `code`)
/// sends a one-time code to `guardian_phone` (not the volunteer's own) and answers 202;
/// the same request again with the guardian's six digits records the consent, with who
/// gave it, their relation and phone (sealed), and how it was confirmed.
#[utoipa::path(
    post,
    path = "/mp/v1/me/guardian-consent",
    tag = "volunteers",
    request_body = GuardianConsent,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Recorded", body = MyData),
        (status = 202, description = "The code went to the guardian's phone; nothing recorded yet", body = SmsCodeSent),
        Unauthenticated,
        (status = 422, description = "`guardian_phone_same`, `registration_expired` (no code pending: send without `code`), `sms_code_invalid` (wrong, or for other details), `sms_code_expired`, `sms_code_attempts_exhausted`, `invalid_body` (an adult, or a malformed field)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`sms_rate_limited`", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "`sms_unavailable`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`sms_not_configured`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn guardian_consent(
    State(hourmark): State<Hourmark>,
    VolunteerCaller(volunteer_id): VolunteerCaller,
    ClientAddress(client): ClientAddress,
    Json(consent): Json<GuardianConsent>,
) -> Result<Response, ApiError> {
    Ok(match hourmark.record_guardian_consent(volunteer_id, consent, &client.to_string()).await? {
        GuardianConsentAnswer::Recorded(data) => axum::Json(*data).into_response(),
        GuardianConsentAnswer::CodeSent(sent) => (StatusCode::ACCEPTED, axum::Json(sent)).into_response(),
    })
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
        Unauthenticated,
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
        Unauthenticated,
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
        Unauthenticated,
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

/// The page, marked when sign-in inside WeChat's browser is configured: the script offers
/// it only then (and only inside WeChat), so an installation without an Official Account
/// offers SMS sign-in alone.
fn scan_page_response(hourmark: &Hourmark) -> Response {
    let page = if hourmark.settings().wechat_oa.is_some() {
        std::borrow::Cow::Owned(SCAN_PAGE.replacen("<main>", "<main data-wechat-oa=\"on\">", 1))
    } else {
        std::borrow::Cow::Borrowed(SCAN_PAGE)
    };
    let mut response = axum::response::Html(page).into_response();
    response.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    response
}

/// The web stand-in page for a scanned code (lower-case path).
#[utoipa::path(
    get, path = "/s/{token}", tag = "scans",
    params(("token" = String, Path, description = "The code's token")),
    responses((status = 200, description = "An HTML page that submits the scan", content_type = "text/html", body = String))
)]
pub(crate) async fn scan_page(State(hourmark): State<Hourmark>) -> Response {
    scan_page_response(&hourmark)
}

/// The web stand-in page for a scanned code, as QR codes spell it (upper case keeps them small).
#[utoipa::path(
    get, path = "/S/{token}", tag = "scans",
    params(("token" = String, Path, description = "The code's token")),
    responses((status = 200, description = "An HTML page that submits the scan", content_type = "text/html", body = String))
)]
pub(crate) async fn scan_page_upper(State(hourmark): State<Hourmark>) -> Response {
    scan_page_response(&hourmark)
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
