//! The civil-affairs and Youth League officer's pages: organisation applications to check
//! or approve (and revocation), report batches to confirm or return, and the volunteers
//! who served in the region, masked until a reveal the audit log records. Each page reads
//! through the use case its API operation uses; its buttons call those operations.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate};
use hourmark_core::Hourmark;
use hourmark_core::error::{CoreError, ErrorCode};
use hourmark_core::identity::{Agency, OrganisationKind, OrganisationStatus, Principal, StaffRole};
use hourmark_core::privacy::{REGION_VOLUNTEERS_PAGE, RegionVolunteers};
use hourmark_core::reporting::BatchStatus;
use hourmark_http::ApiError;
use hourmark_http::extract::Query;
use minijinja::context;
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use super::ConsoleSession;
use super::pages::{chinese_time, render};

/// `12月5日`.
pub(super) fn chinese_day(day: NaiveDate) -> String {
    format!("{}月{}日", day.month(), day.day())
}

/// `2小时15分`, `45分`, `3小时` (negative for reversals: `-3小时`).
pub(super) fn hours_and_minutes(minutes: i64) -> String {
    let sign = if minutes < 0 { "-" } else { "" };
    let (h, m) = (minutes.abs() / 60, minutes.abs() % 60);
    match (h, m) {
        (0, m) => format!("{sign}{m}分"),
        (h, 0) => format!("{sign}{h}小时"),
        (h, m) => format!("{sign}{h}小时{m}分"),
    }
}

/// The refusal page when someone signed in opens a page that is not for their role: the
/// page says whose it is, and nothing is read.
pub(super) fn not_for_role(session: &ConsoleSession, whose: &str) -> Response {
    render(
        StatusCode::FORBIDDEN,
        "forbidden.html",
        context! {
            csrf_token => session.csrf_token,
            role => session.role,
            what => format!("此页面仅供{whose}使用。"),
        },
    )
}

/// The page a Youth League officer gets for civil affairs' work: which department
/// handles it and what the Youth League does here instead (a 403 page, never a
/// problem+json answer to a page load).
pub(super) fn civil_affairs_work(session: &ConsoleSession, work: &str) -> Response {
    render(
        StatusCode::FORBIDDEN,
        "forbidden.html",
        context! {
            csrf_token => session.csrf_token,
            role => session.role,
            what => format!("{work}由民政部门办理。团委负责批准本省高校志愿者组织的记录资格，请到“机构”页面（记录机构审批）办理。"),
        },
    )
}

/// A refusal of what a page reads: `forbidden` (to an officer, only ever their
/// department's) becomes [`civil_affairs_work`]; anything else is answered as the API would.
pub(super) fn refused_page(session: &ConsoleSession, error: CoreError, work: &str) -> Response {
    match error {
        CoreError::Refused { code: ErrorCode::Forbidden, .. } => civil_affairs_work(session, work),
        other => ApiError(other).into_response(),
    }
}

fn is_officer(session: &ConsoleSession) -> bool {
    matches!(session.principal, Principal::Staff { role: StaffRole::Officer, .. })
}

#[derive(Serialize)]
struct OrganisationRow {
    id: i64,
    name: String,
    region_code: String,
    kind: &'static str,
    status: &'static str,
    status_key: &'static str,
}

/// The organisations in the officer's region (only university groups for the Youth
/// League): applications to check, checked ones to approve, approved ones to revoke.
#[utoipa::path(
    get, path = "/console/organisations", tag = "staff",
    responses(
        (status = 200, description = "The organisations page", content_type = "text/html", body = String),
        (status = 303, description = "No session: to the sign-in page"),
        (status = 403, description = "Not a civil-affairs or Youth League officer", content_type = "text/html", body = String),
    )
)]
pub(super) async fn organisations_page(State(hourmark): State<Hourmark>, session: ConsoleSession) -> Response {
    if !is_officer(&session) {
        return not_for_role(&session, "民政部门和团委");
    }
    let (organisations, profile) =
        match (hourmark.list_organisations(&session.principal).await, hourmark.staff_profile(&session.principal).await)
        {
            (Ok(o), Ok(p)) => (o, p),
            (Err(e), _) | (_, Err(e)) => return ApiError(e).into_response(),
        };
    // The Youth League approves university groups; checking and revoking are civil affairs'.
    let civil_affairs = profile.staff.agency != Some(Agency::YouthLeague);
    let mut rows: Vec<OrganisationRow> = organisations
        .into_iter()
        .map(|o| {
            let (status, status_key) = match o.status {
                OrganisationStatus::Applied => ("待初审", "applied"),
                OrganisationStatus::Checked => ("已初审，待批准", "checked"),
                OrganisationStatus::Approved => ("已批准", "approved"),
                OrganisationStatus::Revoked => ("已撤销记录资格", "revoked"),
            };
            OrganisationRow {
                id: o.id,
                name: o.name,
                region_code: o.region_code,
                kind: if o.kind == OrganisationKind::University { "高校志愿者组织" } else { "记录机构" },
                status,
                status_key,
            }
        })
        .collect();
    // Work waiting first: applications, then checked ones, then the rest.
    rows.sort_by_key(|r| (["applied", "checked", "approved", "revoked"].iter().position(|s| *s == r.status_key), r.id));
    render(
        StatusCode::OK,
        "officer_organisations.html",
        context! {
            csrf_token => session.csrf_token, role => session.role, organisations => rows,
            civil_affairs => civil_affairs,
        },
    )
}

#[derive(Serialize)]
struct BatchRow {
    id: i64,
    organisation: String,
    county_code: String,
    status: &'static str,
    pending: bool,
    entries: u32,
    duration: String,
    submitted: String,
    reason: Option<String>,
}

/// The report batches sent to departments within the officer's region, waiting ones
/// first: confirm, or return with the reasons; each as CSV, all as one XLSX workbook.
#[utoipa::path(
    get, path = "/console/batches", tag = "reporting",
    responses(
        (status = 200, description = "The report batches page", content_type = "text/html", body = String),
        (status = 303, description = "No session: to the sign-in page"),
        (status = 403, description = "Not an officer; or a Youth League officer, told that civil affairs handles it", content_type = "text/html", body = String),
    )
)]
pub(super) async fn batches_page(State(hourmark): State<Hourmark>, session: ConsoleSession) -> Response {
    if !is_officer(&session) {
        return not_for_role(&session, "民政部门和团委");
    }
    let (batches, organisations) = match (
        hourmark.report_batches(&session.principal).await,
        hourmark.list_organisations(&session.principal).await,
    ) {
        (Ok(b), Ok(o)) => (b, o),
        (Err(e), _) | (_, Err(e)) => return refused_page(&session, e, "报送批次的确认和退回"),
    };
    let names: BTreeMap<i64, String> = organisations.into_iter().map(|o| (o.id, o.name)).collect();
    let mut rows: Vec<BatchRow> = batches
        .into_iter()
        .map(|b| BatchRow {
            id: b.id,
            organisation: names
                .get(&b.organisation_id)
                .cloned()
                .unwrap_or_else(|| format!("组织 {}", b.organisation_id)),
            county_code: b.county_code,
            status: match b.status {
                BatchStatus::Submitted => "待确认",
                BatchStatus::Confirmed => "已确认",
                BatchStatus::Returned => "已退回",
            },
            pending: b.status == BatchStatus::Submitted,
            entries: b.entries,
            duration: hours_and_minutes(b.minutes),
            submitted: chinese_time(b.submitted_at),
            reason: b.reason,
        })
        .collect();
    rows.sort_by_key(|r| (!r.pending, std::cmp::Reverse(r.id)));
    render(
        StatusCode::OK,
        "officer_batches.html",
        context! { csrf_token => session.csrf_token, role => session.role, batches => rows },
    )
}

/// Which volunteer the volunteers page shows in detail, or which page of the list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct VolunteerQuery {
    /// A volunteer's id; without it, the list.
    pub id: Option<i64>,
    /// Only volunteer numbers starting with these digits.
    pub number: Option<String>,
    /// The list after this volunteer number (the previous page's last).
    pub after: Option<String>,
}

#[derive(Serialize)]
struct AuditRow {
    at: String,
    action: String,
    by: String,
}

/// The volunteers who served in the officer's region (scanned at an activity of one of its
/// organisations), masked, fifty a page by volunteer number, searchable by number. One
/// volunteer in detail shows the masked profile, the button that
/// reveals the numbers after saying that the reveal is recorded, and the audit log.
#[utoipa::path(
    get, path = "/console/volunteers", tag = "staff", params(VolunteerQuery),
    responses(
        (status = 200, description = "The volunteers page", content_type = "text/html", body = String),
        (status = 303, description = "No session: to the sign-in page"),
        (status = 403, description = "Not an officer; or a Youth League officer, told that civil affairs handles it", content_type = "text/html", body = String),
        (status = 404, description = "No such volunteer in the officer's region", content_type = "text/html", body = String),
    )
)]
pub(super) async fn volunteers_page(
    State(hourmark): State<Hourmark>,
    session: ConsoleSession,
    Query(q): Query<VolunteerQuery>,
) -> Response {
    if !is_officer(&session) {
        return not_for_role(&session, "民政部门和团委");
    }
    let by = &session.principal;
    if let Some(id) = q.id {
        let (profile, audit) = match (
            hourmark.volunteer_for_staff(by, id).await,
            hourmark.volunteer_audit(by, id).await,
        ) {
            (Ok(p), Ok(a)) => (p, a),
            _ => {
                return render(
                    StatusCode::NOT_FOUND,
                    "not_found.html",
                    context! { csrf_token => session.csrf_token, role => session.role, what => "您的辖区内没有这位志愿者。" },
                );
            }
        };
        let audit: Vec<AuditRow> = audit
            .iter()
            .rev()
            .map(|e| AuditRow {
                at: chinese_time(e.at),
                action: audit_action(&e.action),
                by: match (e.actor_kind.as_str(), e.actor_id) {
                    ("staff", Some(id)) => format!("工作人员 {id}"),
                    ("volunteer", _) => "志愿者本人".to_owned(),
                    _ => "系统".to_owned(),
                },
            })
            .collect();
        return render(
            StatusCode::OK,
            "officer_volunteer.html",
            context! {
                csrf_token => session.csrf_token, role => session.role,
                volunteer => context! {
                    id => profile.id, number => profile.volunteer_number, name => profile.name,
                    birth_month => profile.birth_month, id_number => profile.id_number, phone => profile.phone,
                    skills => profile.skills.join("、"),
                },
                audit => audit,
            },
        );
    }
    let number = q.number.as_deref().map(str::trim).unwrap_or_default();
    // A search that is no volunteer number finds no one, and the page says why.
    let (page, notice) = match hourmark.volunteers_served_in_region(by, number, q.after.as_deref()).await {
        Ok(p) => (p, None),
        Err(CoreError::Refused { code: ErrorCode::InvalidParameter, detail }) => {
            (RegionVolunteers { volunteers: Vec::new(), next: None }, Some(detail))
        }
        Err(e) => return refused_page(&session, e, "辖区志愿者的查看"),
    };
    let volunteers: Vec<_> = page
        .volunteers
        .iter()
        .map(|p| {
            context! {
                id => p.id, number => p.volunteer_number, name => p.name, phone => p.phone, id_number => p.id_number,
            }
        })
        .collect();
    render(
        StatusCode::OK,
        "officer_volunteers.html",
        context! {
            csrf_token => session.csrf_token, role => session.role, volunteers => volunteers,
            // Links carry the number only once the search accepted it: digits, nothing to escape.
            link_number => if notice.is_none() { number } else { "" },
            number => number, notice => notice, next => page.next, paged => q.after.is_some(),
            page_size => REGION_VOLUNTEERS_PAGE,
        },
    )
}

/// The audit log's actions in words.
fn audit_action(action: &str) -> String {
    match action {
        "personal_data_read" => "查看了完整身份证号和手机号".to_owned(),
        "device_rebound" => "更换了绑定的手机".to_owned(),
        "correction_decided" => "处理了更正申请".to_owned(),
        other => other.to_owned(),
    }
}
