//! The officer's oversight pages beside the decisions: the recorders of the region with
//! their qualification (annual reviews recorded from the page), and the region's own days
//! off and working days in the working-day calendar.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, Duration, NaiveDate};
use hourmark_core::Hourmark;
use hourmark_core::activity::to_shanghai;
use hourmark_core::calendar::DayReason;
use hourmark_core::identity::{Agency, Principal, QualificationState, StaffRole};
use hourmark_http::ApiError;
use minijinja::context;
use serde::Serialize;

use super::ConsoleSession;
use super::officer_pages::{chinese_day, civil_affairs_work, not_for_role, refused_page};
use super::pages::render;

fn is_officer(session: &ConsoleSession) -> bool {
    matches!(session.principal, Principal::Staff { role: StaffRole::Officer, .. })
}

/// `2027年12月1日`: due dates and regional days can lie in another year.
fn dated(day: NaiveDate) -> String {
    format!("{}年{}", day.year(), chinese_day(day))
}

#[derive(Serialize)]
struct RecorderRow {
    id: i64,
    name: String,
    organisation: String,
    certificate: String,
    state: &'static str,
    due: String,
    attention: bool,
}

/// The recorders of organisations in the officer's region, lapsed and due ones first,
/// each with the button that records an annual review passed.
#[utoipa::path(
    get, path = "/console/recorders", tag = "staff",
    responses(
        (status = 200, description = "The recorders page", content_type = "text/html", body = String),
        (status = 303, description = "No session: to the sign-in page"),
        (status = 403, description = "Not an officer; or a Youth League officer, told that civil affairs handles it", content_type = "text/html", body = String),
    )
)]
pub(super) async fn recorders_page(State(hourmark): State<Hourmark>, session: ConsoleSession) -> Response {
    if !is_officer(&session) {
        return not_for_role(&session, "民政部门和团委");
    }
    let staff = match hourmark.overseen_staff(&session.principal).await {
        Ok(s) => s,
        Err(e) => return refused_page(&session, e, "记录员的年审和续证"),
    };
    let mut rows: Vec<RecorderRow> = staff
        .into_iter()
        .filter(|s| s.staff.role == StaffRole::Recorder)
        .map(|s| {
            let state = match s.qualification.state {
                QualificationState::Valid => "有效",
                QualificationState::DueSoon => "即将到期",
                QualificationState::Lapsed => "已过期",
                QualificationState::NotYetValid => "尚未生效",
                QualificationState::None => "无证书",
            };
            RecorderRow {
                id: s.staff.id,
                name: s.staff.name,
                organisation: s.organisation.map(|o| o.name).unwrap_or_default(),
                certificate: s.staff.qualification.map(|q| q.certificate_number).unwrap_or_default(),
                state,
                due: s.qualification.review_due_on.map(dated).unwrap_or_default(),
                attention: matches!(s.qualification.state, QualificationState::Lapsed | QualificationState::DueSoon),
            }
        })
        .collect();
    rows.sort_by_key(|r| (!r.attention, r.id));
    let today = to_shanghai(hourmark.now()).date_naive().format("%Y-%m-%d").to_string();
    render(
        StatusCode::OK,
        "officer_recorders.html",
        context! { csrf_token => session.csrf_token, role => session.role, recorders => rows, today => today },
    )
}

/// The days off and working days the officer's region (or one above it) declared, for the
/// coming year, and the form that sets one.
#[utoipa::path(
    get, path = "/console/regional-days", tag = "publicity",
    responses(
        (status = 200, description = "The regional days page", content_type = "text/html", body = String),
        (status = 303, description = "No session: to the sign-in page"),
        (status = 403, description = "Not an officer; or a Youth League officer, told that civil affairs handles it", content_type = "text/html", body = String),
    )
)]
pub(super) async fn regional_days_page(State(hourmark): State<Hourmark>, session: ConsoleSession) -> Response {
    if !is_officer(&session) {
        return not_for_role(&session, "民政部门和团委");
    }
    let region = match hourmark.staff_profile(&session.principal).await {
        Ok(profile) if profile.staff.agency == Some(Agency::YouthLeague) => {
            return civil_affairs_work(&session, "地方放假和调休日期的设置");
        }
        Ok(profile) => profile.staff.region_code.unwrap_or_default(),
        Err(e) => return ApiError(e).into_response(),
    };
    let today = to_shanghai(hourmark.now()).date_naive();
    let calendar = match hourmark.region_calendar(&region, today, today + Duration::days(365)).await {
        Ok(c) => c,
        Err(e) => return ApiError(e).into_response(),
    };
    let days: Vec<_> = calendar
        .days
        .into_iter()
        .filter_map(|d| {
            let kind = match d.reason {
                DayReason::RegionalDayOff => "放假",
                DayReason::RegionalWorkingDay => "上班",
                _ => return None,
            };
            Some(context! {
                day => d.day.format("%Y-%m-%d").to_string(), shown => dated(d.day), kind => kind,
                name => d.name.unwrap_or_default(),
            })
        })
        .collect();
    render(
        StatusCode::OK,
        "officer_regional_days.html",
        context! {
            csrf_token => session.csrf_token, role => session.role,
            region => region, days => days, today => today.format("%Y-%m-%d").to_string(),
        },
    )
}
