//! "Signed in elsewhere": the signed-in person's sessions (this browser, other browsers,
//! API tokens), each ended with a button that calls `DELETE /api/v1/me/sessions/{id}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hourmark_core::Hourmark;
use hourmark_http::ApiError;
use minijinja::context;
use serde::Serialize;

use super::ConsoleSession;
use super::pages::{chinese_time, render};

#[derive(Serialize)]
struct DeviceRow {
    id: String,
    kind: &'static str,
    current: bool,
    since: String,
    last_seen: String,
    ends: String,
}

/// The caller's sessions: this one first, then the others, newest first.
#[utoipa::path(
    get, path = "/console/sessions", tag = "staff",
    responses(
        (status = 200, description = "The sessions page", content_type = "text/html", body = String),
        (status = 303, description = "No session: to the sign-in page"),
    )
)]
pub(super) async fn devices_page(State(hourmark): State<Hourmark>, session: ConsoleSession) -> Response {
    let mut sessions = match hourmark.sessions(&session.principal, &session.token_hash).await {
        Ok(s) => s,
        Err(e) => return ApiError(e).into_response(),
    };
    sessions.sort_by_key(|s| (!s.current, std::cmp::Reverse(s.created_at)));
    let rows: Vec<DeviceRow> = sessions
        .iter()
        .map(|s| DeviceRow {
            id: s.session_id.clone(),
            kind: if s.kind == "console" { "浏览器登录" } else { "API 令牌" },
            current: s.current,
            since: chinese_time(s.created_at),
            last_seen: s.last_seen_at.map_or_else(|| "—".to_owned(), chinese_time),
            ends: chinese_time(s.idle_expires_at.map_or(s.expires_at, |idle| idle.min(s.expires_at))),
        })
        .collect();
    let idle_minutes = hourmark.settings().console_idle.num_minutes();
    render(
        StatusCode::OK,
        "devices.html",
        context! {
            csrf_token => session.csrf_token,
            role => session.role,
            sessions => rows,
            idle_minutes => idle_minutes,
        },
    )
}
