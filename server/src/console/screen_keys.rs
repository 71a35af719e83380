//! Screen keys over HTTP: a projector page asks for one when it opens and mints its codes
//! with it (so it keeps working through a network drop); the activity's screens page lists
//! them and revokes one, through the same operations an API client would use.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hourmark_core::Hourmark;
use hourmark_core::error::Problem;
use hourmark_core::screen_keys::{IssuedScreenKey, ScreenKeyRecord, ScreenKeyRequest};
use hourmark_http::ApiError;
use hourmark_http::extract::{Json, Path, StaffCaller};
use minijinja::context;
use serde::Serialize;

use super::ConsoleSession;
use super::pages::{chinese_time, render};

/// A key for a projector of one gate and direction: the page mints that gate's rotating
/// codes with it by itself, for 12 hours at most and never past the time the activity
/// takes scans. The answer holds the key: it is sent `no-store` and never logged.
#[utoipa::path(
    post, path = "/api/v1/activities/{id}/screen-keys", tag = "codes", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")),
    request_body = ScreenKeyRequest,
    responses(
        (status = 201, body = IssuedScreenKey),
        (status = 400, description = "`invalid_parameter` (no such gate, or a direction the activity does not use)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found` (no such activity of the caller's)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`activity_ended` (the activity no longer takes scans)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn issue_screen_key(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Json(request): Json<ScreenKeyRequest>,
) -> Result<Response, ApiError> {
    let issued = hourmark.issue_screen_key(&by, id, request).await?;
    let mut response = (StatusCode::CREATED, axum::Json(issued)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The screen keys of an activity, newest first (without the keys themselves).
#[utoipa::path(
    get, path = "/api/v1/activities/{id}/screen-keys", tag = "codes", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, body = Vec<ScreenKeyRecord>),
        (status = 404, description = "`not_found` (no such activity of the caller's)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn list_screen_keys(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<axum::Json<Vec<ScreenKeyRecord>>, ApiError> {
    Ok(axum::Json(hourmark.screen_keys(&by, id).await?))
}

/// Revokes a screen key: codes its projector mints are refused from now on
/// (`screen_key_revoked`), on every instance. Audited on the activity. Revoking a revoked
/// key changes nothing.
#[utoipa::path(
    post, path = "/api/v1/activities/{id}/screen-keys/{key_id}/revoke", tag = "codes", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id"), ("key_id" = i64, Path, description = "Screen key id")),
    responses(
        (status = 200, body = ScreenKeyRecord),
        (status = 404, description = "`not_found` (no such activity of the caller's, or no such screen key of it)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn revoke_screen_key(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path((id, key_id)): Path<(i64, i64)>,
) -> Result<axum::Json<ScreenKeyRecord>, ApiError> {
    Ok(axum::Json(hourmark.revoke_screen_key(&by, id, key_id).await?))
}

/// One row of the screens page.
#[derive(Serialize)]
struct ScreenRow {
    id: i64,
    gate: String,
    direction: &'static str,
    issued: String,
    expires: String,
    state: &'static str,
    revocable: bool,
}

/// The projectors (screen keys) of an activity, with a button that revokes each.
#[utoipa::path(
    get, path = "/console/activities/{id}/screens", tag = "codes",
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, description = "The screens page", content_type = "text/html", body = String),
        (status = 303, description = "No session: to the sign-in page"),
        (status = 404, description = "No such activity of the caller's", content_type = "text/html", body = String),
    )
)]
pub(super) async fn screens_page(
    State(hourmark): State<Hourmark>,
    session: ConsoleSession,
    Path(id): Path<i64>,
) -> Response {
    let Ok(activity) = hourmark.managed_activity(&session.principal, id).await else {
        return render(StatusCode::NOT_FOUND, "not_found.html", context! { what => "活动不存在，或您无权管理它。" });
    };
    let keys = match hourmark.screen_keys(&session.principal, id).await {
        Ok(keys) => keys,
        Err(e) => return ApiError(e).into_response(),
    };
    let now = hourmark.now();
    let rows: Vec<ScreenRow> = keys
        .iter()
        .map(|k| {
            let state = if k.revoked_at.is_some() {
                "已撤销"
            } else if k.expires_at <= now {
                "已过期"
            } else {
                "有效"
            };
            ScreenRow {
                id: k.id,
                gate: activity.gates.get(usize::from(k.gate)).cloned().unwrap_or_else(|| format!("入口 {}", k.gate)),
                direction: match k.direction {
                    hourmark_core::qr::CodeDirection::Toggle => "签到/签退",
                    hourmark_core::qr::CodeDirection::Arrival => "签到",
                    hourmark_core::qr::CodeDirection::Departure => "签退",
                },
                issued: chinese_time(k.created_at),
                expires: chinese_time(k.expires_at),
                state,
                revocable: state == "有效",
            }
        })
        .collect();
    render(
        StatusCode::OK,
        "screens.html",
        context! {
            csrf_token => session.csrf_token,
            role => session.role,
            activity_id => activity.id,
            name => activity.name.clone(),
            screens => rows,
        },
    )
}
