//! `/api/v1/activities/{id}/review…`: the flags the anomaly rules raise, the decisions on
//! them, and each activity's rule settings.

use axum::extract::State;
use axum::http::StatusCode;
use hourmark_core::Hourmark;
use hourmark_core::error::{CoreError, ErrorCode, Problem};
use hourmark_core::review::correction::{CorrectionProposal, ProposalDecision};
use hourmark_core::review::finalise::{
    Finalisation, LateEntry, LateEntryDecision, LateEntryRequest, SessionCorrection,
};
use hourmark_core::review::{ActivityReview, DayCursor, Flag, FlagResolution, ReviewPage, ReviewSettings};
use hourmark_http::ApiError;
use hourmark_http::extract::{Json, Path, Query, StaffCaller};
use hourmark_http::responses::{Forbidden, InvalidParameter, NotFound, Unauthenticated};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn router() -> OpenApiRouter<Hourmark> {
    OpenApiRouter::new()
        .routes(routes!(activity_review))
        .routes(routes!(put_review_settings))
        .routes(routes!(resolve_flag))
        .routes(routes!(request_late_entry, late_entries))
        .routes(routes!(decide_late_entry))
        .routes(routes!(finalise))
        .routes(routes!(finalisation))
        .routes(routes!(propose_session_correction, session_corrections))
        .routes(routes!(decide_session_correction))
}

/// Which page of the review.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewQuery {
    /// Start after this day: the previous page's `next` (`{volunteer_id}:{YYYY-MM-DD}`).
    pub after: Option<String>,
    /// Days on the page, 1–500 (default 100).
    pub limit: Option<u32>,
}

/// The activity's review: every rule is run over it first, then one page of flagged days
/// (by volunteer and day) is listed, each with its flags (rule, values, explanation), the
/// day's scans, the minutes the scans earn and the most that may be credited. `open_flags`
/// and `days_total` count every page; `next`, when present, is where the next page starts.
/// For the organisation's organisers and recorders, administrators, and civil-affairs
/// officers of its region.
#[utoipa::path(
    get, path = "/api/v1/activities/{id}/review", tag = "review", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id"), ReviewQuery),
    responses(
        (status = 200, body = ActivityReview),
        InvalidParameter,
        Unauthenticated,
        (status = 403, description = "`forbidden` (volunteers, leaders)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found` (also: another organisation's or region's)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn activity_review(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Query(query): Query<ReviewQuery>,
) -> Result<axum::Json<ActivityReview>, ApiError> {
    let page = review_page(query.after.as_deref(), query.limit)?;
    Ok(axum::Json(hourmark.activity_review(&by, id, page).await?))
}

/// A page of the review from `after` and `limit` as a caller wrote them.
pub(crate) fn review_page(after: Option<&str>, limit: Option<u32>) -> Result<ReviewPage, CoreError> {
    let after = after
        .map(|text| {
            DayCursor::parse(text).ok_or_else(|| {
                CoreError::refused(ErrorCode::InvalidParameter, "after 须为上一页的 next（志愿者编号:日期）")
            })
        })
        .transpose()?;
    Ok(ReviewPage { after, limit: limit.unwrap_or(ReviewPage::DEFAULT_LIMIT) })
}

/// Set the activity's rule parameters and its policy for sessions left open (organisers,
/// recorders, administrators). Omitted parameters keep their defaults.
#[utoipa::path(
    put, path = "/api/v1/activities/{id}/review/settings", tag = "review", request_body = ReviewSettings,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, body = ReviewSettings),
        Unauthenticated,
        Forbidden,
        NotFound,
        (status = 409, description = "`activity_ended` (sessions already closed: the rules they were judged by stay)", body = Problem, content_type = "application/problem+json"),
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
        Unauthenticated,
        (status = 403, description = "`forbidden` (not this flag's reviewer, or a lapsed certificate)", body = Problem, content_type = "application/problem+json"),
        NotFound,
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

/// Ask for a late entry (补录) for a volunteer who served but could not scan, with
/// evidence (a qualified recorder of the organisation). Another recorder must approve it.
#[utoipa::path(
    post, path = "/api/v1/activities/{id}/late-entries", tag = "review", request_body = LateEntryRequest,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 201, body = LateEntry),
        Unauthenticated,
        (status = 403, description = "`forbidden` (not a qualified recorder of the organisation)", body = Problem, content_type = "application/problem+json"),
        NotFound,
        (status = 409, description = "`activity_finalised`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`minutes_over_cap`, `invalid_body` (also: the day already has scan minutes; no such volunteer number)", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn request_late_entry(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Json(new): Json<LateEntryRequest>,
) -> Result<(StatusCode, axum::Json<LateEntry>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(hourmark.request_late_entry(&by, id, new).await?)))
}

/// The activity's late entries.
#[utoipa::path(
    get, path = "/api/v1/activities/{id}/late-entries", tag = "review", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, body = Vec<LateEntry>),
        Unauthenticated,
        Forbidden,
        NotFound,
    )
)]
async fn late_entries(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<axum::Json<Vec<LateEntry>>, ApiError> {
    Ok(axum::Json(hourmark.late_entries(&by, id).await?))
}

/// Approve or reject a late entry: a qualified recorder other than the one who asked.
/// Once; audited.
#[utoipa::path(
    post, path = "/api/v1/activities/{id}/late-entries/{entry_id}/decision", tag = "review",
    request_body = LateEntryDecision, security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id"), ("entry_id" = i64, Path, description = "Late entry id")),
    responses(
        (status = 200, body = LateEntry),
        Unauthenticated,
        (status = 403, description = "`forbidden`, `same_recorder`", body = Problem, content_type = "application/problem+json"),
        NotFound,
        (status = 409, description = "`late_entry_decided`, `activity_finalised`", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`invalid_body`, `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn decide_late_entry(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path((id, entry_id)): Path<(i64, i64)>,
    Json(decision): Json<LateEntryDecision>,
) -> Result<axum::Json<LateEntry>, ApiError> {
    Ok(axum::Json(hourmark.decide_late_entry(&by, id, entry_id, decision).await?))
}

/// Finalise the activity (a qualified recorder of the organisation): after its check-out
/// window, with every flag and late entry decided. Fixes each volunteer's minutes per day
/// (what the scans earned, what counts, and which decided it) for publicity.
#[utoipa::path(
    post, path = "/api/v1/activities/{id}/finalise", tag = "review", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 201, body = Finalisation),
        Unauthenticated,
        (status = 403, description = "`forbidden` (also: a lapsed certificate)", body = Problem, content_type = "application/problem+json"),
        NotFound,
        (status = 409, description = "`flags_open`, `activity_in_progress`, `activity_finalised`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn finalise(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<(StatusCode, axum::Json<Finalisation>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(hourmark.finalise_activity(&by, id).await?)))
}

/// The finalised sessions of an activity.
#[utoipa::path(
    get, path = "/api/v1/activities/{id}/finalisation", tag = "review", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, body = Finalisation),
        Unauthenticated,
        Forbidden,
        (status = 404, description = "`not_found` (also: not finalised yet)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn finalisation(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<axum::Json<Finalisation>, ApiError> {
    Ok(axum::Json(hourmark.finalisation(&by, id).await?))
}

/// Propose a correction of a finalised session (a qualified recorder of the organisation;
/// at most the day's scheduled minutes). Nothing changes until another qualified recorder
/// approves it; then the day is published again for the full period, and the register
/// takes the correction (reversal and replacement) only when that period ends.
#[utoipa::path(
    post, path = "/api/v1/activities/{id}/session-corrections", tag = "review", request_body = SessionCorrection,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 201, body = CorrectionProposal),
        Unauthenticated,
        Forbidden,
        (status = 404, description = "`not_found` (no such finalised session)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`correction_pending` (one already waits for a decision)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`minutes_over_cap`, `invalid_body`", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn propose_session_correction(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Json(correction): Json<SessionCorrection>,
) -> Result<(StatusCode, axum::Json<CorrectionProposal>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(hourmark.propose_session_correction(&by, id, correction).await?)))
}

/// An activity's proposed, approved and rejected corrections, oldest first (reviewers).
#[utoipa::path(
    get, path = "/api/v1/activities/{id}/session-corrections", tag = "review", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, body = Vec<CorrectionProposal>),
        Unauthenticated,
        (status = 403, description = "`forbidden` (volunteers, leaders)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found` (also: another organisation's or region's)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn session_corrections(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<axum::Json<Vec<CorrectionProposal>>, ApiError> {
    Ok(axum::Json(hourmark.session_correction_proposals(&by, id).await?))
}

/// Approve or reject a proposed correction: a qualified recorder of the organisation other
/// than the one who proposed it. An approval changes the finalised minutes (the session
/// then shows `corrected`), publishes the day again, tells the volunteer and is audited
/// under the volunteer.
#[utoipa::path(
    post, path = "/api/v1/activities/{id}/session-corrections/{correction_id}/decision", tag = "review",
    request_body = ProposalDecision, security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id"), ("correction_id" = i64, Path, description = "Proposal id")),
    responses(
        (status = 200, body = CorrectionProposal),
        Unauthenticated,
        (status = 403, description = "`forbidden`; `same_recorder` (the proposer may not decide)", body = Problem, content_type = "application/problem+json"),
        NotFound,
        (status = 409, description = "`correction_decided`; `correction_stale` (the session changed since)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn decide_session_correction(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path((id, correction_id)): Path<(i64, i64)>,
    Json(decision): Json<ProposalDecision>,
) -> Result<axum::Json<CorrectionProposal>, ApiError> {
    Ok(axum::Json(hourmark.decide_session_correction(&by, id, correction_id, decision).await?))
}
