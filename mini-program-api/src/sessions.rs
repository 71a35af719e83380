//! Listing and ending sessions, for volunteers (`/mp/v1/me/…`) and staff (`/api/v1/me/…`):
//! the same operations, each surface refusing the other kind of token.

use axum::extract::State;
use hourmark_core::Hourmark;
use hourmark_core::error::{ErrorCode, Problem};
use hourmark_core::identity::Principal;
use hourmark_core::sessions::{SessionView, SignedOut};
use hourmark_core::tokens::IssuedToken;
use hourmark_http::responses::{StaffTokenForbidden, Unauthenticated};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{CurrentSession, Path};
use crate::problem::ApiError;

fn volunteer_only(s: &CurrentSession) -> Result<(), ApiError> {
    match s.principal {
        Principal::Volunteer { .. } => Ok(()),
        Principal::Staff { .. } => Err(ApiError::refused(ErrorCode::Forbidden, "此接口仅供志愿者使用")),
    }
}

fn staff_only(s: &CurrentSession) -> Result<(), ApiError> {
    match s.principal {
        Principal::Staff { .. } => Ok(()),
        Principal::Volunteer { .. } => Err(ApiError::refused(ErrorCode::Forbidden, "此接口仅供工作人员使用")),
    }
}

/// `/mp/v1/me/sessions…` for volunteers.
pub fn volunteer_router() -> OpenApiRouter<Hourmark> {
    OpenApiRouter::new()
        .routes(routes!(volunteer_sessions))
        .routes(routes!(volunteer_end_session))
        .routes(routes!(volunteer_sign_out))
        .routes(routes!(volunteer_sign_out_everywhere))
        .routes(routes!(volunteer_refresh_token))
}

/// Refresh the volunteer's token: a new bearer token of the full lifetime
/// (`HOURMARK_VOLUNTEER_TOKEN_TTL_HOURS`, a week by default) in exchange for the one
/// presented, which stops working at once. The mini program calls it when it starts, so
/// a volunteer in daily use stays signed in while a token on a lost phone dies on its
/// own. An expired or revoked token cannot refresh (`unauthenticated`): log in again.
#[utoipa::path(
    post, path = "/mp/v1/me/token/refresh", tag = "volunteers", security(("bearer" = [])),
    responses(
        (status = 200, body = IssuedToken),
        (status = 401, description = "`unauthenticated` (expired or revoked: log in again)", body = Problem, content_type = "application/problem+json"),
        StaffTokenForbidden,
    )
)]
async fn volunteer_refresh_token(
    State(hourmark): State<Hourmark>,
    session: CurrentSession,
) -> Result<axum::Json<IssuedToken>, ApiError> {
    volunteer_only(&session)?;
    Ok(axum::Json(hourmark.refresh_volunteer_token(&session.principal, &session.token_hash).await?))
}

/// `/api/v1/me/sessions…` for staff.
pub fn staff_router() -> OpenApiRouter<Hourmark> {
    OpenApiRouter::new()
        .routes(routes!(staff_sessions))
        .routes(routes!(staff_end_session))
        .routes(routes!(staff_sign_out))
        .routes(routes!(staff_sign_out_everywhere))
}

macro_rules! session_endpoints {
    ($prefix:literal, $tag:literal, $guard:ident, $list:ident, $end:ident, $out:ident, $everywhere:ident) => {
        /// The caller's live sessions, newest first; `current` marks this one.
        #[utoipa::path(
            get, path = concat!($prefix, "/me/sessions"), tag = $tag, security(("bearer" = [])),
            responses(
                (status = 200, body = Vec<SessionView>),
                Unauthenticated,
                (status = 403, description = "`forbidden` (the other kind of token)", body = Problem, content_type = "application/problem+json"),
            )
        )]
        async fn $list(
            State(hourmark): State<Hourmark>,
            session: CurrentSession,
        ) -> Result<axum::Json<Vec<SessionView>>, ApiError> {
            $guard(&session)?;
            Ok(axum::Json(hourmark.sessions(&session.principal, &session.token_hash).await?))
        }

        /// End one of the caller's sessions (for example a lost phone's).
        #[utoipa::path(
            delete, path = concat!($prefix, "/me/sessions/{session_id}"), tag = $tag, security(("bearer" = [])),
            params(("session_id" = String, Path, description = "From the session list")),
            responses(
                (status = 200, body = SignedOut),
                Unauthenticated,
                (status = 404, description = "`not_found`: no such session of the caller's", body = Problem, content_type = "application/problem+json"),
            )
        )]
        async fn $end(
            State(hourmark): State<Hourmark>,
            session: CurrentSession,
            Path(session_id): Path<String>,
        ) -> Result<axum::Json<SignedOut>, ApiError> {
            $guard(&session)?;
            Ok(axum::Json(hourmark.end_session(&session.principal, &session_id).await?))
        }

        /// Sign out: end this session.
        #[utoipa::path(
            post, path = concat!($prefix, "/me/sign-out"), tag = $tag, security(("bearer" = [])),
            responses(
                (status = 200, body = SignedOut),
                Unauthenticated,
            )
        )]
        async fn $out(State(hourmark): State<Hourmark>, session: CurrentSession) -> Result<axum::Json<SignedOut>, ApiError> {
            $guard(&session)?;
            Ok(axum::Json(hourmark.sign_out(&session.principal, &session.token_hash, false).await?))
        }

        /// Sign out everywhere: end every session of the caller's, this one included.
        #[utoipa::path(
            post, path = concat!($prefix, "/me/sign-out-everywhere"), tag = $tag, security(("bearer" = [])),
            responses(
                (status = 200, body = SignedOut),
                Unauthenticated,
            )
        )]
        async fn $everywhere(
            State(hourmark): State<Hourmark>,
            session: CurrentSession,
        ) -> Result<axum::Json<SignedOut>, ApiError> {
            $guard(&session)?;
            Ok(axum::Json(hourmark.sign_out(&session.principal, &session.token_hash, true).await?))
        }
    };
}

session_endpoints!(
    "/mp/v1",
    "volunteers",
    volunteer_only,
    volunteer_sessions,
    volunteer_end_session,
    volunteer_sign_out,
    volunteer_sign_out_everywhere
);
session_endpoints!(
    "/api/v1",
    "staff",
    staff_only,
    staff_sessions,
    staff_end_session,
    staff_sign_out,
    staff_sign_out_everywhere
);
