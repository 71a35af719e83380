//! The public recruitment page (招募): what a share link or its QR opens. Anyone may read
//! it; a volunteer signs up from it. The page is rendered here with the activity, each
//! slot's places left and the rules; its script (`join.js`) signs the volunteer in (or
//! registers them) on the same page and then calls the volunteer operations
//! (`POST /mp/v1/activities/{id}/signups`, `GET /mp/v1/me/signups`, and the cancel), so a
//! visitor who was not signed in comes back to exactly the slot they chose.
//!
//! The QR (`/join/{id}/qr.svg`) is drawn by the same renderer as the rotating codes, for
//! the organiser to show or print from the console's 报名管理 page.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hourmark_core::Hourmark;
use hourmark_core::activity::to_shanghai;
use hourmark_core::error::{CoreError, ErrorCode, Problem};
use hourmark_http::ApiError;
use hourmark_http::extract::Path;
use hourmark_http::responses::InvalidParameter;
use minijinja::context;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn router() -> OpenApiRouter<Hourmark> {
    OpenApiRouter::new().routes(routes!(join_page)).routes(routes!(join_qr))
}

/// `12月12日 08:00`, Beijing time.
fn local(t: chrono::DateTime<chrono::Utc>) -> String {
    to_shanghai(t).format("%-m月%-d日 %H:%M").to_string()
}

/// The public recruitment page of an activity (HTML, for a phone): name, organisation,
/// time, place, what volunteers do, each slot with its places left, requirements, the
/// deadlines and whether approval is needed, and a sign-up button per slot.
#[utoipa::path(
    get, path = "/join/{id}", tag = "signups",
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, description = "The recruitment page", content_type = "text/html", body = String),
        (status = 404, description = "Not published for recruitment (a page saying so)", content_type = "text/html", body = String),
        (status = 400, description = "`invalid_parameter`: an id that is not a number", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn join_page(State(hourmark): State<Hourmark>, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let page = match hourmark.public_recruitment(id).await {
        Ok(page) => page,
        Err(CoreError::Refused { code: ErrorCode::NotFound, .. }) => {
            return Ok(crate::console::render(StatusCode::NOT_FOUND, "join.html", context! { missing => true }));
        }
        Err(e) => return Err(e.into()),
    };
    let r = &page.recruitment;
    let a = &page.activity;
    let slots: Vec<_> = r
        .slots
        .iter()
        .map(|s| {
            context! {
                id => s.id, name => s.name.clone(), capacity => s.capacity, left => s.places_left,
            }
        })
        .collect();
    let same_day = to_shanghai(a.starts_at).date_naive() == to_shanghai(a.ends_at).date_naive();
    let ends = if same_day { to_shanghai(a.ends_at).format("%H:%M").to_string() } else { local(a.ends_at) };
    let mut response = crate::console::render(
        StatusCode::OK,
        "join.html",
        context! {
            missing => false,
            activity_id => a.id,
            name => a.name.clone(),
            organisation => page.organisation.clone(),
            when => format!("{} – {ends}", local(a.starts_at)),
            address => a.address.clone(),
            content => a.content.clone(),
            recipients => a.recipients.clone(),
            slots => slots,
            min_age => r.min_age,
            required_skills => r.required_skills.join("、"),
            required_training => r.required_training.clone(),
            deadline => local(r.signup_deadline),
            cutoff => local(r.cancel_cutoff),
            cancel_open => hourmark.now() <= r.cancel_cutoff,
            approval_required => r.approval_required,
            waitlist => r.waitlist,
            open => page.open,
            cancelled => page.cancelled.as_ref().map(|c| c.reason.clone()),
            share_url => page.share_url.clone(),
        },
    );
    // Public, but places change with every sign-up: revalidate each time.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// The QR of an activity's share link (SVG), for the organiser to show or print.
#[utoipa::path(
    get, path = "/join/{id}/qr.svg", tag = "signups",
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, description = "The QR (SVG) of the public recruitment page's link", content_type = "image/svg+xml", body = String),
        (status = 404, description = "`not_found`: not published for recruitment", body = Problem, content_type = "application/problem+json"),
        InvalidParameter,
    )
)]
async fn join_qr(State(hourmark): State<Hourmark>, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let url = hourmark.public_recruitment(id).await?.share_url;
    let svg = hourmark_core::qr::render_svg(&url).map_err(|e| CoreError::Internal(format!("share QR: {e}")))?;
    let mut response = svg.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    Ok(response)
}
