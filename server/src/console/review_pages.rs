//! The recorder's pages: what awaits review across the organisation's activities, and one
//! activity's review (flagged days with their evidence and scans, late entries, finalising
//! with what blocks it, corrections, objections, evaluations). Everything is read through
//! the use cases behind `/api/v1/activities/{id}/review…`; every button calls those
//! operations from `static/review.js`.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use hourmark_core::activity::{Activity, to_shanghai};
use hourmark_core::attendance::Schedule;
use hourmark_core::error::ErrorCode;
use hourmark_core::identity::{Principal, StaffRole};
use hourmark_core::publicity::ObjectionStatus;
use hourmark_core::review::correction::ProposalStatus;
use hourmark_core::review::finalise::{LateEntryStatus, MinutesSource};
use hourmark_core::review::record::Grade;
use hourmark_core::review::{ActivityReview, ReviewPage, scheduled_minutes_on};
use hourmark_core::{CoreError, Hourmark};
use hourmark_http::ApiError;
use hourmark_http::extract::{Path, Query};
use minijinja::{Value, context};
use serde::Serialize;

use super::ConsoleSession;
use super::pages::{chinese_time, render};
use super::review_people::{ReviewPageQuery, listed, people_page};
use super::review_view::{day, day_and_clock, duration, flag_view, scan_row};

/// A refusal as a page: the API's 403 and 404 stay 403 and 404 (nothing is revealed
/// about another organisation's activity), anything else is the API's problem answer.
fn refused_page(e: CoreError) -> Response {
    match e.error_code() {
        ErrorCode::Forbidden => {
            render(StatusCode::FORBIDDEN, "not_found.html", context! { what => "您无权审核这个活动。" })
        }
        ErrorCode::NotFound => {
            render(StatusCode::NOT_FOUND, "not_found.html", context! { what => "活动不存在，或您无权审核它。" })
        }
        _ => ApiError(e).into_response(),
    }
}

fn is_recorder(principal: &Principal) -> bool {
    matches!(principal, Principal::Staff { role: StaffRole::Recorder, .. })
}

fn staff_id(principal: &Principal) -> Option<i64> {
    match principal {
        Principal::Staff { id, .. } => Some(*id),
        Principal::Volunteer { .. } => None,
    }
}

/// When check-out closes: finalising is refused before then.
fn checkout_closes(hourmark: &Hourmark, activity: &Activity) -> DateTime<Utc> {
    activity.ends_at + hourmark.settings().checkin.checkout_closes_after
}

/// A "not found" from a use case means "nothing there yet" for the page's optional parts.
fn optional<T>(result: Result<T, CoreError>) -> Result<Option<T>, CoreError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.error_code() == ErrorCode::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// One activity on the recorder's home, with what awaits them there.
#[derive(Serialize)]
struct AwaitingRow {
    id: i64,
    name: String,
    when: String,
    open_flags: u32,
    open_late_entries: usize,
    open_objections: usize,
    open_corrections: usize,
    state: String,
    finalisable: bool,
    href: String,
}

/// The recorder's home: the organisation's activities that have begun, each with its
/// open flags, late entries awaiting a second recorder, whether it can be finalised,
/// open objections and corrections awaiting a decision.
#[utoipa::path(
    get, path = "/console/review", tag = "review",
    responses(
        (status = 200, description = "What awaits review", content_type = "text/html", body = String),
        (status = 303, description = "No session: to the sign-in page"),
        (status = 403, description = "Not a reviewer (leaders)", content_type = "text/html", body = String),
    )
)]
pub(super) async fn review_home(State(hourmark): State<Hourmark>, session: ConsoleSession) -> Response {
    let by = &session.principal;
    if matches!(by, Principal::Staff { role: StaffRole::Leader, .. }) {
        return refused_page(CoreError::code(ErrorCode::Forbidden));
    }
    let activities = match hourmark.managed_activities(by).await {
        Ok(a) => a,
        Err(e) => return refused_page(e),
    };
    let now = hourmark.now();
    let mut rows = Vec::new();
    for activity in activities.iter().filter(|a| a.starts_at <= now) {
        match awaiting_row(&hourmark, by, activity, now).await {
            Ok(row) => rows.push(row),
            Err(e) => return refused_page(e),
        }
    }
    // Latest first: what was just run is what needs review.
    rows.reverse();
    render(
        StatusCode::OK,
        "review_home.html",
        context! {
            csrf_token => session.csrf_token,
            role => session.role,
            activities => rows,
            is_recorder => is_recorder(by),
        },
    )
}

async fn awaiting_row(
    hourmark: &Hourmark,
    by: &Principal,
    activity: &Activity,
    now: DateTime<Utc>,
) -> Result<AwaitingRow, CoreError> {
    let id = activity.id;
    let open_flags = hourmark.open_flag_count(by, id).await?;
    let late = hourmark.late_entries(by, id).await?;
    let objections = hourmark.activity_objections(by, id).await?;
    let corrections = hourmark.session_correction_proposals(by, id).await?;
    let finalised = optional(hourmark.finalisation(by, id).await)?;
    let open_late_entries = late.iter().filter(|e| e.status == LateEntryStatus::Open).count();
    let closes = checkout_closes(hourmark, activity);
    let finalisable = finalised.is_none() && now >= closes && open_flags == 0 && open_late_entries == 0;
    let state = match &finalised {
        Some(f) => format!("已于 {} 定稿", chinese_time(f.finalised_at)),
        None if now < closes => format!("签退至 {} 结束", chinese_time(closes)),
        None if finalisable => "可以定稿".to_owned(),
        None => "待处理后定稿".to_owned(),
    };
    Ok(AwaitingRow {
        id,
        name: activity.name.clone(),
        when: format!("{} – {}", chinese_time(activity.starts_at), chinese_time(activity.ends_at)),
        open_flags,
        open_late_entries,
        open_objections: objections.iter().filter(|o| o.status == ObjectionStatus::Open).count(),
        open_corrections: corrections.iter().filter(|c| c.status == ProposalStatus::Proposed).count(),
        state,
        finalisable,
        href: format!("/console/activities/{id}/review"),
    })
}

fn grade_name(grade: Grade) -> &'static str {
    match grade {
        Grade::Excellent => "优秀",
        Grade::Good => "良好",
        Grade::Pass => "合格",
        Grade::Fail => "不合格",
    }
}

fn source_name(source: MinutesSource) -> &'static str {
    match source {
        MinutesSource::Scans => "扫码",
        MinutesSource::Adjusted => "审核调整",
        MinutesSource::Rejected => "不予认可",
        MinutesSource::LateEntry => "补录",
        MinutesSource::Corrected => "已更正",
    }
}

/// Who did something: "您" for the signed-in person, who must see that a second
/// recorder is needed; otherwise the recorder's name (the number only if the person is
/// gone from the staff list).
fn who(me: Option<i64>, staff: i64, names: &BTreeMap<i64, String>) -> String {
    if me == Some(staff) {
        "您".to_owned()
    } else {
        names.get(&staff).map_or_else(|| format!("记录员 #{staff}"), |name| format!("记录员 {name}"))
    }
}

/// The flagged days as the page shows them.
fn flagged_days(review: &ActivityReview) -> Vec<Value> {
    review
        .days
        .iter()
        .map(|d| {
            context! {
                volunteer_id => d.volunteer_id,
                volunteer_name => d.volunteer_name.clone(),
                day => day(d.day),
                scan_minutes => duration(d.scan_minutes),
                cap => d.scheduled_minutes,
                cap_text => duration(d.scheduled_minutes),
                flags => d.flags.iter().map(flag_view).collect::<Vec<_>>(),
                scans => d.scans.iter().map(scan_row).collect::<Vec<_>>(),
            }
        })
        .collect()
}

/// One activity's review.
#[utoipa::path(
    get, path = "/console/activities/{id}/review", tag = "review",
    params(("id" = i64, Path, description = "Activity id"), crate::review::ReviewQuery),
    responses(
        (status = 200, description = "The activity's review", content_type = "text/html", body = String),
        (status = 400, description = "`invalid_parameter` (`after` or `limit`)", body = hourmark_core::error::Problem, content_type = "application/problem+json"),
        (status = 303, description = "No session: to the sign-in page"),
        (status = 403, description = "Not a reviewer (leaders)", content_type = "text/html", body = String),
        (status = 404, description = "No such activity of the caller's organisation", content_type = "text/html", body = String),
    )
)]
pub(super) async fn activity_review_page(
    State(hourmark): State<Hourmark>,
    session: ConsoleSession,
    Path(id): Path<i64>,
    Query(query): Query<ReviewPageQuery>,
) -> Response {
    let page = match crate::review::review_page(query.after.as_deref(), query.limit) {
        Ok(page) => page,
        Err(e) => return ApiError(e).into_response(),
    };
    match review_context(&hourmark, &session, id, page, &query).await {
        Ok(ctx) => render(StatusCode::OK, "review.html", ctx),
        Err(e) => refused_page(e),
    }
}

async fn review_context(
    hourmark: &Hourmark,
    session: &ConsoleSession,
    id: i64,
    page: ReviewPage,
    query: &ReviewPageQuery,
) -> Result<Value, CoreError> {
    let by = &session.principal;
    let me = staff_id(by);
    // The review first: it decides who may see the activity at all.
    let review = hourmark.activity_review(by, id, page).await?;
    let activity = hourmark.activity(id).await?.ok_or_else(|| CoreError::refused(ErrorCode::NotFound, "活动不存在"))?;
    let late = hourmark.late_entries(by, id).await?;
    let finalisation = optional(hourmark.finalisation(by, id).await)?;
    let objections = hourmark.activity_objections(by, id).await?;
    let corrections = hourmark.session_correction_proposals(by, id).await?;
    let evaluations = hourmark.evaluations(by, id).await?;
    // Names for the forms: whoever scanned (administrators and officers may not manage the
    // activity's sessions; they see numbers instead).
    let mut names: BTreeMap<i64, String> = BTreeMap::new();
    if let Ok(scanned) = hourmark.activity_volunteer_names(by, id).await {
        names.extend(scanned);
    }
    names.extend(review.days.iter().map(|d| (d.volunteer_id, d.volunteer_name.clone())));
    // Late entries' and objections' volunteers may never have scanned here: by number.
    let subjects = hourmark.review_subjects(by, id).await?;
    for (volunteer_id, (number, name)) in &subjects.volunteers {
        names.entry(*volunteer_id).or_insert_with(|| format!("{name}（{number}）"));
    }
    let name_of = |v: i64| names.get(&v).cloned().unwrap_or_else(|| format!("志愿者 #{v}"));

    let now = hourmark.now();
    let schedule = Schedule { starts_at: activity.starts_at, ends_at: activity.ends_at };
    let closes = checkout_closes(hourmark, &activity);
    let open_late = late.iter().filter(|e| e.status == LateEntryStatus::Open).count();
    let mut blockers = Vec::new();
    if finalisation.is_none() {
        if now < closes {
            blockers.push(format!("签退时段至 {} 结束，之后方可定稿", chinese_time(closes)));
        }
        if review.open_flags > 0 {
            blockers.push(format!("还有 {} 个标记待审核", review.open_flags));
        }
        if open_late > 0 {
            blockers.push(format!("还有 {open_late} 个补录申请待另一名记录员审批"));
        }
    }
    let late_rows: Vec<Value> = late
        .iter()
        .map(|e| {
            context! {
                id => e.id,
                volunteer => name_of(e.volunteer_id),
                day => day(e.day),
                minutes => duration(e.minutes),
                evidence => e.evidence.clone(),
                reason => e.reason.clone(),
                requested_by => who(me, e.requested_by, &subjects.staff),
                requested_at => day_and_clock(e.requested_at),
                open => e.status == LateEntryStatus::Open,
                mine => me == Some(e.requested_by),
                status => match e.status {
                    LateEntryStatus::Open => "待审批".to_owned(),
                    LateEntryStatus::Approved => format!("已批准（{}）", who(me, e.decided_by.unwrap_or_default(), &subjects.staff)),
                    LateEntryStatus::Rejected => format!("未批准（{}）", who(me, e.decided_by.unwrap_or_default(), &subjects.staff)),
                },
                decision_reason => e.decision_reason.clone(),
            }
        })
        .collect();
    // The volunteer sections below list a page of volunteers: after finalising, whoever
    // has a finalised day; before, whoever scanned or was entered late.
    let everyone: Vec<(i64, String)> = match &finalisation {
        Some(f) => {
            let ids: BTreeSet<i64> = f.sessions.iter().map(|s| s.volunteer_id).collect();
            ids.into_iter().map(|v| (v, name_of(v))).collect()
        }
        None => names.iter().map(|(id, name)| (*id, name.clone())).collect(),
    };
    let people = people_page(hourmark, by, id, &everyone, query).await?;
    // Corrections and objections as the volunteers: every undecided one, the decided
    // ones of this page's volunteers.
    let corrections = listed(&corrections, &people, |c| c.status == ProposalStatus::Proposed, |c| Some(c.volunteer_id));
    let objections = listed(
        &objections,
        &people,
        |o| o.status == ObjectionStatus::Open,
        |o| subjects.disputed.get(&o.entry_id).map(|e| e.volunteer_id),
    );
    let correction_rows: Vec<Value> = corrections
        .rows
        .iter()
        .map(|c| {
            context! {
                id => c.id,
                volunteer => name_of(c.volunteer_id),
                day => day(c.day),
                from => duration(c.from_minutes),
                to => duration(c.to_minutes),
                reason => c.reason.clone(),
                proposed_by => who(me, c.proposed_by, &subjects.staff),
                open => c.status == ProposalStatus::Proposed,
                mine => me == Some(c.proposed_by),
                status => match c.status {
                    ProposalStatus::Proposed => "待另一名记录员决定",
                    ProposalStatus::Approved => "已批准",
                    ProposalStatus::Rejected => "未批准",
                },
                decision_reason => c.decision_reason.clone(),
            }
        })
        .collect();
    let objection_rows: Vec<Value> = objections
        .rows
        .iter()
        .map(|o| {
            context! {
                id => o.id,
                entry_id => o.entry_id,
                disputed => subjects.disputed.get(&o.entry_id).map(|e| format!(
                    "{} {} {}",
                    name_of(e.volunteer_id),
                    day(e.day),
                    duration(e.minutes)
                )),
                reason => o.reason.clone(),
                raised_at => day_and_clock(o.raised_at),
                open => o.status == ObjectionStatus::Open,
                status => match o.status {
                    ObjectionStatus::Open => "待处理".to_owned(),
                    ObjectionStatus::Upheld => {
                        format!("已采纳，更正为 {}", duration(o.corrected_minutes.unwrap_or_default()))
                    }
                    ObjectionStatus::Dismissed => "未采纳".to_owned(),
                },
                decision_reason => o.decision_reason.clone(),
            }
        })
        .collect();
    let finalised_rows: Vec<Value> = finalisation
        .as_ref()
        .map(|f| {
            f.sessions
                .iter()
                .filter(|s| people.ids.contains(&s.volunteer_id))
                .map(|s| {
                    context! {
                        volunteer_id => s.volunteer_id,
                        volunteer => name_of(s.volunteer_id),
                        day => day(s.day),
                        day_iso => s.day.to_string(),
                        scan_minutes => duration(s.scan_minutes),
                        final_minutes => duration(s.final_minutes),
                        source => source_name(s.source),
                        cap => scheduled_minutes_on(&schedule, s.day),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let evaluated: BTreeMap<i64, _> = evaluations.iter().map(|e| (e.volunteer_id, e)).collect();
    // Evaluations are for who served: after finalising, a day with minutes.
    let served: BTreeSet<i64> = match &finalisation {
        Some(f) => f
            .sessions
            .iter()
            .filter(|s| s.final_minutes > 0 && people.ids.contains(&s.volunteer_id))
            .map(|s| s.volunteer_id)
            .collect(),
        None => people.ids.clone(),
    };
    let evaluation_rows: Vec<Value> = served
        .iter()
        .map(|v| {
            let e = evaluated.get(v);
            context! {
                volunteer_id => *v,
                volunteer => name_of(*v),
                grade => e.map(|e| e.grade.as_str()),
                grade_name => e.map(|e| grade_name(e.grade)),
                comment => e.map(|e| e.comment.clone()),
            }
        })
        .collect();
    let first_day = to_shanghai(activity.starts_at).date_naive();
    let last_day = to_shanghai(activity.ends_at).date_naive();
    Ok(context! {
        csrf_token => session.csrf_token.clone(),
        role => session.role,
        activity_id => id,
        name => activity.name.clone(),
        when => format!("{} – {}", chinese_time(activity.starts_at), chinese_time(activity.ends_at)),
        is_recorder => is_recorder(by),
        days => flagged_days(&review),
        open_flags => review.open_flags,
        days_total => review.days_total,
        rules_run_at => review.rules_run_at.map(day_and_clock),
        paged => page.after.is_some(),
        next => review.next.clone(),
        late_entries => late_rows,
        finalised => finalisation.as_ref().map(|f| format!("已于 {} 定稿", chinese_time(f.finalised_at))),
        finalised_sessions => finalised_rows,
        blockers => blockers,
        corrections => correction_rows,
        corrections_left => context! { open => corrections.open_left, decided => corrections.decided_left },
        objections => objection_rows,
        objections_left => context! { open => objections.open_left, decided => objections.decided_left },
        evaluations => evaluation_rows,
        ended => now >= activity.ends_at,
        people => people.view,
        first_day => first_day.to_string(),
        last_day => last_day.to_string(),
        day_cap => scheduled_minutes_on(&schedule, first_day),
    })
}
