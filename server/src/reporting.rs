//! Reporting to civil affairs: batches of register entries, their confirmation or return,
//! and exports. The CSV export streams the batch page by page, so a province-wide export
//! never holds more than one page in memory.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hourmark_core::Hourmark;
use hourmark_core::error::Problem;
use hourmark_core::identity::Principal;
use hourmark_core::publicity::RegisterRow;
use hourmark_core::reporting::{BatchReturn, ReportBatch};
use hourmark_http::ApiError;
use hourmark_http::extract::{Json, Path, StaffCaller};
use hourmark_http::responses::{Forbidden, NotFound, Unauthenticated};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn router() -> OpenApiRouter<Hourmark> {
    OpenApiRouter::new()
        .routes(routes!(submit_batch))
        .routes(routes!(report_batches))
        .routes(routes!(confirm_batch))
        .routes(routes!(return_batch))
        .routes(routes!(export_csv))
        .routes(routes!(export_xlsx))
        .routes(routes!(export_batch_xlsx))
}

/// Send the organisation's register entries not yet sent to the county-level civil-affairs
/// department of its region (its organisers and recorders, administrators).
#[utoipa::path(
    post, path = "/api/v1/organisations/{id}/report-batches", tag = "reporting", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Organisation id")),
    responses(
        (status = 201, body = ReportBatch),
        Unauthenticated,
        Forbidden,
        (status = 404, description = "`not_found` (also: another organisation's)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`nothing_to_report`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn submit_batch(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<(StatusCode, axum::Json<ReportBatch>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(hourmark.submit_batch(&by, id).await?)))
}

/// The batches the caller may see: an organisation's own, a civil-affairs department's
/// within its region, all for administrators.
#[utoipa::path(
    get, path = "/api/v1/report-batches", tag = "reporting", security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<ReportBatch>),
        Unauthenticated,
        Forbidden,
    )
)]
async fn report_batches(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
) -> Result<axum::Json<Vec<ReportBatch>>, ApiError> {
    Ok(axum::Json(hourmark.report_batches(&by).await?))
}

/// Confirm a batch (确认无误): its entries now count. A civil-affairs officer whose region
/// covers the batch's county; once; audited.
#[utoipa::path(
    post, path = "/api/v1/report-batches/{id}/confirm", tag = "reporting", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Batch id")),
    responses(
        (status = 200, body = ReportBatch),
        Unauthenticated,
        Forbidden,
        (status = 404, description = "`not_found` (also: outside the officer's region)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`batch_decided`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn confirm_batch(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<axum::Json<ReportBatch>, ApiError> {
    Ok(axum::Json(hourmark.decide_batch(&by, id, None).await?))
}

/// Return a batch with the reasons for correction; its entries may be sent again. A
/// civil-affairs officer whose region covers the batch's county; once; audited.
#[utoipa::path(
    post, path = "/api/v1/report-batches/{id}/return", tag = "reporting", request_body = BatchReturn,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Batch id")),
    responses(
        (status = 200, body = ReportBatch),
        Unauthenticated,
        Forbidden,
        (status = 404, description = "`not_found` (also: outside the officer's region)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`batch_decided`", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`invalid_body`, `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn return_batch(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Json(returned): Json<BatchReturn>,
) -> Result<axum::Json<ReportBatch>, ApiError> {
    Ok(axum::Json(hourmark.decide_batch(&by, id, Some(returned)).await?))
}

/// The CSV header (Chinese, as officers' spreadsheets expect).
const CSV_HEADER: &str =
    "登记序号,类型,志愿者编号,姓名,活动,服务日期,地点,服务对象,服务内容,时长（分钟）,服务评价,负责人,记录人,组织\r\n";

pub(crate) fn csv_field(value: &serde_json::Value) -> String {
    let text = match value {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => {
            items.iter().filter_map(serde_json::Value::as_str).collect::<Vec<_>>().join("、")
        }
        other => other.to_string(),
    };
    // Quote every field; a leading formula character is defused for spreadsheets.
    let text = if text.starts_with(['=', '+', '-', '@']) && value.is_string() { format!("'{text}") } else { text };
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// The export's columns for one register entry, in [`CSV_HEADER`]'s order.
fn export_fields(row: &RegisterRow) -> [serde_json::Value; 14] {
    let content: serde_json::Value = serde_json::from_str(&row.content).unwrap_or_default();
    let entry = if row.kind == hourmark_core::publicity::RegisterKind::Reversal { &content["entry"] } else { &content };
    let fields: [serde_json::Value; 14] = [
        serde_json::json!(row.seq),
        serde_json::json!(match row.kind {
            hourmark_core::publicity::RegisterKind::Original => "登记",
            hourmark_core::publicity::RegisterKind::Reversal => "冲销",
            hourmark_core::publicity::RegisterKind::Replacement => "更正",
        }),
        entry["volunteer_number"].clone(),
        entry["volunteer_name"].clone(),
        entry["activity_name"].clone(),
        entry["day"].clone(),
        entry["place"].clone(),
        entry["recipients"].clone(),
        entry["content"].clone(),
        serde_json::json!(row.minutes),
        entry["evaluation"].clone(),
        entry["leaders"].clone(),
        entry["recorder"].clone(),
        entry["organisation_name"].clone(),
    ];
    fields
}

fn csv_line(row: &RegisterRow) -> String {
    let fields = export_fields(row);
    let mut line = fields.iter().map(csv_field).collect::<Vec<_>>().join(",");
    line.push_str("\r\n");
    line
}

/// A batch's entries as CSV (UTF-8 with a byte-order mark, for spreadsheets), streamed
/// page by page.
#[utoipa::path(
    get, path = "/api/v1/report-batches/{id}/export.csv", tag = "reporting", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Batch id")),
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
    const PAGE: i64 = 500;
    // Refuse before the first byte, so an error is still a problem+json answer.
    hourmark.report_batch(&by, id).await?;
    struct Cursor {
        hourmark: Hourmark,
        by: Principal,
        after: Option<i64>,
    }
    let start = Cursor { hourmark, by, after: Some(0) };
    let header = futures_util::stream::once(async { Ok::<_, std::io::Error>(format!("\u{feff}{CSV_HEADER}")) });
    let pages = futures_util::stream::unfold(start, move |mut cursor| async move {
        let after = cursor.after?;
        match cursor.hourmark.batch_entries(&cursor.by, id, after, PAGE).await {
            Ok(rows) => {
                cursor.after = if (rows.len() as i64) < PAGE { None } else { rows.last().map(|r| r.seq) };
                let chunk: String = rows.iter().map(csv_line).collect();
                Some((Ok(chunk), cursor))
            }
            Err(e) => {
                tracing::error!(error = %e, batch_id = id, "a CSV export failed part way");
                cursor.after = None;
                Some((Err(std::io::Error::other(e.to_string())), cursor))
            }
        }
    });
    let body = Body::from_stream(futures_util::StreamExt::chain(header, pages));
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"hourmark-batch-{id}.csv\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// Every batch the caller may see as an XLSX workbook, one sheet per batch (Chinese
/// headers). Sheets are written in constant memory (a row at a time, the rest in temporary
/// files) and the finished file is streamed, so a province-wide export stays small in
/// memory.
#[utoipa::path(
    get, path = "/api/v1/report-batches/export.xlsx", tag = "reporting", security(("bearer" = [])),
    responses(
        (status = 200, description = "XLSX", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = String),
        Unauthenticated,
        Forbidden,
    )
)]
async fn export_xlsx(State(hourmark): State<Hourmark>, StaffCaller(by): StaffCaller) -> Result<Response, ApiError> {
    let batches = hourmark.report_batches(&by).await?;
    workbook_response(hourmark, by, batches, "hourmark-report.xlsx").await
}

/// One batch as an XLSX workbook (one sheet, Chinese headers): what an officer checks
/// before confirming, and keeps with the confirmation.
#[utoipa::path(
    get, path = "/api/v1/report-batches/{id}/export.xlsx", tag = "reporting", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Batch id")),
    responses(
        (status = 200, description = "XLSX", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = String),
        Unauthenticated,
        Forbidden,
        NotFound,
    )
)]
async fn export_batch_xlsx(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let batch = hourmark.report_batch(&by, id).await?;
    workbook_response(hourmark, by, vec![batch], &format!("hourmark-batch-{id}.xlsx")).await
}

/// Writes the batches' workbook to a temporary file and streams it.
async fn workbook_response(
    hourmark: Hourmark,
    by: Principal,
    batches: Vec<ReportBatch>,
    filename: &str,
) -> Result<Response, ApiError> {
    let path = std::env::temp_dir().join(format!("hourmark-export-{}.xlsx", uuid::Uuid::new_v4().simple()));
    let runtime = tokio::runtime::Handle::current();
    let written = path.clone();
    // The workbook is synchronous and writes files: build it on a blocking thread, which
    // waits for each page from the store in turn.
    tokio::task::spawn_blocking(move || write_workbook(&runtime, &hourmark, &by, &batches, &written))
        .await
        .map_err(|e| hourmark_core::CoreError::Internal(format!("export task failed: {e}")))??;
    xlsx_file_response(&path, filename).await
}

/// Streams a finished workbook from its temporary file (removing the name at once: the
/// open handle keeps the data readable) as an attachment called `filename`.
pub(crate) async fn xlsx_file_response(path: &std::path::Path, filename: &str) -> Result<Response, ApiError> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| hourmark_core::CoreError::Internal(format!("export file: {e}")))?;
    let _ = tokio::fs::remove_file(path).await;
    let mut response = Body::from_stream(tokio_util::io::ReaderStream::new(file)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

fn write_workbook(
    runtime: &tokio::runtime::Handle,
    hourmark: &Hourmark,
    by: &Principal,
    batches: &[ReportBatch],
    path: &std::path::Path,
) -> Result<(), hourmark_core::CoreError> {
    use rust_xlsxwriter::Workbook;
    const PAGE: i64 = 500;
    let xlsx = |e: rust_xlsxwriter::XlsxError| hourmark_core::CoreError::Internal(format!("xlsx: {e}"));
    let headers: Vec<&str> = CSV_HEADER.trim_end().split(',').collect();
    let mut workbook = Workbook::new();
    if batches.is_empty() {
        let sheet = workbook.add_worksheet();
        sheet.set_name("报送").map_err(xlsx)?;
        for (col, title) in (0u16..).zip(&headers) {
            sheet.write_string(0, col, *title).map_err(xlsx)?;
        }
    }
    for batch in batches {
        let sheet = workbook.add_worksheet_with_constant_memory().map_err(xlsx)?;
        let status = match batch.status {
            hourmark_core::reporting::BatchStatus::Submitted => "待确认",
            hourmark_core::reporting::BatchStatus::Confirmed => "已确认",
            hourmark_core::reporting::BatchStatus::Returned => "已退回",
        };
        sheet.set_name(format!("批次{}（{status}）", batch.id)).map_err(xlsx)?;
        for (col, title) in (0u16..).zip(&headers) {
            sheet.write_string(0, col, *title).map_err(xlsx)?;
        }
        let mut row_number = 1u32;
        let mut after = 0;
        loop {
            let rows = runtime.block_on(hourmark.batch_entries(by, batch.id, after, PAGE))?;
            for row in &rows {
                for (col, value) in (0u16..).zip(export_fields(row).iter()) {
                    match value {
                        serde_json::Value::Number(n) => {
                            sheet.write_number(row_number, col, n.as_f64().unwrap_or_default()).map_err(xlsx)?;
                        }
                        serde_json::Value::Null => {}
                        serde_json::Value::Array(items) => {
                            let text =
                                items.iter().filter_map(serde_json::Value::as_str).collect::<Vec<_>>().join("、");
                            sheet.write_string(row_number, col, text).map_err(xlsx)?;
                        }
                        serde_json::Value::String(s) => {
                            sheet.write_string(row_number, col, s).map_err(xlsx)?;
                        }
                        other => {
                            sheet.write_string(row_number, col, other.to_string()).map_err(xlsx)?;
                        }
                    }
                }
                row_number += 1;
            }
            match rows.last() {
                Some(last) if rows.len() as i64 == PAGE => after = last.seq,
                _ => break,
            }
        }
    }
    workbook.save(path).map_err(xlsx)
}
