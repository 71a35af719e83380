//! The browser session: finishing a passkey ceremony with a cookie instead of a token in
//! the body, signing out (which clears it), and the extractor console pages use, which
//! sends a visitor without a session to the sign-in page.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use hourmark_core::Hourmark;
use hourmark_core::error::Problem;
use hourmark_core::identity::staff::StaffWithToken;
use hourmark_core::identity::{BearerToken, Principal, Staff, StaffRole};
use hourmark_core::passkeys::{FinishEnrolment, FinishSignIn};
use hourmark_core::sessions::SignedOut;
use hourmark_http::ApiError;
use hourmark_http::responses::{RateLimited, Unauthenticated};

use crate::passkeys::limit_client;
use hourmark_http::extract::{ClientAddress, CurrentSession, Json, staff_session_cookie, staff_session_cookie_name};
use serde::Serialize;
use utoipa::ToSchema;

/// A browser session just begun. The token itself is only in the HttpOnly cookie.
#[derive(Debug, Serialize, ToSchema)]
pub struct BrowserSession {
    /// The staff member.
    pub staff: Staff,
    /// Send this in the `X-CSRF-Token` header with every state-changing request.
    pub csrf_token: String,
    /// When the session ends by itself (+08:00).
    #[serde(with = "hourmark_core::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub expires_at: DateTime<Utc>,
}

fn is_https(hourmark: &Hourmark) -> bool {
    hourmark.settings().passkeys.staff_origin.scheme() == "https"
}

/// The session cookie: HttpOnly (page scripts never see the token), SameSite=Strict
/// (never sent on a request another site starts), Secure and `__Host-` named behind
/// HTTPS, and gone when the token expires.
fn session_cookie(hourmark: &Hourmark, token: &str, expires_at: DateTime<Utc>) -> HeaderValue {
    let max_age = (expires_at - hourmark.now()).num_seconds().max(0);
    let secure = if is_https(hourmark) { "; Secure" } else { "" };
    let name = staff_session_cookie_name(hourmark);
    let cookie = format!("{name}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn cleared_cookie(hourmark: &Hourmark) -> HeaderValue {
    let secure = if is_https(hourmark) { "; Secure" } else { "" };
    let name = staff_session_cookie_name(hourmark);
    HeaderValue::from_str(&format!("{name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Turns a just-issued token into a browser session: it idles out
/// (`HOURMARK_CONSOLE_IDLE_MINUTES`) and travels in the cookie.
async fn browser_session(
    hourmark: &Hourmark,
    signed_in: StaffWithToken,
) -> Result<(HeaderMap, BrowserSession), ApiError> {
    let token = BearerToken::from_presented(&signed_in.token.access_token)
        .ok_or_else(|| ApiError(hourmark_core::CoreError::Internal("issued token has an unexpected form".into())))?;
    hourmark.begin_console_session(&token.hash()).await?;
    let mut headers = HeaderMap::new();
    headers.insert(header::SET_COOKIE, session_cookie(hourmark, token.expose(), signed_in.token.expires_at));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok((
        headers,
        BrowserSession {
            staff: signed_in.staff,
            csrf_token: hourmark_core::console::csrf_token(&token),
            expires_at: signed_in.token.expires_at,
        },
    ))
}

/// Finish signing in from a browser: the same ceremony as `/sign-in/passkey/finish`, but
/// the session arrives as an HttpOnly cookie and the body holds its CSRF token.
#[utoipa::path(
    post, path = "/api/v1/sign-in/passkey/finish-browser", tag = "passkeys", request_body = FinishSignIn,
    responses(
        (status = 200, body = BrowserSession, headers(("set-cookie" = String, description = "The session cookie"))),
        (status = 400, description = "`ceremony_invalid` (unknown, expired or already finished: a replay)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`passkey_rejected`", body = Problem, content_type = "application/problem+json"),
        RateLimited,
        (status = "4XX", description = "`malformed_json`, `invalid_body`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn finish_sign_in_browser(
    State(hourmark): State<Hourmark>,
    ClientAddress(client): ClientAddress,
    Json(finish): Json<FinishSignIn>,
) -> Result<(HeaderMap, axum::Json<BrowserSession>), ApiError> {
    limit_client(&hourmark, client).await?;
    let signed_in = hourmark.finish_sign_in(finish).await?;
    let (headers, session) = browser_session(&hourmark, signed_in).await?;
    Ok((headers, axum::Json(session)))
}

/// Finish enrolling from a browser: stores the passkey, spends the invite, and begins a
/// browser session (cookie) instead of handing out a token.
#[utoipa::path(
    post, path = "/api/v1/invites/passkey/finish-browser", tag = "passkeys", request_body = FinishEnrolment,
    responses(
        (status = 201, body = BrowserSession, headers(("set-cookie" = String, description = "The session cookie"))),
        (status = 400, description = "`ceremony_invalid`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`passkey_rejected`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`passkey_exists`", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "`invite_invalid` (used meanwhile, or expired)", body = Problem, content_type = "application/problem+json"),
        RateLimited,
        (status = "4XX", description = "`malformed_json`, `invalid_body`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn finish_enrolment_browser(
    State(hourmark): State<Hourmark>,
    ClientAddress(client): ClientAddress,
    Json(finish): Json<FinishEnrolment>,
) -> Result<(StatusCode, HeaderMap, axum::Json<BrowserSession>), ApiError> {
    limit_client(&hourmark, client).await?;
    let signed_in = hourmark.finish_invited_enrolment(finish).await?;
    let (headers, session) = browser_session(&hourmark, signed_in).await?;
    Ok((StatusCode::CREATED, headers, axum::Json(session)))
}

/// Sign out of this browser: ends the session and clears its cookie. With the cookie it
/// needs the CSRF token, like every state change.
#[utoipa::path(
    post, path = "/api/v1/console/sign-out", tag = "staff", security(("bearer" = [])),
    responses(
        (status = 200, body = SignedOut, headers(("set-cookie" = String, description = "Clears the session cookie"))),
        Unauthenticated,
        (status = 403, description = "`csrf_invalid` (cookie without the CSRF token, or from another origin); `forbidden` (a volunteer token)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn sign_out_browser(
    State(hourmark): State<Hourmark>,
    session: CurrentSession,
) -> Result<(HeaderMap, axum::Json<SignedOut>), ApiError> {
    if !matches!(session.principal, Principal::Staff { .. }) {
        return Err(ApiError::refused(hourmark_core::ErrorCode::Forbidden, "此接口仅供工作人员使用"));
    }
    let ended = hourmark.sign_out(&session.principal, &session.token_hash, false).await?;
    let mut headers = HeaderMap::new();
    headers.insert(header::SET_COOKIE, cleared_cookie(&hourmark));
    Ok((headers, axum::Json(ended)))
}

/// A bearer token for your scripts and API clients (curl, imports): a session of its own,
/// as long as a sign-in's, shown once, listed and revocable under `/api/v1/me/sessions`,
/// audited. From the console it needs the CSRF token, like every state change.
#[utoipa::path(
    post, path = "/api/v1/me/api-tokens", tag = "staff", security(("bearer" = [])),
    responses(
        (status = 201, body = hourmark_core::tokens::IssuedToken),
        Unauthenticated,
        (status = 403, description = "`csrf_invalid` (cookie without the CSRF token, or from another origin); `forbidden` (a volunteer token)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn issue_api_token(
    State(hourmark): State<Hourmark>,
    session: CurrentSession,
) -> Result<(StatusCode, axum::Json<hourmark_core::tokens::IssuedToken>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(hourmark.issue_api_token(&session.principal).await?)))
}

/// A staff member signed in to this browser, for console pages. Without a live session
/// the visitor is sent to the sign-in page, which brings them back here afterwards.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    /// Who.
    pub principal: Principal,
    /// The session's CSRF token, for the page to send with its requests.
    pub csrf_token: String,
    /// The session's token hash, to tell it apart from the person's other sessions.
    pub token_hash: hourmark_core::identity::TokenHash,
    /// What the page bar calls them, and which links it offers: an officer is 主管部门
    /// (civil affairs) or 团委 (the Youth League), who share a role but not the work.
    pub role: &'static str,
}

impl FromRequestParts<Hourmark> for ConsoleSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, hourmark: &Hourmark) -> Result<Self, Self::Rejection> {
        let to_sign_in = || {
            let next = parts.uri.path();
            Redirect::to(&format!("/staff/sign-in?next={next}")).into_response()
        };
        let Some(token) = staff_session_cookie(parts, hourmark).and_then(BearerToken::from_presented) else {
            return Err(to_sign_in());
        };
        match hourmark.authenticate(token.expose()).await {
            Ok(principal @ Principal::Staff { .. }) => {
                let role = role_label(hourmark, &principal).await;
                Ok(Self {
                    principal,
                    csrf_token: hourmark_core::console::csrf_token(&token),
                    token_hash: token.hash(),
                    role,
                })
            }
            Ok(Principal::Volunteer { .. }) | Err(_) => Err(to_sign_in()),
        }
    }
}

/// What the page bar calls a signed-in staff member. Officers' department is read from
/// their record (one query, officers only): the Youth League's officers are 团委 and are
/// offered only their own work.
async fn role_label(hourmark: &Hourmark, principal: &Principal) -> &'static str {
    if let Principal::Staff { role: StaffRole::Officer, .. } = principal
        && let Ok(profile) = hourmark.staff_profile(principal).await
        && profile.staff.agency == Some(hourmark_core::identity::Agency::YouthLeague)
    {
        return "团委";
    }
    role_name(principal)
}

fn role_name(principal: &Principal) -> &'static str {
    match principal {
        Principal::Staff { role, .. } => match role {
            StaffRole::Administrator => "管理员",
            StaffRole::Organiser => "组织者",
            StaffRole::Leader => "活动负责人",
            StaffRole::Recorder => "记录员",
            StaffRole::Officer => "主管部门",
        },
        Principal::Volunteer { .. } => "志愿者",
    }
}
