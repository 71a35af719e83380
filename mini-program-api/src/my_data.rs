//! `/mp/v1/me/export` and `/mp/v1/me/corrections`: a volunteer takes a copy of everything
//! held about them, and asks for what is wrong to be corrected.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hourmark_core::Hourmark;
use hourmark_core::corrections::{CorrectionRequest, MyDataExport, NewCorrection};
use hourmark_core::error::Problem;
use hourmark_http::responses::{InvalidParameter, StaffTokenForbidden, Unauthenticated};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{Json, Path, VolunteerCaller};
use crate::problem::ApiError;
use hourmark_core::extra_fields::{ExtraField, GiveExtraField, MyExtraFields, WithdrawExtraField};

pub(crate) fn router() -> OpenApiRouter<Hourmark> {
    OpenApiRouter::new()
        .routes(routes!(export))
        .routes(routes!(request_correction, my_corrections))
        .routes(routes!(my_extra_fields))
        .routes(routes!(give_extra_field))
        .routes(routes!(withdraw_extra_field))
        .routes(routes!(my_notifications))
        .routes(routes!(mark_notifications_read))
        .routes(routes!(my_record))
}

/// Download everything held about you: profile (unmasked), consents, every scan, correction
/// requests, and who did what with your data. Served as an attachment.
#[utoipa::path(
    get, path = "/mp/v1/me/export", tag = "volunteers", security(("bearer" = [])),
    responses(
        (status = 200, body = MyDataExport, description = "A JSON file (`Content-Disposition: attachment`)"),
        Unauthenticated,
        StaffTokenForbidden,
    )
)]
async fn export(
    State(hourmark): State<Hourmark>,
    VolunteerCaller(volunteer_id): VolunteerCaller,
) -> Result<Response, ApiError> {
    let export = hourmark.export_my_data(volunteer_id).await?;
    let filename = format!(
        "attachment; filename=\"hourmark-{}-{}.json\"",
        export.data.volunteer.volunteer_number,
        hourmark_core::activity::to_shanghai(export.generated_at).format("%Y%m%d")
    );
    let mut response = axum::Json(export).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&filename) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Ask for something held about you to be corrected: name, skills, or (for other ID
/// types than the resident ID) gender and birth month; `other` for anything else.
/// Staff accept it (the change is applied) or reject it with a reason.
#[utoipa::path(
    post, path = "/mp/v1/me/corrections", tag = "volunteers", request_body = NewCorrection,
    security(("bearer" = [])),
    responses(
        (status = 201, body = CorrectionRequest),
        Unauthenticated,
        StaffTokenForbidden,
        (status = 409, description = "`corrections_pending` (five are waiting already)", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`invalid_body` (also: a value that could not be applied), `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn request_correction(
    State(hourmark): State<Hourmark>,
    VolunteerCaller(volunteer_id): VolunteerCaller,
    Json(new): Json<NewCorrection>,
) -> Result<(StatusCode, axum::Json<CorrectionRequest>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(hourmark.request_correction(volunteer_id, new).await?)))
}

/// Your correction requests and their decisions.
#[utoipa::path(
    get, path = "/mp/v1/me/corrections", tag = "volunteers", security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<CorrectionRequest>),
        Unauthenticated,
        StaffTokenForbidden,
    )
)]
async fn my_corrections(
    State(hourmark): State<Hourmark>,
    VolunteerCaller(volunteer_id): VolunteerCaller,
) -> Result<axum::Json<Vec<CorrectionRequest>>, ApiError> {
    Ok(axum::Json(hourmark.my_corrections(volunteer_id).await?))
}

/// The extra fields you chose to give (e-mail, education, political status, employer),
/// each with its own consent, and that consent's history.
#[utoipa::path(
    get, path = "/mp/v1/me/extra-fields", tag = "volunteers", security(("bearer" = [])),
    responses(
        (status = 200, body = MyExtraFields),
        Unauthenticated,
        StaffTokenForbidden,
    )
)]
async fn my_extra_fields(
    State(hourmark): State<Hourmark>,
    VolunteerCaller(volunteer_id): VolunteerCaller,
) -> Result<axum::Json<MyExtraFields>, ApiError> {
    Ok(axum::Json(hourmark.my_extra_fields(volunteer_id).await?))
}

/// Give (or change) one extra field: this records your consent to that field alone.
#[utoipa::path(
    put, path = "/mp/v1/me/extra-fields/{field}", tag = "volunteers", request_body = GiveExtraField,
    security(("bearer" = [])),
    params(("field" = ExtraField, Path, description = "`email`, `education`, `political_status` or `employer`")),
    responses(
        (status = 200, body = MyExtraFields),
        (status = 400, description = "`invalid_parameter` (no such field)", body = Problem, content_type = "application/problem+json"),
        Unauthenticated,
        StaffTokenForbidden,
        (status = "4XX", description = "`invalid_body`, `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn give_extra_field(
    State(hourmark): State<Hourmark>,
    VolunteerCaller(volunteer_id): VolunteerCaller,
    Path(field): Path<ExtraField>,
    Json(give): Json<GiveExtraField>,
) -> Result<axum::Json<MyExtraFields>, ApiError> {
    Ok(axum::Json(hourmark.give_extra_field(volunteer_id, field, give).await?))
}

/// Withdraw consent to one extra field: its value is erased at once.
#[utoipa::path(
    post, path = "/mp/v1/me/extra-fields/{field}/withdraw", tag = "volunteers", request_body = WithdrawExtraField,
    security(("bearer" = [])),
    params(("field" = ExtraField, Path, description = "`email`, `education`, `political_status` or `employer`")),
    responses(
        (status = 200, body = MyExtraFields),
        (status = 400, description = "`invalid_parameter` (no such field)", body = Problem, content_type = "application/problem+json"),
        Unauthenticated,
        StaffTokenForbidden,
        (status = "4XX", description = "`invalid_body`, `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn withdraw_extra_field(
    State(hourmark): State<Hourmark>,
    VolunteerCaller(volunteer_id): VolunteerCaller,
    Path(field): Path<ExtraField>,
    Json(withdraw): Json<WithdrawExtraField>,
) -> Result<axum::Json<MyExtraFields>, ApiError> {
    Ok(axum::Json(hourmark.withdraw_extra_field(volunteer_id, field, withdraw).await?))
}

/// Messages for you: a session the system closed because you did not scan out, and every
/// decision on your hours (a flag decided, a late entry approved, a correction, publicity
/// started and until when, an objection decided, recorded in the register, confirmed by
/// civil affairs). Newest first, at most 100; `unread=true` for the unread only.
#[utoipa::path(
    get, path = "/mp/v1/me/notifications", tag = "volunteers", security(("bearer" = [])),
    params(NotificationQuery),
    responses(
        (status = 200, body = Vec<hourmark_core::notification::Notification>),
        InvalidParameter,
        Unauthenticated,
        StaffTokenForbidden,
    )
)]
async fn my_notifications(
    State(hourmark): State<Hourmark>,
    VolunteerCaller(volunteer_id): VolunteerCaller,
    crate::extract::Query(query): crate::extract::Query<NotificationQuery>,
) -> Result<axum::Json<Vec<hourmark_core::notification::Notification>>, ApiError> {
    Ok(axum::Json(hourmark.my_notifications(volunteer_id, query.unread).await?))
}

/// Which notifications to list.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct NotificationQuery {
    /// Only the unread.
    #[serde(default)]
    unread: bool,
}

/// How many notifications were marked read.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct MarkedRead {
    /// Notifications that were unread and now are read.
    marked: u64,
}

/// Mark notifications read: these `ids` (yours; others are ignored), or `all`.
#[utoipa::path(
    post, path = "/mp/v1/me/notifications/read", tag = "volunteers", security(("bearer" = [])),
    request_body = hourmark_core::notification::MarkRead,
    responses(
        (status = 200, body = MarkedRead),
        Unauthenticated,
        StaffTokenForbidden,
        (status = 422, description = "`invalid_body` (neither or both of `ids` and `all`, or over 500 ids)", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn mark_notifications_read(
    State(hourmark): State<Hourmark>,
    VolunteerCaller(volunteer_id): VolunteerCaller,
    Json(which): Json<hourmark_core::notification::MarkRead>,
) -> Result<axum::Json<MarkedRead>, ApiError> {
    Ok(axum::Json(MarkedRead { marked: hourmark.mark_notifications_read(volunteer_id, which).await? }))
}

/// Your record: finalised service by day, evaluations, verified complaints, training and
/// awards.
#[utoipa::path(
    get, path = "/mp/v1/me/record", tag = "volunteers", security(("bearer" = [])),
    responses(
        (status = 200, body = hourmark_core::review::record::VolunteerRecord),
        Unauthenticated,
        StaffTokenForbidden,
    )
)]
async fn my_record(
    State(hourmark): State<Hourmark>,
    VolunteerCaller(volunteer_id): VolunteerCaller,
) -> Result<axum::Json<hourmark_core::review::record::VolunteerRecord>, ApiError> {
    Ok(axum::Json(hourmark.volunteer_record(volunteer_id).await?))
}
