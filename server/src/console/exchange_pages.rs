//! The exchange desks: importing an organisation's roster (名册导入) and exporting for the
//! national volunteer information system (报送导出). Each page reads through the use case
//! its API operation uses; its script sends the file or the request to that operation
//! (`/api/v1/organisations/{id}/roster-imports[/dry-run]`,
//! `/api/v1/organisations/{id}/exchange-exports`), so the page and an API client meet the
//! same checks.
//!
//! ```text
//! 名册导入: choose file ─► 试运行 (dry run: every refused row, in Chinese)
//!           └─ no refusal ─► 导入 (all or nothing) ─► what was registered and linked
//! 报送导出: kind, batch, code ─► 生成 ─► the list of exports (what, when, how many)
//!           └─ each export downloads as CSV or Excel, the same rows every time
//! ```
//!
//! Who: the roster is the organisation's organisers' and administrators' (as the API
//! decides); exports are also its recorders' and the civil-affairs officers' whose region
//! covers it. Administrators and officers pick the organisation first.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Datelike;
use hourmark_core::Hourmark;
use hourmark_core::error::{CoreError, ErrorCode};
use hourmark_core::exchange::{ExchangeExport, ExchangeKind};
use hourmark_core::identity::{Organisation, Principal, StaffRole};
use hourmark_core::roster::ROSTER_COLUMNS;
use hourmark_core::roster::import::{PastRosterImport, RosterImportState};
use hourmark_http::ApiError;
use hourmark_http::extract::Query;
use minijinja::context;
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use super::ConsoleSession;
use super::officer_pages::{not_for_role, refused_page};
use super::pages::{chinese_time, render};

/// Which organisation's desk (administrators and officers; others have their own).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OrganisationQuery {
    /// The organisation's id.
    pub organisation: Option<i64>,
}

#[derive(Serialize)]
struct OrganisationChoice {
    id: i64,
    name: String,
    region_code: String,
}

/// The organisation the desk is for: the caller's own, or the one an administrator or
/// officer asked for among those they see. `Err` is the page to answer instead (the
/// chooser when none was asked for, not found when it is not theirs to see).
async fn desk_organisation(
    hourmark: &Hourmark,
    session: &ConsoleSession,
    asked: Option<i64>,
    chooser: (&str, &str),
) -> Result<Organisation, Response> {
    let organisations = match hourmark.list_organisations(&session.principal).await {
        Ok(o) => o,
        Err(e) => return Err(ApiError(e).into_response()),
    };
    let own = matches!(session.principal, Principal::Staff { organisation_id: Some(_), .. });
    // Staff of an organisation have only their own desk; asking for another's finds nothing.
    let wanted = if own { asked.or(organisations.first().map(|o| o.id)) } else { asked };
    match wanted {
        Some(id) => organisations.into_iter().find(|o| o.id == id).ok_or_else(|| {
            render(StatusCode::NOT_FOUND, "not_found.html", context! { what => "组织不存在，或不在您的管理范围内。" })
        }),
        None => {
            let (template, title) = chooser;
            let choices: Vec<OrganisationChoice> = organisations
                .into_iter()
                .map(|o| OrganisationChoice { id: o.id, name: o.name, region_code: o.region_code })
                .collect();
            Err(render(
                StatusCode::OK,
                "exchange_choose.html",
                context! {
                    csrf_token => session.csrf_token, role => session.role, organisations => choices,
                    action => template, title => title,
                },
            ))
        }
    }
}

#[derive(Serialize)]
struct ColumnHelp {
    header: &'static str,
    also: String,
    required: bool,
}

/// One past import as the roster desk lists it.
#[derive(Serialize)]
struct PastImportRow {
    id: i64,
    at: String,
    by: String,
    file_name: String,
    rows: u32,
    registered: u32,
    linked: u32,
    refused: u32,
    state: &'static str,
    state_zh: &'static str,
}

/// What the desk calls each state (the script says the same of an import it just made).
fn state_zh(state: RosterImportState) -> &'static str {
    match state {
        RosterImportState::Publishing => "导入中",
        RosterImportState::Published => "已导入",
        RosterImportState::Failed => "失败，未保留数据",
        RosterImportState::Refused => "未通过校验",
    }
}

impl From<PastRosterImport> for PastImportRow {
    fn from(p: PastRosterImport) -> Self {
        let i = p.import;
        let local = hourmark_core::activity::to_shanghai(i.created_at);
        Self {
            id: i.id,
            at: format!("{}年{}", local.year(), chinese_time(i.created_at)),
            by: p.imported_by_name,
            file_name: i.file_name.unwrap_or_default(),
            rows: i.rows,
            registered: i.registered,
            linked: i.linked,
            refused: i.refused_rows,
            state: i.state.as_str(),
            state_zh: state_zh(i.state),
        }
    }
}

/// The roster desk: the columns a roster needs, the file to choose, its dry run's report
/// row by row, then the import; below, the organisation's past imports.
#[utoipa::path(
    get, path = "/console/roster", tag = "exchange", params(OrganisationQuery),
    responses(
        (status = 200, description = "The roster desk (or, for an administrator, the organisation to choose)", content_type = "text/html", body = String),
        (status = 303, description = "No session: to the sign-in page"),
        (status = 400, description = "`invalid_parameter`", body = hourmark_core::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organiser of an organisation nor an administrator", content_type = "text/html", body = String),
        (status = 404, description = "No such organisation", content_type = "text/html", body = String),
    )
)]
pub(super) async fn roster_page(
    State(hourmark): State<Hourmark>,
    session: ConsoleSession,
    Query(q): Query<OrganisationQuery>,
) -> Response {
    if !matches!(
        session.principal,
        Principal::Staff { role: StaffRole::Administrator, .. }
            | Principal::Staff { role: StaffRole::Organiser, organisation_id: Some(_), .. }
    ) {
        return not_for_role(&session, "记录机构的组织者和管理员");
    }
    let organisation =
        match desk_organisation(&hourmark, &session, q.organisation, ("/console/roster", "名册导入")).await {
            Ok(o) => o,
            Err(page) => return page,
        };
    let past: Vec<PastImportRow> = match hourmark.past_roster_imports(&session.principal, organisation.id).await {
        Ok(past) => past.into_iter().map(PastImportRow::from).collect(),
        Err(e) => return ApiError(e).into_response(),
    };
    let columns: Vec<ColumnHelp> = ROSTER_COLUMNS
        .iter()
        .map(|c| ColumnHelp { header: c.headers[0], also: c.headers[1..].join("、"), required: c.required })
        .collect();
    render(
        StatusCode::OK,
        "exchange_roster.html",
        context! {
            csrf_token => session.csrf_token, role => session.role,
            organisation_id => organisation.id, organisation_name => organisation.name,
            columns => columns, max_mib => crate::exchange::ROSTER_MAX_BYTES / 1024 / 1024,
            past => past,
        },
    )
}

/// What the national system's bulk imports call each export, as the page says it.
fn kind_zh(kind: ExchangeKind) -> &'static str {
    match kind {
        ExchangeKind::Volunteers => "志愿者",
        ExchangeKind::Activities => "活动",
        ExchangeKind::ServiceRecords => "服务记录",
    }
}

#[derive(Serialize)]
struct ExportRow {
    id: i64,
    kind: &'static str,
    batch: String,
    code: String,
    items: u32,
    held: u32,
    at: String,
}

impl From<ExchangeExport> for ExportRow {
    fn from(e: ExchangeExport) -> Self {
        Self {
            id: e.id,
            kind: kind_zh(e.kind),
            // Without a batch: everything of its kind not sent before (for volunteers, the
            // roster too, not only those with confirmed records).
            batch: e.batch_id.map_or_else(|| "全部未导出过的".to_owned(), |b| format!("报送批次 {b}")),
            code: e.organisation_code.unwrap_or_default(),
            items: e.items,
            held: e.held_for_consent,
            at: chinese_time(e.exported_at),
        }
    }
}

/// The export desk: the form that records a new export of what is confirmed and not yet
/// sent, and every export so far, newest first, each to download as CSV or Excel.
#[utoipa::path(
    get, path = "/console/exports", tag = "exchange", params(OrganisationQuery),
    responses(
        (status = 200, description = "The export desk (or, for an administrator or officer, the organisation to choose)", content_type = "text/html", body = String),
        (status = 303, description = "No session: to the sign-in page"),
        (status = 400, description = "`invalid_parameter`", body = hourmark_core::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "A leader, or a Youth League officer (told that civil affairs exports)", content_type = "text/html", body = String),
        (status = 404, description = "No such organisation in the caller's reach", content_type = "text/html", body = String),
    )
)]
pub(super) async fn exports_page(
    State(hourmark): State<Hourmark>,
    session: ConsoleSession,
    Query(q): Query<OrganisationQuery>,
) -> Response {
    if matches!(session.principal, Principal::Staff { role: StaffRole::Leader, .. }) {
        return not_for_role(&session, "记录机构的组织者、记录员，民政部门和管理员");
    }
    // The Youth League sees university groups but does not report for them.
    if session.role == "团委" {
        return refused_page(&session, CoreError::code(ErrorCode::Forbidden), "向全国志愿服务信息系统报送");
    }
    let organisation =
        match desk_organisation(&hourmark, &session, q.organisation, ("/console/exports", "报送导出")).await {
            Ok(o) => o,
            Err(page) => return page,
        };
    let exports = match hourmark.exchange_exports(&session.principal, organisation.id).await {
        Ok(e) => e,
        Err(e) => return refused_page(&session, e, "向全国志愿服务信息系统报送"),
    };
    let rows: Vec<ExportRow> = exports.into_iter().map(ExportRow::from).collect();
    render(
        StatusCode::OK,
        "exchange_exports.html",
        context! {
            csrf_token => session.csrf_token, role => session.role,
            organisation_id => organisation.id, organisation_name => organisation.name,
            exports => rows,
        },
    )
}
