//! `/api/v1` passkey routes: enrolling through an invite, signing in, and a signed-in
//! staff member's own passkeys; and, for administrators, re-inviting staff who lost
//! theirs and removing a lost phone's passkey.
//!
//! Every ceremony is a start and a finish (see `hourmark_core::passkeys`). The public
//! starts and finishes count against the per-client login limit.

use axum::extract::State;
use axum::http::StatusCode;
use hourmark_core::Hourmark;
use hourmark_core::error::Problem;
use hourmark_core::identity::staff::StaffWithToken;
use hourmark_core::passkeys::{EnrolmentStart, FinishEnrolment, FinishSignIn, Invite, PasskeySummary, SignInStart};
use hourmark_core::step_up::StepUp;
use hourmark_http::ApiError;
use hourmark_http::extract::{ClientAddress, Json, Path, StaffCaller, StaffSession};
use hourmark_http::responses::{
    Forbidden, InvalidParameter, NotFound, RateLimited, Unauthenticated, VolunteerTokenForbidden,
};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub(crate) fn router() -> OpenApiRouter<Hourmark> {
    OpenApiRouter::new()
        .routes(routes!(start_invited_enrolment))
        .routes(routes!(finish_invited_enrolment))
        .routes(routes!(start_sign_in))
        .routes(routes!(finish_sign_in))
        .routes(routes!(my_passkeys))
        .routes(routes!(start_passkey_addition))
        .routes(routes!(finish_passkey_addition))
        .routes(routes!(remove_passkey))
        .routes(routes!(start_step_up))
        .routes(routes!(finish_step_up))
        .routes(routes!(reinvite_staff))
        .routes(routes!(staff_passkeys))
        .routes(routes!(remove_staff_passkey))
        .routes(routes!(enrol_page))
        .routes(routes!(sign_in_page))
}

const STAFF_PAGE: &str = include_str!("staff.html");

fn staff_page() -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut response = axum::response::Html(STAFF_PAGE).into_response();
    response.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    response
}

/// The page an invite link opens: it enrols a passkey on this device and signs in. The
/// invite token rides in the fragment (`#invite=…`), which the browser never sends.
#[utoipa::path(
    get, path = "/staff/enrol", tag = "passkeys",
    responses((status = 200, description = "The enrolment page", content_type = "text/html", body = String))
)]
async fn enrol_page() -> axum::response::Response {
    staff_page()
}

/// The staff sign-in page (login and passkey).
#[utoipa::path(
    get, path = "/staff/sign-in", tag = "passkeys",
    responses((status = 200, description = "The sign-in page", content_type = "text/html", body = String))
)]
async fn sign_in_page() -> axum::response::Response {
    staff_page()
}

/// The invite to enrol with.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    /// The token from the invite link (after `#invite=`).
    pub invite: String,
}

impl std::fmt::Debug for InviteRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InviteRequest(<redacted>)")
    }
}

/// Who is signing in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInRequest {
    /// Their login.
    pub login: String,
}

pub(crate) async fn limit_client(hourmark: &Hourmark, client: std::net::IpAddr) -> Result<(), ApiError> {
    Ok(hourmark.limit("login", &client.to_string(), hourmark.settings().rate_limits.login_per_client).await?)
}

/// Start enrolling a passkey with an invite link.
#[utoipa::path(
    post, path = "/api/v1/invites/passkey/start", tag = "passkeys", request_body = InviteRequest,
    responses(
        (status = 200, body = EnrolmentStart),
        (status = 410, description = "`invite_invalid` (unknown, expired or used)", body = Problem, content_type = "application/problem+json"),
        RateLimited,
        (status = "4XX", description = "`malformed_json`, `invalid_body`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn start_invited_enrolment(
    State(hourmark): State<Hourmark>,
    ClientAddress(client): ClientAddress,
    Json(request): Json<InviteRequest>,
) -> Result<axum::Json<EnrolmentStart>, ApiError> {
    limit_client(&hourmark, client).await?;
    Ok(axum::Json(hourmark.start_invited_enrolment(&request.invite).await?))
}

/// Finish enrolling: stores the passkey, spends the invite and signs in.
#[utoipa::path(
    post, path = "/api/v1/invites/passkey/finish", tag = "passkeys", request_body = FinishEnrolment,
    responses(
        (status = 201, body = StaffWithToken),
        (status = 400, description = "`ceremony_invalid`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`passkey_rejected`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`passkey_exists`", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "`invite_invalid` (used meanwhile, or expired)", body = Problem, content_type = "application/problem+json"),
        RateLimited,
        (status = "4XX", description = "`malformed_json`, `invalid_body`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn finish_invited_enrolment(
    State(hourmark): State<Hourmark>,
    ClientAddress(client): ClientAddress,
    Json(finish): Json<FinishEnrolment>,
) -> Result<(StatusCode, axum::Json<StaffWithToken>), ApiError> {
    limit_client(&hourmark, client).await?;
    Ok((StatusCode::CREATED, axum::Json(hourmark.finish_invited_enrolment(finish).await?)))
}

/// Start signing in. The answer looks the same whether or not the login exists.
#[utoipa::path(
    post, path = "/api/v1/sign-in/passkey/start", tag = "passkeys", request_body = SignInRequest,
    responses(
        (status = 200, body = SignInStart),
        RateLimited,
        (status = "4XX", description = "`malformed_json`, `invalid_body`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn start_sign_in(
    State(hourmark): State<Hourmark>,
    ClientAddress(client): ClientAddress,
    Json(request): Json<SignInRequest>,
) -> Result<axum::Json<SignInStart>, ApiError> {
    limit_client(&hourmark, client).await?;
    Ok(axum::Json(hourmark.start_sign_in(&request.login).await?))
}

/// Finish signing in: a staff bearer token.
#[utoipa::path(
    post, path = "/api/v1/sign-in/passkey/finish", tag = "passkeys", request_body = FinishSignIn,
    responses(
        (status = 200, body = StaffWithToken),
        (status = 400, description = "`ceremony_invalid` (unknown, expired or already finished: a replay)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`passkey_rejected`", body = Problem, content_type = "application/problem+json"),
        RateLimited,
        (status = "4XX", description = "`malformed_json`, `invalid_body`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn finish_sign_in(
    State(hourmark): State<Hourmark>,
    ClientAddress(client): ClientAddress,
    Json(finish): Json<FinishSignIn>,
) -> Result<axum::Json<StaffWithToken>, ApiError> {
    limit_client(&hourmark, client).await?;
    Ok(axum::Json(hourmark.finish_sign_in(finish).await?))
}

/// The signed-in staff member's passkeys.
#[utoipa::path(
    get, path = "/api/v1/me/passkeys", tag = "passkeys", security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<PasskeySummary>),
        Unauthenticated,
        VolunteerTokenForbidden,
    )
)]
async fn my_passkeys(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
) -> Result<axum::Json<Vec<PasskeySummary>>, ApiError> {
    Ok(axum::Json(hourmark.my_passkeys(&by).await?))
}

/// Start adding another passkey (a second phone, a security key).
#[utoipa::path(
    post, path = "/api/v1/me/passkeys/start", tag = "passkeys", security(("bearer" = [])),
    responses(
        (status = 200, body = EnrolmentStart),
        Unauthenticated,
        (status = 403, description = "`forbidden` (a volunteer token); `reverification_required` (no passkey assertion on this session in the last 5 minutes: step up first)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn start_passkey_addition(
    State(hourmark): State<Hourmark>,
    StaffSession { by, token }: StaffSession,
) -> Result<axum::Json<EnrolmentStart>, ApiError> {
    Ok(axum::Json(hourmark.start_passkey_addition(&by, &token).await?))
}

/// Finish adding a passkey.
#[utoipa::path(
    post, path = "/api/v1/me/passkeys/finish", tag = "passkeys", request_body = FinishEnrolment,
    security(("bearer" = [])),
    responses(
        (status = 201, body = PasskeySummary),
        (status = 400, description = "`ceremony_invalid` (also: started by someone else)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`, `passkey_rejected`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden` (a volunteer token); `reverification_required` (no passkey assertion on this session in the last 5 minutes: step up first)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`passkey_exists`", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`malformed_json`, `invalid_body`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn finish_passkey_addition(
    State(hourmark): State<Hourmark>,
    StaffSession { by, token }: StaffSession,
    Json(finish): Json<FinishEnrolment>,
) -> Result<(StatusCode, axum::Json<PasskeySummary>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(hourmark.finish_passkey_addition(&by, &token, finish).await?)))
}

/// Remove one of your passkeys (never the last one).
#[utoipa::path(
    delete, path = "/api/v1/me/passkeys/{passkey_id}", tag = "passkeys", security(("bearer" = [])),
    params(("passkey_id" = Uuid, Path, description = "The passkey's id")),
    responses(
        (status = 204, description = "Removed"),
        InvalidParameter,
        Unauthenticated,
        (status = 403, description = "`forbidden` (a volunteer token); `reverification_required` (no passkey assertion on this session in the last 5 minutes: step up first)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found` (not one of yours)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`last_passkey`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn remove_passkey(
    State(hourmark): State<Hourmark>,
    StaffSession { by, token }: StaffSession,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    hourmark.remove_passkey(&by, &token, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Issue a new invite link for a staff member who lost their passkeys (administrators).
#[utoipa::path(
    post, path = "/api/v1/staff/{id}/invites", tag = "passkeys", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The staff member's id")),
    responses(
        (status = 201, body = Invite),
        InvalidParameter,
        Unauthenticated,
        Forbidden,
        NotFound,
    )
)]
async fn reinvite_staff(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<(StatusCode, axum::Json<Invite>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(hourmark.reinvite_staff(&by, id).await?)))
}

/// A staff member's passkeys (administrators).
#[utoipa::path(
    get, path = "/api/v1/staff/{id}/passkeys", tag = "passkeys", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The staff member's id")),
    responses(
        (status = 200, body = Vec<PasskeySummary>),
        InvalidParameter,
        Unauthenticated,
        Forbidden,
        NotFound,
    )
)]
async fn staff_passkeys(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<axum::Json<Vec<PasskeySummary>>, ApiError> {
    Ok(axum::Json(hourmark.staff_passkeys(&by, id).await?))
}

/// Remove a staff member's passkey, e.g. a lost phone's (administrators). Someone else's
/// last passkey may go (they are then re-invited), and their sessions end; an
/// administrator's own last passkey never goes.
#[utoipa::path(
    delete, path = "/api/v1/staff/{id}/passkeys/{passkey_id}", tag = "passkeys", security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "The staff member's id"),
        ("passkey_id" = Uuid, Path, description = "The passkey's id"),
    ),
    responses(
        (status = 204, description = "Removed; the staff member's sessions ended"),
        InvalidParameter,
        Unauthenticated,
        (status = 403, description = "`forbidden`; `reverification_required` (no passkey assertion on this session in the last 5 minutes: step up first)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found` (no such staff member, or not their passkey)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`last_passkey` (the administrator's own last one)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn remove_staff_passkey(
    State(hourmark): State<Hourmark>,
    StaffSession { by, token }: StaffSession,
    Path((id, passkey_id)): Path<(i64, Uuid)>,
) -> Result<StatusCode, ApiError> {
    hourmark.remove_staff_passkey(&by, &token, id, passkey_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Start a step-up: prove with one of your passkeys (user verification) that you are at
/// the keyboard now. Adding or removing passkeys and reading a volunteer's numbers in
/// clear need one on the same session within 5 minutes (a passkey sign-in counts).
#[utoipa::path(
    post, path = "/api/v1/me/step-up/start", tag = "passkeys", security(("bearer" = [])),
    responses(
        (status = 200, body = SignInStart),
        Unauthenticated,
        VolunteerTokenForbidden,
        (status = 404, description = "`not_found` (you have no passkey)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn start_step_up(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
) -> Result<axum::Json<SignInStart>, ApiError> {
    Ok(axum::Json(hourmark.start_step_up(&by).await?))
}

/// Finish a step-up: this session may then, for 5 minutes, do what asks for one.
#[utoipa::path(
    post, path = "/api/v1/me/step-up/finish", tag = "passkeys", request_body = FinishSignIn,
    security(("bearer" = [])),
    responses(
        (status = 200, body = StepUp),
        (status = 400, description = "`ceremony_invalid` (also: started by someone else)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`, `passkey_rejected`", body = Problem, content_type = "application/problem+json"),
        VolunteerTokenForbidden,
        (status = "4XX", description = "`malformed_json`, `invalid_body`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn finish_step_up(
    State(hourmark): State<Hourmark>,
    StaffSession { by, token }: StaffSession,
    Json(finish): Json<FinishSignIn>,
) -> Result<axum::Json<StepUp>, ApiError> {
    Ok(axum::Json(hourmark.finish_step_up(&by, &token, finish).await?))
}
