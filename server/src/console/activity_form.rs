//! Editing an activity: the API operation (`PUT /api/v1/activities/{id}`) and the console
//! page whose form sends it. The page and `/console/activities/new` share one template.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use hourmark_core::Hourmark;
use hourmark_core::activity::{Activity, NewActivity, to_shanghai};
use hourmark_core::error::Problem;
use hourmark_core::identity::{Principal, StaffRole};
use hourmark_http::ApiError;
use hourmark_http::extract::{Json, Path, StaffCaller};
use minijinja::context;

use super::ConsoleSession;
use super::pages::{categories, render};

/// Replace an activity's fields: the same body as creating one (its `organisation_id`
/// must stay the activity's own). A `gcj02` location (高德/腾讯 maps) is stored as WGS-84.
/// Gates may be renamed or added, never removed (codes carry the gate's number). Audited
/// with the fields that changed.
#[utoipa::path(
    put, path = "/api/v1/activities/{id}", tag = "activities", request_body = NewActivity, security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, body = Activity),
        (status = 404, description = "`not_found` (no such activity of the caller's)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`activity_finalised` (a finalised activity does not change)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body` (also: another organisation, or fewer gates than it has)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn update_activity(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Json(changes): Json<NewActivity>,
) -> Result<axum::Json<Activity>, ApiError> {
    Ok(axum::Json(hourmark.update_activity(&by, id, changes).await?))
}

/// `2026-12-05T08:00` in Kunming's time, for a `datetime-local` field.
pub(super) fn local_input(t: DateTime<Utc>) -> String {
    to_shanghai(t).format("%Y-%m-%dT%H:%M").to_string()
}

/// The form that edits an activity (through `PUT /api/v1/activities/{id}`).
#[utoipa::path(
    get, path = "/console/activities/{id}/edit", tag = "staff",
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, description = "The activity form, filled in", content_type = "text/html", body = String),
        (status = 303, description = "No session: to the sign-in page"),
        (status = 404, description = "No such activity the caller may edit", content_type = "text/html", body = String),
    )
)]
pub(super) async fn edit_activity_page(
    State(hourmark): State<Hourmark>,
    session: ConsoleSession,
    Path(id): Path<i64>,
) -> Response {
    let may_edit = matches!(
        session.principal,
        Principal::Staff { role: StaffRole::Administrator | StaffRole::Organiser | StaffRole::Recorder, .. }
    );
    let activity = match hourmark.managed_activity(&session.principal, id).await {
        Ok(a) if may_edit => a,
        _ => {
            return render(
                StatusCode::NOT_FOUND,
                "not_found.html",
                context! { what => "活动不存在，或您无权修改它。" },
            );
        }
    };
    let organisation = match hourmark.store().get_organisation(activity.organisation_id).await {
        Ok(o) => o.map(|o| o.name).unwrap_or_default(),
        Err(e) => return ApiError(e).into_response(),
    };
    render(
        StatusCode::OK,
        "activity_form.html",
        context! {
            csrf_token => session.csrf_token,
            role => session.role,
            editing => true,
            activity_id => activity.id,
            organisation_id => activity.organisation_id,
            organisation_name => organisation,
            organisations => Vec::<minijinja::Value>::new(),
            categories => categories(),
            name => activity.name.clone(),
            category => activity.category.as_str(),
            recipients => activity.recipients.clone(),
            content => activity.content.clone(),
            address => activity.address.clone(),
            lat => format!("{:.6}", activity.location.lat),
            lng => format!("{:.6}", activity.location.lng),
            radius_m => activity.radius_m,
            starts_at => local_input(activity.starts_at),
            ends_at => local_input(activity.ends_at),
            gates => activity.gates.clone(),
            code_mode => activity.code_mode.as_str(),
        },
    )
}
