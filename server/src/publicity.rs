//! Publicity: the public board (JSON and a plain HTML page), and the working-day calendar
//! officers keep current.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use hourmark_core::Hourmark;
use hourmark_core::calendar::{Notice, Overlay, YearArrangement};
use hourmark_core::error::Problem;
use hourmark_core::publicity::{BoardLine, PeriodPreview, RegionCalendar};
use hourmark_core::publicity::{NewObjection, Objection, ObjectionDecision};
use hourmark_mini_program_api::ApiError;
use hourmark_mini_program_api::extract::{ClientAddress, Json, MaybeCaller, Path, Query, StaffCaller};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn router() -> OpenApiRouter<Hourmark> {
    OpenApiRouter::new()
        .routes(routes!(board))
        .routes(routes!(board_page))
        .routes(routes!(calendar_years, add_calendar_year))
        .routes(routes!(public_calendar_days))
        .routes(routes!(public_calendar_period))
        .routes(routes!(put_calendar_overlay))
        .routes(routes!(remove_calendar_overlay))
        .routes(routes!(raise_objection))
        .routes(routes!(set_publicity_days))
        .routes(routes!(activity_objections))
        .routes(routes!(decide_objection))
}

/// A page of the board.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BoardPage {
    /// Show entries after this `entry_id` (the last one of the previous page); default 0.
    #[serde(default)]
    pub after: i64,
    /// At most this many lines, 1–500; default 200.
    #[serde(default = "default_board_limit")]
    pub limit: i64,
}

fn default_board_limit() -> i64 {
    200
}

/// What is in publicity (公示) now, a page at a time (oldest first): activity,
/// organisation, day, a masked name for volunteers who consented to publicity (`志愿者`
/// otherwise), hours, the period's end and where the entry stands (`in_publicity`, `held`
/// for the calendar, or `objection_pending` while an objection is open). Never an ID or
/// phone number.
#[utoipa::path(
    get, path = "/api/v1/public/publicity", tag = "publicity", params(BoardPage),
    responses(
        (status = 200, body = Vec<BoardLine>),
        (status = 400, description = "`invalid_parameter`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn board(
    State(hourmark): State<Hourmark>,
    Query(page): Query<BoardPage>,
) -> Result<axum::Json<Vec<BoardLine>>, ApiError> {
    Ok(axum::Json(hourmark.publicity_board(page.after, page.limit).await?))
}

fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// The public board as a plain HTML page (for a notice board screen or a phone).
#[utoipa::path(
    get, path = "/publicity", tag = "publicity", params(BoardPage),
    responses(
        (status = 200, description = "The board", content_type = "text/html", body = String),
        (status = 400, description = "`invalid_parameter`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn board_page(State(hourmark): State<Hourmark>, Query(page): Query<BoardPage>) -> Result<Response, ApiError> {
    let limit = page.limit.clamp(1, 500);
    let lines = hourmark.publicity_board(page.after, limit).await?;
    let next = match lines.last() {
        Some(last) if lines.len() as i64 == limit => {
            format!("<p><a href=\"/publicity?after={}&amp;limit={limit}\">下一页</a></p>", last.entry_id)
        }
        _ => String::new(),
    };
    let mut rows = String::new();
    for l in &lines {
        let ends = match l.ends_on {
            Some(day) => day.format("%Y-%m-%d").to_string(),
            None => "待定".to_owned(),
        };
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{}</td></tr>\n",
            escape(&l.activity),
            escape(&l.organisation),
            l.day.format("%Y-%m-%d"),
            escape(&l.name),
            l.hours,
            ends,
            l.status.label()
        ));
    }
    if lines.is_empty() {
        rows.push_str("<tr><td colspan=\"7\">目前没有公示中的记录</td></tr>\n");
    }
    let page = format!(
        "<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>志愿服务记录公示</title>\
         <style>body{{font-family:system-ui,sans-serif;margin:1rem}}table{{border-collapse:collapse;width:100%}}\
         td,th{{border:1px solid #ccc;padding:.3rem .5rem;text-align:left}}</style></head><body>\
         <h1>志愿服务记录公示</h1><p>公示期内如有异议，请向组织方或当地民政部门反映。</p>\
         <table><thead><tr><th>活动</th><th>组织</th><th>日期</th><th>志愿者</th><th>时长（小时）</th>\
         <th>公示截止</th><th>状态</th></tr></thead><tbody>\n{rows}</tbody></table>{next}</body></html>\n"
    );
    let mut response = axum::response::Html(page).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// A year the calendar knows.
#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarYear {
    /// The year.
    pub year: i32,
    /// The State Council notice it follows.
    pub notice: Notice,
}

/// The years the working-day calendar knows, with their notices.
#[utoipa::path(
    get, path = "/api/v1/calendar/years", tag = "publicity", security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<CalendarYear>),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden` (a volunteer token)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn calendar_years(
    State(hourmark): State<Hourmark>,
    StaffCaller(_by): StaffCaller,
) -> Result<axum::Json<Vec<CalendarYear>>, ApiError> {
    let years = hourmark.calendar_years().await?;
    Ok(axum::Json(years.into_iter().map(|(year, notice)| CalendarYear { year, notice }).collect()))
}

/// The days of a region's calendar to show.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CalendarRange {
    /// The region, six GB/T 2260 digits (e.g. 532301); overlays of the region and of the
    /// regions above it apply.
    pub region_code: String,
    /// The first day, YYYY-MM-DD.
    #[param(value_type = String, format = Date)]
    pub from: chrono::NaiveDate,
    /// The last day, YYYY-MM-DD: at most 366 days from `from`, counting both.
    #[param(value_type = String, format = Date)]
    pub to: chrono::NaiveDate,
}

/// The working-day calendar publicity periods in a region are counted on: each day from
/// `from` to `to`, whether it is a working day and why (weekday, weekend, a festival or a
/// make-up working day of the State Council's notice, a regional day off or working day),
/// or `unknown` where the notice it needs has not been added (from 29 December on, that
/// includes the next year's notice). Public.
#[utoipa::path(
    get, path = "/api/v1/public/calendar/days", tag = "publicity", params(CalendarRange),
    responses(
        (status = 200, body = RegionCalendar),
        (status = 400, description = "`region_code_invalid`; `date_range_invalid` (`to` before `from`, or more than 366 days); `invalid_parameter` (a missing parameter, or a day that is not YYYY-MM-DD)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn public_calendar_days(
    State(hourmark): State<Hourmark>,
    Query(range): Query<CalendarRange>,
) -> Result<axum::Json<RegionCalendar>, ApiError> {
    Ok(axum::Json(hourmark.region_calendar(&range.region_code, range.from, range.to).await?))
}

/// A publication to preview: a region and a length, or an organisation.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PeriodQuestion {
    /// The region, six GB/T 2260 digits (not with `organisation_id`).
    #[serde(default)]
    pub region_code: Option<String>,
    /// Working days, 3 to 30 (not with `organisation_id`); the province's setting if absent.
    #[serde(default)]
    pub working_days: Option<u32>,
    /// An approved organisation: its region and its configured length.
    #[serde(default)]
    pub organisation_id: Option<i64>,
    /// The day of publication, YYYY-MM-DD; today (Asia/Shanghai) if absent.
    #[serde(default)]
    #[param(value_type = Option<String>, format = Date)]
    pub published_on: Option<chrono::NaiveDate>,
}

/// The publicity period a publication on a day would get: the working days counted, its
/// last day and the day it would be recorded from, or that it would be held and for which
/// year's State Council notice. Counted by the rule real publications use. Public.
#[utoipa::path(
    get, path = "/api/v1/public/calendar/period", tag = "publicity", params(PeriodQuestion),
    responses(
        (status = 200, body = PeriodPreview),
        (status = 400, description = "`region_code_invalid`; `invalid_parameter` (neither `region_code` nor `organisation_id`, `organisation_id` with either of the others, `working_days` outside 3 to 30, a day that is not YYYY-MM-DD)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found` (no such approved organisation)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn public_calendar_period(
    State(hourmark): State<Hourmark>,
    Query(question): Query<PeriodQuestion>,
) -> Result<axum::Json<PeriodPreview>, ApiError> {
    let preview = hourmark
        .preview_publicity_period(
            question.region_code.as_deref(),
            question.organisation_id,
            question.working_days,
            question.published_on,
        )
        .await?;
    Ok(axum::Json(preview))
}

/// Add a newly published year's national arrangement (administrators and civil-affairs
/// officers): no release needed. Held publicity periods resume once their year is known.
#[utoipa::path(
    post, path = "/api/v1/calendar/years", tag = "publicity", request_body = YearArrangement,
    security(("bearer" = [])),
    responses(
        (status = 200, body = YearArrangement),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`invalid_body` (also: unsound, or already known), `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn add_calendar_year(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Json(year): Json<YearArrangement>,
) -> Result<axum::Json<YearArrangement>, ApiError> {
    Ok(axum::Json(hourmark.add_calendar_year(&by, year).await?))
}

/// Set a regional day off or working day (a civil-affairs officer, for their region or a
/// region below it), e.g. Chuxiong's 火把节.
#[utoipa::path(
    put, path = "/api/v1/calendar/overlays", tag = "publicity", request_body = Overlay,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Overlay),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden` (also: outside the officer's region)", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`invalid_body`, `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn put_calendar_overlay(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Json(overlay): Json<Overlay>,
) -> Result<axum::Json<Overlay>, ApiError> {
    Ok(axum::Json(hourmark.put_calendar_overlay(&by, overlay).await?))
}

/// Object (异议) to an entry in publicity: anyone may, during its period, with contact
/// details that stay private. An open objection holds the entry past its period until a
/// recorder decides. Staff may not object to a decision of their own.
#[utoipa::path(
    post, path = "/api/v1/public/publicity/{entry_id}/objections", tag = "publicity", request_body = NewObjection,
    params(("entry_id" = i64, Path, description = "The board line's `entry_id`")),
    responses(
        (status = 201, body = Objection),
        (status = 401, description = "`unauthenticated` (a bad token: without one, anonymous)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`own_decision`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`not_in_publicity` (after the period, or recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited` (see `Retry-After`)", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`invalid_body`, `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn raise_objection(
    State(hourmark): State<Hourmark>,
    ClientAddress(client): ClientAddress,
    MaybeCaller(by): MaybeCaller,
    Path(entry_id): Path<i64>,
    Json(new): Json<NewObjection>,
) -> Result<(StatusCode, axum::Json<Objection>), ApiError> {
    hourmark.limit("register", &client.to_string(), hourmark.settings().rate_limits.registration_per_client).await?;
    Ok((StatusCode::CREATED, axum::Json(hourmark.raise_objection(by.as_ref(), entry_id, new).await?)))
}

/// The objections to an activity's published entries (reviewers; never the contact).
#[utoipa::path(
    get, path = "/api/v1/activities/{id}/objections", tag = "publicity", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, body = Vec<Objection>),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn activity_objections(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<axum::Json<Vec<Objection>>, ApiError> {
    Ok(axum::Json(hourmark.activity_objections(&by, id).await?))
}

/// Uphold an objection (the session is corrected and that entry's publicity starts again)
/// or dismiss it, with a reason: a qualified recorder of the organisation. Once; audited.
#[utoipa::path(
    post, path = "/api/v1/objections/{id}/decision", tag = "publicity", request_body = ObjectionDecision,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Objection id")),
    responses(
        (status = 200, body = Objection),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`; `own_decision` (the recorder who finalised the activity)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`objection_decided`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`minutes_over_cap`, `invalid_body`", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn decide_objection(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Json(decision): Json<ObjectionDecision>,
) -> Result<axum::Json<Objection>, ApiError> {
    Ok(axum::Json(hourmark.decide_objection(&by, id, decision).await?))
}

/// Set how many working days publicity lasts (at least 3) for an organisation or a
/// province: administrators, or civil-affairs officers for their own region.
#[utoipa::path(
    put, path = "/api/v1/publicity/working-days", tag = "publicity",
    request_body = hourmark_core::publicity::PublicityDays, security(("bearer" = [])),
    responses(
        (status = 200, body = hourmark_core::publicity::PublicityDays),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden` (also: outside the officer's region)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`invalid_body`, `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn set_publicity_days(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Json(rule): Json<hourmark_core::publicity::PublicityDays>,
) -> Result<axum::Json<hourmark_core::publicity::PublicityDays>, ApiError> {
    Ok(axum::Json(hourmark.set_publicity_days(&by, rule).await?))
}

/// Remove a regional day off or working day set by mistake (a civil-affairs officer, for
/// their region or a region below it). Periods already computed keep their end.
#[utoipa::path(
    delete, path = "/api/v1/calendar/overlays/{region_code}/{day}", tag = "publicity", security(("bearer" = [])),
    params(
        ("region_code" = String, Path, description = "GB/T 2260 region code"),
        ("day" = String, Path, description = "YYYY-MM-DD"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "`invalid_parameter`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden` (also: outside the officer's region)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn remove_calendar_overlay(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path((region_code, day)): Path<(String, chrono::NaiveDate)>,
) -> Result<StatusCode, ApiError> {
    hourmark.remove_calendar_overlay(&by, &region_code, day).await?;
    Ok(StatusCode::NO_CONTENT)
}
