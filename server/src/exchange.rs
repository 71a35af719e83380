//! Exchange with the national volunteer information system (exports in the shape of its
//! bulk-import spreadsheets), and roster imports (an organisation's existing volunteers
//! from its own spreadsheet). The rules live in `hourmark_core::exchange` and
//! `hourmark_core::roster`; this is their HTTP surface.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hourmark_core::error::Problem;
use hourmark_core::exchange::{ExchangeCell, ExchangeExport, ExportRequest};
use hourmark_core::roster::historic::HistoricImport;
use hourmark_core::roster::import::PastRosterImport;
use hourmark_core::roster::{RosterImportRecord, RosterReport, SheetEncoding};
use hourmark_core::{CoreError, ErrorCode, Hourmark};
use hourmark_http::ApiError;
use hourmark_http::extract::{Json, Path, Query, StaffCaller};
use hourmark_http::responses::{Forbidden, InvalidParameter, NotFound, Unauthenticated};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The largest roster file accepted: 100,000 rows of a full roster are about 12 MiB as
/// CSV and less as XLSX.
pub const ROSTER_MAX_BYTES: usize = 32 * 1024 * 1024;

/// Rows per page when writing an export.
const PAGE: i64 = 500;

pub(crate) fn router() -> OpenApiRouter<Hourmark> {
    OpenApiRouter::new()
        .routes(routes!(roster_dry_run))
        .routes(routes!(import_roster, roster_imports))
        .routes(routes!(historic_hours))
        .routes(routes!(create_export, exports))
        .routes(routes!(export_csv))
        .routes(routes!(export_xlsx))
}

/// How to read an uploaded roster.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RosterQuery {
    /// `auto` (default: UTF-8 if the bytes are valid UTF-8, else GBK), `utf-8` or `gbk`.
    /// XLSX files need none.
    #[serde(default)]
    #[param(value_type = Option<String>)]
    pub encoding: Option<SheetEncoding>,
}

/// How to read an uploaded roster, and what to call it.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RosterImportQuery {
    /// `auto` (default: UTF-8 if the bytes are valid UTF-8, else GBK), `utf-8` or `gbk`.
    /// XLSX files need none.
    #[serde(default)]
    #[param(value_type = Option<String>)]
    pub encoding: Option<SheetEncoding>,
    /// The file's name, kept with the import and shown in the list of past imports (at
    /// most 255 characters, no control characters).
    pub file_name: Option<String>,
}

async fn roster_bytes(body: Body) -> Result<bytes::Bytes, ApiError> {
    axum::body::to_bytes(body, ROSTER_MAX_BYTES).await.map_err(|_| {
        ApiError::from(CoreError::refused(
            ErrorCode::PayloadTooLarge,
            format!("花名册文件不能超过 {} MiB", ROSTER_MAX_BYTES / 1024 / 1024),
        ))
    })
}

/// Check a roster (CSV in UTF-8 or GBK, or XLSX; Chinese headers) without importing it:
/// every refused row with its spreadsheet row number, a code and why, and how many
/// volunteers it would register or link. The file is the request body. The
/// organisation's organisers, administrators.
#[utoipa::path(
    post, path = "/api/v1/organisations/{id}/roster-imports/dry-run", tag = "exchange", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Organisation id"), RosterQuery),
    request_body(content = Vec<u8>, content_type = "text/csv"),
    responses(
        (status = 200, body = RosterReport),
        InvalidParameter,
        Unauthenticated,
        Forbidden,
        NotFound,
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`roster_encoding`, `roster_format`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn roster_dry_run(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Query(query): Query<RosterQuery>,
    body: Body,
) -> Result<axum::Json<RosterReport>, ApiError> {
    let file = roster_bytes(body).await?;
    Ok(axum::Json(hourmark.roster_dry_run(&by, id, file, query.encoding.unwrap_or_default()).await?))
}

/// Import a roster, all or nothing: any refused row refuses the whole file
/// (`roster_invalid`) and nothing is written. New volunteers are registered with the
/// consents they signed on paper (and the notice version); volunteers already registered
/// (same ID number) are linked to the organisation's roster, not registered again.
/// A refused import is kept (state `refused`, with how many rows were refused) for the
/// list of past imports. Audited. The organisation's organisers, administrators.
#[utoipa::path(
    post, path = "/api/v1/organisations/{id}/roster-imports", tag = "exchange", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Organisation id"), RosterImportQuery),
    request_body(content = Vec<u8>, content_type = "text/csv"),
    responses(
        (status = 201, body = RosterImportRecord),
        InvalidParameter,
        Unauthenticated,
        Forbidden,
        NotFound,
        (status = 409, description = "`id_number_taken`, `phone_taken` (registered meanwhile)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`roster_encoding`, `roster_format`, `roster_invalid`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn import_roster(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Query(query): Query<RosterImportQuery>,
    body: Body,
) -> Result<(StatusCode, axum::Json<RosterImportRecord>), ApiError> {
    let file = roster_bytes(body).await?;
    let encoding = query.encoding.unwrap_or_default();
    let record = hourmark.import_roster(&by, id, file, encoding, query.file_name.as_deref()).await?;
    Ok((StatusCode::CREATED, axum::Json(record)))
}

/// The organisation's past roster imports, newest first (the latest 100): when, by whom,
/// the file's name, rows imported (registered and linked) or refused, and where each
/// stands (`published`; `refused` for its rows; `failed` part way, nothing of it kept;
/// `publishing`). The organisation's organisers, administrators.
#[utoipa::path(
    get, path = "/api/v1/organisations/{id}/roster-imports", tag = "exchange", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Organisation id")),
    responses(
        (status = 200, body = Vec<PastRosterImport>),
        InvalidParameter,
        Unauthenticated,
        Forbidden,
        NotFound,
    )
)]
async fn roster_imports(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<axum::Json<Vec<PastRosterImport>>, ApiError> {
    Ok(axum::Json(hourmark.past_roster_imports(&by, id).await?))
}

/// Historic service hours from before Hourmark (CSV or XLSX: 志愿者编号 or 证件号码,
/// 服务日期, 服务时长（分钟）, 纸质凭证编号, optionally 说明): each row becomes a late
/// entry (补录) with its paper evidence's reference, waiting for a second recorder, then
/// publicity; never straight into the register. The whole file is checked first; any
/// refused row refuses it (`roster_invalid`, naming the rows) and nothing is written. A
/// qualified recorder of the activity's organisation.
#[utoipa::path(
    post, path = "/api/v1/activities/{id}/historic-hours", tag = "exchange", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id"), RosterQuery),
    request_body(content = Vec<u8>, content_type = "text/csv"),
    responses(
        (status = 201, body = HistoricImport),
        InvalidParameter,
        Unauthenticated,
        (status = 403, description = "`forbidden` (not a qualified recorder of the organisation)", body = Problem, content_type = "application/problem+json"),
        NotFound,
        (status = 409, description = "`activity_finalised`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`roster_encoding`, `roster_format`, `roster_invalid`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn historic_hours(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Query(query): Query<RosterQuery>,
    body: Body,
) -> Result<(StatusCode, axum::Json<HistoricImport>), ApiError> {
    let file = roster_bytes(body).await?;
    let done = hourmark.import_historic_hours(&by, id, file, query.encoding.unwrap_or_default()).await?;
    Ok((StatusCode::CREATED, axum::Json(done)))
}

/// Export for the national volunteer information system: every volunteer, activity or
/// confirmed service record of the organisation not yet exported (or one confirmed
/// batch's), recorded item by item so nothing is sent twice or skipped. Volunteers whose
/// consent does not cover it are held back (counted, sent later). The organisation's
/// organisers and recorders, civil-affairs officers whose region covers it,
/// administrators. Audited.
#[utoipa::path(
    post, path = "/api/v1/organisations/{id}/exchange-exports", tag = "exchange", request_body = ExportRequest,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Organisation id")),
    responses(
        (status = 201, body = ExchangeExport),
        Unauthenticated,
        Forbidden,
        (status = 404, description = "`not_found` (also: outside the officer's region, another organisation's batch)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`batch_not_confirmed`, `nothing_to_export`", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`invalid_body`, `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_export(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Json(request): Json<ExportRequest>,
) -> Result<(StatusCode, axum::Json<ExchangeExport>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(hourmark.create_exchange_export(&by, id, request).await?)))
}

/// The organisation's exports for the national system, newest first: what was sent when.
#[utoipa::path(
    get, path = "/api/v1/organisations/{id}/exchange-exports", tag = "exchange", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Organisation id")),
    responses(
        (status = 200, body = Vec<ExchangeExport>),
        Unauthenticated,
        Forbidden,
        NotFound,
    )
)]
async fn exports(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<axum::Json<Vec<ExchangeExport>>, ApiError> {
    Ok(axum::Json(hourmark.exchange_exports(&by, id).await?))
}

fn cell_text(cell: &ExchangeCell) -> String {
    match cell {
        ExchangeCell::Text(s) => crate::reporting::csv_field(&serde_json::Value::String(s.clone())),
        // Whole numbers as integers ("180", not "180.0"): spreadsheets read both, people one.
        ExchangeCell::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => {
            crate::reporting::csv_field(&serde_json::json!(*n as i64))
        }
        ExchangeCell::Number(n) => crate::reporting::csv_field(&serde_json::json!(n)),
    }
}

/// An export's file as CSV (UTF-8 with a byte-order mark, Chinese headers), streamed page
/// by page. Downloading again gives the same rows: the export is what was recorded.
#[utoipa::path(
    get, path = "/api/v1/exchange-exports/{id}/export.csv", tag = "exchange", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Export id")),
    responses(
        (status = 200, description = "CSV", content_type = "text/csv", body = String),
        Unauthenticated,
        Forbidden,
        NotFound,
    )
)]
async fn export_csv(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let export = hourmark.exchange_export(&by, id).await?;
    let header_line = format!("\u{feff}{}\r\n", Hourmark::exchange_headers(export.kind).join(","));
    let header = futures_util::stream::once(async move { Ok::<_, std::io::Error>(header_line) });
    let pages = futures_util::stream::unfold(Some((hourmark, export, 0i64)), move |state| async move {
        let (hourmark, export, after) = state?;
        match hourmark.exchange_export_rows(&export, after, PAGE).await {
            Ok(rows) if rows.is_empty() => None,
            Ok(rows) => {
                let last = rows.last().map_or(after, |(p, _)| *p);
                let chunk: String = rows
                    .iter()
                    .map(|(_, cells)| format!("{}\r\n", cells.iter().map(cell_text).collect::<Vec<_>>().join(",")))
                    .collect();
                Some((Ok(chunk), Some((hourmark, export, last))))
            }
            Err(e) => {
                tracing::error!(error = %e, export_id = id, "an exchange CSV failed part way");
                Some((Err(std::io::Error::other(e.to_string())), None))
            }
        }
    });
    let mut response = Body::from_stream(futures_util::StreamExt::chain(header, pages)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"hourmark-exchange-{id}.csv\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// An export's file as XLSX (one sheet, Chinese headers, ID and phone numbers as text),
/// written in constant memory and streamed.
#[utoipa::path(
    get, path = "/api/v1/exchange-exports/{id}/export.xlsx", tag = "exchange", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Export id")),
    responses(
        (status = 200, description = "XLSX", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = String),
        Unauthenticated,
        Forbidden,
        NotFound,
    )
)]
async fn export_xlsx(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let export = hourmark.exchange_export(&by, id).await?;
    let path = std::env::temp_dir().join(format!("hourmark-exchange-{}.xlsx", uuid::Uuid::new_v4().simple()));
    let runtime = tokio::runtime::Handle::current();
    let written = path.clone();
    tokio::task::spawn_blocking(move || write_workbook(&runtime, &hourmark, &export, &written))
        .await
        .map_err(|e| CoreError::Internal(format!("export task failed: {e}")))??;
    crate::reporting::xlsx_file_response(&path, &format!("hourmark-exchange-{id}.xlsx")).await
}

fn write_workbook(
    runtime: &tokio::runtime::Handle,
    hourmark: &Hourmark,
    export: &ExchangeExport,
    path: &std::path::Path,
) -> Result<(), CoreError> {
    use rust_xlsxwriter::Workbook;
    let xlsx = |e: rust_xlsxwriter::XlsxError| CoreError::Internal(format!("xlsx: {e}"));
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet_with_constant_memory().map_err(xlsx)?;
    sheet
        .set_name(match export.kind {
            hourmark_core::exchange::ExchangeKind::Volunteers => "志愿者",
            hourmark_core::exchange::ExchangeKind::Activities => "活动",
            hourmark_core::exchange::ExchangeKind::ServiceRecords => "服务记录",
        })
        .map_err(xlsx)?;
    for (col, title) in (0u16..).zip(Hourmark::exchange_headers(export.kind)) {
        sheet.write_string(0, col, title).map_err(xlsx)?;
    }
    let mut row_number = 1u32;
    let mut after = 0;
    loop {
        let rows = runtime.block_on(hourmark.exchange_export_rows(export, after, PAGE))?;
        let Some((last, _)) = rows.last() else { break };
        after = *last;
        for (_, cells) in &rows {
            for (col, cell) in (0u16..).zip(cells) {
                match cell {
                    ExchangeCell::Text(s) => sheet.write_string(row_number, col, s).map_err(xlsx)?,
                    ExchangeCell::Number(n) => sheet.write_number(row_number, col, *n).map_err(xlsx)?,
                };
            }
            row_number += 1;
        }
    }
    workbook.save(path).map_err(xlsx)
}
