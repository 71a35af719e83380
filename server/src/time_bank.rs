//! The time bank over HTTP: organisations' settings, spends recorded by staff, the
//! volunteer's account, statements and donations, and the ledger check.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hourmark_core::Hourmark;
use hourmark_core::error::Problem;
use hourmark_core::identity::Principal;
use hourmark_core::time_bank::{
    BankTransaction, LedgerCheck, NewDonation, NewSpend, Statement, TimeBankAccount, TimeBankSetting,
};
use hourmark_http::ApiError;
use hourmark_http::extract::{Json, Path, Query, StaffCaller, VolunteerCaller};
use hourmark_http::responses::{Forbidden, NotFound, Unauthenticated};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn router() -> OpenApiRouter<Hourmark> {
    OpenApiRouter::new()
        .routes(routes!(get_setting, put_setting))
        .routes(routes!(record_spend))
        .routes(routes!(ledger_check))
        .routes(routes!(volunteer_account))
        .routes(routes!(account_by_number))
        .routes(routes!(volunteer_statement))
        .routes(routes!(my_account))
        .routes(routes!(my_statement))
        .routes(routes!(donate))
}

/// Which month, and as what.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct StatementQuery {
    /// The month, `YYYY-MM` in Beijing time (default: this month).
    #[serde(default)]
    month: Option<String>,
    /// `json` (default), `csv` (UTF-8 with a byte-order mark, for spreadsheets) or `xlsx`.
    #[serde(default)]
    format: Option<String>,
}

/// An organisation's time-bank setting (off when never set): its organisers and administrators.
#[utoipa::path(
    get, path = "/api/v1/organisations/{id}/time-bank", tag = "time bank", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Organisation id")),
    responses(
        (status = 200, body = TimeBankSetting),
        Unauthenticated,
        Forbidden,
    )
)]
async fn get_setting(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<axum::Json<TimeBankSetting>, ApiError> {
    Ok(axum::Json(hourmark.time_bank_setting(&by, id).await?))
}

/// Turns the organisation's time bank on or off and sets when its deposits lapse. Turning
/// it on saves every confirmed register minute of the organisation's volunteers so far, at
/// their next look at their account. Audited.
#[utoipa::path(
    put, path = "/api/v1/organisations/{id}/time-bank", tag = "time bank", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Organisation id")), request_body = TimeBankSetting,
    responses(
        (status = 200, body = TimeBankSetting),
        Unauthenticated,
        Forbidden,
        NotFound,
        (status = "4XX", description = "`invalid_body`, `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn put_setting(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Json(setting): Json<TimeBankSetting>,
) -> Result<axum::Json<TimeBankSetting>, ApiError> {
    Ok(axum::Json(hourmark.set_time_bank(&by, id, setting).await?))
}

/// Records a service a volunteer (or a family member they named) received, paid from their
/// savings, or from the common pool when no volunteer is given: organisers and recorders of
/// an approved organisation. Idempotent by `key`: a retry with the same contents answers
/// the first transaction again (same id, nothing posted twice); other contents are
/// `time_bank_key_reused`.
#[utoipa::path(
    post, path = "/api/v1/time-bank/spends", tag = "time bank", security(("bearer" = [])), request_body = NewSpend,
    responses(
        (status = 201, body = BankTransaction),
        Unauthenticated,
        Forbidden,
        (status = 404, description = "`not_found`: no such volunteer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`time_bank_insufficient`, `time_bank_key_reused`, `time_bank_stars_required`, `organisation_not_approved`", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`invalid_body`, `text_invalid`, `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn record_spend(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Json(spend): Json<NewSpend>,
) -> Result<(StatusCode, axum::Json<BankTransaction>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(hourmark.spend_time(&by, spend).await?)))
}

/// Whether the books balance: the sum over all accounts is zero, every transaction sums to
/// zero, every balance is the sum of its postings, and no savings account or the pool is
/// below zero (administrators).
#[utoipa::path(
    get, path = "/api/v1/time-bank/check", tag = "time bank", security(("bearer" = [])),
    responses(
        (status = 200, body = LedgerCheck),
        Unauthenticated,
        Forbidden,
    )
)]
async fn ledger_check(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
) -> Result<axum::Json<LedgerCheck>, ApiError> {
    Ok(axum::Json(hourmark.check_time_bank(&by).await?))
}

/// A volunteer's time-bank account (administrators).
#[utoipa::path(
    get, path = "/api/v1/volunteers/{id}/time-bank", tag = "time bank", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Volunteer id")),
    responses(
        (status = 200, body = TimeBankAccount),
        Unauthenticated,
        Forbidden,
        (status = 503, description = "`unavailable`: the account moved while it was settled; retry", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn volunteer_account(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<axum::Json<TimeBankAccount>, ApiError> {
    Ok(axum::Json(hourmark.time_bank_account(&by, id).await?))
}

/// Whose account: the number on the volunteer's card.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AccountQuery {
    /// The volunteer number (twelve digits).
    volunteer_number: String,
}

/// A volunteer's time-bank account found by volunteer number (administrators): the
/// answer's `volunteer_id` is what the statement operation takes.
#[utoipa::path(
    get, path = "/api/v1/time-bank/accounts", tag = "time bank", security(("bearer" = [])),
    params(AccountQuery),
    responses(
        (status = 200, body = TimeBankAccount),
        (status = 400, description = "`invalid_parameter`: no volunteer number", body = Problem, content_type = "application/problem+json"),
        Unauthenticated,
        Forbidden,
        (status = 404, description = "`not_found`: no volunteer has that number", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`unavailable`: the account moved while it was settled; retry", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn account_by_number(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Query(query): Query<AccountQuery>,
) -> Result<axum::Json<TimeBankAccount>, ApiError> {
    Ok(axum::Json(hourmark.time_bank_account_by_number(&by, &query.volunteer_number).await?))
}

/// A month of a volunteer's account (administrators), as JSON, CSV or XLSX.
#[utoipa::path(
    get, path = "/api/v1/volunteers/{id}/time-bank/statement", tag = "time bank", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Volunteer id"), StatementQuery),
    responses(
        (status = 200, description = "The month's statement", content((Statement = "application/json"), (String = "text/csv"), (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400, description = "`invalid_parameter`: month or format", body = Problem, content_type = "application/problem+json"),
        Unauthenticated,
        Forbidden,
    )
)]
async fn volunteer_statement(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Query(query): Query<StatementQuery>,
) -> Result<Response, ApiError> {
    statement(&hourmark, &by, id, query).await
}

/// My time-bank account: the minutes saved from my confirmed service and not yet spent,
/// given or lapsed, and when the next of them lapse.
#[utoipa::path(
    get, path = "/mp/v1/me/time-bank", tag = "time bank", security(("bearer" = [])),
    responses(
        (status = 200, body = TimeBankAccount),
        Unauthenticated,
        (status = 503, description = "`unavailable`: the account moved while it was settled; retry", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn my_account(
    State(hourmark): State<Hourmark>,
    VolunteerCaller(id): VolunteerCaller,
) -> Result<axum::Json<TimeBankAccount>, ApiError> {
    Ok(axum::Json(hourmark.time_bank_account(&Principal::Volunteer { id }, id).await?))
}

/// A month of my account, as JSON, CSV or XLSX.
#[utoipa::path(
    get, path = "/mp/v1/me/time-bank/statement", tag = "time bank", security(("bearer" = [])),
    params(StatementQuery),
    responses(
        (status = 200, description = "The month's statement", content((Statement = "application/json"), (String = "text/csv"), (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400, description = "`invalid_parameter`: month or format", body = Problem, content_type = "application/problem+json"),
        Unauthenticated,
    )
)]
async fn my_statement(
    State(hourmark): State<Hourmark>,
    VolunteerCaller(id): VolunteerCaller,
    Query(query): Query<StatementQuery>,
) -> Result<Response, ApiError> {
    statement(&hourmark, &Principal::Volunteer { id }, id, query).await
}

/// Gives minutes from my savings to another volunteer (by volunteer number) or to the
/// common pool. Idempotent by `key`.
#[utoipa::path(
    post, path = "/mp/v1/me/time-bank/donations", tag = "time bank", security(("bearer" = [])), request_body = NewDonation,
    responses(
        (status = 201, body = BankTransaction),
        Unauthenticated,
        (status = 404, description = "`not_found`: no volunteer has that number", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`time_bank_insufficient`, `time_bank_key_reused`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`unavailable`: the account moved while it was settled; retry", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`time_bank_self_transfer`, `invalid_body`, `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn donate(
    State(hourmark): State<Hourmark>,
    VolunteerCaller(id): VolunteerCaller,
    Json(donation): Json<NewDonation>,
) -> Result<(StatusCode, axum::Json<BankTransaction>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(hourmark.donate_time(&Principal::Volunteer { id }, donation).await?)))
}

/// The statement's columns (Chinese, as a spreadsheet reader expects).
const STATEMENT_HEADER: [&str; 8] =
    ["交易编号", "时间", "类型", "变动（分钟）", "服务内容", "受益人", "登记序号", "未能冲回（分钟）"];

/// The statement as rows under [`STATEMENT_HEADER`]: the opening balance, each line, the
/// closing balance.
fn statement_rows(statement: &Statement) -> Vec<[serde_json::Value; 8]> {
    use hourmark_core::time_bank::BankTransactionKind as Kind;
    use serde_json::{Value, json};
    let balance = |label: &str, minutes: i64| {
        [json!(label), Value::Null, Value::Null, json!(minutes), Value::Null, Value::Null, Value::Null, Value::Null]
    };
    let mut rows = vec![balance("期初余额", statement.opening_minutes)];
    for line in &statement.lines {
        let t = &line.transaction;
        let kind = match t.kind {
            Kind::Deposit => "存入",
            Kind::Reversal => "冲回",
            Kind::Spend => "兑换服务",
            Kind::Donation => "转赠",
            Kind::Expiry => "过期",
        };
        let at = t.created_at.with_timezone(&chrono_tz::Asia::Shanghai).format("%Y-%m-%d %H:%M").to_string();
        rows.push([
            json!(t.id),
            json!(at),
            json!(kind),
            json!(line.change),
            json!(t.service),
            json!(t.beneficiary),
            json!(t.register_seq),
            json!(t.shortfall),
        ]);
    }
    rows.push(balance("期末余额", statement.closing_minutes));
    rows
}

fn statement_xlsx(statement: &Statement) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(format!("时间储蓄 {}", statement.month))?;
    for (col, title) in (0u16..).zip(STATEMENT_HEADER) {
        sheet.write_string(0, col, title)?;
    }
    for (row, values) in (1u32..).zip(statement_rows(statement)) {
        for (col, value) in (0u16..).zip(values.iter()) {
            match value {
                serde_json::Value::Number(n) => {
                    sheet.write_number(row, col, n.as_f64().unwrap_or_default())?;
                }
                serde_json::Value::String(s) => {
                    sheet.write_string(row, col, s)?;
                }
                _ => {}
            }
        }
    }
    workbook.save_to_buffer()
}

async fn statement(
    hourmark: &Hourmark,
    by: &Principal,
    volunteer_id: i64,
    query: StatementQuery,
) -> Result<Response, ApiError> {
    use hourmark_core::error::{CoreError, ErrorCode};
    let format = query.format.unwrap_or_else(|| "json".to_owned());
    if !["json", "csv", "xlsx"].contains(&format.as_str()) {
        return Err(CoreError::refused(ErrorCode::InvalidParameter, "format 须为 json、csv 或 xlsx").into());
    }
    let month = query.month.unwrap_or_else(|| hourmark_core::time_bank::current_month(hourmark.now()));
    let statement = hourmark.time_bank_statement(by, volunteer_id, &month).await?;
    let (body, content_type) = match format.as_str() {
        "csv" => {
            let mut body = format!("\u{feff}{}\r\n", STATEMENT_HEADER.join(","));
            for row in statement_rows(&statement) {
                body.push_str(&row.iter().map(crate::reporting::csv_field).collect::<Vec<_>>().join(","));
                body.push_str("\r\n");
            }
            (body.into_bytes(), "text/csv; charset=utf-8")
        }
        "xlsx" => (
            statement_xlsx(&statement).map_err(|e| CoreError::Internal(format!("xlsx: {e}")))?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        _ => return Ok(axum::Json(statement).into_response()),
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let name = format!("attachment; filename=\"hourmark-time-bank-{volunteer_id}-{month}.{format}\"");
    if let Ok(value) = HeaderValue::from_str(&name) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
