//! `/api/v1/activities/{id}/review…`: the flags the anomaly rules raise, the decisions on
//! them, and each activity's rule settings.

use axum::extract::State;
use hourmark_core::Hourmark;
use hourmark_core::error::Problem;
use hourmark_core::review::{ActivityReview, Flag, FlagResolution, ReviewSettings};
use hourmark_mini_program_api::ApiError;
use hourmark_mini_program_api::extract::{Json, Path, StaffCaller};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn router() -> OpenApiRouter<Hourmark> {
    OpenApiRouter::new()
        .routes(routes!(activity_review))
        .routes(routes!(put_review_settings))
        .routes(routes!(resolve_flag))
}

/// The activity's review: every rule is run over it first, then each flagged day is listed
/// with its flags (rule, values, explanation), the day's scans, the minutes the scans earn
/// and the most that may be credited. For the organisation's organisers and recorders,
/// administrators, and civil-affairs officers of its region.
#[utoipa::path(
    get, path = "/api/v1/activities/{id}/review", tag = "review", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, body = ActivityReview),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden` (volunteers, leaders)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found` (also: another organisation's or region's)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn activity_review(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<axum::Json<ActivityReview>, ApiError> {
    Ok(axum::Json(hourmark.activity_review(&by, id).await?))
}

/// Set the activity's rule parameters and its policy for sessions left open (organisers,
/// recorders, administrators). Omitted parameters keep their defaults.
#[utoipa::path(
    put, path = "/api/v1/activities/{id}/review/settings", tag = "review", request_body = ReviewSettings,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, body = ReviewSettings),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`invalid_body`, `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn put_review_settings(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Json(settings): Json<ReviewSettings>,
) -> Result<axum::Json<ReviewSettings>, ApiError> {
    Ok(axum::Json(hourmark.put_review_settings(&by, id, settings).await?))
}

/// Resolve a flag: `accept` (the scan-derived minutes stand), `adjust` (set the day's
/// minutes, at most its scheduled minutes) or `reject` (the day earns nothing), with a
/// reason. Once; audited. The organisation's flags are for a recorder with a valid
/// certificate; days over 12 hours are for a civil-affairs officer of the region.
#[utoipa::path(
    post, path = "/api/v1/activities/{id}/flags/{flag_id}/resolution", tag = "review",
    request_body = FlagResolution, security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id"), ("flag_id" = i64, Path, description = "Flag id")),
    responses(
        (status = 200, body = Flag),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden` (not this flag's reviewer, or a lapsed certificate)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`flag_resolved`, `activity_finalised`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`minutes_over_cap`, `invalid_body`", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn resolve_flag(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path((id, flag_id)): Path<(i64, i64)>,
    Json(resolution): Json<FlagResolution>,
) -> Result<axum::Json<Flag>, ApiError> {
    Ok(axum::Json(hourmark.resolve_flag(&by, id, flag_id, resolution).await?))
}
