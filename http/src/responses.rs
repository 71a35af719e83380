//! The error answers most operations share, declared once for the OpenAPI document.
//!
//! An operation lists them by name beside its own answers:
//! `responses((status = 200, …), Unauthenticated, Forbidden, NotFound)`. Each one is a
//! problem+json answer with the stable code its description names; an operation whose
//! answer for the same status says more (which codes, when) writes its own tuple instead.

use hourmark_core::error::Problem;
use utoipa::IntoResponses;

/// 401: no token, or one that is unknown, malformed, expired or revoked.
#[derive(Debug, IntoResponses)]
#[response(status = 401, description = "`unauthenticated`", content_type = "application/problem+json")]
pub struct Unauthenticated(#[allow(dead_code)] Problem);

/// 403: a token whose role may not do this.
#[derive(Debug, IntoResponses)]
#[response(status = 403, description = "`forbidden`", content_type = "application/problem+json")]
pub struct Forbidden(#[allow(dead_code)] Problem);

/// 404: nothing there, or nothing the caller may see (never said which).
#[derive(Debug, IntoResponses)]
#[response(status = 404, description = "`not_found`", content_type = "application/problem+json")]
pub struct NotFound(#[allow(dead_code)] Problem);

/// 429: too many requests from this client or for this subject.
#[derive(Debug, IntoResponses)]
#[response(status = 429, description = "`rate_limited` (see `Retry-After`)", content_type = "application/problem+json")]
pub struct RateLimited(#[allow(dead_code)] Problem);

/// 400: a path or query parameter that does not parse (an id beyond `i64`, a bad date).
#[derive(Debug, IntoResponses)]
#[response(status = 400, description = "`invalid_parameter`", content_type = "application/problem+json")]
pub struct InvalidParameter(#[allow(dead_code)] Problem);

/// 403 on a volunteer's operation: the token is a staff member's.
#[derive(Debug, IntoResponses)]
#[response(status = 403, description = "`forbidden` (a staff token)", content_type = "application/problem+json")]
pub struct StaffTokenForbidden(#[allow(dead_code)] Problem);

/// 403 on a staff operation: the token is a volunteer's.
#[derive(Debug, IntoResponses)]
#[response(status = 403, description = "`forbidden` (a volunteer token)", content_type = "application/problem+json")]
pub struct VolunteerTokenForbidden(#[allow(dead_code)] Problem);
