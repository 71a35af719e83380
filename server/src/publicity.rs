//! Publicity: the public board (JSON, and a page for phones with an objection form), and the working-day calendar
//! officers keep current.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use hourmark_core::Hourmark;
use hourmark_core::calendar::{Notice, Overlay, YearArrangement};
use hourmark_core::error::Problem;
use hourmark_core::notification::{format_day, format_minutes};
use hourmark_core::publicity::{BoardFilter, BoardFormat, BoardLine, BoardQuery, BoardStatus, PeriodPreview};
use hourmark_core::publicity::{NewObjection, Objection, ObjectionDecision};
use hourmark_core::publicity::{RegionCalendar, UNNAMED};
use hourmark_http::ApiError;
use hourmark_http::extract::{ClientAddress, Json, MaybeCaller, Path, Query, StaffCaller};
use hourmark_http::responses::{
    Forbidden, InvalidParameter, NotFound, RateLimited, Unauthenticated, VolunteerTokenForbidden,
};
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

/// A page of the board, optionally narrowed to an organisation, an activity or a day.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BoardPage {
    /// Show entries after this `entry_id` (the last one of the previous page); default 0.
    #[serde(default)]
    pub after: i64,
    /// At most this many lines, 1–500; default 200.
    #[serde(default = "default_board_limit")]
    pub limit: i64,
    /// Only this organisation's entries (its `organisation_id` on a board line); positive.
    #[serde(default, deserialize_with = "blank_is_absent")]
    #[param(value_type = Option<i64>)]
    pub organisation_id: Option<i64>,
    /// Only this activity's entries (its `activity_id` on a board line); positive.
    #[serde(default, deserialize_with = "blank_is_absent")]
    #[param(value_type = Option<i64>)]
    pub activity_id: Option<i64>,
    /// Only entries for this day served, YYYY-MM-DD.
    #[serde(default, deserialize_with = "blank_is_absent")]
    #[param(value_type = Option<String>, format = Date)]
    pub day: Option<chrono::NaiveDate>,
}

impl BoardPage {
    fn filter(&self) -> BoardFilter {
        BoardFilter { organisation_id: self.organisation_id, activity_id: self.activity_id, day: self.day }
    }

    /// The answer this page asks for, with the limit as it will be applied.
    fn query(&self, format: BoardFormat) -> BoardQuery {
        BoardQuery { format, after: self.after, limit: self.limit.clamp(1, 500), filter: self.filter() }
    }

    /// The filter as a query string to carry onto the next page's link (ids and a day
    /// need no escaping).
    fn filter_query(&self) -> String {
        let mut query = String::new();
        if let Some(id) = self.organisation_id {
            query.push_str(&format!("&organisation_id={id}"));
        }
        if let Some(id) = self.activity_id {
            query.push_str(&format!("&activity_id={id}"));
        }
        if let Some(day) = self.day {
            query.push_str(&format!("&day={}", day.format("%Y-%m-%d")));
        }
        query
    }
}

/// An empty value counts as absent: the page's filter form sends `day=` when no day is
/// chosen, and that is no filter, not a bad day.
fn blank_is_absent<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let text: Option<String> = serde::Deserialize::deserialize(deserializer)?;
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => text.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

fn default_board_limit() -> i64 {
    200
}

/// What is in publicity (公示) now, a page at a time (oldest first), optionally only an
/// organisation's, an activity's or a day's: activity, organisation, day, a masked name
/// for volunteers who consented to publicity (`未公开姓名` otherwise), minutes (and hours
/// to one decimal, for older clients), the period's end and where the entry stands
/// (`in_publicity`, `held` for the calendar, or `objection_pending` while an objection is
/// open). Never an ID or phone number. The board is the same for everyone, so an
/// answer may be up to a second old (`HOURMARK_PUBLIC_BOARD_CACHE_MS`); a change made
/// through the same instance (an objection, say) shows on the next read.
#[utoipa::path(
    get, path = "/api/v1/public/publicity", tag = "publicity", params(BoardPage),
    responses(
        (status = 200, body = Vec<BoardLine>),
        (status = 400, description = "`invalid_parameter` (a number or day that does not parse, an id that is not positive)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn board(State(hourmark): State<Hourmark>, Query(page): Query<BoardPage>) -> Result<Response, ApiError> {
    let body = hourmark
        .public_board_answer(page.query(BoardFormat::Json), |lines| {
            serde_json::to_vec(&lines)
                .map(bytes::Bytes::from)
                .map_err(|e| hourmark_core::CoreError::Internal(format!("board JSON: {e}")))
        })
        .await?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response())
}

/// One card of the board page, as the template shows it.
#[derive(Serialize)]
struct BoardCard {
    entry_id: i64,
    activity_id: i64,
    activity: String,
    organisation_id: i64,
    organisation: String,
    day: String,
    name: String,
    named: bool,
    duration: String,
    ends_on: String,
    status: &'static str,
    status_class: &'static str,
    objectable: bool,
}

/// The public board as a page for a phone (cards; wider cards side by side on a wide
/// screen), with the same filters as the JSON and an objection form on each entry that
/// its script posts to the objection operation.
#[utoipa::path(
    get, path = "/publicity", tag = "publicity", params(BoardPage),
    responses(
        (status = 200, description = "The board", content_type = "text/html", body = String),
        (status = 400, description = "`invalid_parameter` (a number or day that does not parse, an id that is not positive)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn board_page(State(hourmark): State<Hourmark>, Query(page): Query<BoardPage>) -> Result<Response, ApiError> {
    let query = page.query(BoardFormat::Page);
    let body = hourmark.public_board_answer(query, |lines| board_html(&hourmark, &page, lines)).await?;
    let mut response = axum::response::Html(body).into_response();
    // Public and the same for everyone, but it changes as entries are objected to.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// The board page of `lines`, the page `page` asked for.
fn board_html(
    hourmark: &Hourmark,
    page: &BoardPage,
    lines: Vec<BoardLine>,
) -> Result<bytes::Bytes, hourmark_core::CoreError> {
    let limit = page.limit.clamp(1, 500);
    let today = hourmark_core::activity::to_shanghai(hourmark.now()).date_naive();
    let next = match lines.last() {
        Some(last) if lines.len() as i64 == limit => {
            Some(format!("/publicity?after={}&limit={limit}{}", last.entry_id, page.filter_query()))
        }
        _ => None,
    };
    // The filter's names come from the lines it matched; with none, the number says which.
    let organisation = page
        .organisation_id
        .map(|id| lines.first().map_or_else(|| format!("组织编号 {id}"), |l| l.organisation.clone()));
    let activity =
        page.activity_id.map(|id| lines.first().map_or_else(|| format!("活动编号 {id}"), |l| l.activity.clone()));
    let cards: Vec<BoardCard> = lines
        .into_iter()
        .map(|l| BoardCard {
            entry_id: l.entry_id,
            activity_id: l.activity_id,
            activity: l.activity,
            organisation_id: l.organisation_id,
            organisation: l.organisation,
            day: format_day(l.day),
            named: l.name != UNNAMED,
            name: l.name,
            duration: format_minutes(i64::from(l.minutes)),
            ends_on: l.ends_on.map_or_else(|| "待定".to_owned(), format_day),
            status: l.status.label(),
            status_class: match l.status {
                BoardStatus::InPublicity => "open",
                BoardStatus::Held => "held",
                BoardStatus::ObjectionPending => "pending",
            },
            objectable: l.ends_on.is_none_or(|end| today <= end),
        })
        .collect();
    let html = crate::console::render_html(
        "publicity.html",
        minijinja::context! {
            cards => cards,
            next => next,
            organisation_id => page.organisation_id,
            organisation => organisation,
            activity_id => page.activity_id,
            activity => activity,
            day => page.day.map(|d| d.format("%Y-%m-%d").to_string()),
            filtered => page.organisation_id.is_some() || page.activity_id.is_some() || page.day.is_some(),
        },
    )?;
    Ok(bytes::Bytes::from(html))
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
        Unauthenticated,
        VolunteerTokenForbidden,
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
        Unauthenticated,
        Forbidden,
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
        Unauthenticated,
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
        NotFound,
        (status = 409, description = "`not_in_publicity` (after the period, or recorded)", body = Problem, content_type = "application/problem+json"),
        RateLimited,
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
        Unauthenticated,
        Forbidden,
        NotFound,
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
        Unauthenticated,
        (status = 403, description = "`forbidden`; `own_decision` (the recorder who finalised the activity)", body = Problem, content_type = "application/problem+json"),
        NotFound,
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
        Unauthenticated,
        (status = 403, description = "`forbidden` (also: outside the officer's region)", body = Problem, content_type = "application/problem+json"),
        NotFound,
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
        InvalidParameter,
        Unauthenticated,
        (status = 403, description = "`forbidden` (also: outside the officer's region)", body = Problem, content_type = "application/problem+json"),
        NotFound,
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
