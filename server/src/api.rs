//! `/api/v1`: the staff API — bootstrap, organisations, staff, activities, the rotating
//! code, and the live attendance board.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hourmark_core::Hourmark;
use hourmark_core::activity::{Activity, NewActivity};
use hourmark_core::attendance::board::{ActivityBoard, ActivityTotals, SessionsPage, SessionsQuery};
use hourmark_core::error::{ErrorCode, Problem};
use hourmark_core::identity::staff::NewStaff;
use hourmark_core::identity::{NewOrganisation, Organisation, RecorderQualification};
use hourmark_core::passkeys::StaffWithInvite;
use hourmark_core::qr::CodeDirection;
use hourmark_core::qualification::{AnnualReview, OverseenStaff, QualificationChange, QualificationHistory};
use hourmark_core::screen_keys::CurrentCode;
use hourmark_http::ApiError;
use hourmark_http::extract::{ClientAddress, Json, Path, Query, StaffCaller, StaffSession};
use hourmark_http::responses::{
    Forbidden, InvalidParameter, NotFound, RateLimited, Unauthenticated, VolunteerTokenForbidden,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn router() -> OpenApiRouter<Hourmark> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(readiness))
        .routes(routes!(bootstrap))
        .routes(routes!(create_organisation, list_organisations))
        .routes(routes!(apply_organisation))
        .routes(routes!(check_organisation))
        .routes(routes!(approve_organisation))
        .routes(routes!(revoke_organisation))
        .routes(routes!(public_organisations))
        .routes(routes!(create_staff, list_staff))
        .routes(routes!(staff_qualification))
        .routes(routes!(record_annual_review))
        .routes(routes!(renew_certificate))
        .routes(routes!(create_activity))
        .routes(routes!(get_activity))
        .routes(routes!(activity_leaders))
        .routes(routes!(assign_leader, unassign_leader))
        .routes(routes!(current_code))
        .routes(routes!(current_code_svg))
        .routes(routes!(current_code_png))
        .routes(routes!(activity_sessions))
        .routes(routes!(activity_totals))
        .routes(routes!(activity_board))
        .routes(routes!(staff_me))
        .routes(routes!(volunteer))
        .routes(routes!(volunteer_personal_data))
        .routes(routes!(volunteer_audit))
        .routes(routes!(open_corrections))
        .routes(routes!(decide_correction))
}

/// Health of the server process.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the server answers.
    pub status: &'static str,
}

/// Liveness probe.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
async fn health() -> axum::Json<Health> {
    axum::Json(Health { status: "ok" })
}

/// This instance is ready to serve.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// Always `ready` in a 200 answer.
    pub status: &'static str,
}

/// Readiness probe: 200 when the database answers with every migration this build knows
/// applied and the cache answers (Redis `PING` when configured); otherwise 503 naming what
/// is not ready. `/healthz` only says the process answers.
#[utoipa::path(
    get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, body = Readiness),
        (status = 503, description = "`unavailable`: the detail names the database, its pending migrations or the cache", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn readiness(State(hourmark): State<Hourmark>) -> Result<axum::Json<Readiness>, ApiError> {
    hourmark.readiness().await?;
    Ok(axum::Json(Readiness { status: "ready" }))
}

/// The bootstrap request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BootstrapRequest {
    /// The one-time token printed at first start.
    pub token: String,
    /// The first administrator's name.
    pub name: String,
    /// The name they will sign in with (3–32 lower-case letters, digits, `.`, `_`, `-`).
    pub login: String,
}

impl std::fmt::Debug for BootstrapRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BootstrapRequest")
            .field("token", &"<redacted>")
            .field("name", &self.name)
            .field("login", &self.login)
            .finish()
    }
}

/// Create the first administrator with the one-time bootstrap token. The answer holds
/// the invite link that enrols their first passkey (open it to sign in).
#[utoipa::path(
    post, path = "/api/v1/bootstrap", tag = "staff", request_body = BootstrapRequest,
    responses(
        (status = 201, body = StaffWithInvite),
        (status = 401, description = "`bootstrap_token_invalid`", body = Problem, content_type = "application/problem+json"),
        RateLimited,
        (status = "4XX", description = "`malformed_json`, `invalid_body`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn bootstrap(
    State(hourmark): State<Hourmark>,
    ClientAddress(client): ClientAddress,
    Json(request): Json<BootstrapRequest>,
) -> Result<(StatusCode, axum::Json<StaffWithInvite>), ApiError> {
    hourmark.limit("login", &client.to_string(), hourmark.settings().rate_limits.login_per_client).await?;
    let created = hourmark.redeem_bootstrap_token(&request.token, &request.name, &request.login).await?;
    Ok((StatusCode::CREATED, axum::Json(created)))
}

/// Create a recording organisation (administrators; audited). In production
/// (`HOURMARK_PRODUCTION`) it is an application made on the organisation's behalf
/// (`status: applied`), to be checked and approved like any other; a development
/// installation approves it at once and the audit log says the chain was skipped.
#[utoipa::path(
    post, path = "/api/v1/organisations", tag = "organisations", request_body = NewOrganisation,
    security(("bearer" = [])),
    responses(
        (status = 201, body = Organisation),
        Unauthenticated,
        Forbidden,
        (status = 409, description = "`organisation_name_taken`", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`malformed_json`, `invalid_body`, `payload_too_large`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_organisation(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Json(new): Json<NewOrganisation>,
) -> Result<(StatusCode, axum::Json<Organisation>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(hourmark.create_organisation(&by, new).await?)))
}

/// List organisations (all for administrators, their own for organisers).
#[utoipa::path(
    get, path = "/api/v1/organisations", tag = "organisations", security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<Organisation>),
        Unauthenticated,
        Forbidden,
    )
)]
async fn list_organisations(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
) -> Result<axum::Json<Vec<Organisation>>, ApiError> {
    Ok(axum::Json(hourmark.list_organisations(&by).await?))
}

/// Create a staff member and the invite link that enrols their first passkey
/// (administrators). Hand the link over; it works once.
#[utoipa::path(
    post, path = "/api/v1/staff", tag = "staff", request_body = NewStaff, security(("bearer" = [])),
    responses(
        (status = 201, body = StaffWithInvite),
        (status = 409, description = "`login_taken`", body = Problem, content_type = "application/problem+json"),
        Unauthenticated,
        Forbidden,
        (status = "4XX", description = "`malformed_json`, `invalid_body`, `payload_too_large`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_staff(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Json(new): Json<NewStaff>,
) -> Result<(StatusCode, axum::Json<StaffWithInvite>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(hourmark.create_staff(&by, new).await?)))
}

/// The staff you oversee, each with role, organisation and where their recorder
/// qualification stands today (`valid`, `due_soon` within 30 days, `lapsed`,
/// `not_yet_valid`, or `none`), its due date and the days left: all staff for
/// administrators; for civil-affairs officers, the staff of organisations in their region.
#[utoipa::path(
    get, path = "/api/v1/staff", tag = "staff", security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<OverseenStaff>),
        Unauthenticated,
        (status = 403, description = "`forbidden`: not an administrator or a civil-affairs officer", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_staff(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
) -> Result<axum::Json<Vec<OverseenStaff>>, ApiError> {
    Ok(axum::Json(hourmark.overseen_staff(&by).await?))
}

/// A recorder's qualification today and every annual review and renewal recorded
/// (administrators; civil-affairs officers of the recorder's organisation's region).
#[utoipa::path(
    get, path = "/api/v1/staff/{id}/qualification", tag = "staff", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The recorder's staff id")),
    responses(
        (status = 200, body = QualificationHistory),
        Unauthenticated,
        Forbidden,
        (status = 404, description = "`not_found`: no such staff member in your region, or not a recorder", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn staff_qualification(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<axum::Json<QualificationHistory>, ApiError> {
    Ok(axum::Json(hourmark.qualification_history(&by, id).await?))
}

/// Record an annual review (年审) passed: a civil-affairs officer whose region covers the
/// recorder's organisation. The due date moves on a year from the old due date when the
/// review was on time, from the review date when the qualification had lapsed (a lapsed
/// recorder is qualified again at once, same login). A review can be recorded from 90
/// days before the due date. Audited; kept in the recorder's history.
#[utoipa::path(
    post, path = "/api/v1/staff/{id}/qualification/reviews", tag = "staff", request_body = AnnualReview,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The recorder's staff id")),
    responses(
        (status = 201, body = QualificationChange),
        Unauthenticated,
        (status = 403, description = "`forbidden`: not a civil-affairs officer (administrators neither)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such staff member in your region, or not a recorder", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`annual_review_not_due`: more than 90 days before the due date (this year's review is recorded)", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`invalid_body` (a review date in the future or before the certificate's issue), `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn record_annual_review(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Json(review): Json<AnnualReview>,
) -> Result<(StatusCode, axum::Json<QualificationChange>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(hourmark.record_annual_review(&by, id, review).await?)))
}

/// Record a renewed certificate (new number, issue date, review due date): a
/// civil-affairs officer whose region covers the recorder's organisation. A lapsed
/// recorder is qualified again at once, same login. Audited; kept in the recorder's
/// history.
#[utoipa::path(
    post, path = "/api/v1/staff/{id}/qualification/renewals", tag = "staff", request_body = RecorderQualification,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The recorder's staff id")),
    responses(
        (status = 201, body = QualificationChange),
        Unauthenticated,
        (status = 403, description = "`forbidden`: not a civil-affairs officer (administrators neither)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such staff member in your region, or not a recorder", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`invalid_body` (the same number as now, issued in the future, due before today or before the issue), `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn renew_certificate(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Json(renewal): Json<RecorderQualification>,
) -> Result<(StatusCode, axum::Json<QualificationChange>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(hourmark.renew_certificate(&by, id, renewal).await?)))
}

/// Create an activity in an organisation you manage.
#[utoipa::path(
    post, path = "/api/v1/activities", tag = "activities", request_body = NewActivity, security(("bearer" = [])),
    responses(
        (status = 201, body = Activity),
        Unauthenticated,
        Forbidden,
        (status = 409, description = "`organisation_revoked`: the organisation lost its recording qualification", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`malformed_json`, `invalid_body`, `payload_too_large`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_activity(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Json(new): Json<NewActivity>,
) -> Result<(StatusCode, axum::Json<Activity>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(hourmark.create_activity(&by, new).await?)))
}

/// The activity's leaders (活动负责人).
#[utoipa::path(
    get, path = "/api/v1/activities/{id}/leaders", tag = "activities", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, body = Vec<hourmark_core::identity::Staff>),
        Unauthenticated,
        VolunteerTokenForbidden,
        (status = 404, description = "`not_found` (also for activities you do not manage or lead)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn activity_leaders(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<axum::Json<Vec<hourmark_core::identity::Staff>>, ApiError> {
    Ok(axum::Json(hourmark.activity_leaders(&by, id).await?))
}

/// Make a leader of the organisation one of the activity's leaders (organisers,
/// recorders, administrators). A leader may then show its code and watch its attendance.
#[utoipa::path(
    put, path = "/api/v1/activities/{id}/leaders/{staff_id}", tag = "activities", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id"), ("staff_id" = i64, Path, description = "The leader's staff id")),
    responses(
        (status = 204, description = "Assigned (or already was)"),
        Unauthenticated,
        (status = 403, description = "`forbidden` (leaders do not assign)", body = Problem, content_type = "application/problem+json"),
        NotFound,
        (status = 422, description = "`invalid_body` (not a leader of this organisation)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn assign_leader(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path((id, staff_id)): Path<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    hourmark.assign_leader(&by, id, staff_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// End a leader's assignment to the activity.
#[utoipa::path(
    delete, path = "/api/v1/activities/{id}/leaders/{staff_id}", tag = "activities", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id"), ("staff_id" = i64, Path, description = "The leader's staff id")),
    responses(
        (status = 204, description = "No longer a leader of it"),
        Unauthenticated,
        Forbidden,
        (status = 404, description = "`not_found` (also: was not leading it)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn unassign_leader(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path((id, staff_id)): Path<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    hourmark.unassign_leader(&by, id, staff_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One activity you manage.
#[utoipa::path(
    get, path = "/api/v1/activities/{id}", tag = "activities", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, body = Activity),
        Unauthenticated,
        (status = 404, description = "`not_found` (also for other organisations' activities)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_activity(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<axum::Json<Activity>, ApiError> {
    Ok(axum::Json(hourmark.managed_activity(&by, id).await?.as_ref().clone()))
}

/// Which code to show.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CodeQuery {
    /// Gate number (index into the activity's gates), default 0.
    #[serde(default)]
    pub gate: u8,
    /// `toggle` for single-code activities; `arrival` or `departure` otherwise. Default `toggle`.
    #[serde(default = "default_direction")]
    #[param(value_type = Option<CodeDirection>)]
    pub direction: CodeDirection,
    /// PNG only: pixels per module, 1–40 (default 8).
    #[serde(default)]
    pub scale: Option<u32>,
}

fn default_direction() -> CodeDirection {
    CodeDirection::Toggle
}

async fn code_for(
    hourmark: &Hourmark,
    by: &hourmark_core::identity::Principal,
    id: i64,
    q: &CodeQuery,
) -> Result<CurrentCode, ApiError> {
    Ok(hourmark.current_code(by, id, q.gate, q.direction).await?)
}

/// The code to show now, as JSON: the organiser screen polls this every
/// `seconds_to_rotation` seconds. Sent with `Cache-Control: no-store`: a cached answer
/// would show an expired code.
#[utoipa::path(
    get, path = "/api/v1/activities/{id}/code", tag = "codes", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id"), CodeQuery),
    responses(
        (status = 200, body = CurrentCode),
        (status = 400, description = "`invalid_parameter` (no such gate, or a direction the activity does not use)", body = Problem, content_type = "application/problem+json"),
        Unauthenticated,
        NotFound,
    )
)]
async fn current_code(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Query(q): Query<CodeQuery>,
) -> Result<Response, ApiError> {
    let code = code_for(&hourmark, &by, id, &q).await?;
    let mut response = axum::Json(code).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

fn image(code: &CurrentCode, media_type: &'static str, body: Vec<u8>) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    // The image is stale at the next rotation; never let a proxy keep it longer.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&code.seconds_to_rotation.to_string()) {
        headers.insert("x-seconds-to-rotation", v);
    }
    response
}

/// The code to show now, as an SVG image.
#[utoipa::path(
    get, path = "/api/v1/activities/{id}/code.svg", tag = "codes", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id"), CodeQuery),
    responses(
        (status = 200, content_type = "image/svg+xml", body = String, headers(("x-seconds-to-rotation" = u32, description = "Seconds until the next code"))),
        (status = "4XX", description = "as for `/code`: `invalid_parameter`, `unauthenticated`, `forbidden`, `not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn current_code_svg(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Query(q): Query<CodeQuery>,
) -> Result<Response, ApiError> {
    let code = code_for(&hourmark, &by, id, &q).await?;
    let svg = hourmark_core::qr::render_svg(&code.url)
        .map_err(|e| ApiError(hourmark_core::CoreError::Internal(format!("QR rendering failed: {e}"))))?;
    Ok(image(&code, "image/svg+xml", svg.into_bytes()))
}

/// The code to show now, as a PNG image.
#[utoipa::path(
    get, path = "/api/v1/activities/{id}/code.png", tag = "codes", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id"), CodeQuery),
    responses(
        (status = 200, content_type = "image/png", body = Vec<u8>, headers(("x-seconds-to-rotation" = u32, description = "Seconds until the next code"))),
        (status = "4XX", description = "as for `/code`: `invalid_parameter` (also for a scale outside 1–40), `unauthenticated`, `forbidden`, `not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn current_code_png(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Query(q): Query<CodeQuery>,
) -> Result<Response, ApiError> {
    let scale = q.scale.unwrap_or(8);
    if !(1..=40).contains(&scale) {
        return Err(ApiError::refused(ErrorCode::InvalidParameter, "scale 须在 1 至 40 之间"));
    }
    let code = code_for(&hourmark, &by, id, &q).await?;
    let png = hourmark_core::qr::render_png(&code.url, scale)
        .map_err(|e| ApiError(hourmark_core::CoreError::Internal(format!("QR rendering failed: {e}"))))?;
    Ok(image(&code, "image/png", png))
}

/// Which page of an activity's sessions.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SessionsPageQuery {
    /// Start after this volunteer id: the previous page's `next`.
    pub after: Option<i64>,
    /// Volunteers on the page, 1–1000 (default 200).
    pub limit: Option<u32>,
}

/// One page of the volunteers' sessions at an activity, by volunteer id: pairs, minutes,
/// what could not be paired. `totals` and `volunteers_total` count every page; `next`,
/// when present, is where the next page starts. The downloads (`sessions.csv`,
/// `sessions.xlsx`) hold every volunteer.
#[utoipa::path(
    get, path = "/api/v1/activities/{id}/sessions", tag = "attendance", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id"), SessionsPageQuery),
    responses(
        (status = 200, body = SessionsPage),
        InvalidParameter,
        Unauthenticated,
        NotFound,
    )
)]
async fn activity_sessions(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Query(query): Query<SessionsPageQuery>,
) -> Result<axum::Json<SessionsPage>, ApiError> {
    let query = SessionsQuery { after: query.after, limit: query.limit.unwrap_or(SessionsQuery::DEFAULT_LIMIT) };
    Ok(axum::Json(hourmark.activity_sessions_page(&by, id, query).await?))
}

/// Live totals: inside now, arrived, left, minutes so far.
#[utoipa::path(
    get, path = "/api/v1/activities/{id}/totals", tag = "attendance", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, body = ActivityTotals),
        Unauthenticated,
        NotFound,
    )
)]
async fn activity_totals(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<axum::Json<ActivityTotals>, ApiError> {
    Ok(axum::Json(hourmark.activity_totals(&by, id).await?))
}

/// The live board: totals, inside now per gate, arrivals and departures per minute, who
/// has not checked out, and anomaly flags (the same people as the totals).
#[utoipa::path(
    get, path = "/api/v1/activities/{id}/board", tag = "attendance", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, body = ActivityBoard),
        Unauthenticated,
        NotFound,
    )
)]
async fn activity_board(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    // The snapshot's JSON as it was serialised once for every board of the activity.
    let json = hourmark.activity_board(&by, id).await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("application/json"))],
        axum::body::Bytes::from_owner(json.bytes()),
    )
        .into_response())
}

/// A volunteer, with ID and phone numbers masked (administrators; civil-affairs officers
/// of a region where the volunteer has served).
#[utoipa::path(
    get, path = "/api/v1/volunteers/{id}", tag = "staff", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Volunteer id")),
    responses(
        (status = 200, body = hourmark_core::identity::VolunteerProfile),
        Unauthenticated,
        Forbidden,
        NotFound,
    )
)]
async fn volunteer(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<axum::Json<hourmark_core::identity::VolunteerProfile>, ApiError> {
    Ok(axum::Json(hourmark.volunteer_for_staff(&by, id).await?))
}

/// A volunteer's ID and phone numbers in clear (administrators; officers of a region where
/// the volunteer has served). Every call is written to the audit log before anything is
/// shown, and it needs a passkey assertion on this session in the last 5 minutes
/// (`POST /api/v1/me/step-up/start`, `/finish`; a passkey sign-in counts).
#[utoipa::path(
    get, path = "/api/v1/volunteers/{id}/personal-data", tag = "staff", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Volunteer id")),
    responses(
        (status = 200, body = hourmark_core::identity::VolunteerProfile),
        Unauthenticated,
        (status = 403, description = "`forbidden`; `reverification_required` (step up first)", body = Problem, content_type = "application/problem+json"),
        NotFound,
    )
)]
async fn volunteer_personal_data(
    State(hourmark): State<Hourmark>,
    StaffSession { by, token }: StaffSession,
    Path(id): Path<i64>,
) -> Result<axum::Json<hourmark_core::identity::VolunteerProfile>, ApiError> {
    Ok(axum::Json(hourmark.reveal_personal_data(&by, &token, id).await?))
}

/// The audit log about a volunteer: device changes, staff reads of their personal data,
/// corrections (administrators; officers of a region where the volunteer has served).
#[utoipa::path(
    get, path = "/api/v1/volunteers/{id}/audit", tag = "staff", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Volunteer id")),
    responses(
        (status = 200, body = Vec<hourmark_core::audit::AuditEvent>),
        Unauthenticated,
        Forbidden,
        (status = 404, description = "`not_found` (also: an officer's region where they never served)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn volunteer_audit(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<axum::Json<Vec<hourmark_core::audit::AuditEvent>>, ApiError> {
    Ok(axum::Json(hourmark.volunteer_audit(&by, id).await?))
}

/// Correction requests waiting for a decision: all for administrators; for officers,
/// those of volunteers who served in their region.
#[utoipa::path(
    get, path = "/api/v1/corrections", tag = "staff", security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<hourmark_core::corrections::CorrectionRequest>),
        Unauthenticated,
        Forbidden,
    )
)]
async fn open_corrections(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
) -> Result<axum::Json<Vec<hourmark_core::corrections::CorrectionRequest>>, ApiError> {
    Ok(axum::Json(hourmark.open_corrections(&by).await?))
}

/// Accept a correction request (the change is applied to the volunteer's record) or
/// reject it, with a reason the volunteer sees. Once; audited.
#[utoipa::path(
    post, path = "/api/v1/corrections/{id}/decision", tag = "staff",
    request_body = hourmark_core::corrections::CorrectionDecision, security(("bearer" = [])),
    params(("id" = i64, Path, description = "Correction request id")),
    responses(
        (status = 200, body = hourmark_core::corrections::CorrectionRequest),
        Unauthenticated,
        Forbidden,
        (status = 404, description = "`not_found` (also: an officer's region where the volunteer never served)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`correction_decided`", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`invalid_body`, `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn decide_correction(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Json(decision): Json<hourmark_core::corrections::CorrectionDecision>,
) -> Result<axum::Json<hourmark_core::corrections::CorrectionRequest>, ApiError> {
    Ok(axum::Json(hourmark.decide_correction(&by, id, decision).await?))
}

/// Apply (申报) as a recording organisation, to the civil-affairs department of
/// `region_code`. No account needed; rate-limited per client address.
#[utoipa::path(
    post, path = "/api/v1/organisations/applications", tag = "organisations", request_body = NewOrganisation,
    responses(
        (status = 201, body = Organisation),
        (status = 409, description = "`organisation_name_taken`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`malformed_json`, `invalid_body`, `payload_too_large`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn apply_organisation(
    State(hourmark): State<Hourmark>,
    ClientAddress(client): ClientAddress,
    Json(new): Json<NewOrganisation>,
) -> Result<(StatusCode, axum::Json<Organisation>), ApiError> {
    hourmark.limit("register", &client.to_string(), hourmark.settings().rate_limits.registration_per_client).await?;
    Ok((StatusCode::CREATED, axum::Json(hourmark.apply_organisation(new).await?)))
}

/// Check an application: an officer of the organisation's own region.
#[utoipa::path(
    post, path = "/api/v1/organisations/{id}/check", tag = "organisations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Organisation id")),
    responses(
        (status = 200, body = Organisation),
        Unauthenticated,
        (status = 403, description = "`forbidden`: not an officer, or not of this region", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such organisation in the officer's region", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`organisation_status_conflict`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn check_organisation(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<axum::Json<Organisation>, ApiError> {
    Ok(axum::Json(hourmark.check_organisation(&by, id).await?))
}

/// Approve a checked application: an officer one level above the organisation's region
/// (a provincial officer, for the Youth League, for university groups).
#[utoipa::path(
    post, path = "/api/v1/organisations/{id}/approve", tag = "organisations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Organisation id")),
    responses(
        (status = 200, body = Organisation),
        Unauthenticated,
        (status = 403, description = "`forbidden`: not the approving level", body = Problem, content_type = "application/problem+json"),
        NotFound,
        (status = 409, description = "`organisation_status_conflict`: not checked yet, or already decided", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn approve_organisation(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<axum::Json<Organisation>, ApiError> {
    Ok(axum::Json(hourmark.approve_organisation(&by, id).await?))
}

/// Revoke an organisation's recording qualification (撤销记录资格) with a reason: its
/// activities stop taking scans at once; its history stays.
#[utoipa::path(
    post, path = "/api/v1/organisations/{id}/revoke", tag = "organisations", security(("bearer" = [])),
    request_body = hourmark_core::organisation::Revocation,
    params(("id" = i64, Path, description = "Organisation id")),
    responses(
        (status = 200, body = Organisation),
        Unauthenticated,
        Forbidden,
        NotFound,
        (status = 409, description = "`organisation_status_conflict`: already revoked", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn revoke_organisation(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Json(revocation): Json<hourmark_core::organisation::Revocation>,
) -> Result<axum::Json<Organisation>, ApiError> {
    Ok(axum::Json(hourmark.revoke_organisation(&by, id, revocation).await?))
}

/// The public list of approved recording organisations.
#[utoipa::path(
    get, path = "/api/v1/public/organisations", tag = "organisations",
    responses((status = 200, body = Vec<Organisation>))
)]
async fn public_organisations(State(hourmark): State<Hourmark>) -> Result<axum::Json<Vec<Organisation>>, ApiError> {
    Ok(axum::Json(hourmark.approved_organisations().await?))
}

/// The signed-in staff member: role, organisation or region, and for recorders the
/// certificate, whether it is valid today, and from 30 days before the annual review is
/// due (and once it has lapsed) a warning with the due date.
#[utoipa::path(
    get, path = "/api/v1/me", tag = "staff", security(("bearer" = [])),
    responses(
        (status = 200, body = hourmark_core::identity::staff::StaffProfile),
        Unauthenticated,
        VolunteerTokenForbidden,
    )
)]
async fn staff_me(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
) -> Result<axum::Json<hourmark_core::identity::staff::StaffProfile>, ApiError> {
    Ok(axum::Json(hourmark.staff_profile(&by).await?))
}
