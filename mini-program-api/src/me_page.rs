//! The volunteer's own pages (`/me`): my hours (each day, where it stands, flags and
//! decisions, totals), notifications, and my data (profile, consents with withdraw,
//! correction requests and their decisions, the download, signed-in devices). Static HTML and a small script served here; every action
//! is an `/mp/v1/me…` operation, and `GET /mp/v1/me/hours` is the one this page added.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use hourmark_core::Hourmark;
use hourmark_core::my_hours::MyHours;
use hourmark_http::responses::{StaffTokenForbidden, Unauthenticated};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::VolunteerCaller;
use crate::problem::ApiError;

pub(crate) fn router() -> OpenApiRouter<Hourmark> {
    OpenApiRouter::new().routes(routes!(my_hours)).routes(routes!(me_page)).routes(routes!(me_script))
}

/// Your hours: each day served at each activity, newest first, with its minutes and where
/// it stands (`inside`, `awaiting_review`, `in_publicity` until a day, `publicity_held`,
/// `recorded`, `confirmed` by civil affairs), an open objection, the flags raised on it
/// and their decisions; and the totals recorded and confirmed.
#[utoipa::path(
    get, path = "/mp/v1/me/hours", tag = "volunteers", security(("bearer" = [])),
    responses(
        (status = 200, body = MyHours),
        Unauthenticated,
        StaffTokenForbidden,
    )
)]
async fn my_hours(
    State(hourmark): State<Hourmark>,
    VolunteerCaller(volunteer_id): VolunteerCaller,
) -> Result<axum::Json<MyHours>, ApiError> {
    Ok(axum::Json(hourmark.my_hours(volunteer_id).await?))
}

const ME_PAGE: &str = include_str!("me.html");
const ME_SCRIPT: &str = include_str!("me.js");

/// The volunteer's own pages: hours, notifications and data (HTML; the data comes from
/// the `/mp/v1/me…` operations with the token the scan page keeps).
#[utoipa::path(
    get, path = "/me", tag = "volunteers",
    responses((status = 200, description = "The volunteer's pages (HTML)", content_type = "text/html", body = String))
)]
async fn me_page() -> Response {
    let mut response = axum::response::Html(ME_PAGE).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The `/me` page's script (no inline script under the pages' CSP).
#[utoipa::path(
    get, path = "/mp/static/me.js", tag = "volunteers",
    responses((status = 200, description = "The /me page's script", content_type = "text/javascript", body = String))
)]
async fn me_script() -> Response {
    let mut response = ME_SCRIPT.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    response
}
