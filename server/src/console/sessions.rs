//! The sessions of an activity with their minutes: the console page, and the same rows
//! as CSV and XLSX downloads (API operations: the page only links to them). Everything is
//! read through `Hourmark::activity_sessions`, the use case behind
//! `GET /api/v1/activities/{id}/sessions`.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike, Timelike, Utc};
use hourmark_core::Hourmark;
use hourmark_core::activity::to_shanghai;
use hourmark_core::attendance::board::{SessionsQuery, VolunteerSession};
use hourmark_core::attendance::{Direction, minutes::UnpairedReason};
use hourmark_core::error::Problem;
use hourmark_core::notification::format_minutes;
use hourmark_http::ApiError;
use hourmark_http::extract::{Path, Query, StaffCaller};
use minijinja::context;
use serde::Serialize;
use serde_json::{Value, json};

use super::ConsoleSession;
use super::pages::render;

/// The columns of both downloads (Chinese, as organisers' spreadsheets expect).
const HEADER: [&str; 9] =
    ["志愿者编号", "姓名", "签到时间", "签退时间", "计入开始", "计入结束", "计入分钟", "状态", "备注"];

/// `2026-12-05 08:03` in Kunming's time (spreadsheets sort it).
fn sheet_time(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| json!(to_shanghai(t).format("%Y-%m-%d %H:%M").to_string()))
}

/// `12月5日 08:03`.
fn page_time(t: DateTime<Utc>) -> String {
    let t = to_shanghai(t);
    format!("{}月{}日 {:02}:{:02}", t.month(), t.day(), t.hour(), t.minute())
}

/// A volunteer's scans that pair with nothing, less a still-open check-in: that one is
/// already shown as the open pair credited up to now.
fn unpaired(s: &VolunteerSession) -> impl Iterator<Item = &hourmark_core::attendance::minutes::UnpairedScan> {
    s.unpaired.iter().filter(|u| {
        !(u.reason == UnpairedReason::MissingOut
            && s.pairs.iter().any(|p| p.checked_out_at.is_none() && p.checked_in_at == u.at))
    })
}

fn unpaired_words(direction: Direction, reason: UnpairedReason) -> &'static str {
    match (reason, direction) {
        (UnpairedReason::OutWithoutIn, _) => "签退前没有签到",
        (UnpairedReason::RepeatedIn, _) => "重复签到（以先前的签到为准）",
        (UnpairedReason::MissingOut, _) => "签到后没有签退",
    }
}

/// One download row per pair and per scan that pairs with nothing, volunteer by volunteer.
fn rows(sessions: &[VolunteerSession]) -> Vec<[Value; 9]> {
    let mut rows = Vec::new();
    for s in sessions {
        for pair in &s.pairs {
            let state = if pair.checked_out_at.is_none() {
                "在场（未签退）"
            } else if pair.excess {
                "超出每日次数，不计时"
            } else if pair.credited_from.is_none() {
                "不在计时范围内"
            } else {
                "已计时"
            };
            rows.push([
                json!(s.volunteer_id),
                json!(s.volunteer_name),
                sheet_time(Some(pair.checked_in_at)),
                sheet_time(pair.checked_out_at),
                sheet_time(pair.credited_from),
                sheet_time(pair.credited_to),
                json!(pair.minutes),
                json!(state),
                Value::Null,
            ]);
        }
        for scan in unpaired(s) {
            let (arrived, left) = match scan.direction {
                Direction::In => (Some(scan.at), None),
                Direction::Out => (None, Some(scan.at)),
            };
            rows.push([
                json!(s.volunteer_id),
                json!(s.volunteer_name),
                sheet_time(arrived),
                sheet_time(left),
                Value::Null,
                Value::Null,
                json!(0),
                json!("未配对"),
                json!(unpaired_words(scan.direction, scan.reason)),
            ]);
        }
    }
    rows
}

/// A CSV field, quoted, with a leading formula character defused for spreadsheets.
fn csv_field(value: &Value) -> String {
    let text = match value {
        Value::Null => String::new(),
        Value::String(s) if s.starts_with(['=', '+', '-', '@']) => format!("'{s}"),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    format!("\"{}\"", text.replace('"', "\"\""))
}

fn attachment(response: &mut Response, media_type: &'static str, file: String) {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
}

/// The activity's sessions as CSV (UTF-8 with a byte-order mark, for spreadsheets): a row
/// per check-in/check-out pair and per scan that pairs with nothing, with the minutes
/// credited. Volunteers' names are in it: for the activity's managers only, like the JSON.
#[utoipa::path(
    get, path = "/api/v1/activities/{id}/sessions.csv", tag = "attendance", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, description = "CSV", content_type = "text/csv", body = String),
        (status = 404, description = "`not_found` (no such activity of the caller's)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn sessions_csv(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let sessions = hourmark.activity_sessions(&by, id).await?;
    let mut csv = format!("\u{feff}{}\r\n", HEADER.join(","));
    for row in rows(&sessions) {
        csv.push_str(&row.iter().map(csv_field).collect::<Vec<_>>().join(","));
        csv.push_str("\r\n");
    }
    let mut response = csv.into_response();
    attachment(&mut response, "text/csv; charset=utf-8", format!("hourmark-activity-{id}-sessions.csv"));
    Ok(response)
}

/// Writes the workbook: the rows on one sheet, each volunteer's total on another.
fn workbook(sessions: &[VolunteerSession]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::Workbook;
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("签到记录")?;
    for (col, title) in (0u16..).zip(HEADER) {
        sheet.write_string(0, col, title)?;
    }
    for (row, values) in (1u32..).zip(rows(sessions)) {
        for (col, value) in (0u16..).zip(values.iter()) {
            match value {
                Value::Number(n) => {
                    sheet.write_number(row, col, n.as_f64().unwrap_or_default())?;
                }
                Value::String(s) => {
                    sheet.write_string(row, col, s)?;
                }
                _ => {}
            }
        }
    }
    let totals = workbook.add_worksheet();
    totals.set_name("汇总")?;
    for (col, title) in (0u16..).zip(["志愿者编号", "姓名", "计入分钟", "时长", "在场"]) {
        totals.write_string(0, col, title)?;
    }
    for (row, s) in (1u32..).zip(sessions) {
        totals.write_number(row, 0, s.volunteer_id as f64)?;
        totals.write_string(row, 1, &s.volunteer_name)?;
        totals.write_number(row, 2, f64::from(s.minutes_credited))?;
        totals.write_string(row, 3, format_minutes(i64::from(s.minutes_credited)))?;
        totals.write_string(row, 4, if s.inside { "是" } else { "否" })?;
    }
    workbook.save_to_buffer()
}

/// The activity's sessions as an XLSX workbook: the rows of the CSV on sheet 签到记录, each
/// volunteer's credited minutes on sheet 汇总.
#[utoipa::path(
    get, path = "/api/v1/activities/{id}/sessions.xlsx", tag = "attendance", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, description = "XLSX", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = String),
        (status = 404, description = "`not_found` (no such activity of the caller's)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn sessions_xlsx(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let sessions = hourmark.activity_sessions(&by, id).await?;
    // One activity's sessions are a few thousand rows at most: built in memory, off the
    // request threads.
    let bytes = tokio::task::spawn_blocking(move || workbook(&sessions))
        .await
        .map_err(|e| hourmark_core::CoreError::Internal(format!("export task failed: {e}")))?
        .map_err(|e| hourmark_core::CoreError::Internal(format!("xlsx: {e}")))?;
    let mut response = Body::from(bytes).into_response();
    attachment(
        &mut response,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        format!("hourmark-activity-{id}-sessions.xlsx"),
    );
    Ok(response)
}

#[derive(Serialize)]
struct PairRow {
    checked_in: String,
    checked_out: String,
    minutes: String,
    note: &'static str,
}

#[derive(Serialize)]
struct SessionRow {
    volunteer_id: i64,
    name: String,
    inside: bool,
    total: String,
    pairs: Vec<PairRow>,
    unpaired: Vec<String>,
}

/// One page of the sessions of an activity with their minutes, the activity's figures,
/// and the downloads (which hold every volunteer).
#[utoipa::path(
    get, path = "/console/activities/{id}/sessions", tag = "attendance",
    params(("id" = i64, Path, description = "Activity id"), crate::api::SessionsPageQuery),
    responses(
        (status = 200, description = "The sessions page", content_type = "text/html", body = String),
        (status = 400, description = "`invalid_parameter` (`after` or `limit`)", body = Problem, content_type = "application/problem+json"),
        (status = 303, description = "No session: to the sign-in page"),
        (status = 404, description = "No such activity of the caller's", content_type = "text/html", body = String),
    )
)]
pub(super) async fn sessions_page(
    State(hourmark): State<Hourmark>,
    session: ConsoleSession,
    Path(id): Path<i64>,
    Query(query): Query<crate::api::SessionsPageQuery>,
) -> Response {
    let Ok(activity) = hourmark.managed_activity(&session.principal, id).await else {
        return render(StatusCode::NOT_FOUND, "not_found.html", context! { what => "活动不存在，或您无权查看它。" });
    };
    let query = SessionsQuery { after: query.after, limit: query.limit.unwrap_or(SessionsQuery::DEFAULT_LIMIT) };
    let page = match hourmark.activity_sessions_page(&session.principal, id, query).await {
        Ok(page) => page,
        Err(e) => return ApiError(e).into_response(),
    };
    let shown: Vec<SessionRow> = page.sessions.iter().map(session_row).collect();
    render(
        StatusCode::OK,
        "sessions.html",
        context! {
            csrf_token => session.csrf_token,
            role => session.role,
            activity_id => activity.id,
            name => activity.name.clone(),
            volunteers => page.volunteers_total,
            inside => page.totals.inside_now,
            total => format_minutes(i64::try_from(page.totals.minutes_credited).unwrap_or(i64::MAX)),
            paged => query.after.is_some(),
            next => page.next,
            sessions => shown,
        },
    )
}

/// A volunteer's rows as the page shows them.
fn session_row(s: &VolunteerSession) -> SessionRow {
    SessionRow {
        volunteer_id: s.volunteer_id,
        name: s.volunteer_name.clone(),
        inside: s.inside,
        total: format_minutes(i64::from(s.minutes_credited)),
        pairs: s
            .pairs
            .iter()
            .map(|p| PairRow {
                checked_in: page_time(p.checked_in_at),
                checked_out: p.checked_out_at.map_or_else(|| "未签退".to_owned(), page_time),
                minutes: format_minutes(i64::from(p.minutes)),
                note: if p.checked_out_at.is_none() {
                    "在场，暂计至现在"
                } else if p.excess {
                    "超出每日次数，不计时"
                } else if p.credited_from.is_none() {
                    "不在计时范围内"
                } else {
                    ""
                },
            })
            .collect(),
        unpaired: unpaired(s)
            .map(|u| format!("{} {}", page_time(u.at), unpaired_words(u.direction, u.reason)))
            .collect(),
    }
}
