//! What the register is for, at the desk: certificate requests to issue or decline (and
//! certificates to revoke), star applications and reviews to decide, an organisation's
//! time bank (its setting, and services paid from savings or the pool), and a volunteer's
//! time-bank statement as an administrator reads it. Each page reads through the use case
//! its API operation uses; its buttons call those operations.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hourmark_core::Hourmark;
use hourmark_core::certificates::{CertificateScope, PendingCertificateRequest};
use hourmark_core::error::{CoreError, ErrorCode};
use hourmark_core::identity::{Principal, StaffRole};
use hourmark_core::time_bank::{BankTransactionKind, Statement};
use hourmark_http::extract::Query;
use minijinja::context;
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use super::ConsoleSession;
use super::officer_pages::{chinese_day, hours_and_minutes, not_for_role, refused_page};
use super::pages::{chinese_time, render};
use hourmark_core::activity::to_shanghai;

/// `全部服务`, `2026年12月1日起`, `2026年12月1日至2026年12月31日`, with `（本组织）` when the
/// request is for one organisation's service.
fn scope_text(scope: &CertificateScope) -> String {
    let day = |d: chrono::NaiveDate| format!("{}年{}", chrono::Datelike::year(&d), chinese_day(d));
    let range = match (scope.from, scope.to) {
        (None, None) => "全部服务".to_owned(),
        (Some(from), None) => format!("{}起", day(from)),
        (None, Some(to)) => format!("{}止", day(to)),
        (Some(from), Some(to)) => format!("{}至{}", day(from), day(to)),
    };
    if scope.organisation_id.is_some() { format!("{range}（仅一个组织的服务）") } else { range }
}

#[derive(Serialize)]
struct RequestRow {
    id: i64,
    asked: String,
    volunteer_name: String,
    volunteer_number: String,
    scope: String,
    confirmed: String,
    days: usize,
}

impl From<PendingCertificateRequest> for RequestRow {
    fn from(p: PendingCertificateRequest) -> Self {
        Self {
            id: p.request.id,
            asked: chinese_time(p.request.created_at),
            volunteer_name: p.volunteer_name,
            volunteer_number: p.volunteer_number,
            scope: scope_text(&p.request.scope),
            confirmed: hours_and_minutes(p.confirmed_minutes),
            days: p.service_days,
        }
    }
}

/// The certificate desk: requests waiting for this recorder's organisation, or in this
/// civil-affairs officer's region, oldest first, each with what the certificate would say
/// and the forms that issue or decline it; and revoking an issued certificate by number.
#[utoipa::path(
    get, path = "/console/certificates", tag = "certificates",
    responses(
        (status = 200, description = "The certificate desk", content_type = "text/html", body = String),
        (status = 303, description = "No session: to the sign-in page"),
        (status = 403, description = "Not a recorder or officer; or a Youth League officer, told that civil affairs issues them", content_type = "text/html", body = String),
    )
)]
pub(super) async fn certificates_page(State(hourmark): State<Hourmark>, session: ConsoleSession) -> Response {
    if !matches!(session.principal, Principal::Staff { role: StaffRole::Recorder | StaffRole::Officer, .. }) {
        return not_for_role(&session, "记录员和民政部门");
    }
    let pending = match hourmark.pending_certificate_requests(&session.principal).await {
        Ok(p) => p,
        Err(e) => return refused_page(&session, e, "志愿服务记录证明的出具"),
    };
    let rows: Vec<RequestRow> = pending.into_iter().map(RequestRow::from).collect();
    let officer = matches!(session.principal, Principal::Staff { role: StaffRole::Officer, .. });
    // A recorder issues in the organisation's name, under its seal when it has one.
    let organisation_id = match session.principal {
        Principal::Staff { role: StaffRole::Recorder, organisation_id, .. } => organisation_id,
        _ => None,
    };
    render(
        StatusCode::OK,
        "register_certificates.html",
        context! {
            csrf_token => session.csrf_token, role => session.role, requests => rows, officer => officer,
            organisation_id => organisation_id,
        },
    )
}

#[derive(Serialize)]
struct StarRow {
    id: i64,
    volunteer: String,
    stars: u8,
    hours: u32,
    threshold: u32,
    asked: String,
    decide_region: String,
}

/// The star desk of a civil-affairs officer: applications waiting in the region (those
/// another level decides say which) and stars under review after a correction took the
/// holder under the threshold, each with the form that decides it.
#[utoipa::path(
    get, path = "/console/stars", tag = "stars",
    responses(
        (status = 200, description = "The star desk", content_type = "text/html", body = String),
        (status = 303, description = "No session: to the sign-in page"),
        (status = 403, description = "Not an officer; or a Youth League officer, told that civil affairs decides them", content_type = "text/html", body = String),
    )
)]
pub(super) async fn stars_page(State(hourmark): State<Hourmark>, session: ConsoleSession) -> Response {
    if !matches!(session.principal, Principal::Staff { role: StaffRole::Officer, .. }) {
        return not_for_role(&session, "民政部门");
    }
    let work = "星级志愿者的认定";
    let (applications, reviews) = match (
        hourmark.pending_star_applications(&session.principal).await,
        hourmark.open_star_reviews(&session.principal).await,
    ) {
        (Ok(a), Ok(r)) => (a, r),
        (Err(e), _) | (_, Err(e)) => return refused_page(&session, e, work),
    };
    let mut names = std::collections::BTreeMap::new();
    for id in applications.iter().map(|a| a.volunteer_id).chain(reviews.iter().map(|r| r.volunteer_id)) {
        if let std::collections::btree_map::Entry::Vacant(slot) = names.entry(id) {
            // Masked, as an officer sees any volunteer of the region; the number tells
            // them apart.
            let label = match hourmark.volunteer_for_staff(&session.principal, id).await {
                Ok(v) => format!("{}（{}）", v.name, v.volunteer_number),
                Err(_) => format!("志愿者 #{id}"),
            };
            slot.insert(label);
        }
    }
    let label = |id: i64| names.get(&id).cloned().unwrap_or_default();
    // Which department decides, in words: this officer's own, or the level above.
    let own_region = hourmark.staff_profile(&session.principal).await.ok().and_then(|p| p.staff.region_code);
    let decides = |region: String| {
        if own_region.as_deref() == Some(region.as_str()) { "本部门".to_owned() } else { format!("区划 {region}") }
    };
    let applications: Vec<StarRow> = applications
        .into_iter()
        .map(|a| StarRow {
            id: a.id,
            volunteer: label(a.volunteer_id),
            stars: a.stars,
            hours: a.hours,
            threshold: a.threshold_hours,
            asked: chinese_time(a.created_at),
            decide_region: decides(a.decide_region),
        })
        .collect();
    let reviews: Vec<StarRow> = reviews
        .into_iter()
        .map(|r| StarRow {
            id: r.id,
            volunteer: label(r.volunteer_id),
            stars: r.stars,
            hours: r.hours,
            threshold: r.threshold_hours,
            asked: chinese_time(r.created_at),
            decide_region: decides(r.decide_region),
        })
        .collect();
    render(
        StatusCode::OK,
        "register_stars.html",
        context! {
            csrf_token => session.csrf_token, role => session.role,
            applications => applications, reviews => reviews,
        },
    )
}

/// Whose statement the time bank desk shows, and which month (administrators).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TimeBankQuery {
    /// The volunteer number on the volunteer's card.
    pub number: Option<String>,
    /// The statement's month, `YYYY-MM` in Beijing time (default: this month).
    pub month: Option<String>,
}

/// The time bank desk. An organisation's organisers and recorders see its setting
/// (organisers change it) and the form that records a service paid from a volunteer's
/// savings (by the number on their card) or from the common pool. An administrator, who
/// reads any account, looks a volunteer up by number and sees the balance, a month's
/// statement with the month to choose, and the statement to download as CSV or XLSX.
#[utoipa::path(
    get, path = "/console/time-bank", tag = "time bank", params(TimeBankQuery),
    responses(
        (status = 200, description = "The time bank desk", content_type = "text/html", body = String),
        (status = 303, description = "No session: to the sign-in page"),
        (status = 403, description = "Not an organiser or recorder of an organisation, nor an administrator", content_type = "text/html", body = String),
    )
)]
pub(super) async fn time_bank_page(
    State(hourmark): State<Hourmark>,
    session: ConsoleSession,
    Query(q): Query<TimeBankQuery>,
) -> Response {
    let (role, org) = match session.principal {
        Principal::Staff { role: StaffRole::Administrator, .. } => return statement_desk(&hourmark, session, q).await,
        Principal::Staff {
            role: role @ (StaffRole::Organiser | StaffRole::Recorder),
            organisation_id: Some(org),
            ..
        } => (role, org),
        _ => return not_for_role(&session, "记录机构的组织者、记录员和管理员"),
    };
    let setting = match hourmark.time_bank_setting(&session.principal, org).await {
        Ok(s) => s,
        Err(e) => return hourmark_http::ApiError(e).into_response(),
    };
    render(
        StatusCode::OK,
        "register_time_bank.html",
        context! {
            csrf_token => session.csrf_token, role => session.role, organisation_id => org,
            may_change => role == StaffRole::Organiser,
            enabled => setting.enabled, expiry_months => setting.expiry_months,
            min_stars => setting.min_stars_to_spend,
        },
    )
}

#[derive(Serialize)]
struct StatementRow {
    at: String,
    kind: &'static str,
    change: String,
    credit: bool,
    what: String,
    organisation: String,
}

/// A transaction's kind in the words of the statement's download.
fn kind_text(kind: BankTransactionKind) -> &'static str {
    match kind {
        BankTransactionKind::Deposit => "存入",
        BankTransactionKind::Reversal => "冲回",
        BankTransactionKind::Spend => "兑换服务",
        BankTransactionKind::Donation => "转赠",
        BankTransactionKind::Expiry => "过期",
    }
}

/// `2026年12月`.
fn month_text(month: &str) -> String {
    match month.split_once('-').map(|(y, m)| (y, m.trim_start_matches('0'))) {
        Some((year, m)) => format!("{year}年{m}月"),
        None => month.to_owned(),
    }
}

/// The administrator's side of the time bank desk: the lookup by number, and once a
/// volunteer is found, the account and the month's statement through the use cases of
/// `GET /api/v1/time-bank/accounts` and `GET /api/v1/volunteers/{id}/time-bank/statement`.
/// A number no one has, or a month that is no month, is said on the page.
async fn statement_desk(hourmark: &Hourmark, session: ConsoleSession, q: TimeBankQuery) -> Response {
    let by = &session.principal;
    let this_month = hourmark_core::time_bank::current_month(hourmark.now());
    let month = q.month.as_deref().map(str::trim).filter(|m| !m.is_empty()).unwrap_or(&this_month).to_owned();
    // Shown back in the field: twelve digits at most are a number.
    let number: String = q.number.as_deref().map(str::trim).unwrap_or_default().chars().take(20).collect();
    let page = |notice: Option<String>, found: minijinja::Value| {
        render(
            StatusCode::OK,
            "register_statement.html",
            context! {
                csrf_token => session.csrf_token.clone(), role => session.role,
                number => number.clone(), month => month.clone(), this_month => this_month.clone(),
                notice => notice, found => found,
            },
        )
    };
    if number.is_empty() {
        return page(None, minijinja::Value::from(()));
    }
    // A number no one has, or a month that is no month, is said on the page; anything else
    // is the API's answer.
    let account = match hourmark.time_bank_account_by_number(by, &number).await {
        Ok(a) => a,
        Err(CoreError::Refused { code: ErrorCode::NotFound, detail }) => {
            return page(Some(format!("{detail}：{number}")), minijinja::Value::from(()));
        }
        Err(e) => return hourmark_http::ApiError(e).into_response(),
    };
    let statement: Statement = match hourmark.time_bank_statement(by, account.volunteer_id, &month).await {
        Ok(s) => s,
        Err(CoreError::Refused { code: ErrorCode::InvalidParameter, detail }) => {
            return page(Some(detail), minijinja::Value::from(()));
        }
        Err(e) => return hourmark_http::ApiError(e).into_response(),
    };
    let name = match hourmark.volunteer_for_staff(by, account.volunteer_id).await {
        Ok(v) => v.name,
        Err(_) => format!("志愿者 #{}", account.volunteer_id),
    };
    let organisations: std::collections::BTreeMap<i64, String> = match hourmark.list_organisations(by).await {
        Ok(list) => list.into_iter().map(|o| (o.id, o.name)).collect(),
        Err(e) => return hourmark_http::ApiError(e).into_response(),
    };
    let rows: Vec<StatementRow> = statement
        .lines
        .iter()
        .map(|line| {
            let t = &line.transaction;
            let mut what = t.service.clone().unwrap_or_default();
            if let Some(beneficiary) = &t.beneficiary {
                what = format!("{what}（服务对象：{beneficiary}）");
            }
            if let Some(seq) = t.register_seq {
                what = if what.is_empty() {
                    format!("登记序号 {seq}")
                } else {
                    format!("{what}，登记序号 {seq}")
                };
            }
            if t.shortfall > 0 {
                what = format!("{what}（{}已支出，未能冲回）", hours_and_minutes(t.shortfall));
            }
            StatementRow {
                at: chinese_time(t.created_at),
                kind: kind_text(t.kind),
                change: format!("{}{}", if line.change > 0 { "+" } else { "" }, hours_and_minutes(line.change)),
                credit: line.change > 0,
                what,
                organisation: t.organisation_id.and_then(|id| organisations.get(&id).cloned()).unwrap_or_default(),
            }
        })
        .collect();
    let download = |format: &str| {
        format!(
            "/api/v1/volunteers/{}/time-bank/statement?month={}&format={format}",
            account.volunteer_id, statement.month
        )
    };
    let found = context! {
        name => name, volunteer_number => number.clone(),
        balance => hours_and_minutes(account.balance_minutes),
        next_expiry => account.next_expiry.map(|at| format!("最早一笔于{}失效", chinese_day(to_shanghai(at).date_naive()))),
        month_text => month_text(&statement.month),
        opening => hours_and_minutes(statement.opening_minutes),
        closing => hours_and_minutes(statement.closing_minutes),
        lines => rows,
        csv => download("csv"), xlsx => download("xlsx"),
    };
    page(None, found)
}
