//! The administrator's pages: staff (list, invite with a copyable link and its QR,
//! re-invite) and the working-day calendar's national years. Each page reads through the
//! use case its API operation uses; its forms call those operations.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Datelike;
use hourmark_core::Hourmark;
use hourmark_core::identity::{Agency, Principal, QualificationState, StaffRole};
use hourmark_mini_program_api::ApiError;
use minijinja::context;
use serde::Serialize;

use super::ConsoleSession;
use super::officer_pages::{chinese_day, not_for_role};
use super::pages::render;

fn is_administrator(session: &ConsoleSession) -> bool {
    matches!(session.principal, Principal::Staff { role: StaffRole::Administrator, .. })
}

/// A role's Chinese name.
fn role_label(role: StaffRole) -> &'static str {
    match role {
        StaffRole::Administrator => "管理员",
        StaffRole::Organiser => "组织者",
        StaffRole::Leader => "活动负责人",
        StaffRole::Recorder => "记录员",
        StaffRole::Officer => "主管部门",
    }
}

#[derive(Serialize)]
struct StaffRow {
    id: i64,
    name: String,
    login: String,
    role: &'static str,
    place: String,
    qualification: String,
}

/// Every staff member with role and organisation (or region), a recorder's qualification,
/// a re-invite button each, and the form that invites someone new.
#[utoipa::path(
    get, path = "/console/staff", tag = "staff",
    responses(
        (status = 200, description = "The staff page", content_type = "text/html", body = String),
        (status = 303, description = "No session: to the sign-in page"),
        (status = 403, description = "Not an administrator", content_type = "text/html", body = String),
    )
)]
pub(super) async fn staff_page(State(hourmark): State<Hourmark>, session: ConsoleSession) -> Response {
    if !is_administrator(&session) {
        return not_for_role(&session, "管理员");
    }
    let (staff, organisations) = match (
        hourmark.overseen_staff(&session.principal).await,
        hourmark.list_organisations(&session.principal).await,
    ) {
        (Ok(s), Ok(o)) => (s, o),
        (Err(e), _) | (_, Err(e)) => return ApiError(e).into_response(),
    };
    let rows: Vec<StaffRow> = staff
        .into_iter()
        .map(|s| StaffRow {
            id: s.staff.id,
            name: s.staff.name,
            login: s.staff.login,
            role: role_label(s.staff.role),
            place: match (s.organisation, s.staff.region_code) {
                (Some(o), _) => o.name,
                (None, Some(region)) if s.staff.agency == Some(Agency::YouthLeague) => {
                    format!("行政区划 {region}（团委）")
                }
                (None, Some(region)) => format!("行政区划 {region}"),
                (None, None) => "—".to_owned(),
            },
            qualification: match (s.qualification.state, s.qualification.review_due_on) {
                (QualificationState::None, _) | (_, None) => String::new(),
                (QualificationState::Valid, Some(due)) => format!("有效，{}前年审", chinese_day(due)),
                (QualificationState::DueSoon, Some(due)) => format!("即将到期，{}前年审", chinese_day(due)),
                (QualificationState::Lapsed, Some(due)) => format!("已于{}过期", chinese_day(due)),
                (QualificationState::NotYetValid, Some(_)) => "尚未生效".to_owned(),
            },
        })
        .collect();
    let organisations: Vec<_> = organisations.into_iter().map(|o| context! { id => o.id, name => o.name }).collect();
    render(
        StatusCode::OK,
        "admin_staff.html",
        context! {
            csrf_token => session.csrf_token, role => session.role,
            staff => rows, organisations => organisations,
        },
    )
}

/// The years the working-day calendar knows, with their State Council notices, and the
/// form that adds a newly published year.
#[utoipa::path(
    get, path = "/console/calendar", tag = "publicity",
    responses(
        (status = 200, description = "The calendar page", content_type = "text/html", body = String),
        (status = 303, description = "No session: to the sign-in page"),
        (status = 403, description = "Not an administrator", content_type = "text/html", body = String),
    )
)]
pub(super) async fn calendar_page(State(hourmark): State<Hourmark>, session: ConsoleSession) -> Response {
    if !is_administrator(&session) {
        return not_for_role(&session, "管理员");
    }
    let years = match hourmark.calendar_years().await {
        Ok(y) => y,
        Err(e) => return ApiError(e).into_response(),
    };
    let years: Vec<_> = years
        .into_iter()
        .rev()
        .map(|(year, notice)| {
            context! {
                year => year, title => notice.title, document => notice.document,
                published => notice.published.map(|d| format!("{}年{}", d.year(), chinese_day(d))), url => notice.url,
            }
        })
        .collect();
    render(
        StatusCode::OK,
        "admin_calendar.html",
        context! { csrf_token => session.csrf_token, role => session.role, years => years },
    )
}
