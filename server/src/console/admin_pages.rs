//! The administrator's pages: staff (list, invite with a copyable link and its QR,
//! re-invite), the working-day calendar's national years, and each province's star rule.
//! Each page reads through the use case its API operation uses; its forms call those
//! operations.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Datelike;
use hourmark_core::Hourmark;
use hourmark_core::identity::{Agency, Principal, QualificationState, StaffRole};
use hourmark_core::stars::StarRule;
use hourmark_http::ApiError;
use hourmark_http::extract::Query;
use minijinja::context;
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use super::ConsoleSession;
use super::officer_pages::{chinese_day, not_for_role};
use super::pages::render;

fn is_administrator(session: &ConsoleSession) -> bool {
    matches!(session.principal, Principal::Staff { role: StaffRole::Administrator, .. })
}

/// A role's Chinese name.
fn role_label(role: StaffRole) -> &'static str {
    match role {
        StaffRole::Administrator => "管理员",
        StaffRole::Organiser => "组织者",
        StaffRole::Leader => "活动负责人",
        StaffRole::Recorder => "记录员",
        StaffRole::Officer => "主管部门",
    }
}

#[derive(Serialize)]
struct StaffRow {
    id: i64,
    name: String,
    login: String,
    role: &'static str,
    place: String,
    qualification: String,
}

/// Every staff member with role and organisation (or region), a recorder's qualification,
/// a re-invite button each, and the form that invites someone new.
#[utoipa::path(
    get, path = "/console/staff", tag = "staff",
    responses(
        (status = 200, description = "The staff page", content_type = "text/html", body = String),
        (status = 303, description = "No session: to the sign-in page"),
        (status = 403, description = "Not an administrator", content_type = "text/html", body = String),
    )
)]
pub(super) async fn staff_page(State(hourmark): State<Hourmark>, session: ConsoleSession) -> Response {
    if !is_administrator(&session) {
        return not_for_role(&session, "管理员");
    }
    let (staff, organisations) = match (
        hourmark.overseen_staff(&session.principal).await,
        hourmark.list_organisations(&session.principal).await,
    ) {
        (Ok(s), Ok(o)) => (s, o),
        (Err(e), _) | (_, Err(e)) => return ApiError(e).into_response(),
    };
    let rows: Vec<StaffRow> = staff
        .into_iter()
        .map(|s| StaffRow {
            id: s.staff.id,
            name: s.staff.name,
            login: s.staff.login,
            role: role_label(s.staff.role),
            place: match (s.organisation, s.staff.region_code) {
                (Some(o), _) => o.name,
                (None, Some(region)) if s.staff.agency == Some(Agency::YouthLeague) => {
                    format!("行政区划 {region}（团委）")
                }
                (None, Some(region)) => format!("行政区划 {region}"),
                (None, None) => "—".to_owned(),
            },
            qualification: match (s.qualification.state, s.qualification.review_due_on) {
                (QualificationState::None, _) | (_, None) => String::new(),
                (QualificationState::Valid, Some(due)) => format!("有效，{}前年审", chinese_day(due)),
                (QualificationState::DueSoon, Some(due)) => format!("即将到期，{}前年审", chinese_day(due)),
                (QualificationState::Lapsed, Some(due)) => format!("已于{}过期", chinese_day(due)),
                (QualificationState::NotYetValid, Some(_)) => "尚未生效".to_owned(),
            },
        })
        .collect();
    let organisations: Vec<_> = organisations.into_iter().map(|o| context! { id => o.id, name => o.name }).collect();
    render(
        StatusCode::OK,
        "admin_staff.html",
        context! {
            csrf_token => session.csrf_token, role => session.role,
            staff => rows, organisations => organisations,
        },
    )
}

/// The years the working-day calendar knows, with their State Council notices, and the
/// form that adds a newly published year.
#[utoipa::path(
    get, path = "/console/calendar", tag = "publicity",
    responses(
        (status = 200, description = "The calendar page", content_type = "text/html", body = String),
        (status = 303, description = "No session: to the sign-in page"),
        (status = 403, description = "Not an administrator", content_type = "text/html", body = String),
    )
)]
pub(super) async fn calendar_page(State(hourmark): State<Hourmark>, session: ConsoleSession) -> Response {
    if !is_administrator(&session) {
        return not_for_role(&session, "管理员");
    }
    let years = match hourmark.calendar_years().await {
        Ok(y) => y,
        Err(e) => return ApiError(e).into_response(),
    };
    let years: Vec<_> = years
        .into_iter()
        .rev()
        .map(|(year, notice)| {
            context! {
                year => year, title => notice.title, document => notice.document,
                published => notice.published.map(|d| format!("{}年{}", d.year(), chinese_day(d))), url => notice.url,
            }
        })
        .collect();
    render(
        StatusCode::OK,
        "admin_calendar.html",
        context! { csrf_token => session.csrf_token, role => session.role, years => years },
    )
}

/// The provincial-level divisions and their codes (GB/T 2260), for the star rules desk's
/// picker. Hong Kong, Macao and Taiwan keep their own volunteer systems.
const PROVINCES: [(&str, &str); 31] = [
    ("110000", "北京市"),
    ("120000", "天津市"),
    ("130000", "河北省"),
    ("140000", "山西省"),
    ("150000", "内蒙古自治区"),
    ("210000", "辽宁省"),
    ("220000", "吉林省"),
    ("230000", "黑龙江省"),
    ("310000", "上海市"),
    ("320000", "江苏省"),
    ("330000", "浙江省"),
    ("340000", "安徽省"),
    ("350000", "福建省"),
    ("360000", "江西省"),
    ("370000", "山东省"),
    ("410000", "河南省"),
    ("420000", "湖北省"),
    ("430000", "湖南省"),
    ("440000", "广东省"),
    ("450000", "广西壮族自治区"),
    ("460000", "海南省"),
    ("500000", "重庆市"),
    ("510000", "四川省"),
    ("520000", "贵州省"),
    ("530000", "云南省"),
    ("540000", "西藏自治区"),
    ("610000", "陕西省"),
    ("620000", "甘肃省"),
    ("630000", "青海省"),
    ("640000", "宁夏回族自治区"),
    ("650000", "新疆维吾尔自治区"),
];

/// Which province the star rules desk shows.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StarRuleQuery {
    /// A region code (`530000`, or any code in the province: `530102` shows Yunnan's);
    /// without it, the desk asks which province.
    pub region: Option<String>,
}

/// A star rule as the desk shows it: the hours for each star and the complaint window.
fn rule_context(rule: &StarRule) -> minijinja::Value {
    let stars: Vec<_> = (1u8..=5).zip(rule.thresholds).map(|(n, hours)| context! { n => n, hours => hours }).collect();
    context! { stars => stars, complaint_block_days => rule.complaint_block_days }
}

/// A province's star rule at the administrator's desk: pick or enter a province, see the
/// hours it sets for one to five stars and how long a verified complaint blocks an
/// application (the national rule where it set none), and save new ones through
/// `PUT /api/v1/star-rules/{region_code}`.
#[utoipa::path(
    get, path = "/console/star-rules", tag = "stars", params(StarRuleQuery),
    responses(
        (status = 200, description = "The star rules desk", content_type = "text/html", body = String),
        (status = 303, description = "No session: to the sign-in page"),
        (status = 403, description = "Not an administrator", content_type = "text/html", body = String),
    )
)]
pub(super) async fn star_rules_page(
    State(hourmark): State<Hourmark>,
    session: ConsoleSession,
    Query(q): Query<StarRuleQuery>,
) -> Response {
    if !is_administrator(&session) {
        return not_for_role(&session, "管理员");
    }
    // Kept short: it is shown back in the field and, when it is no code, in the notice.
    let entered: String = q.region.as_deref().map(str::trim).unwrap_or_default().chars().take(20).collect();
    let provinces: Vec<_> = PROVINCES.iter().map(|(code, name)| context! { code => *code, name => *name }).collect();
    let national = rule_context(&StarRule::default());
    let (province, notice) = if entered.is_empty() {
        (None, None)
    } else if !hourmark_core::identity::is_region_code(&entered) {
        (None, Some(format!("“{entered}”不是行政区划代码：须为六位数字，如云南省 530000。")))
    } else {
        (Some(hourmark_core::stars::province_of(&entered)), None)
    };
    let Some(code) = province else {
        return render(
            StatusCode::OK,
            "admin_star_rules.html",
            context! {
                csrf_token => session.csrf_token, role => session.role, provinces => provinces,
                national => national, entered => entered, notice => notice,
            },
        );
    };
    // The same use case `GET /api/v1/star-rules/{region_code}` answers with.
    let rule = match hourmark.star_rule(&code).await {
        Ok(r) => r,
        Err(e) => return ApiError(e).into_response(),
    };
    let name =
        PROVINCES.iter().find(|(c, _)| *c == code).map_or_else(|| format!("行政区划 {code}"), |(_, n)| (*n).to_owned());
    render(
        StatusCode::OK,
        "admin_star_rules.html",
        context! {
            csrf_token => session.csrf_token, role => session.role, provinces => provinces,
            national => national, entered => entered, notice => notice,
            code => code, name => name, rule => rule_context(&rule),
            // Said when the entered code was a county's or city's, not the province's own.
            from_region => (entered != code).then_some(entered.clone()),
            is_national => rule == StarRule::default(),
        },
    )
}
