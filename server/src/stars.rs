//! Stars over HTTP: the volunteer's standing and applications, the departments' decisions
//! and reviews, and each province's rule.

use axum::extract::State;
use axum::http::StatusCode;
use hourmark_core::Hourmark;
use hourmark_core::error::Problem;
use hourmark_core::identity::Principal;
use hourmark_core::stars::{
    StarApplication, StarDecision, StarRequest, StarReview, StarReviewDecision, StarRule, StarStanding,
};
use hourmark_http::ApiError;
use hourmark_http::extract::{Json, Path, StaffCaller, VolunteerCaller};
use hourmark_http::responses::{Forbidden, NotFound, Unauthenticated};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn router() -> OpenApiRouter<Hourmark> {
    OpenApiRouter::new()
        .routes(routes!(my_stars))
        .routes(routes!(apply))
        .routes(routes!(pending_applications))
        .routes(routes!(decide_application))
        .routes(routes!(open_reviews))
        .routes(routes!(decide_review))
        .routes(routes!(get_rule, put_rule))
}

/// My stars: held, my confirmed hours, the next star and whether I may apply now, and my
/// applications.
#[utoipa::path(
    get, path = "/mp/v1/me/stars", tag = "stars", security(("bearer" = [])),
    responses(
        (status = 200, body = StarStanding),
        Unauthenticated,
    )
)]
async fn my_stars(
    State(hourmark): State<Hourmark>,
    VolunteerCaller(id): VolunteerCaller,
) -> Result<axum::Json<StarStanding>, ApiError> {
    Ok(axum::Json(hourmark.star_standing(id).await?))
}

/// Apply for my next star. It goes to the volunteer department of the star's level (county
/// for one and two, city for three and four, province for five) where I served most.
#[utoipa::path(
    post, path = "/mp/v1/me/star-applications", tag = "stars", security(("bearer" = [])), request_body = StarRequest,
    responses(
        (status = 201, body = StarApplication),
        Unauthenticated,
        (status = 409, description = "`star_threshold_not_met`, `star_quality_blocked`, `star_application_pending`", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`star_wrong_level`, `invalid_body`, `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn apply(
    State(hourmark): State<Hourmark>,
    VolunteerCaller(id): VolunteerCaller,
    Json(request): Json<StarRequest>,
) -> Result<(StatusCode, axum::Json<StarApplication>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(hourmark.apply_for_star(&Principal::Volunteer { id }, request).await?)))
}

/// Applications waiting in my region, oldest first (civil-affairs officers); I decide those
/// whose deciding department is mine.
#[utoipa::path(
    get, path = "/api/v1/star-applications", tag = "stars", security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<StarApplication>),
        Unauthenticated,
        Forbidden,
    )
)]
async fn pending_applications(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
) -> Result<axum::Json<Vec<StarApplication>>, ApiError> {
    Ok(axum::Json(hourmark.pending_star_applications(&by).await?))
}

/// Grant or decline an application, with a reason (the officer of the deciding
/// department; another level's officer is `forbidden`, and is told which decides). Audited.
#[utoipa::path(
    post, path = "/api/v1/star-applications/{id}/decision", tag = "stars", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Application id")), request_body = StarDecision,
    responses(
        (status = 200, body = StarApplication),
        Unauthenticated,
        Forbidden,
        NotFound,
        (status = 409, description = "`star_application_decided`, `star_threshold_not_met` (corrected since)", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`invalid_body`, `text_invalid`, `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn decide_application(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Json(decision): Json<StarDecision>,
) -> Result<axum::Json<StarApplication>, ApiError> {
    Ok(axum::Json(hourmark.decide_star_application(&by, id, decision).await?))
}

/// Stars under review in my region: a correction took the holder under the threshold.
#[utoipa::path(
    get, path = "/api/v1/star-reviews", tag = "stars", security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<StarReview>),
        Unauthenticated,
        Forbidden,
    )
)]
async fn open_reviews(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
) -> Result<axum::Json<Vec<StarReview>>, ApiError> {
    Ok(axum::Json(hourmark.open_star_reviews(&by).await?))
}

/// Keep or revoke a star under review, with a reason (the department that granted it). Audited.
#[utoipa::path(
    post, path = "/api/v1/star-reviews/{id}/decision", tag = "stars", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Review id")), request_body = StarReviewDecision,
    responses(
        (status = 200, body = StarReview),
        Unauthenticated,
        Forbidden,
        NotFound,
        (status = 409, description = "`star_application_decided`: the review was decided", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`invalid_body`, `text_invalid`, `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn decide_review(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Json(decision): Json<StarReviewDecision>,
) -> Result<axum::Json<StarReview>, ApiError> {
    Ok(axum::Json(hourmark.decide_star_review(&by, id, decision).await?))
}

/// A province's star rule (the national default where it set none): anyone staff.
#[utoipa::path(
    get, path = "/api/v1/star-rules/{region_code}", tag = "stars", security(("bearer" = [])),
    params(("region_code" = String, Path, description = "A region code in the province")),
    responses(
        (status = 200, body = StarRule),
        Unauthenticated,
        (status = 400, description = "`region_code_invalid`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_rule(
    State(hourmark): State<Hourmark>,
    StaffCaller(_by): StaffCaller,
    Path(region_code): Path<String>,
) -> Result<axum::Json<StarRule>, ApiError> {
    if !hourmark_core::identity::is_region_code(&region_code) {
        return Err(hourmark_core::error::CoreError::code(hourmark_core::error::ErrorCode::RegionCodeInvalid).into());
    }
    Ok(axum::Json(hourmark.star_rule(&region_code).await?))
}

/// Sets a province's star rule: the hours for each star and how long a verified complaint
/// blocks an application (administrators). Audited.
#[utoipa::path(
    put, path = "/api/v1/star-rules/{region_code}", tag = "stars", security(("bearer" = [])),
    params(("region_code" = String, Path, description = "The province's code, e.g. 530000")), request_body = StarRule,
    responses(
        (status = 200, body = StarRule),
        Unauthenticated,
        Forbidden,
        (status = 400, description = "`region_code_invalid`", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`invalid_body`, `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn put_rule(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(region_code): Path<String>,
    Json(rule): Json<StarRule>,
) -> Result<axum::Json<StarRule>, ApiError> {
    Ok(axum::Json(hourmark.set_star_rule(&by, &region_code, rule).await?))
}
