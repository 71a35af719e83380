//! The console's pages and their assets. Each page reads through the same use cases as
//! the API; what a page changes, its script changes through the API.

use hourmark_http::responses::{NotFound, Unauthenticated, VolunteerTokenForbidden};
use std::sync::LazyLock;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Datelike, Timelike, Utc};
use hourmark_core::Hourmark;
use hourmark_core::activity::{Activity, CodeMode, to_shanghai};
use hourmark_core::identity::{Principal, StaffRole};
use hourmark_http::ApiError;
use hourmark_http::extract::{Path, Query, StaffCaller};
use minijinja::{Environment, context};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use super::ConsoleSession;

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in [
        ("layout.html", include_str!("templates/layout.html")),
        ("landing.html", include_str!("templates/landing.html")),
        ("activities.html", include_str!("templates/activities.html")),
        ("activity_form.html", include_str!("templates/activity_form.html")),
        ("projector.html", include_str!("templates/projector.html")),
        ("board.html", include_str!("templates/board.html")),
        ("not_found.html", include_str!("templates/not_found.html")),
        ("publicity.html", include_str!("templates/publicity.html")),
        ("screens.html", include_str!("templates/screens.html")),
        ("sessions.html", include_str!("templates/sessions.html")),
        ("devices.html", include_str!("templates/devices.html")),
        ("forbidden.html", include_str!("templates/forbidden.html")),
        ("officer_organisations.html", include_str!("templates/officer_organisations.html")),
        ("officer_batches.html", include_str!("templates/officer_batches.html")),
        ("officer_volunteers.html", include_str!("templates/officer_volunteers.html")),
        ("officer_volunteer.html", include_str!("templates/officer_volunteer.html")),
        ("officer_recorders.html", include_str!("templates/officer_recorders.html")),
        ("officer_regional_days.html", include_str!("templates/officer_regional_days.html")),
        ("admin_staff.html", include_str!("templates/admin_staff.html")),
        ("admin_calendar.html", include_str!("templates/admin_calendar.html")),
        ("admin_star_rules.html", include_str!("templates/admin_star_rules.html")),
        ("review_home.html", include_str!("templates/review_home.html")),
        ("review.html", include_str!("templates/review.html")),
        ("signups.html", include_str!("templates/signups.html")),
        ("join.html", include_str!("templates/join.html")),
        ("register_certificates.html", include_str!("templates/register_certificates.html")),
        ("register_stars.html", include_str!("templates/register_stars.html")),
        ("register_time_bank.html", include_str!("templates/register_time_bank.html")),
        ("register_statement.html", include_str!("templates/register_statement.html")),
        ("exchange_choose.html", include_str!("templates/exchange_choose.html")),
        ("exchange_roster.html", include_str!("templates/exchange_roster.html")),
        ("exchange_exports.html", include_str!("templates/exchange_exports.html")),
    ] {
        // The templates are compiled in; a syntax error is caught by the page tests.
        if let Err(e) = env.add_template(name, source) {
            tracing::error!(template = name, error = %e, "console template does not parse");
        }
    }
    env
});

pub(crate) fn render(status: StatusCode, name: &str, ctx: minijinja::Value) -> Response {
    match render_html(name, ctx) {
        Ok(html) => {
            let mut response = (status, Html(html)).into_response();
            // Pages show one person's data: never cached by anyone.
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => ApiError(e).into_response(),
    }
}

/// The page `name` with `ctx`, as text (a failure is logged).
pub(crate) fn render_html(name: &str, ctx: minijinja::Value) -> Result<String, hourmark_core::CoreError> {
    TEMPLATES.get_template(name).and_then(|t| t.render(ctx)).map_err(|e| {
        tracing::error!(template = name, error = %e, "console page failed to render");
        hourmark_core::CoreError::Internal(format!("template {name}: {e}"))
    })
}

/// Every service category with its Chinese name, for the activity form.
const CATEGORIES: [(&str, &str); 17] = [
    ("poverty_relief", "扶贫济困"),
    ("disability_help", "助残"),
    ("elderly_help", "助老"),
    ("child_care", "关爱儿童"),
    ("community_service", "社区服务"),
    ("teaching", "支教助学"),
    ("health", "医疗卫生"),
    ("science_outreach", "科学普及"),
    ("culture_sport", "文化体育"),
    ("environment", "环境保护"),
    ("psychological_support", "心理疏导"),
    ("legal_aid", "法律援助"),
    ("large_event", "大型活动"),
    ("disaster_relief", "救灾"),
    ("emergency_rescue", "应急救援"),
    ("public_safety", "公共安全"),
    ("other_public_good", "其他公益"),
];

/// The service categories for the activity form's select.
pub(super) fn categories() -> Vec<minijinja::Value> {
    CATEGORIES.iter().map(|(v, l)| context! { value => *v, label => *l }).collect()
}

/// `12月5日 08:00`, in Kunming's time.
pub(super) fn chinese_time(t: DateTime<Utc>) -> String {
    let local = to_shanghai(t);
    format!("{}月{}日 {:02}:{:02}", local.month(), local.day(), local.hour(), local.minute())
}

/// One link to a projector page: a gate and the direction its code records.
#[derive(Serialize)]
struct ProjectorLink {
    label: String,
    href: String,
}

#[derive(Serialize)]
struct ActivityRow {
    id: i64,
    name: String,
    address: String,
    when: String,
    projectors: Vec<ProjectorLink>,
    board: String,
    screens: String,
    edit: Option<String>,
    sessions: String,
    signups: String,
    /// Why it was called off, if it was (the list marks it, with the reason).
    cancelled: Option<String>,
}

fn projector_links(activity: &Activity) -> Vec<ProjectorLink> {
    let mut links = Vec::new();
    for (gate, gate_name) in activity.gates.iter().enumerate() {
        let directions: &[(&str, &str)] = match activity.code_mode {
            CodeMode::Toggle => &[("toggle", "签到/签退")],
            CodeMode::Separate => &[("arrival", "签到"), ("departure", "签退")],
        };
        for (direction, label) in directions {
            links.push(ProjectorLink {
                label: format!("{gate_name} · {label}"),
                href: format!("/console/activities/{}/projector?gate={gate}&direction={direction}", activity.id),
            });
        }
    }
    links
}

/// The activities the caller may manage (every organisation's for administrators, their
/// organisation's for its staff, the ones they lead for activity leaders), soonest first.
#[utoipa::path(
    get, path = "/api/v1/activities", tag = "activities", security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<Activity>),
        Unauthenticated,
        VolunteerTokenForbidden,
    )
)]
pub(super) async fn list_activities(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
) -> Result<axum::Json<Vec<Activity>>, ApiError> {
    let activities = hourmark.managed_activities(&by).await?;
    Ok(axum::Json(activities.iter().map(|a| a.as_ref().clone()).collect()))
}

/// The landing page: sign-in, the public board, the API documentation.
#[utoipa::path(
    get, path = "/", tag = "staff",
    responses((status = 200, description = "The landing page", content_type = "text/html", body = String))
)]
pub(super) async fn landing() -> Response {
    render(StatusCode::OK, "landing.html", context! {})
}

/// The console's home: the caller's activities, today's first, then upcoming and past.
#[utoipa::path(
    get, path = "/console", tag = "staff",
    responses(
        (status = 200, description = "The activity list", content_type = "text/html", body = String),
        (status = 303, description = "No session: to the sign-in page"),
    )
)]
pub(super) async fn console_home(State(hourmark): State<Hourmark>, session: ConsoleSession) -> Response {
    let activities = match hourmark.managed_activities(&session.principal).await {
        Ok(a) => a,
        Err(e) => return ApiError(e).into_response(),
    };
    let now = hourmark.now();
    let today = to_shanghai(now).date_naive();
    // Organisers, recorders and administrators create and edit; leaders run what they lead.
    let may_create = matches!(
        session.principal,
        Principal::Staff { role: StaffRole::Administrator | StaffRole::Organiser | StaffRole::Recorder, .. }
    );

    let ids: Vec<i64> = activities.iter().map(|a| a.id).collect();
    let mut cancellations = match hourmark.cancellations_among(&ids).await {
        Ok(c) => c,
        Err(e) => return ApiError(e).into_response(),
    };

    let (mut current, mut upcoming, mut past) = (Vec::new(), Vec::new(), Vec::new());
    for activity in &activities {
        let row = ActivityRow {
            id: activity.id,
            name: activity.name.clone(),
            address: activity.address.clone(),
            when: format!("{} – {}", chinese_time(activity.starts_at), chinese_time(activity.ends_at)),
            projectors: projector_links(activity),
            board: format!("/console/activities/{}/board", activity.id),
            screens: format!("/console/activities/{}/screens", activity.id),
            edit: may_create.then(|| format!("/console/activities/{}/edit", activity.id)),
            sessions: format!("/console/activities/{}/sessions", activity.id),
            signups: format!("/console/activities/{}/signups", activity.id),
            cancelled: cancellations.remove(&activity.id).map(|c| c.reason),
        };
        let starts = to_shanghai(activity.starts_at).date_naive();
        let ends = to_shanghai(activity.ends_at).date_naive();
        if starts <= today && today <= ends {
            current.push(row);
        } else if starts > today {
            upcoming.push(row);
        } else {
            past.push(row);
        }
    }
    past.reverse();
    render(
        StatusCode::OK,
        "activities.html",
        context! {
            csrf_token => session.csrf_token,
            role => session.role,
            today => current,
            upcoming => upcoming,
            past => past,
            may_create => may_create,
        },
    )
}

/// The form that creates an activity (through `POST /api/v1/activities`).
#[utoipa::path(
    get, path = "/console/activities/new", tag = "staff",
    responses(
        (status = 200, description = "The activity form", content_type = "text/html", body = String),
        (status = 303, description = "No session: to the sign-in page"),
    )
)]
pub(super) async fn new_activity_page(State(hourmark): State<Hourmark>, session: ConsoleSession) -> Response {
    let organisations = match hourmark.list_organisations(&session.principal).await {
        Ok(o) => o,
        Err(e) => return ApiError(e).into_response(),
    };
    let organisations: Vec<_> = organisations.into_iter().map(|o| context! { id => o.id, name => o.name }).collect();
    let today = to_shanghai(hourmark.now()).date_naive().format("%Y-%m-%d").to_string();
    render(
        StatusCode::OK,
        "activity_form.html",
        context! {
            csrf_token => session.csrf_token,
            role => session.role,
            editing => false,
            organisations => organisations,
            categories => categories(),
            category => "community_service",
            radius_m => 300,
            starts_at => format!("{today}T08:00"),
            ends_at => format!("{today}T17:00"),
            gates => vec!["正门"],
            code_mode => "toggle",
        },
    )
}

/// Which gate and direction a projector shows.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ProjectorQuery {
    /// Gate number (index into the activity's gates), default 0.
    #[serde(default)]
    pub gate: u8,
    /// `toggle`, `arrival` or `departure` (default: `toggle`, or `arrival` for separate codes).
    pub direction: Option<String>,
}

/// The projector page for one gate: the rotating code, full screen, with the activity's
/// name, the direction, a countdown to the next code and the number inside now.
#[utoipa::path(
    get, path = "/console/activities/{id}/projector", tag = "codes",
    params(("id" = i64, Path, description = "Activity id"), ProjectorQuery),
    responses(
        (status = 200, description = "The projector page", content_type = "text/html", body = String),
        (status = 303, description = "No session: to the sign-in page"),
        (status = 404, description = "No such activity of the caller's, or no such gate", content_type = "text/html", body = String),
    )
)]
pub(super) async fn projector_page(
    State(hourmark): State<Hourmark>,
    session: ConsoleSession,
    Path(id): Path<i64>,
    Query(q): Query<ProjectorQuery>,
) -> Response {
    let Ok(activity) = hourmark.managed_activity(&session.principal, id).await else {
        return render(StatusCode::NOT_FOUND, "not_found.html", context! { what => "活动不存在，或您无权管理它。" });
    };
    let Some(gate_name) = activity.gates.get(usize::from(q.gate)) else {
        return render(StatusCode::NOT_FOUND, "not_found.html", context! { what => "该活动没有这个入口。" });
    };
    let direction = match (activity.code_mode, q.direction.as_deref()) {
        (CodeMode::Toggle, None | Some("toggle")) => ("toggle", "签到/签退"),
        (CodeMode::Separate, None | Some("arrival")) => ("arrival", "签到"),
        (CodeMode::Separate, Some("departure")) => ("departure", "签退"),
        _ => {
            return render(StatusCode::NOT_FOUND, "not_found.html", context! { what => "该活动不使用这种二维码。" });
        }
    };
    render(
        StatusCode::OK,
        "projector.html",
        context! {
            csrf_token => session.csrf_token,
            activity_id => activity.id,
            name => activity.name.clone(),
            gate => q.gate,
            gate_name => gate_name,
            direction => direction.0,
            direction_label => direction.1,
        },
    )
}

/// The live board of an activity: inside now per gate, arrivals and departures per
/// minute, who has not checked out, anomaly flags; pushed by server-sent events.
#[utoipa::path(
    get, path = "/console/activities/{id}/board", tag = "attendance",
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, description = "The live board", content_type = "text/html", body = String),
        (status = 303, description = "No session: to the sign-in page"),
        (status = 404, description = "No such activity of the caller's", content_type = "text/html", body = String),
    )
)]
pub(super) async fn board_page(
    State(hourmark): State<Hourmark>,
    session: ConsoleSession,
    Path(id): Path<i64>,
) -> Response {
    let Ok(activity) = hourmark.managed_activity(&session.principal, id).await else {
        return render(StatusCode::NOT_FOUND, "not_found.html", context! { what => "活动不存在，或您无权查看它。" });
    };
    let cancelled = match hourmark.cancellation_for_staff(&session.principal, id).await {
        Ok(c) => c,
        Err(e) => return ApiError(e).into_response(),
    };
    render(
        StatusCode::OK,
        "board.html",
        context! {
            csrf_token => session.csrf_token,
            role => session.role,
            activity_id => activity.id,
            name => activity.name.clone(),
            cancelled => cancelled.map(|c| context! { reason => c.reason, at => chinese_time(c.cancelled_at) }),
        },
    )
}

/// The console's scripts and style sheet, compiled into the binary (no CDN, no build step).
const ASSETS: [(&str, &str, &str); 26] = [
    ("console.css", "text/css; charset=utf-8", include_str!("static/console.css")),
    ("console.js", "text/javascript; charset=utf-8", include_str!("static/console.js")),
    ("activity-form.js", "text/javascript; charset=utf-8", include_str!("static/activity-form.js")),
    ("projector.js", "text/javascript; charset=utf-8", include_str!("static/projector.js")),
    ("screen-code.js", "text/javascript; charset=utf-8", include_str!("static/screen-code.js")),
    // Vendored unmodified, with its licence beside it (static/vendor/qrcode-generator.LICENSE).
    ("qrcode-generator.js", "text/javascript; charset=utf-8", include_str!("static/vendor/qrcode-generator.js")),
    ("screens.js", "text/javascript; charset=utf-8", include_str!("static/screens.js")),
    ("devices.js", "text/javascript; charset=utf-8", include_str!("static/devices.js")),
    ("board.js", "text/javascript; charset=utf-8", include_str!("static/board.js")),
    ("staff.js", "text/javascript; charset=utf-8", include_str!("static/staff.js")),
    ("webauthn.js", "text/javascript; charset=utf-8", include_str!("static/webauthn.js")),
    ("staff.css", "text/css; charset=utf-8", include_str!("static/staff.css")),
    ("publicity.js", "text/javascript; charset=utf-8", include_str!("static/publicity.js")),
    ("publicity.css", "text/css; charset=utf-8", include_str!("static/publicity.css")),
    ("officer.js", "text/javascript; charset=utf-8", include_str!("static/officer.js")),
    ("admin.js", "text/javascript; charset=utf-8", include_str!("static/admin.js")),
    ("oversight.css", "text/css; charset=utf-8", include_str!("static/oversight.css")),
    ("review.js", "text/javascript; charset=utf-8", include_str!("static/review.js")),
    ("review.css", "text/css; charset=utf-8", include_str!("static/review.css")),
    ("register.js", "text/javascript; charset=utf-8", include_str!("static/register.js")),
    ("signups.js", "text/javascript; charset=utf-8", include_str!("static/signups.js")),
    ("signups.css", "text/css; charset=utf-8", include_str!("static/signups.css")),
    ("join.js", "text/javascript; charset=utf-8", include_str!("static/join.js")),
    ("join.css", "text/css; charset=utf-8", include_str!("static/join.css")),
    ("exchange.js", "text/javascript; charset=utf-8", include_str!("static/exchange.js")),
    ("exchange.css", "text/css; charset=utf-8", include_str!("static/exchange.css")),
];

/// A console asset (script or style sheet).
#[utoipa::path(
    get, path = "/console/static/{file}", tag = "staff",
    params(("file" = String, Path, description = "e.g. `console.js`")),
    responses(
        (status = 200, description = "The asset", content_type = "text/javascript", body = String),
        NotFound,
    )
)]
pub(super) async fn static_asset(Path(file): Path<String>) -> Result<Response, ApiError> {
    let (_, media_type, body) = ASSETS
        .iter()
        .find(|(name, _, _)| *name == file)
        .ok_or_else(|| ApiError::refused(hourmark_core::ErrorCode::NotFound, "没有这个文件"))?;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    // Short: a new release's scripts must reach open pages soon.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    Ok(response)
}
