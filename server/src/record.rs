//! A volunteer's record beyond hours: evaluations and recipients' satisfaction, complaints,
//! training and awards, and the record itself.

use axum::extract::State;
use axum::http::StatusCode;
use hourmark_core::Hourmark;
use hourmark_core::error::Problem;
use hourmark_core::review::record::{
    Award, Complaint, ComplaintDecision, Evaluation, Investigation, NewAward, NewComplaint, NewEvaluation, NewTraining,
    Satisfaction, Training, VolunteerRecord,
};
use hourmark_http::ApiError;
use hourmark_http::extract::{Json, Path, StaffCaller};
use hourmark_http::responses::{Forbidden, NotFound, Unauthenticated};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn router() -> OpenApiRouter<Hourmark> {
    OpenApiRouter::new()
        .routes(routes!(evaluate))
        .routes(routes!(evaluations))
        .routes(routes!(satisfaction))
        .routes(routes!(file_complaint))
        .routes(routes!(investigate_complaint))
        .routes(routes!(decide_complaint))
        .routes(routes!(record_training))
        .routes(routes!(record_award))
        .routes(routes!(volunteer_record))
}

/// Evaluate a volunteer's work at the activity (服务质量评价): a grade and a comment, by a
/// qualified recorder of the organisation. Only for volunteers who served there; a second
/// evaluation replaces the first (both audited).
#[utoipa::path(
    put, path = "/api/v1/activities/{id}/evaluations/{volunteer_id}", tag = "record",
    request_body = NewEvaluation, security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id"), ("volunteer_id" = i64, Path, description = "Volunteer id")),
    responses(
        (status = 200, body = Evaluation),
        Unauthenticated,
        Forbidden,
        NotFound,
        (status = "4XX", description = "`invalid_body` (also: did not serve there), `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn evaluate(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path((id, volunteer_id)): Path<(i64, i64)>,
    Json(new): Json<NewEvaluation>,
) -> Result<axum::Json<Evaluation>, ApiError> {
    Ok(axum::Json(hourmark.evaluate_volunteer(&by, id, volunteer_id, new).await?))
}

/// The activity's evaluations.
#[utoipa::path(
    get, path = "/api/v1/activities/{id}/evaluations", tag = "record", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, body = Vec<Evaluation>),
        Unauthenticated,
        Forbidden,
        NotFound,
    )
)]
async fn evaluations(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<axum::Json<Vec<Evaluation>>, ApiError> {
    Ok(axum::Json(hourmark.evaluations(&by, id).await?))
}

/// Record the recipients' satisfaction with the activity (a qualified recorder).
#[utoipa::path(
    put, path = "/api/v1/activities/{id}/satisfaction", tag = "record", request_body = Satisfaction,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, body = Satisfaction),
        Unauthenticated,
        Forbidden,
        NotFound,
        (status = "4XX", description = "`invalid_body`, `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn satisfaction(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Json(satisfaction): Json<Satisfaction>,
) -> Result<axum::Json<Satisfaction>, ApiError> {
    Ok(axum::Json(hourmark.record_satisfaction(&by, id, satisfaction).await?))
}

/// File a complaint against a volunteer. The organisation of the activity it concerns (or
/// the filer's own) handles it; the complainant's details are sealed and never shown.
#[utoipa::path(
    post, path = "/api/v1/complaints", tag = "record", request_body = NewComplaint, security(("bearer" = [])),
    responses(
        (status = 201, body = Complaint),
        Unauthenticated,
        Forbidden,
        (status = 404, description = "`not_found` (an organisation outside an officer's region)", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`invalid_body`, `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn file_complaint(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Json(new): Json<NewComplaint>,
) -> Result<(StatusCode, axum::Json<Complaint>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(hourmark.file_complaint(&by, new).await?)))
}

/// Start investigating a filed complaint.
#[utoipa::path(
    post, path = "/api/v1/complaints/{id}/investigation", tag = "record", request_body = Investigation,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Complaint id")),
    responses(
        (status = 200, body = Complaint),
        Unauthenticated,
        Forbidden,
        NotFound,
        (status = 409, description = "`complaint_decided` (not in `filed`)", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`invalid_body`, `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn investigate_complaint(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Json(investigation): Json<Investigation>,
) -> Result<axum::Json<Complaint>, ApiError> {
    Ok(axum::Json(hourmark.investigate_complaint(&by, id, investigation).await?))
}

/// Verify (it enters the volunteer's record) or dismiss a complaint, with a reason: a
/// qualified recorder of the organisation, a civil-affairs officer of its region, or an
/// administrator. Once; audited.
#[utoipa::path(
    post, path = "/api/v1/complaints/{id}/decision", tag = "record", request_body = ComplaintDecision,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Complaint id")),
    responses(
        (status = 200, body = Complaint),
        Unauthenticated,
        Forbidden,
        NotFound,
        (status = 409, description = "`complaint_decided`", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`invalid_body`, `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn decide_complaint(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Json(decision): Json<ComplaintDecision>,
) -> Result<axum::Json<Complaint>, ApiError> {
    Ok(axum::Json(hourmark.decide_complaint(&by, id, decision).await?))
}

/// Record training a volunteer attended (the organisation's organisers and recorders).
#[utoipa::path(
    post, path = "/api/v1/volunteers/{id}/trainings", tag = "record", request_body = NewTraining,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Volunteer id")),
    responses(
        (status = 201, body = Training),
        Unauthenticated,
        Forbidden,
        NotFound,
        (status = "4XX", description = "`invalid_body`, `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn record_training(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Json(new): Json<NewTraining>,
) -> Result<(StatusCode, axum::Json<Training>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(hourmark.record_training(&by, id, new).await?)))
}

/// Record an award a volunteer received (the organisation's organisers and recorders).
#[utoipa::path(
    post, path = "/api/v1/volunteers/{id}/awards", tag = "record", request_body = NewAward,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Volunteer id")),
    responses(
        (status = 201, body = Award),
        Unauthenticated,
        Forbidden,
        NotFound,
        (status = "4XX", description = "`invalid_body`, `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn record_award(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Json(new): Json<NewAward>,
) -> Result<(StatusCode, axum::Json<Award>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(hourmark.record_award(&by, id, new).await?)))
}

/// A volunteer's record: finalised service by day, evaluations, verified complaints,
/// training and awards (administrators; officers of a region where they served).
#[utoipa::path(
    get, path = "/api/v1/volunteers/{id}/record", tag = "record", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Volunteer id")),
    responses(
        (status = 200, body = VolunteerRecord),
        Unauthenticated,
        Forbidden,
        NotFound,
    )
)]
async fn volunteer_record(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<axum::Json<VolunteerRecord>, ApiError> {
    Ok(axum::Json(hourmark.volunteer_record_for_staff(&by, id).await?))
}
