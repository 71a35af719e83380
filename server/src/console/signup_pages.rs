//! The organiser's page for an activity's recruitment and sign-ups (报名管理): the form
//! that publishes or changes recruitment, each slot's places, and the sign-ups to decide.
//! The page renders the form; its script reads the places and sign-ups from the API and
//! sends every change through it, so the page and an API client see the same rules.
//! Calling the activity off (活动取消) is here too, at the foot, behind a confirmation:
//! the organiser comes here to see whom a cancellation would tell.
//!
//! The page offers only what the API would accept: on a cancelled activity it says when and
//! why it was called off and offers no sign-up action at all (no form, no decisions, no
//! share link inviting sign-ups); on a finalised one neither the recruitment form, the
//! decisions nor the cancellation.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use hourmark_core::Hourmark;
use hourmark_core::activity::to_shanghai;
use hourmark_core::error::{CoreError, ErrorCode};
use hourmark_core::identity::{Principal, StaffRole};
use hourmark_http::ApiError;
use hourmark_http::extract::Path;
use minijinja::context;

use super::ConsoleSession;
use super::activity_form::local_input;
use super::pages::{chinese_time, render};

/// An activity's recruitment and sign-ups (through `/api/v1/activities/{id}/recruitment`
/// and `/signups`).
#[utoipa::path(
    get, path = "/console/activities/{id}/signups", tag = "signups",
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, description = "The recruitment form and the sign-ups", content_type = "text/html", body = String),
        (status = 303, description = "No session: to the sign-in page"),
        (status = 404, description = "No such activity the caller manages", content_type = "text/html", body = String),
    )
)]
pub(super) async fn signups_page(
    State(hourmark): State<Hourmark>,
    session: ConsoleSession,
    Path(id): Path<i64>,
) -> Response {
    let Ok(activity) = hourmark.managed_activity(&session.principal, id).await else {
        return render(StatusCode::NOT_FOUND, "not_found.html", context! { what => "活动不存在，或您无权管理它。" });
    };
    // As the API decides: the organisation's organisers and recorders, and administrators,
    // publish and decide; leaders read the list they will meet on the day.
    let may_decide = matches!(
        session.principal,
        Principal::Staff { role: StaffRole::Administrator | StaffRole::Organiser | StaffRole::Recorder, .. }
    );
    let cancelled = match hourmark.cancellation_for_staff(&session.principal, id).await {
        Ok(c) => c,
        Err(e) => return ApiError(e).into_response(),
    };
    // A finalised activity's hours are settled: recruitment is not changed and the
    // activity is not called off any more (the API refuses both with `activity_finalised`).
    let finalised = match hourmark.store().is_finalised(id).await {
        Ok(f) => f,
        Err(e) => return ApiError(e).into_response(),
    };
    let recruitment = match hourmark.recruitment_for_staff(&session.principal, id).await {
        Ok(r) => Some(r),
        Err(CoreError::Refused { code: ErrorCode::NotFound, .. }) => None,
        Err(e) => return ApiError(e).into_response(),
    };
    // A new recruitment closes sign-ups the evening before and cancellations at noon that
    // day: the organiser then has the morning to call the waiting list.
    let day_before = to_shanghai(activity.starts_at - Duration::days(1)).date_naive();
    let default_deadline = format!("{}T20:00", day_before.format("%Y-%m-%d"));
    let default_cutoff = format!("{}T12:00", day_before.format("%Y-%m-%d"));
    let form = match &recruitment {
        Some(r) => context! {
            slots => r.slots.iter().map(|s| context! { name => s.name.clone(), capacity => s.capacity, taken => s.approved + s.pending }).collect::<Vec<_>>(),
            signup_deadline => local_input(r.signup_deadline),
            cancel_cutoff => local_input(r.cancel_cutoff),
            approval_required => r.approval_required,
            waitlist => r.waitlist,
            walk_ins => r.walk_ins,
            min_age => r.min_age,
            required_skills => r.required_skills.join("、"),
            required_training => r.required_training.clone().unwrap_or_default(),
        },
        None => context! {
            slots => vec![context! { name => "", capacity => 10, taken => 0 }],
            signup_deadline => default_deadline,
            cancel_cutoff => default_cutoff,
            approval_required => true,
            waitlist => true,
            walk_ins => true,
            min_age => None::<u8>,
            required_skills => "",
            required_training => "",
        },
    };
    render(
        StatusCode::OK,
        "signups.html",
        context! {
            csrf_token => session.csrf_token,
            role => session.role,
            activity_id => activity.id,
            name => activity.name.clone(),
            when => format!("{} – {}", chinese_time(activity.starts_at), chinese_time(activity.ends_at)),
            ends_at => local_input(activity.ends_at),
            recruiting => recruitment.is_some(),
            may_decide => may_decide,
            // Sign-ups are decided only while the activity is neither off nor settled.
            deciding => may_decide && cancelled.is_none() && !finalised,
            form => form,
            share_url => hourmark.recruitment_share_url(activity.id),
            finalised => finalised,
            cancelled => cancelled.map(|c| context! { reason => c.reason, at => chinese_time(c.cancelled_at) }),
        },
    )
}
