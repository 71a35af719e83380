//! The staff console: server-rendered pages (minijinja templates compiled into the
//! binary), the few scripts they need (served by Hourmark itself, never a CDN), the
//! browser session (an HttpOnly cookie carrying a staff token, plus a CSRF token), and the
//! security headers every HTML page gets.
//!
//! Pages read through the same use cases as the API, and every action a page offers is
//! an API operation the page's script calls with the session cookie and the CSRF token:
//!
//! ```text
//! browser                         Hourmark
//!   │ passkey ceremony (start) ──►  /api/v1/sign-in/passkey/start
//!   │ ceremony finish ───────────►  /api/v1/sign-in/passkey/finish-browser
//!   │ ◄── Set-Cookie hourmark_staff=<token>; HttpOnly; SameSite=Strict
//!   │     (behind HTTPS: __Host-hourmark_staff=<token>; …; Secure)
//!   │     + {csrf_token} (the page keeps it; pages also carry it in a <meta>)
//!   │ GET /console ──────────────►  page (cookie)
//!   │ POST /api/v1/activities ───►  cookie + X-CSRF-Token (without it: csrf_invalid)
//!   │ POST /api/v1/console/sign-out ► token revoked, cookie cleared
//! ```

mod activity_form;
mod admin_pages;
mod devices;
mod exchange_pages;
mod officer_oversight;
mod officer_pages;
mod pages;
mod register_pages;
mod review_pages;
mod review_people;
mod review_view;
mod screen_keys;
mod session;
mod sessions;
mod signup_pages;

use axum::http::{HeaderMap, HeaderValue, header};
use hourmark_core::Hourmark;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) use pages::{render, render_html};
pub use session::ConsoleSession;

/// The console's documented operations and its pages.
pub(crate) fn router() -> OpenApiRouter<Hourmark> {
    OpenApiRouter::new()
        .routes(routes!(session::finish_sign_in_browser))
        .routes(routes!(session::finish_enrolment_browser))
        .routes(routes!(session::sign_out_browser))
        .routes(routes!(session::issue_api_token))
        .routes(routes!(pages::list_activities))
        .routes(routes!(pages::landing))
        .routes(routes!(pages::console_home))
        .routes(routes!(pages::new_activity_page))
        .routes(routes!(activity_form::edit_activity_page))
        .routes(routes!(activity_form::update_activity))
        .routes(routes!(pages::projector_page))
        .routes(routes!(pages::board_page))
        .routes(routes!(screen_keys::issue_screen_key, screen_keys::list_screen_keys))
        .routes(routes!(screen_keys::revoke_screen_key))
        .routes(routes!(screen_keys::screens_page))
        .routes(routes!(sessions::sessions_page))
        .routes(routes!(devices::devices_page))
        .routes(routes!(signup_pages::signups_page))
        .routes(routes!(review_pages::review_home))
        .routes(routes!(review_pages::activity_review_page))
        .routes(routes!(sessions::sessions_csv))
        .routes(routes!(sessions::sessions_xlsx))
        .routes(routes!(officer_pages::organisations_page))
        .routes(routes!(officer_pages::batches_page))
        .routes(routes!(officer_pages::volunteers_page))
        .routes(routes!(officer_oversight::recorders_page))
        .routes(routes!(officer_oversight::regional_days_page))
        .routes(routes!(admin_pages::staff_page))
        .routes(routes!(admin_pages::calendar_page))
        .routes(routes!(admin_pages::star_rules_page))
        .routes(routes!(register_pages::certificates_page))
        .routes(routes!(register_pages::stars_page))
        .routes(routes!(register_pages::time_bank_page))
        .routes(routes!(exchange_pages::roster_page))
        .routes(routes!(exchange_pages::exports_page))
        .routes(routes!(pages::static_asset))
}

/// The Content-Security-Policy of every HTML page: scripts and everything else only from
/// Hourmark itself, no inline script, never framed (a projector page in someone else's
/// frame could be clickjacked). Inline styles stay allowed for the older pages' `<style>`
/// blocks; they cannot run code. `blob:` images are the projector's QR codes.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// Adds the security headers to every HTML answer (the console, the staff pages, the
/// scan page, the public board, the API docs), whoever rendered it.
pub(crate) fn add_security_headers(headers: &mut HeaderMap) {
    let is_html =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    // Never let a browser guess a type: a JSON answer must not be run as a script.
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
}
