//! Errors as `application/problem+json` (RFC 9457) with a stable `code`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hourmark_core::error::{CoreError, ErrorCode, Problem};

/// The media type of every error answer.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error on its way to becoming a problem+json answer. Internal detail is logged here
/// and never sent.
#[derive(Debug)]
pub struct ApiError(pub CoreError);

impl ApiError {
    /// A refusal with the code's title as its sentence.
    pub fn code(code: ErrorCode) -> Self {
        Self(CoreError::code(code))
    }

    /// A refusal with a sentence.
    pub fn refused(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self(CoreError::refused(code, detail))
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        Self(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if !matches!(self.0, CoreError::Refused { .. } | CoreError::RateLimited { .. }) {
            tracing::error!(error = %self.0, "request failed");
        }
        let mut response = problem_response(&Problem::from(&self.0));
        if let CoreError::RateLimited { retry_after_secs } = self.0
            && let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// Renders a problem document with its status and media type.
pub fn problem_response(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(problem).unwrap_or_else(|_| b"{\"code\":\"internal\"}".to_vec());
    json_response(status, body, PROBLEM_JSON)
}

/// A JSON body with a status and media type.
pub fn json_response(status: StatusCode, body: Vec<u8>, media_type: &'static str) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    response
}

/// The 404 for unknown routes.
pub async fn not_found() -> ApiError {
    ApiError::refused(ErrorCode::NotFound, "没有这个接口")
}

/// The 405 for known routes with the wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::code(ErrorCode::MethodNotAllowed)
}
