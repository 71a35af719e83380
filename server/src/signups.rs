//! Recruitment and sign-ups over HTTP: organisers publish an activity's slots and rules
//! and decide sign-ups (`/api/v1`); volunteers sign up, see and cancel their sign-ups
//! (`/mp/v1`, with their bearer token). The rules live in `hourmark_core::signups`.

use axum::extract::State;
use axum::http::StatusCode;
use hourmark_core::Hourmark;
use hourmark_core::error::Problem;
use hourmark_core::signups::{
    ActivityCancellation, BulkApproval, CancellationRequest, Recruitment, RecruitmentRequest, Signup, SignupDecision,
    SignupRequest, TrainingCompletion, TrainingCompletionRequest,
};
use hourmark_http::ApiError;
use hourmark_http::extract::{Json, Path, StaffCaller, VolunteerCaller};
use hourmark_http::responses::{Forbidden, NotFound, Unauthenticated};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn router() -> OpenApiRouter<Hourmark> {
    OpenApiRouter::new()
        .routes(routes!(get_recruitment, put_recruitment))
        .routes(routes!(list_signups))
        .routes(routes!(list_no_shows))
        .routes(routes!(decide))
        .routes(routes!(approve_many))
        .routes(routes!(open_recruitment))
        .routes(routes!(sign_up))
        .routes(routes!(my_signups))
        .routes(routes!(cancel))
        .routes(routes!(record_training_completion, list_training_completions))
        .routes(routes!(cancel_activity))
        .merge(crate::recruitment_page::router())
}

/// An activity's recruitment: its slots with places approved, pending, wait-listed and
/// left, and its rules (those who manage the activity, its leaders included).
#[utoipa::path(
    get, path = "/api/v1/activities/{id}/recruitment", tag = "signups", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, body = Recruitment),
        Unauthenticated,
        Forbidden,
        (status = 404, description = "`not_found`: no such activity of the caller's, or not published for recruitment", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_recruitment(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<axum::Json<Recruitment>, ApiError> {
    Ok(axum::Json(hourmark.recruitment_for_staff(&by, id).await?))
}

/// Publishes the activity for recruitment, or changes it: slots (matched by name; one
/// with sign-ups cannot be removed, nor its places cut below those taken), minimum age,
/// required skills, sign-up deadline, cancellation cut-off, approval, waiting list and
/// walk-ins (stored; the scan does not enforce it yet). Places added move the waiting
/// list up. The organisation's organisers and recorders, and administrators. Audited.
#[utoipa::path(
    put, path = "/api/v1/activities/{id}/recruitment", tag = "signups", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")), request_body = RecruitmentRequest,
    responses(
        (status = 200, body = Recruitment),
        Unauthenticated,
        (status = 403, description = "`forbidden`: a leader", body = Problem, content_type = "application/problem+json"),
        NotFound,
        (status = 409, description = "`activity_finalised`, `activity_cancelled`", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`invalid_body` (also: a slot with sign-ups removed, or its places below those taken), `text_invalid`, `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn put_recruitment(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Json(request): Json<RecruitmentRequest>,
) -> Result<axum::Json<Recruitment>, ApiError> {
    Ok(axum::Json(hourmark.publish_recruitment(&by, id, request).await?))
}

/// The activity's sign-ups by slot, in the order they came (those who manage the
/// activity, its leaders included).
/// Approved volunteers who never scanned at the activity (organisation staff only; never
/// published). `ended` says whether the activity has ended.
#[utoipa::path(
    get, path = "/api/v1/activities/{id}/no-shows", tag = "signups", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, body = hourmark_core::signups::NoShows),
        Unauthenticated,
        Forbidden,
        NotFound,
    )
)]
async fn list_no_shows(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<axum::Json<hourmark_core::signups::NoShows>, ApiError> {
    Ok(axum::Json(hourmark.no_shows(&by, id).await?))
}

#[utoipa::path(
    get, path = "/api/v1/activities/{id}/signups", tag = "signups", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, body = Vec<Signup>),
        Unauthenticated,
        Forbidden,
        NotFound,
    )
)]
async fn list_signups(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<axum::Json<Vec<Signup>>, ApiError> {
    Ok(axum::Json(hourmark.activity_signups(&by, id).await?))
}

/// Approves a pending sign-up, or declines a live one with a reason; a place freed goes
/// to the first on the waiting list. The organisation's organisers and recorders, and
/// administrators. Audited; the volunteer is notified.
#[utoipa::path(
    post, path = "/api/v1/activities/{id}/signups/{signup_id}/decision", tag = "signups", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id"), ("signup_id" = i64, Path, description = "Sign-up id")),
    request_body = SignupDecision,
    responses(
        (status = 200, body = Signup),
        Unauthenticated,
        (status = 403, description = "`forbidden`: a leader", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such activity of the caller's, or no such sign-up of it", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`signup_decided`: approving a sign-up not pending, or declining one cancelled or declined; `activity_cancelled`, `activity_finalised`: the activity was called off or its hours settled, its list stays as it was", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`invalid_body` (a decline without a reason), `text_invalid`, `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn decide(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path((id, signup_id)): Path<(i64, i64)>,
    Json(decision): Json<SignupDecision>,
) -> Result<axum::Json<Signup>, ApiError> {
    Ok(axum::Json(hourmark.decide_signup(&by, id, signup_id, decision).await?))
}

/// Approves pending sign-ups at once: those listed, or all. Others are left as they are;
/// the answer lists those approved now. Audited; each volunteer is notified.
#[utoipa::path(
    post, path = "/api/v1/activities/{id}/signups/approvals", tag = "signups", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")), request_body = BulkApproval,
    responses(
        (status = 200, body = Vec<Signup>),
        Unauthenticated,
        (status = 403, description = "`forbidden`: a leader", body = Problem, content_type = "application/problem+json"),
        NotFound,
        (status = 409, description = "`activity_cancelled`, `activity_finalised`: the activity was called off or its hours settled, its list stays as it was", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`invalid_body`, `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn approve_many(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Json(which): Json<BulkApproval>,
) -> Result<axum::Json<Vec<Signup>>, ApiError> {
    Ok(axum::Json(hourmark.approve_signups(&by, id, which).await?))
}

/// An activity's recruitment as a volunteer sees it (from its share link): slots and the
/// places left, requirements, deadline, cut-off.
#[utoipa::path(
    get, path = "/mp/v1/activities/{id}/recruitment", tag = "signups", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, body = Recruitment),
        Unauthenticated,
        (status = 404, description = "`not_found`: no such activity, or it recruits nobody", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn open_recruitment(
    State(hourmark): State<Hourmark>,
    VolunteerCaller(_id): VolunteerCaller,
    Path(id): Path<i64>,
) -> Result<axum::Json<Recruitment>, ApiError> {
    Ok(axum::Json(hourmark.recruitment_for_volunteer(id).await?))
}

/// Records that a volunteer, found by the phone number they registered with, completed the
/// training the activity's recruitment requires (`required_training`); from then on that
/// requirement holds for every activity of the organisation requiring the same training.
/// Recording it again changes nothing. The organisation's organisers and recorders, and
/// administrators. Audited.
#[utoipa::path(
    post, path = "/api/v1/activities/{id}/training-completions", tag = "signups", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")), request_body = TrainingCompletionRequest,
    responses(
        (status = 200, body = TrainingCompletion),
        Unauthenticated,
        (status = 403, description = "`forbidden`: a leader", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such activity of the caller's, or its recruitment requires no training; `phone_not_registered`", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`invalid_body` (a phone number that is not one), `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn record_training_completion(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Json(request): Json<TrainingCompletionRequest>,
) -> Result<axum::Json<TrainingCompletion>, ApiError> {
    Ok(axum::Json(hourmark.record_training_completion(&by, id, request).await?))
}

/// Who completed the training the activity's recruitment requires, newest first (those
/// who manage the activity, its leaders included).
#[utoipa::path(
    get, path = "/api/v1/activities/{id}/training-completions", tag = "signups", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, body = Vec<TrainingCompletion>),
        Unauthenticated,
        Forbidden,
        (status = 404, description = "`not_found`: no such activity of the caller's, or its recruitment requires no training", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_training_completions(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<axum::Json<Vec<TrainingCompletion>>, ApiError> {
    Ok(axum::Json(hourmark.training_completions(&by, id).await?))
}

/// Cancels the activity: arrivals are refused from then on (`activity_cancelled`; anyone
/// inside may still leave), sign-ups and recruitment changes are closed, and everyone
/// signed up is notified (in the app, and by WeChat where they subscribed). Cancelling
/// again answers the cancellation as it stands. The organisation's organisers and
/// recorders, and administrators. Audited.
#[utoipa::path(
    post, path = "/api/v1/activities/{id}/cancellation", tag = "signups", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")), request_body = CancellationRequest,
    responses(
        (status = 200, body = ActivityCancellation),
        Unauthenticated,
        (status = 403, description = "`forbidden`: a leader", body = Problem, content_type = "application/problem+json"),
        NotFound,
        (status = 409, description = "`activity_finalised`", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`invalid_body` (no reason, or longer than 500 characters), `text_invalid`, `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn cancel_activity(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Json(request): Json<CancellationRequest>,
) -> Result<axum::Json<ActivityCancellation>, ApiError> {
    Ok(axum::Json(hourmark.cancel_activity(&by, id, request).await?))
}

/// Signs me up for a slot: a place (`approved`, or `pending` when the organiser approves
/// sign-ups), or the waiting list (`waitlisted`, with my position) when the slot is full.
/// Refused, with nothing recorded: after the deadline, a full slot without a waiting list,
/// a requirement I do not meet, a second sign-up for the activity, a minor without the
/// guardian's consent. Rate limited per volunteer.
#[utoipa::path(
    post, path = "/mp/v1/activities/{id}/signups", tag = "signups", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")), request_body = SignupRequest,
    responses(
        (status = 201, body = Signup),
        Unauthenticated,
        (status = 403, description = "`guardian_consent_required`, `consent_withdrawn`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such activity, or it recruits nobody", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`signup_deadline_passed`, `signup_slot_full`, `signup_too_young`, `signup_skill_missing`, `signup_training_missing`, `signup_duplicate`, `activity_cancelled`, `organisation_not_approved` (the organisation lacks or lost its recording qualification)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`invalid_body` (also: a slot not the activity's), `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn sign_up(
    State(hourmark): State<Hourmark>,
    VolunteerCaller(volunteer_id): VolunteerCaller,
    Path(id): Path<i64>,
    Json(request): Json<SignupRequest>,
) -> Result<(StatusCode, axum::Json<Signup>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(hourmark.sign_up(volunteer_id, id, request).await?)))
}

/// My sign-ups, newest first, each with where it stands (and my place on the waiting list).
#[utoipa::path(
    get, path = "/mp/v1/me/signups", tag = "signups", security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<Signup>),
        Unauthenticated,
    )
)]
async fn my_signups(
    State(hourmark): State<Hourmark>,
    VolunteerCaller(volunteer_id): VolunteerCaller,
) -> Result<axum::Json<Vec<Signup>>, ApiError> {
    Ok(axum::Json(hourmark.my_signups(volunteer_id).await?))
}

/// Cancels my sign-up: holding a place, until the cancellation cut-off; from the waiting
/// list, at any time. Cancelling again answers the cancelled sign-up. My place goes to the
/// first on the waiting list.
#[utoipa::path(
    post, path = "/mp/v1/me/signups/{signup_id}/cancel", tag = "signups", security(("bearer" = [])),
    params(("signup_id" = i64, Path, description = "Sign-up id")),
    responses(
        (status = 200, body = Signup),
        Unauthenticated,
        (status = 404, description = "`not_found`: no such sign-up of mine", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`signup_cancellation_closed`, `signup_decided` (it was declined)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn cancel(
    State(hourmark): State<Hourmark>,
    VolunteerCaller(volunteer_id): VolunteerCaller,
    Path(signup_id): Path<i64>,
) -> Result<axum::Json<Signup>, ApiError> {
    Ok(axum::Json(hourmark.cancel_signup(volunteer_id, signup_id).await?))
}
